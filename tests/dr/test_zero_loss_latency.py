"""What the zero-loss wait costs, measured against a real streaming standby on the loopback.

The wait is the only thing the mode adds to a payment: the time from the commit until the
standby has flushed it and a poll of `replication_progress()` sees that. It is timed here
around the processor's own wait (`Durability.after_commit`), payment by payment, with the
polls counted; the whole request is timed too, with the mode on and (in the other region's
container, through the same writer endpoint, alternating) off, though on this shared machine
the request's own variation dwarfs the wait. In AWS the wait is the cross-region storage lag
instead (Aurora: typically under one second, "Aurora global databases", AWS Prescriptive
Guidance), which this cannot measure. Printed with `-s`; the README quotes it.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import pytest
from payments import wiring

from tests.handlers.conftest import payment_body

from .conftest import TwoRegions

SAMPLES = 100


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


@pytest.mark.latency
def test_zero_loss_added_latency_on_loopback(two_regions: TwoRegions,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    world = two_regions
    world.home.configure(ZERO_LOSS="on")
    world.recovery.configure(ZERO_LOSS="off")
    waits: list[tuple[float, int]] = []
    requests: dict[str, list[float]] = {"on": [], "off": []}
    for sample in range(SAMPLES + 1):
        for mode, region in (("on", world.home), ("off", world.recovery)):
            if sample == 1 and mode == "on":
                with region.active():
                    timed_wait(waits)
            started = time.perf_counter()
            response = region.post(payment_body(), f"lat-{uuid.uuid4()}")
            elapsed = (time.perf_counter() - started) * 1000
            assert response["statusCode"] == 201, response["body"]
            expected = "cross-region" if mode == "on" else "off"
            assert response["headers"]["x-payments-durability"] == expected
            if sample:  # the first of each is a cold container
                requests[mode].append(elapsed)
    assert len(waits) == SAMPLES
    wait_p50, wait_p99 = percentiles([ms for ms, _ in waits])
    polls = [count for _, count in waits]
    with capsys.disabled():
        print(f"\nzero-loss wait: p50 {wait_p50:.2f} ms, p99 {wait_p99:.2f} ms, max "
              f"{max(ms for ms, _ in waits):.2f} ms; polls per payment: median "
              f"{statistics.median(polls):g}, max {max(polls)} ({SAMPLES} payments)")
        for mode, values in requests.items():
            p50, p99 = percentiles(values)
            print(f"POST /process zero-loss {mode:>3}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    assert wait_p99 < 1000, "a wait on the loopback should never near its budget"


def timed_wait(waits: list[tuple[float, int]]) -> None:
    """Time the warm container's zero-loss wait and count its polls, payment by payment."""
    durability = wiring.durability()
    original = durability.after_commit

    def after_commit(progress: Any, deadline: Any) -> str:
        polls = [0]

        def counted() -> Any:
            polls[0] += 1
            return progress()

        started = time.perf_counter()
        verdict = original(counted, deadline)
        waits.append(((time.perf_counter() - started) * 1000, polls[0]))
        return verdict

    durability.after_commit = after_commit  # type: ignore[method-assign]
