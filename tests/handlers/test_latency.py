"""Handler latency against the real PostgreSQL (moto for AWS), printed as p50/p99.

Warm-container numbers: the first call of each path (connection, TLS, secret)
is excluded, as it is once per Lambda container. moto runs in-process, so the
AWS share is not representative of real network latency; the database share is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Api, new_key, payment_body

SAMPLES = 150


def measure(call: Callable[[], dict[str, Any]], expected_status: int) -> tuple[float, float]:
    call()  # warm: connection, TLS handshake, secret
    durations = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = call()
        durations.append((time.perf_counter() - started) * 1000)
        assert response["statusCode"] == expected_status, response["body"]
    percentiles = statistics.quantiles(durations, n=100, method="inclusive")
    return percentiles[49], percentiles[98]


@pytest.mark.latency
def test_handler_latency(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    results = {
        "POST /process (new payment)": measure(lambda: api.post(payment_body(), new_key()), 201),
        "POST /process (replay)": measure(lambda: api.post(REPLAY_BODY, REPLAY_KEY), 201),
        "GET /health": measure(api.health, 200),
    }
    with capsys.disabled():
        print()
        for name, (p50, p99) in results.items():
            print(f"latency {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({SAMPLES} calls)")
    for _name, (_p50, p99) in results.items():
        assert p99 < 1000, "a warm call should never take a second against a local database"


REPLAY_BODY, REPLAY_KEY = payment_body(), new_key()
