"""A TCP forwarder on 127.0.0.1: the network between the functions, the database servers and
the regions, where the local model must act on it.

A `Forwarder` listens on a port of its own and forwards each connection to a target port.
- It can delay each direction (`to_server`, `to_client`, seconds): a chunk read at t is
  written at t + delay, in order. That is how the game day puts the distance between regions
  into a standby's WAL stream (`replication_link`), and the bench a network round trip in front
  of PostgreSQL.
- `point_to(port)` sends new connections elsewhere and ends the open ones (the global writer
  endpoint after a failover: endpoint.py).
- `sever()` ends every connection at once and drops what is still in transit: a lost region's
  link delivers nothing more. WAL that had not reached the standby is lost, as on Aurora, where
  a failover loses what was not yet replicated ("Using switchover or failover in Amazon Aurora
  Global Database": RPO is the replication lag at the time of the failure).
TLS passes through untouched (bytes are copied), so verify-full still holds end to end.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time

_BUFFER = 65536


class Forwarder:
    def __init__(self, target_port: int, *, to_server: float = 0.0, to_client: float = 0.0,
                 host: str = "127.0.0.1", name: str = "forwarder"):
        self._host = host
        self._target = target_port
        self.to_server, self.to_client = to_server, to_client
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)
        self._thread.start()

    @property
    def target_port(self) -> int:
        return self._target

    def point_to(self, target_port: int) -> None:
        """New connections go to `target_port`; every open one ends."""
        with self._lock:
            self._target = target_port
        self.sever()

    def sever(self) -> None:
        """End every open connection now; what is in transit is never delivered."""
        with self._lock:
            links, self._links = self._links, set()
        for link in links:
            link.close()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        _close(self._listener)
        self.sever()

    def __enter__(self) -> Forwarder:
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
            _close(client)  # nothing listens there: the client sees its connection closed
            return
        upstream.settimeout(None)
        link = _Link(client, upstream, self)
        with self._lock:
            if target != self._target or self._closed.is_set():  # repointed while connecting
                link.close()
                return
            self._links.add(link)
        link.start()

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)


class _Link:
    """One forwarded connection: a pipe each way."""

    def __init__(self, client: socket.socket, upstream: socket.socket, owner: Forwarder):
        self.owner = owner
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pipes = (_Pipe(client, upstream, owner.to_server, self.close),
                      _Pipe(upstream, client, owner.to_client, self.close))

    def start(self) -> None:
        for pipe in self.pipes:
            pipe.start()

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.close()
        self.owner._forget(self)


class _Pipe:
    """Copies one direction; with a delay, each chunk waits in a queue until it is due."""

    def __init__(self, source: socket.socket, sink: socket.socket, delay: float, on_end):
        self.source, self.sink, self.delay = source, sink, delay
        self._on_end = on_end
        self._queue: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        if self.delay > 0:
            threading.Thread(target=self._write, daemon=True).start()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._queue.clear()
            self._ready.notify_all()
        _close(self.source)
        _close(self.sink)

    def _read(self) -> None:
        try:
            while data := self.source.recv(_BUFFER):
                if self.delay > 0:
                    self._enqueue(data)
                else:
                    self.sink.sendall(data)
        except OSError:
            pass
        if self.delay > 0:
            self._enqueue(None)  # the end, delivered after the data
        else:
            self._on_end()

    def _enqueue(self, data: bytes | None) -> None:
        with self._ready:
            if not self._closed:
                self._queue.append((time.perf_counter() + self.delay, data))
                self._ready.notify_all()

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._closed and (not self._queue
                                            or self._queue[0][0] > time.perf_counter()):
                    wait = (self._queue[0][0] - time.perf_counter()) if self._queue else None
                    self._ready.wait(wait)
                if self._closed:
                    return
                _, data = self._queue.popleft()
            if data is None:
                self._on_end()
                return
            try:
                self.sink.sendall(data)
            except OSError:
                self._on_end()
                return


def replication_link(primary_port: int, delay_seconds: float) -> Forwarder:
    """What a standby streams WAL through: the primary's WAL reaches the standby
    `delay_seconds` after the primary sent it; the standby's replies are not delayed (its
    flush position reaches the primary at once, so a wait for it measures the WAL's way)."""
    return Forwarder(primary_port, to_client=delay_seconds, name="replication-link")


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
