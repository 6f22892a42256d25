"""`payments-dr bench`: the critical path counted from the calls a request made, and the
command once, as typed, against today's processor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rehearsal.aws_figures import SOURCES, TYPICAL
from rehearsal.bench.critical_path import Call, collapse_polls, sequential_calls

ROOT = Path(__file__).resolve().parents[2]


REQUEST, WORKER_1, WORKER_2, WORKER_3 = 1, 2, 3, 4


def call(kind: str, start: float, end: float, what: str = "op",
         thread: int = REQUEST) -> Call:
    return Call(kind, what, start, end, thread)


def test_calls_one_after_another_are_each_a_step_of_the_path():
    calls = [call("dynamodb", 0, 5), call("database", 6, 7), call("s3", 8, 38)]
    assert sequential_calls(calls, REQUEST)[0] == 3


def test_calls_handed_to_other_threads_together_cost_one_step():
    """The receipt, the status item and the completion, each on its own thread: one wait."""
    calls = [call("dynamodb", 0, 5), call("database", 6, 7),
             call("s3", 8, 38, thread=WORKER_1), call("dynamodb", 8, 13, thread=WORKER_2),
             call("dynamodb", 8, 14, thread=WORKER_3)]
    count, path, _ = sequential_calls(calls, REQUEST)
    assert count == 3 and [c.kind for c in path] == ["dynamodb", "database", "s3"]


def test_parallel_calls_that_ran_one_after_another_under_load_are_still_one_step():
    """What a time-based count got wrong on a loaded machine (review 17, F11): the threads'
    calls did not overlap in time, yet none waited for another."""
    calls = [call("dynamodb", 0, 5), call("database", 6, 7),
             call("s3", 8, 38, thread=WORKER_1), call("dynamodb", 39, 44, thread=WORKER_2),
             call("dynamodb", 45, 50, thread=WORKER_3)]
    assert sequential_calls(calls, REQUEST)[0] == 3


def test_calls_one_thread_makes_one_after_another_are_each_a_step():
    """Had the writes after the commit been queued on one thread, each would be a wait."""
    calls = [call("dynamodb", 0, 5), call("database", 6, 7),
             call("s3", 8, 38, thread=WORKER_1), call("dynamodb", 8, 13, thread=WORKER_2),
             call("dynamodb", 14, 19, thread=WORKER_2), call("dynamodb", 20, 25,
                                                             thread=WORKER_2)]
    count, path, _ = sequential_calls(calls, REQUEST)
    assert count == 5 and [c.thread for c in path][2:] == [WORKER_2] * 3


def test_groups_are_split_by_the_request_threads_own_calls():
    calls = [call("dynamodb", 0, 5, thread=WORKER_1), call("database", 6, 7),
             call("s3", 8, 38, thread=WORKER_1)]
    assert sequential_calls(calls, REQUEST)[0] == 3


def test_a_poll_of_the_same_statement_is_one_step():
    polls = [call("database", t, t + 1, "SELECT durable(1)") for t in (10, 12, 14, 16)]
    calls = [call("dynamodb", 0, 5), call("database", 6, 7, "INSERT INTO payments"),
             *polls, call("dynamodb", 20, 25)]
    folded, folded_polls = collapse_polls(calls)
    assert folded_polls == 3 and len(folded) == 4
    assert sequential_calls(calls, REQUEST)[0] == 4


def test_different_statements_are_not_a_poll():
    calls = [call("database", 0, 1, "INSERT INTO payments"),
             call("database", 2, 3, "SELECT payment_id")]
    assert collapse_polls(calls)[1] == 0 and sequential_calls(calls, REQUEST)[0] == 2


def test_the_bench_measures_todays_processor_with_typical_latencies():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "payments_dr", "bench", "--requests", "15", "--zero-loss",
         "off", "--output", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(text) for text in done.stdout.splitlines()]
    assert len(lines) == 1  # one JSON object per configuration, one a line
    (off,) = lines
    assert off["zero_loss"] == "off" and off["result"] == "ok"
    assert off["statuses"] == {"201": 15}
    assert off["injected_latency_ms"] == TYPICAL.to_json()
    assert off["latency_sources"] == SOURCES
    # the processor's path to its 201: the claim (DynamoDB), the ledger commit (database),
    # then the receipt (S3), the status item and the completion (DynamoDB) at once: three
    # sequential remote calls (the five calls of before, two of them no longer waited on one
    # after another)
    assert off["sequential_calls"] == 3 and off["sequential_calls_range"] == [3, 3]
    assert off["critical_path"][:2] == ["dynamodb PutItem", "database public.record_payment()"]
    assert off["critical_path"][2] in ("s3 PutObject", "dynamodb PutItem", "dynamodb UpdateItem")
    assert off["calls_per_payment"] == {"database": 1.0, "dynamodb": 3.0, "s3": 1.0}
    floor = TYPICAL.dynamodb_ms + TYPICAL.db_round_trip_ms + TYPICAL.s3_ms
    assert floor <= off["p50_ms"] <= off["p99_ms"]
    assert off["durability"] == {"off": 15}
