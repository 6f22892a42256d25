"""A TCP forwarder that models the Aurora global database's writer endpoint.

Aurora's global writer endpoint is one DNS name that always leads to the writer of the
current primary cluster; after a switchover or a failover Aurora repoints it, and
connections to the old writer end ("Connecting to Amazon Aurora Global Database", Aurora
User Guide). Here the name is a fixed 127.0.0.1 port and :meth:`WriterEndpoint.point_to`
is the repointing: new connections go to the new server and every open one is closed, so a
client must reconnect exactly as it would on AWS. TLS passes through untouched (the
forwarder copies bytes), so verify-full against the server certificate still holds.
"""

from __future__ import annotations

import contextlib
import socket
import threading

_BUFFER = 65536


class WriterEndpoint:
    """Listens on 127.0.0.1:<port> and forwards each connection to the current target port."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self._host = host
        self._target = target_port
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="writer-endpoint", daemon=True)
        self._thread.start()

    @property
    def target_port(self) -> int:
        return self._target

    def point_to(self, target_port: int) -> None:
        """Repoint the endpoint (a switchover or failover finished) and drop open sessions."""
        with self._lock:
            self._target = target_port
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        _close(self._listener)
        self.point_to(self._target)

    def __enter__(self) -> WriterEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            target = self._target
        try:
            upstream = socket.create_connection((self._host, target), timeout=5)
        except OSError:
            _close(client)  # the writer is down: the client sees a refused/closed connection
            return
        upstream.settimeout(None)
        with self._lock:
            if target != self._target:  # repointed while connecting
                _close(client)
                _close(upstream)
                return
            self._open.update((client, upstream))
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(_BUFFER):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
