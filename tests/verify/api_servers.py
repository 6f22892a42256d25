"""Each region's API on this machine, for `payments-dr verify`: an HTTPS server per region on
its own loopback address (127.0.0.2, 127.0.0.3), presenting a certificate from a throwaway CA
that the test makes the default trust store (SSL_CERT_FILE), and a resolver that answers the
API's names with those addresses (socket.getaddrinfo, which the standard library's clients
and verify's own resolution use). Nothing leaves 127.0.0.0/8.

`GET /health` answers what the region's `health` knob says. `POST /process` authorises the
merchant key with the authorizer's own decision (payments.merchant_keys.decide) against that
region's replica of the fake global table, and records payments by Idempotency-Key with
replay, as the processor does.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from payments.merchant_keys import decide, record_key

from tests.handlers.tls_pki import Issued


@dataclass
class RegionApi:
    region: str
    address: str
    cloud: Any
    health: tuple[int, dict] | None = None        # None: healthy
    process_status: int | None = None             # force an answer (e.g. 503)
    replay: bool = True                            # a retry replays the payment
    payments: dict[str, dict] = field(default_factory=dict)  # idempotency key -> body
    requests: list[tuple[str, str, dict]] = field(default_factory=list)

    def health_answer(self) -> tuple[int, dict]:
        return self.health or (200, {"status": "healthy", "region": self.region, "checks": {
            "database": "ok", "dynamodb": "ok", "s3": "ok"}, "correlation_id": "c"})

    def process(self, headers: dict[str, str], body: dict) -> tuple[int, dict, dict]:
        if self.process_status is not None:
            return self.process_status, {"error": {"code": "service_unavailable",
                                                   "message": "try again"}}, {}
        items = self.cloud.items[self.region]
        decision = decide(headers.get("authorization"), "example", lambda key_id: {
            k: v["S"] for k, v in items.get(record_key(key_id), {}).items()} or None)
        if not decision.allowed:
            return 403, {"error": {"code": "forbidden", "message": decision.reason}}, {}
        key = headers["idempotency-key"]
        if key in self.payments:
            return 201, self.payments[key], ({"idempotent-replayed": "true"} if self.replay
                                             else {})
        self.payments[key] = {"payment_id": str(uuid.uuid4()), "status": "accepted",
                              "amount": body["amount"], "currency": body["currency"],
                              "merchant_id": decision.merchant_id, "region": self.region,
                              "description": body.get("description"), "correlation_id": "c"}
        return 201, self.payments[key], {}


def server_context(issued: Issued) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    return context


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802 (http.server's hook)
        api = self.server.api
        api.requests.append(("GET", self.path, {"host": self.headers.get("Host", "")}))
        self._answer(*api.health_answer()) if self.path == "/health" else self._answer(404, {})

    def do_POST(self) -> None:  # noqa: N802
        api = self.server.api
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        api.requests.append(("POST", self.path, headers))
        self._answer(*api.process(headers, body))


class _Server(ThreadingHTTPServer):
    """The handshake happens on the handler's thread (a client that refuses the certificate
    ends only its own connection, quietly)."""
    daemon_threads = True

    def __init__(self, api: RegionApi, issued: Issued):
        super().__init__((api.address, 0), _Handler)
        self.api = api
        self.context = server_context(issued)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        return self.context.wrap_socket(connection, server_side=True,
                                        do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Apis:
    """The regions' servers and the names that lead to them."""

    def __init__(self, cloud: Any, certificates: dict[str, Issued]):
        self.cloud = cloud
        self.regions = {r: RegionApi(r, f"127.0.0.{i + 2}", cloud)
                        for i, r in enumerate((cloud.home, cloud.recovery))}
        self.servers = {r: _Server(api, certificates[r]) for r, api in self.regions.items()}
        self.names: dict[str, str] = {}  # host name -> region whose server answers it
        self.resolved: list[str] = []
        for server in self.servers.values():
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()

    def present(self, region: str, issued: Issued) -> None:
        """From now on `region`'s server presents `issued`."""
        self.servers[region].context = server_context(issued)

    def address(self, region: str) -> tuple[str, int]:
        return self.servers[region].server_address[:2]

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        """socket.getaddrinfo for the API's names only; anything else is refused as an
        unknown name (no test may reach a real resolver)."""
        name = str(host).rstrip(".")
        if name.startswith("127."):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (name, port))]
        self.resolved.append(name)
        if name not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address, listening = self.address(self.names[name])
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, listening))]

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
