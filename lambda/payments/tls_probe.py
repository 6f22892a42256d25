"""The migrate function's ``{"action": "tls-probe"}``: which names the database server
certificate carries, as seen from inside the region, and which part of the rule accepted it.

Whether the RDS server certificate names the Aurora global writer endpoint is documented
nowhere (payments.tls); the functions accept either that name or one of our own cluster
endpoints on its CNAME chain. `payments-dr verify` invokes this in each region so the answer
comes from the real account, through the VPC's own resolver and route to the writer.

The probe connects exactly as the functions do: to ``DB_HOST:DB_PORT``, the SSLRequest
(PostgreSQL "Message Formats": Int32(8) Int32(80877103), answered ``S``), then the handshake
with the same :func:`payments.tls.tls_context` (the chain against ``DB_TLS_CA_FILE`` under
``VERIFY_X509_STRICT``, the name by the rule over ``DB_CLUSTER_IDENTIFIERS``). Then it hangs
up: not one byte of the startup message is sent, no secret is read, no migration runs.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Callable
from typing import Any

from . import logs
from .schema_deploy import MigrateConfig
from .tls import ServerNameRefused, certificate_dns_names, cname_chain, tls_context

ACTION = "tls-probe"
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
TIMEOUT_SECONDS = 5.0

log = logs.get_logger("tls-probe")

Connect = Callable[..., socket.socket]


class _RecordingResolver:
    """The rule's resolver, remembering what it answered (the chain the rule saw)."""

    def __init__(self, resolve: Callable[[str], tuple[str, ...]]) -> None:
        self._resolve = resolve
        self.seen: tuple[str, ...] | None = None

    def __call__(self, host: str) -> tuple[str, ...]:
        self.seen = self._resolve(host)
        return self.seen


def run(config: MigrateConfig, *, connect: Connect = socket.create_connection,
        resolve: Callable[[str], tuple[str, ...]] = cname_chain) -> dict[str, Any]:
    """The probe against the migrate function's own database settings."""
    found = probe(config.host, config.port, config.ca_file, config.cluster_identifiers,
                  connect=connect, resolve=resolve)
    found["region"] = config.region
    log.info("database certificate probed", extra={"fields": found})
    return found


def probe(host: str, port: int, ca_file: str, cluster_identifiers: tuple[str, ...], *,
          connect: Connect = socket.create_connection,
          resolve: Callable[[str], tuple[str, ...]] = cname_chain) -> dict[str, Any]:
    """What the handshake showed; `accepted` is the functions' own verdict."""
    resolver = _RecordingResolver(resolve)
    context = tls_context(ca_file, cluster_identifiers, resolve=resolver)
    found: dict[str, Any] = {
        "action": ACTION, "host": host, "port": port, "accepted": False,
        "cluster_identifiers": sorted(cluster_identifiers), "certificate_names": [],
        "rule": None, "accepted_name": None}
    try:
        raw = connect((host, port), timeout=TIMEOUT_SECONDS)
    except OSError as error:
        return {**found, "stage": "connect", "reason": f"{type(error).__name__}: {error}"}
    try:
        raw.sendall(SSL_REQUEST)
        answer = raw.recv(1)
        if answer != b"S":
            return {**found, "stage": "ssl-request",
                    "reason": f"the server answered {answer!r} to the SSLRequest, not b'S'"}
        with context.wrap_socket(raw, server_hostname=host) as tls:
            verdict = tls.name_check  # type: ignore[attr-defined]
            certificate = tls.getpeercert() or {}
            found.update(stage="accepted", accepted=True, rule=verdict.rule,
                         accepted_name=verdict.accepted_name, lookup=verdict.lookup,
                         certificate_names=list(certificate_dns_names(certificate)),
                         issuer=_common_name(certificate.get("issuer", ())),
                         not_after=certificate.get("notAfter"), tls_version=tls.version())
    except ServerNameRefused as refused:
        found.update(stage="name", reason=refused.verify_message, lookup=refused.lookup,
                     certificate_names=list(refused.certificate_names))
    except ssl.SSLCertVerificationError as error:
        found.update(stage="chain", reason=error.verify_message or str(error))
    except (ssl.SSLError, OSError) as error:
        found.update(stage="handshake", reason=f"{type(error).__name__}: {error}")
    finally:
        raw.close()
    found["cname_chain"] = list(resolver.seen if resolver.seen is not None
                                else _chain_for_the_report(host, resolve))
    return found


def _chain_for_the_report(host: str, resolve: Callable[[str], tuple[str, ...]]
                          ) -> tuple[str, ...]:
    """Where the host leads, when the rule did not need to look (it named the host itself)."""
    try:
        return resolve(host)
    except OSError:
        return ()


def _common_name(name: tuple[tuple[tuple[str, str], ...], ...]) -> str | None:
    return next((value for rdn in name for key, value in rdn if key == "commonName"), None)
