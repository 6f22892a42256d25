"""One region's Lambda function, as execution environments of the real `payments` package
running on threads of this process.

How: `payments` is imported normally, once. Each execution environment is a
`payments.wiring.Container` built from the region's environment (`Container(environ)`: the
variables the regional template sets, handed over as a mapping, never through `os.environ`),
so it holds its own configuration, database connection and clients, as a Lambda execution
environment does. An invocation takes an idle environment, or starts a new one (a cold start,
counted), and runs the real entry point (`payments.handlers.process` or `.health`) inside
`wiring.serving(container)`. One invocation per environment at a time, as in Lambda, and at
most `limit` environments (the function's reserved concurrency). Beyond it Lambda would
throttle; here an invocation waits for an environment instead: a request takes many times
longer on this machine than in Lambda (every environment shares two cores), so throttling
counted here would refuse load that Lambda serves. The wait is the simulation host's, and the
simulated clock waits with it (traffic.py).

Why threads, not a process per environment: the game day needs tens of concurrent
environments per region (a payment waits on real sockets, and on the standby with zero-loss
on) on a 2-core machine. A Python process per environment costs about half a second of CPU to
start and tens of MB, and moto would have to run as a server for them to share it; threads
start in milliseconds and share moto in-process. The price is one interpreter for every
environment: what a real crash of their process would do is modelled instead (`lose()`): the
environments are dropped, every AWS call of the region fails (`rehearsal.aws_calls`), its
database is gone, and an invocation still running finishes into the void: its answer never
reaches the client.

Cold starts share this machine's CPU, where in Lambda each environment has its own: creating
a boto3 client parses botocore's model files, about 0.2 s of CPU per client, and a burst of
fifty cold starts would stall every other request for tens of seconds. `shared_models()` lets
every botocore loader of this process share what it parsed (the same files, read once); each
environment still builds its own sessions, clients and connections.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import botocore.loaders

from payments import handlers, wiring


class RegionDown(RuntimeError):
    """The region's API answers nothing: a client finds no connection."""


class AnswerLost(RegionDown):
    """The invocation ran, but its region was lost meanwhile: its answer never arrives."""


@dataclass
class Context:
    """The Lambda context the handlers read: request id and the time left."""
    aws_request_id: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class Function:
    def __init__(self, region: str, handler: str, environ: Mapping[str, str], *,
                 timeout_seconds: float, limit: int):
        self.region, self.handler = region, handler
        self.environ = dict(environ)
        self.timeout_seconds, self.limit = timeout_seconds, limit
        self._lock = threading.Condition()
        self._idle: list[wiring.Container] = []
        self._busy = 0
        self._generation = 0
        self.up = True
        self.cold_starts = 0
        self.peak_concurrency = 0

    def invoke(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Run the handler in an environment of this function (waiting for one at the
        limit); `RegionDown` if the region answers nothing, `AnswerLost` if it was lost
        meanwhile."""
        container, generation = self._take()
        try:
            request_id = event.get("requestContext", {}).get("requestId") or str(uuid.uuid4())
            context = Context(request_id, time.monotonic() + self.timeout_seconds)
            with wiring.serving(container):
                response = getattr(handlers, self.handler)(event, context)
        finally:
            self._give_back(container, generation)
        with self._lock:
            if generation != self._generation:
                raise AnswerLost(self.region)
        return response

    def warm(self, count: int) -> None:
        """Start `count` environments and build what a first request would (configuration,
        clients, the database connection and its schema check): a region that has been
        serving for a while has warm environments."""
        for _ in range(count):
            container = wiring.Container(self.environ)
            with wiring.serving(container):
                wiring.payment_service() if self.handler == "process" else \
                    wiring.health_probes()
            with self._lock:
                self._idle.append(container)
                self.cold_starts += 1

    def lose(self) -> None:
        """The region is gone: no environment survives, answers in flight are lost."""
        with self._lock:
            self.up = False
            self._generation += 1
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for container in idle:
            container.close()

    def restore(self) -> None:
        """The region is back: environments start cold."""
        with self._lock:
            self.up = True

    def close(self) -> None:
        self.lose()

    def _take(self) -> tuple[wiring.Container, int]:
        with self._lock:
            while self.up and not self._idle and self._busy >= self.limit:
                self._lock.wait()
            if not self.up:
                raise RegionDown(self.region)
            if self._idle:
                container = self._idle.pop()
            else:
                container = wiring.Container(self.environ)
                self.cold_starts += 1
            self._busy += 1
            self.peak_concurrency = max(self.peak_concurrency, self._busy)
            return container, self._generation

    def _give_back(self, container: wiring.Container, generation: int) -> None:
        with self._lock:
            self._busy -= 1
            self._lock.notify()
            if generation == self._generation:
                self._idle.append(container)
                return
        container.close()


@contextlib.contextmanager
def shared_models():
    """Every botocore `Loader` created meanwhile shares what it parsed of the files nobody
    changes once loaded: the endpoint data and rule sets, the directory listings. Each loader
    keeps its own service models (moto adds its extras to those)."""
    original = botocore.loaders.Loader.__init__
    shared: dict = {}

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        self._cache = _SharedCache(shared)

    botocore.loaders.Loader.__init__ = init
    try:
        yield
    finally:
        botocore.loaders.Loader.__init__ = original


class _SharedCache(dict):
    """A loader's cache (`botocore.loaders.instance_cache` keys: method name, arguments)
    whose shareable entries live in `shared`."""

    def __init__(self, shared: dict):
        super().__init__()
        self._shared = shared

    def __contains__(self, key) -> bool:
        return key in self._shared if _shareable(key) else super().__contains__(key)

    def __getitem__(self, key):
        return self._shared[key] if _shareable(key) else super().__getitem__(key)

    def __setitem__(self, key, value) -> None:
        if _shareable(key):
            self._shared[key] = value
        else:
            super().__setitem__(key, value)


def _shareable(key: tuple) -> bool:
    method = key[0]
    if method in ("list_available_services", "determine_latest_version", "list_api_versions"):
        return True
    if method == "load_service_model":
        return key[2] != "service-2"
    return method == "load_data_with_path" and "service-2" not in key[1]
