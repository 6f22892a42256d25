"""Servers for the database TLS tests, on 127.0.0.1 only.

* :class:`RecordingServer` speaks just the start of the PostgreSQL protocol: it answers the
  SSLRequest with ``S``, completes the TLS handshake with a chosen certificate, records how
  many bytes the client sends next (the startup message, if the client accepted the server)
  and hangs up. What a refusing client never sends is what the tests assert.
* :func:`present` makes a real PostgreSQL server present a chosen certificate (written beside
  its data directory, set in ``postgresql.auto.conf``, applied by a restart).
* :func:`loopback` stands in for DNS on the connect side: pg8000 gets a socket already
  connected to 127.0.0.1 and still uses the host name it was given for SNI and the name check.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import socket
import socketserver
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pg8000.native

from .tls_pki import Issued
from rehearsal.localpg import PostgresServer

# PostgreSQL "Message Formats": SSLRequest is Int32(8) Int32(80877103).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


@dataclass(frozen=True)
class Session:
    handshake_error: str | None  # the server side's view of a failed handshake
    bytes_after_handshake: int  # 0: the client sent nothing over the established TLS session


class RecordingServer(socketserver.TCPServer):
    """One connection at a time, on a thread of its own (``serve_forever``)."""

    def __init__(self, issued: Issued) -> None:
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(issued.cert_file, issued.key_file)
        self.sessions: queue.Queue[Session] = queue.Queue()
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.port: int = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="tls-recorder", daemon=True)
        self._thread.start()

    def next_session(self, timeout: float = 5) -> Session:
        return self.sessions.get(timeout=timeout)

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()


class _Recorder(socketserver.BaseRequestHandler):
    server: RecordingServer

    def handle(self) -> None:
        self.server.sessions.put(_session(self.server.tls, self.request))


def _session(context: ssl.SSLContext, client: socket.socket) -> Session:
    client.settimeout(5)
    if _receive(client, len(SSL_REQUEST)) != SSL_REQUEST:
        return Session("no SSLRequest", 0)
    client.sendall(b"S")
    try:
        tls = context.wrap_socket(client, server_side=True)
    except (ssl.SSLError, OSError) as error:
        return Session(str(error), 0)
    with tls:
        try:
            received = tls.recv(65536)
        except OSError:  # the client reset the connection without a word
            received = b""
    return Session(None, len(received))


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := sock.recv(size - len(data))):
        data += chunk
    return data


def present(server: PostgresServer, issued: Issued) -> None:
    """Restart ``server`` presenting ``issued`` (the key must be the server user's, 0600)."""
    directory = server.root / "presented"
    directory.mkdir(exist_ok=True)
    server._chown(directory)
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    shutil.copyfile(issued.cert_file, cert_file)
    shutil.copyfile(issued.key_file, key_file)
    key_file.chmod(0o600)
    for path in (cert_file, key_file):
        server._chown(path)
    with open(server.data_dir / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
        conf.write(f"ssl_cert_file = '{cert_file}'\nssl_key_file = '{key_file}'\n")
    server.stop()
    server.start()


def loopback(port: int) -> Callable[..., pg8000.native.Connection]:
    """A ``Database(connect=...)`` that reaches 127.0.0.1:``port`` whatever the host name."""

    def connect(**kwargs: Any) -> pg8000.native.Connection:
        sock = socket.create_connection(("127.0.0.1", port), timeout=kwargs["timeout"])
        try:
            return pg8000.native.Connection(**kwargs, sock=sock)
        except BaseException:
            with contextlib.suppress(OSError):
                sock.close()
            raise

    return connect
