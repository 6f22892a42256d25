"""The payment's critical path: at most three sequential remote calls before the 201, plus the
zero-loss wait.

Every remote call the processor makes (its DynamoDB and S3 clients, its database connection)
is wrapped with timestamps, and each takes at least `ROUND_TRIP_SECONDS`, as a network round
trip would (moto and the loopback answer in microseconds, which would hide whether calls run
one after the other or at once). The critical path is the longest chain of calls in which each
starts after the previous one ended, among the calls made before the handler answered.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from payments import wiring

from tests.handlers.conftest import payment_body

from .conftest import TwoRegions

ROUND_TRIP_SECONDS = 0.03
REPLICATION_PROGRESS = "replication_progress"


@dataclass(frozen=True)
class Call:
    name: str
    start: float
    end: float


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def timed(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                time.sleep(ROUND_TRIP_SECONDS)
                return call(*args, **kwargs)
            finally:
                with self._lock:
                    self.calls.append(Call(name, start, time.monotonic()))
        return run


class TimedClient:
    """A boto3 client whose every operation is recorded as `<service>.<operation>`."""

    def __init__(self, client: Any, service: str, recorder: Recorder) -> None:
        self._client, self._service, self._recorder = client, service, recorder

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith(("get_paginator", "meta")):
            return attribute
        return self._recorder.timed(f"{self._service}.{name}", attribute)


def instrument(recorder: Recorder) -> None:
    """Wrap the warm container's clients and its database connection."""
    service = wiring.payment_service()
    for store, attribute, name in ((service._idempotency, "_client", "dynamodb"),
                                   (service._statuses, "_client", "dynamodb"),
                                   (service._receipts, "_client", "s3")):
        setattr(store, attribute, TimedClient(getattr(store, attribute), name, recorder))
    database = wiring.database("payments")
    for method in ("run", "run_once"):
        original = getattr(database, method)

        def named(sql: str, _original: Callable[..., Any] = original, **params: Any) -> Any:
            name = REPLICATION_PROGRESS if REPLICATION_PROGRESS in sql else "postgres"
            return recorder.timed(name, _original)(sql, **params)
        setattr(database, method, named)


def critical_path(calls: list[Call]) -> list[Call]:
    """The longest chain of calls, each starting after the previous one ended."""
    ordered = sorted(calls, key=lambda c: c.start)
    best: list[list[Call]] = []
    for i, call in enumerate(ordered):
        before = [best[j] for j in range(i) if ordered[j].end <= call.start]
        best.append(max(before, key=len, default=[]) + [call])
    return max(best, key=len, default=[])


def measure(world: TwoRegions) -> tuple[dict[str, Any], list[Call], float]:
    recorder = Recorder()
    with world.home.active():
        instrument(recorder)
    k = f"cp-{uuid.uuid4()}"
    started = time.monotonic()
    response = world.home.post(payment_body(), k)
    elapsed = time.monotonic() - started
    return response, recorder.calls, elapsed


def test_at_most_three_sequential_remote_calls_before_the_201(
    two_regions: TwoRegions, capsys: pytest.CaptureFixture[str],
) -> None:
    world = two_regions
    for zero_loss in ("off", "on"):
        world.home.configure(ZERO_LOSS=zero_loss)
        assert world.home.post(payment_body(), f"warm-{uuid.uuid4()}")["statusCode"] == 201

        response, calls, elapsed = measure(world)

        assert response["statusCode"] == 201, response["body"]
        durability = response["headers"]["x-payments-durability"]
        assert durability == {"off": "off", "on": "cross-region"}[zero_loss]
        waits = [c for c in calls if c.name == REPLICATION_PROGRESS]
        others = [c for c in calls if c.name != REPLICATION_PROGRESS]
        # Five remote calls in all: claim, commit, receipt, status item, completion.
        assert sorted(c.name for c in others) == [
            "dynamodb.put_item", "dynamodb.put_item", "dynamodb.update_item", "postgres",
            "s3.put_object"]
        path = critical_path(others)
        assert [c.name for c in path[:2]] == ["dynamodb.put_item", "postgres"]  # claim, commit
        assert len(path) == 3
        assert len(critical_path(calls)) == 3 + len(waits)
        assert bool(waits) is (zero_loss == "on")
        # The last three began together, after the commit (and the wait) ended.
        commit = path[1]
        after = sorted((c for c in others if c.start >= commit.end), key=lambda c: c.start)
        assert len(after) == 3 and after[-1].start < after[0].end
        assert all(w.start >= commit.end and w.end <= after[0].start for w in waits)
        with capsys.disabled():
            in_a_row = sum(c.end - c.start for c in calls)
            print(f"\ncritical path (zero-loss {zero_loss}): {len(path)} calls + {len(waits)} "
                  f"replication_progress read(s); answered in {elapsed * 1000:.0f} ms, its "
                  f"calls one after the other would take {in_a_row * 1000:.0f} ms "
                  f"({ROUND_TRIP_SECONDS * 1000:.0f} ms added to each)")
