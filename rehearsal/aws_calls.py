"""The AWS calls the real handlers make in the rehearsal: with the latency AWS typically adds,
failing in a lost region, and recorded.

botocore event hooks on every client created while `AwsCalls.installed()` is active (they go
into botocore.handlers.BUILTIN_HANDLERS, which each new session registers: the way moto
intercepts calls too, so the handlers' own clients get them without being touched):
- before-send: a client of a region marked lost fails as an unreachable endpoint does
  (`EndpointConnectionError`), before moto sees the request, so a lost region's functions change
  nothing in the stand-ins; otherwise the request waits the injected latency of its service (its
  round trip), then moto answers;
- before-call / after-call / after-call-error: each call's interval on the wall clock
  (`time.perf_counter()`), kept when `record` is on: the bench counts a payment's sequential
  calls from them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import botocore.handlers
from botocore.exceptions import EndpointConnectionError

_STARTED = "rehearsal_call_started"


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    region: str
    start: float
    end: float
    thread: int
    ok: bool


class AwsCalls:
    def __init__(self, latency_ms: Mapping[str, float] | None = None, record: bool = False):
        self.latency_ms = dict(latency_ms or {})  # botocore service id -> milliseconds
        self.lost: set[str] = set()
        self.record = record
        self.calls: list[Call] = []

    @contextlib.contextmanager
    def installed(self) -> Iterator[AwsCalls]:
        hooks = [("before-send", self._before_send), ("before-call", self._before_call),
                 ("after-call", self._after_call), ("after-call-error", self._after_error)]
        # First in the list: a lost region's request must fail before moto executes it.
        botocore.handlers.BUILTIN_HANDLERS[0:0] = hooks
        try:
            yield self
        finally:
            for hook in hooks:
                botocore.handlers.BUILTIN_HANDLERS.remove(hook)

    def _before_send(self, request, event_name: str, **_) -> None:
        region = (request.context or {}).get("client_region", "")
        if region in self.lost:
            raise EndpointConnectionError(endpoint_url=request.url)
        delay = self.latency_ms.get(event_name.split(".")[1], 0.0)
        if delay:
            time.sleep(delay / 1000)

    def _before_call(self, context, **_) -> None:
        context[_STARTED] = time.perf_counter()

    def _after_call(self, event_name: str, context, **_) -> None:
        self._keep(event_name, context, ok=True)

    def _after_error(self, event_name: str, context, **_) -> None:
        self._keep(event_name, context, ok=False)

    def _keep(self, event_name: str, context, ok: bool) -> None:
        """`event_name` is `after-call[-error].<service id>.<operation>`."""
        started = context.get(_STARTED)
        if not self.record or started is None:
            return
        _, service, operation = event_name.split(".", 2)
        self.calls.append(Call(service, operation, context.get("client_region", ""), started,
                               time.perf_counter(), threading.get_ident(), ok))
