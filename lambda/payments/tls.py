"""TLS to the database: the chain always verified, the server's name checked by one explicit rule.

Why not OpenSSL's host name check alone: both regions' functions connect to the Aurora global
writer endpoint (``<global id>.global-<hash>.global.rds.amazonaws.com``), which Aurora keeps
pointed at the current writer ("Connecting to Amazon Aurora Global Database", Aurora User
Guide). Whether the RDS server certificate names that host is documented nowhere ("Using
SSL/TLS to encrypt a connection to a DB cluster" lists the CAs, not the names); the cluster
endpoints it leads to are what RDS certificates name. A certificate that does not name the
alias would fail every connection in both regions on the first deploy, and turning the check
off is not an option. So:

* The chain is always verified against the vendored RDS CA bundle (``CERT_REQUIRED``), with
  ``VERIFY_X509_STRICT`` set explicitly: Python 3.13, the Lambda runtime, sets it by default
  and Python 3.11 does not, so tests and production run the same checks.
* The certificate's subjectAltName DNS names (never the subject's common name) are matched by
  RFC 6125 rules, a wildcard only as the whole left-most label standing for exactly one label,
  against:

  1. the host connected to; or else
  2. a name on that host's CNAME chain, resolved when the connection is made, that is the
     cluster endpoint of one of this deployment's own clusters,
     ``<cluster id>.cluster-<hash>.<region>.rds.amazonaws.com`` with ``<cluster id>`` in
     ``DB_CLUSTER_IDENTIFIERS`` (the template sets it from the function that names the
     clusters). A chain, not only its last name: a cluster endpoint is itself a CNAME to the
     writer instance, so the global endpoint resolves alias -> cluster endpoint -> instance.

* Anything else is refused (:class:`ServerNameRefused`), logged with the names seen
  (certificate names are not secret); the caller answers 503. Never an unverified fallback.

What the code guarantees: the name check runs inside :meth:`VerifiedContext.wrap_socket`,
after the handshake and before the socket is handed back, so pg8000 writes not one byte of
the PostgreSQL startup (user, database, then the SCRAM exchange) to a server that fails it;
that socket is closed. ``wrap_bio`` (the non-blocking path) is refused, not left unchecked.
The resolver is consulted only when the certificate does not name the host itself.

What rule 2 trusts besides the CA: DNS picks which of our clusters' endpoints to accept, never
a name outside them. A cluster identifier is unique per account and region, not globally, so
a forged DNS answer inside the VPC plus another account's cluster with the same identifier
would pass; plain verify-full on the alias would not. Pinning the full cluster endpoints
(``<hash>`` included) instead of identifiers closes that.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import logs

log = logs.get_logger("tls")

CnameChain = Callable[[str], tuple[str, ...]]

# X509_V_ERR_HOSTNAME_MISMATCH: what OpenSSL's own host name check reports.
HOSTNAME_MISMATCH = 62

# "Cluster endpoints for Amazon Aurora" (Aurora User Guide):
# mydbcluster.cluster-c7tj4example.us-east-1.rds.amazonaws.com. `cluster-` then one label of
# letters and digits: the reader (`cluster-ro-`) and custom (`cluster-custom-`) endpoints never
# match. amazonaws.com.cn is the China regions' suffix.
_CLUSTER_ENDPOINT = re.compile(
    r"(?P<cluster>[a-z][a-z0-9-]*)\.cluster-[a-z0-9]+\.[a-z]{2}(?:-gov)?-[a-z]+-\d+"
    r"\.rds\.amazonaws\.com(?:\.cn)?"
)


def cname_chain(host: str) -> tuple[str, ...]:
    """The names ``host`` leads to through CNAME records, as the system resolver reports them:
    glibc lists each CNAME's owner as an alias and the last target as the canonical name."""
    canonical, aliases, _ = socket.gethostbyname_ex(host)
    return (*aliases, canonical)


def matches(pattern: str, host: str) -> bool:
    """RFC 6125 section 6.4: case-insensitive, a trailing dot ignored; ``*`` only as the whole
    left-most label of a name with at least three labels, standing for exactly one label."""
    if not (pattern.isascii() and host.isascii()):
        return False  # before lower-casing: str.lower() folds e.g. U+212A KELVIN SIGN to "k"
    pattern, host = _normal(pattern), _normal(host)
    if not pattern or not host:
        return False
    if "*" not in pattern:
        return pattern == host
    wildcard, _, rest = pattern.partition(".")
    label, _, host_rest = host.partition(".")
    return (
        wildcard == "*"
        and "*" not in rest
        and rest.count(".") >= 1
        and "" not in rest.split(".")
        and bool(label)
        and host_rest == rest
    )


def cluster_of(name: str) -> str | None:
    """The cluster identifier if ``name`` is an Aurora cluster (writer) endpoint."""
    found = _CLUSTER_ENDPOINT.fullmatch(_normal(name))
    return found["cluster"] if found else None


def _normal(name: str) -> str:
    return name.lower().removesuffix(".")


class ServerNameRefused(ssl.SSLCertVerificationError):
    """The chain was valid, but the certificate names neither the host nor one of our cluster
    endpoints on its CNAME chain."""

    def __init__(self, host: str, certificate_names: tuple[str, ...], lookup: str,
                 cluster_identifiers: frozenset[str]) -> None:
        message = (f"certificate names {list(certificate_names)}: not {host}, and no cluster "
                   f"endpoint of {sorted(cluster_identifiers)} on its CNAME chain ({lookup})")
        super().__init__(message)
        self.verify_code = HOSTNAME_MISMATCH
        self.verify_message = message
        self.host = host
        self.certificate_names = certificate_names
        self.lookup = lookup


# Which part of the rule accepted a certificate (NameCheck.rule).
RULE_HOST = "host"
RULE_CLUSTER_ENDPOINT = "cluster-endpoint-on-cname-chain"


@dataclass(frozen=True)
class NameCheck:
    """How the rule judged one verified certificate: accepted for `accepted_name` by `rule`
    (RULE_HOST or RULE_CLUSTER_ENDPOINT), or refused (`rule` None); `lookup` says what the
    CNAME lookup found, in words (it is made only when the certificate does not name the
    host). Certificate names are not secret: the migrate function's tls-probe returns this."""

    host: str
    certificate_names: tuple[str, ...]
    rule: str | None
    accepted_name: str | None
    lookup: str

    @property
    def accepted(self) -> bool:
        return self.rule is not None


@dataclass(frozen=True)
class ServerNameRule:
    """Which server names a verified certificate may carry (the module docstring's rule)."""

    cluster_identifiers: frozenset[str]
    resolve: CnameChain = cname_chain

    def judge(self, host: str, certificate_names: tuple[str, ...]) -> NameCheck:
        """The rule's verdict on the names of a certificate presented for `host`."""
        if any(matches(name, host) for name in certificate_names):
            return NameCheck(host, certificate_names, RULE_HOST, host,
                             "not looked up: the certificate names the host")
        targets, lookup = self._cname_targets(host)
        for target in targets:
            if (cluster_of(target) in self.cluster_identifiers
                    and any(matches(name, target) for name in certificate_names)):
                return NameCheck(host, certificate_names, RULE_CLUSTER_ENDPOINT, target, lookup)
        return NameCheck(host, certificate_names, None, None, lookup)

    def accepted(self, host: str, certificate_names: tuple[str, ...]) -> NameCheck:
        """The verdict when the certificate is accepted, or :class:`ServerNameRefused`."""
        verdict = self.judge(host, certificate_names)
        if verdict.accepted:
            return verdict
        log.error("database server certificate refused: wrong name", extra={"fields": {
            "host": host, "certificate_names": list(certificate_names),
            "cname_chain": verdict.lookup,
            "cluster_identifiers": sorted(self.cluster_identifiers)}})
        raise ServerNameRefused(host, certificate_names, verdict.lookup,
                                self.cluster_identifiers)

    def accepted_name(self, host: str, certificate_names: tuple[str, ...]) -> str:
        """The name the certificate is accepted for, or :class:`ServerNameRefused`."""
        return str(self.accepted(host, certificate_names).accepted_name)

    def _cname_targets(self, host: str) -> tuple[tuple[str, ...], str]:
        """The names the host leads to (itself left out), and what the lookup found, in words.
        No lookup when no cluster of ours could match anyway."""
        if not self.cluster_identifiers:
            return (), "not looked up: no cluster identifiers configured"
        try:
            names = self.resolve(host)
        except OSError as error:  # socket.gaierror / herror: the name does not resolve now
            return (), f"lookup failed: {type(error).__name__}"
        targets = tuple(name for name in names if _normal(name) != _normal(host))
        return targets, " -> ".join((host, *targets)) if targets else "no CNAME"


def certificate_dns_names(certificate: dict[str, Any]) -> tuple[str, ...]:
    """subjectAltName DNS entries of ``SSLSocket.getpeercert()``; the common name never counts."""
    return tuple(value for kind, value in certificate.get("subjectAltName", ()) if kind == "DNS")


class VerifiedContext(ssl.SSLContext):
    """A client context that verifies the chain in the handshake and the name by
    :class:`ServerNameRule` before handing the socket back."""

    name_rule: ServerNameRule

    def __new__(cls, ca_file: str, name_rule: ServerNameRule) -> VerifiedContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

    def __init__(self, ca_file: str, name_rule: ServerNameRule) -> None:
        super().__init__()
        self.load_verify_locations(cafile=ca_file)
        self.verify_mode = ssl.CERT_REQUIRED
        # The name is checked by the rule, after the handshake (OpenSSL can check one name).
        self.check_hostname = False
        self.verify_flags |= ssl.VERIFY_X509_STRICT
        self.minimum_version = ssl.TLSVersion.TLSv1_2
        self.name_rule = name_rule

    def wrap_socket(self, sock: socket.socket, server_side: bool = False,
                    do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = True,
                    server_hostname: str | None = None, session: ssl.SSLSession | None = None,
                    ) -> ssl.SSLSocket:
        """Handshake (chain verified), then the name rule; only then is the socket returned.
        ``do_handshake_on_connect`` is ignored: the handshake always happens here."""
        if server_side or not server_hostname:
            raise ValueError("a database client connection needs the server's host name")
        tls = super().wrap_socket(sock, server_hostname=server_hostname,
                                  do_handshake_on_connect=False,
                                  suppress_ragged_eofs=suppress_ragged_eofs, session=session)
        try:
            tls.do_handshake()
            # Kept on the socket for whoever asks which part of the rule accepted it (the
            # migrate function's tls-probe); the payment path does not read it.
            tls.name_check = self.name_rule.accepted(  # type: ignore[attr-defined]
                server_hostname, certificate_dns_names(tls.getpeercert() or {}))
        except BaseException:
            tls.close()
            raise
        return tls

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        raise NotImplementedError("VerifiedContext checks names on blocking sockets only")


def tls_context(ca_file: str, cluster_identifiers: Iterable[str] = (), *,
                resolve: CnameChain = cname_chain) -> VerifiedContext:
    """The database client context: chain against ``ca_file``, name by the rule."""
    if not ca_file:
        raise ValueError("a CA bundle is required: the database's certificate is always "
                         "verified (DB_TLS_CA_FILE)")
    rule = ServerNameRule(frozenset(cluster_identifiers), resolve)
    return VerifiedContext(ca_file, rule)
