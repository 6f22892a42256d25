"""Throwaway certificate authorities and server certificates for the database TLS tests.

Made in-process with `cryptography` (EC P-256 keys: milliseconds each). By default every
certificate meets what ``ssl.VERIFY_X509_STRICT`` demands (Python 3.13 sets it; the RFC 5280
profile as OpenSSL checks it): a CA certificate has critical basicConstraints, a keyUsage
with keyCertSign and a Subject Key Identifier; every issued certificate has an Authority Key
Identifier. The ``strict=False`` switches drop one of those, so a test can show the strict
flag refusing a chain that is otherwise valid.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Issued:
    """A server certificate (with its chain up to, not including, the root) and its key."""

    cert_file: Path
    key_file: Path
    dns_names: tuple[str, ...]


class ThrowawayCA:
    """A self-signed root that issues server certificates into ``directory``."""

    def __init__(self, directory: Path, name: str, *, strict: bool = True) -> None:
        self.directory = directory
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(f"payments test {name}")
        now = datetime.datetime.now(datetime.timezone.utc)
        public = self._key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALID)
            # Strict mode: "Basic Constraints of CA cert not marked critical" otherwise.
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=strict)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_file = directory / f"{name}-ca.crt"
        self.cert_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, label: str, dns_names: list[str], *, common_name: str | None = None,
              authority_key_identifier: bool = True) -> Issued:
        """A server certificate whose subjectAltName holds ``dns_names`` (only DNS entries);
        ``common_name`` sets the subject CN, which the name rule must ignore."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name or f"payments test server {label}"))
            .issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
        )
        if dns_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
                critical=False)
        if authority_key_identifier:  # strict mode: "Missing Authority Key Identifier"
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        cert_file = self.directory / f"{self.name}-{label}.crt"
        key_file = self.directory / f"{self.name}-{label}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        key_file.chmod(0o600)
        return Issued(cert_file, key_file, tuple(dns_names))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False)
