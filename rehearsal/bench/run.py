"""`payments-dr bench`: the real processor's path to its 201, with AWS-typical latency
injected, zero-loss off and on.

Each configuration runs in a world of its own (rehearsal/gameday/local_world.py: a real
PostgreSQL writer behind the writer endpoint with the database round trip, a standby behind a
replication link with the replication delay, moto behind `rehearsal.aws_calls` with the
DynamoDB and S3 latencies; values and sources in rehearsal/aws_figures.py). After a warm-up
(the container's cold start is not the path to a 201), `--requests` payments are sent one
after another through the home region's real processor. For each, every remote call it made
is recorded: AWS calls by botocore's own events, database calls at the driver (pg8000's
`Connection.run`, with the statement's first words), each with the thread that made it, and
its sequential calls are counted from who made each call (critical_path.py). Reported: p50/p99 of the 201 in wall milliseconds,
the sequential calls, the calls per payment by kind, the path itself, and the latencies
injected with their sources.
"""

from __future__ import annotations

import contextlib
import re
import json
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pg8000.native

from rehearsal.aws_figures import SOURCES, TYPICAL, Latencies
from rehearsal.bench.critical_path import Call, sequential_calls
from rehearsal.gameday.clients import order_reference
from rehearsal.gameday.drill_report import percentile
from rehearsal.gameday.local_world import (DRILL_MERCHANT, World, WorldSettings,
                                           ZeroLossUnavailable, http_event)
from rehearsal.localpg import PostgresUnavailable
from toolkit import exit_codes
from toolkit.errors import UsageError

HOME, RECOVERY = "us-east-1", "us-west-2"
WARM_UP = 5


def main(args, reporter) -> int:
    from moto import mock_aws  # the rehearsal extra

    latencies = replace(TYPICAL, **{name: getattr(args, name) for name in
                                    ("dynamodb_ms", "s3_ms", "db_round_trip_ms",
                                     "replication_ms")
                                    if getattr(args, name, None) is not None})
    modes = ("off", "on") if args.zero_loss == "both" else (args.zero_loss,)
    failed = False
    for mode in modes:
        with mock_aws(), contextlib.redirect_stdout(sys.stderr):
            try:
                line = measure(mode, latencies, args.requests)
            except PostgresUnavailable as error:
                raise UsageError(f"bench needs the PostgreSQL server binaries: {error}") \
                    from None
        failed |= line.get("result") == "failed"
        reporter.line(line)
        for text in describe(line):
            reporter.info(text)
    return exit_codes.FAILED if failed else exit_codes.OK


def measure(mode: str, latencies: Latencies, requests: int) -> dict[str, Any]:
    started = time.perf_counter()
    base = {"zero_loss": mode, "requests": requests,
            "injected_latency_ms": latencies.to_json(), "latency_sources": SOURCES}
    try:
        world = World(HOME, RECOVERY, WorldSettings(latencies, zero_loss=mode),
                      environment="bench")
    except ZeroLossUnavailable as error:
        return {**base, "result": "unsupported", "reason": str(error)}
    try:
        try:
            world.deploy()
        except ZeroLossUnavailable as error:
            return {**base, "result": "unsupported", "reason": str(error)}
        process = world.regions[HOME].functions["process"]
        for number in range(WARM_UP):
            process.invoke(_payment(10_000_000 + number))
        world.aws.record = True
        samples, statuses, durability = [], Counter(), Counter()
        request_thread = threading.get_ident()  # process.invoke runs the handler here
        with _database_calls() as database:
            for number in range(1, requests + 1):
                world.aws.calls.clear()
                database.clear()
                began = time.perf_counter()
                response = process.invoke(_payment(number))
                ended = time.perf_counter()
                statuses[response["statusCode"]] += 1
                headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
                durability[headers.get("x-payments-durability", "absent")] += 1
                if response["statusCode"] == 201:
                    calls = [Call(c.service, c.operation, c.start, c.end, c.thread)
                             for c in world.aws.calls] + list(database)
                    samples.append((ended - began, *sequential_calls(calls, request_thread),
                                    calls))
    finally:
        world.close()
    return {**base, **_summary(samples, statuses, durability),
            "wall_seconds": round(time.perf_counter() - started, 1)}


def _summary(samples, statuses: Counter, durability: Counter) -> dict[str, Any]:
    if not samples:
        return {"result": "failed", "statuses": dict(statuses)}
    durations = sorted(s[0] * 1000 for s in samples)
    counts = [s[1] for s in samples]
    typical = sorted(samples, key=lambda s: s[0])[len(samples) // 2]
    per_kind = Counter(c.kind for s in samples for c in s[4])
    return {
        "result": "ok" if statuses.get(201) == sum(statuses.values()) else "failed",
        "statuses": {str(k): v for k, v in statuses.items()},
        "p50_ms": percentile(durations, 50), "p99_ms": percentile(durations, 99),
        "mean_ms": round(statistics.fmean(durations), 1),
        "sequential_calls": int(statistics.median(counts)),
        "sequential_calls_range": [min(counts), max(counts)],
        "polls_per_payment": round(statistics.fmean(s[3] for s in samples), 1),
        "calls_per_payment": {kind: round(n / len(samples), 2)
                              for kind, n in sorted(per_kind.items())},
        "critical_path": [f"{c.kind} {c.what}" for c in typical[2]],
        "durability": dict(durability),
    }


def describe(line: dict[str, Any]) -> list[str]:
    if line.get("result") == "unsupported":
        return [f"zero-loss {line['zero_loss']}: not measured: {line['reason']}"]
    if "p50_ms" not in line:
        return [f"zero-loss {line['zero_loss']}: no 201 ({line.get('statuses')})"]
    return [f"zero-loss {line['zero_loss']}: {line['requests']} payments, 201 p50 "
            f"{line['p50_ms']} ms, p99 {line['p99_ms']} ms; {line['sequential_calls']} "
            f"sequential remote calls ({' -> '.join(line['critical_path'])}); calls per "
            f"payment {line['calls_per_payment']}; injected {line['injected_latency_ms']}"]


def statement_label(sql: str) -> str:
    """A statement as the critical path names it: the function a `SELECT * FROM f(...)` calls
    (the app role runs only such functions), otherwise its first three words."""
    words = " ".join(str(sql).split())
    called = re.match(r"SELECT \* FROM ([\w.]+)\(", words)
    return f"{called[1]}()" if called else " ".join(words.split()[:3])


@contextlib.contextmanager
def _database_calls() -> Iterator[list[Call]]:
    """Every statement the handler runs on this thread, with its interval (pg8000's
    `Connection.run`: the driver's one entry for a statement)."""
    calls: list[Call] = []
    thread = threading.get_ident()
    original = pg8000.native.Connection.run

    def run(self, sql, *args, **kwargs):
        began = time.perf_counter()
        try:
            return original(self, sql, *args, **kwargs)
        finally:
            if threading.get_ident() == thread:
                calls.append(Call("database", statement_label(sql), began,
                                  time.perf_counter(), thread))

    pg8000.native.Connection.run = run
    try:
        yield calls
    finally:
        pg8000.native.Connection.run = original


def _payment(number: int) -> dict[str, Any]:
    body = {"amount": "25.00", "currency": "EUR", "merchant_id": DRILL_MERCHANT,
            "source": {"type": "card_token", "token": "tok_bench_abcdefgh"},
            "description": order_reference(number)}
    return http_event("POST", "/process", json.dumps(body),
                      {"content-type": "application/json",
                       "idempotency-key": f"bench-{number:07d}"})


