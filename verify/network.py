"""What this machine sees of the API, as a client would: the system resolver's answers, a TLS
handshake verified with the default trust store and host name verification, and HTTPS
requests. Only the standard library's defaults: nothing here trusts more than a client does.
GET /health is the runbook's own `http_health` (runbook/aws_adapter.py).
"""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from payments.tls import certificate_dns_names

HTTPS_PORT = 443
TIMEOUT_SECONDS = 10.0


def addresses(name: str) -> set[str]:
    """The addresses the system resolver answers for `name` (what a client here connects to).
    socket.gaierror (an OSError) when the name does not resolve."""
    return {info[4][0] for info in socket.getaddrinfo(name, HTTPS_PORT, type=socket.SOCK_STREAM)}


@dataclass(frozen=True)
class Presented:
    """The certificate a server presented in a handshake that verified."""
    names: tuple[str, ...]   # subjectAltName DNS names
    issuer: str
    not_after: str
    version: str


def handshake(connect_to: str, server_name: str) -> Presented:
    """A TLS handshake with `connect_to`:443 that sends `server_name` (SNI) and verifies the
    chain against the default trust store and the certificate against `server_name`, as an
    HTTPS client does. ssl.SSLCertVerificationError (an OSError) when it does not verify."""
    context = ssl.create_default_context()
    with socket.create_connection((connect_to, HTTPS_PORT), timeout=TIMEOUT_SECONDS) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            certificate = tls.getpeercert() or {}
            issuer = next((value for rdn in certificate.get("issuer", ())
                           for key, value in rdn if key == "commonName"), "?")
            return Presented(certificate_dns_names(certificate), issuer,
                             str(certificate.get("notAfter", "?")), str(tls.version()))


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]   # lower-case names
    body: dict[str, Any]


def post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> Response:
    """POST a JSON body over verified HTTPS; an HTTP error status is a response, not an error
    (a connection failure raises OSError)."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return _response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return _response(error.code, error.headers, error.read())


def _response(status: int, headers: Any, raw: bytes) -> Response:
    try:
        document = json.loads(raw or b"{}")
    except ValueError:
        document = {}
    return Response(status, {k.lower(): v for k, v in (headers or {}).items()},
                    document if isinstance(document, dict) else {})
