"""The vendored Amazon RDS CA bundle (lambda/certs): what SOURCE.json says it is, parseable CA
certificates, the roots of our two regions, none expired, strict-mode compliant, and loadable
by `ssl` as payments.tls.tls_context loads it. Offline: refresh.py is never run here."""

import datetime
import hashlib
import json
import re
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

CERTS = Path(__file__).resolve().parent.parent / "lambda" / "certs"
BUNDLE = CERTS / "rds-ca-bundle.pem"
SOURCE = json.loads((CERTS / "SOURCE.json").read_text())
PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----\n")
REQUIRED_ROOTS = ["Amazon RDS us-east-1 Root CA RSA2048 G1", "Amazon RDS us-west-2 Root CA RSA2048 G1"]


def pem_blocks() -> list[bytes]:
    return PEM_BLOCK.findall(BUNDLE.read_bytes())


def common_name(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.fixture(scope="module")
def certificates() -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(block) for block in pem_blocks()]


def test_recorded_sha256_matches_the_bundle():
    assert SOURCE["bundle"] == BUNDLE.name
    assert hashlib.sha256(BUNDLE.read_bytes()).hexdigest() == SOURCE["bundle_sha256"], (
        "rds-ca-bundle.pem changed without SOURCE.json: regenerate both with "
        "lambda/certs/refresh.py")


def test_bundle_is_only_pem_blocks_ending_with_a_newline():
    data = BUNDLE.read_bytes()
    blocks = pem_blocks()
    assert b"".join(blocks) == data, "text outside the PEM blocks"
    assert data.endswith(b"-----END CERTIFICATE-----\n")
    assert len(blocks) == SOURCE["certificates_in_bundle"] > 0


def test_every_block_is_an_x509_ca_certificate(certificates):
    assert len(certificates) == len(pem_blocks())
    for cert in certificates:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert constraints.ca, f"{cert.subject.rfc4514_string()} is not a CA certificate"
        assert common_name(cert).startswith("Amazon RDS "), cert.subject.rfc4514_string()


def test_our_regions_roots_are_present(certificates):
    names = {common_name(cert) for cert in certificates}
    for root in REQUIRED_ROOTS:
        assert root in names, f"{root} is missing from {BUNDLE.name}"
    for cert in certificates:
        if common_name(cert) in REQUIRED_ROOTS:
            assert cert.subject == cert.issuer, f"{common_name(cert)} is not self-signed"


def test_no_certificate_has_expired(certificates):
    now = datetime.datetime.now(datetime.timezone.utc)
    earliest = min(certificates, key=lambda c: c.not_valid_after_utc)
    expired = [f"{common_name(c)} ({c.not_valid_after_utc:%Y-%m-%d})"
               for c in certificates if c.not_valid_after_utc <= now]
    assert not expired, (
        f"expired: {expired}; earliest expiry is {common_name(earliest)} on "
        f"{earliest.not_valid_after_utc:%Y-%m-%d}: run lambda/certs/refresh.py")
    assert not [c for c in certificates if c.not_valid_before_utc > now], "not yet valid"


def test_every_certificate_meets_what_strict_verification_demands_of_a_ca(certificates):
    """payments.tls sets ssl.VERIFY_X509_STRICT (Python 3.13's default): OpenSSL then refuses a
    chain whose CA lacks critical basicConstraints, a keyUsage, or a Subject Key Identifier, or
    whose key identifiers are critical (RFC 5280 4.2.1.1-4.2.1.3, 4.2.1.9). What an RDS server
    sends over these roots (its own certificate, any intermediate) can only be checked on AWS."""
    def extension(cert, kind):
        try:
            return cert.extensions.get_extension_for_class(kind)
        except x509.ExtensionNotFound:
            return None

    for cert in certificates:
        name = common_name(cert)
        constraints = extension(cert, x509.BasicConstraints)
        usage = extension(cert, x509.KeyUsage)
        subject_key = extension(cert, x509.SubjectKeyIdentifier)
        authority_key = extension(cert, x509.AuthorityKeyIdentifier)
        assert cert.version == x509.Version.v3, name
        assert constraints and constraints.critical and constraints.value.ca, name
        assert usage and usage.value.key_cert_sign, name
        assert subject_key and not subject_key.critical, name
        assert authority_key is None or not authority_key.critical, name


def test_ssl_loads_every_certificate_of_the_bundle():
    context = ssl.create_default_context(cafile=str(BUNDLE))
    assert context.cert_store_stats()["x509_ca"] == len(pem_blocks())
    assert len(context.get_ca_certs()) == len(pem_blocks())
