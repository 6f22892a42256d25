"""Can this region take payments now? One cheap call per dependency, in parallel.

Route 53 HTTPS health checkers wait about 4 s to connect and then 2 s for
the response ("How Amazon Route 53 determines whether a health check is
healthy"), so every probe has a short timeout and the whole check a deadline
below that; a probe that has not answered by then counts as failed.

Healthy means exactly "a payment sent here now would be recorded": every
dependency answers and the database accepts a write. The region's deploy role
plays no part: the database decides who writes. Both regions' functions reach
the writer through the global writer endpoint, so in normal operation both
regions are healthy (the recovery region writes across the peering), and
after a failover the promoted region is healthy the moment its writes succeed.
"Writable" is proven, not inferred: the server must not be in recovery, the
session must not be read only, and a heartbeat row must commit.

The response says only healthy or not and which dependency failed (the check
is public: Route 53 calls it without credentials). Latencies and reasons go to
the request's log line.

Because the check is public, it must not turn every anonymous request into a
database write. Every check still asks the server what it is (a read on the
open connection: reachable, not in recovery, not read only), but a container
commits a heartbeat at most once per :data:`HEARTBEAT_INTERVAL_SECONDS`; in
between, the last committed heartbeat stands as the proof of "a write commits".
So the one thing the check can get wrong, for at most that long, is a server
that says it is a writable primary yet cannot commit; a lost, demoted or
read-only writer is reported at once. Any failure forgets the last heartbeat:
the next healthy answer needs a new write.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .database import Database
from .errors import DependencyUnavailable
from .ledger import Ledger

Probe = Callable[[], Mapping[str, Any]]
"""Returns details for the report, raises on failure."""

DEADLINE_SECONDS = 1.5
HEARTBEAT_INTERVAL_SECONDS = 5.0
"""Half the health checks' 10 s interval ("Values that you specify when you create or update
health checks", Route 53 Developer Guide: RequestInterval 10 or 30): a heartbeat this old still
proves "writable" for less than one interval. Read at every check."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_log(self) -> dict[str, Any]:
        """Everything, for the log line (never for the public response)."""
        body: dict[str, Any] = {"ok": self.ok, "latency_ms": round(self.latency_ms, 1),
                                **self.details}
        if self.error:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class HealthReport:
    region: str
    checks: tuple[CheckResult, ...]
    failing: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.failing

    @property
    def status_code(self) -> int:
        return 200 if self.healthy else 503

    def to_json(self) -> dict[str, Any]:
        """The public body: status and ok / failing per dependency, nothing else."""
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "region": self.region,
            "checks": {c.name: "ok" if c.name not in self.failing else "failing"
                       for c in self.checks},
        }

    def to_log(self) -> dict[str, Any]:
        return {"failing": list(self.failing),
                "checks": {check.name: check.to_log() for check in self.checks}}


def evaluate(region: str, checks: tuple[CheckResult, ...]) -> HealthReport:
    """Healthy only when every dependency answered and the database took a write."""
    failing = [
        check.name for check in checks
        if not check.ok or (check.name == "database" and check.details.get("writable") is False)
    ]
    return HealthReport(region, checks, tuple(failing))


def run_probes(
    probes: Mapping[str, Probe], deadline_seconds: float = DEADLINE_SECONDS
) -> tuple[CheckResult, ...]:
    """Run every probe at once; none may take the whole check past the deadline."""
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=len(probes), thread_name_prefix="probe"
    )
    try:
        futures = {name: executor.submit(_timed, name, probe) for name, probe in probes.items()}
        concurrent.futures.wait(futures.values(), timeout=deadline_seconds)
        return tuple(
            future.result()
            if future.done()
            else CheckResult(name, False, deadline_seconds * 1000, error="timeout")
            for name, future in futures.items()
        )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _timed(name: str, probe: Probe) -> CheckResult:
    started = time.perf_counter()
    try:
        details = probe()
        return CheckResult(name, True, _elapsed_ms(started), details)
    except DependencyUnavailable as error:
        return CheckResult(name, False, _elapsed_ms(started), error=error.reason)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "ClientError"))
        return CheckResult(name, False, _elapsed_ms(started), error=code)
    except Exception as error:  # any failure of a probe means "unhealthy", never a 500
        return CheckResult(name, False, _elapsed_ms(started), error=type(error).__name__)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def database_probe(database: Database, region: str, prepare: Callable[[], None]) -> Probe:
    """Reachable, and writable or not: the server's own view, then a committed heartbeat
    (at most one per :data:`HEARTBEAT_INTERVAL_SECONDS`, see the module docstring).

    A read-only answer closes the connection, so the next check reconnects through the
    writer endpoint (which leads to the new writer after a failover) instead of asking the
    demoted server again. ``prepare`` checks that the schema is current first (once per
    container), so a fresh deployment turns healthy before its first payment.
    """
    ledger = Ledger(database)
    last_heartbeat: list[float] = []  # when this container last committed one

    def probe() -> Mapping[str, Any]:
        try:
            prepare()
            role = ledger.server_role()
            if not role.writable:
                database.discard()
                last_heartbeat.clear()
                return {"writable": False, "in_recovery": role.in_recovery,
                        "read_only": role.read_only}
            age = time.monotonic() - last_heartbeat[0] if last_heartbeat else None
            if age is not None and age < HEARTBEAT_INTERVAL_SECONDS:
                return {"writable": True, "heartbeat_age_ms": round(age * 1000)}
            ledger.heartbeat(region)
            last_heartbeat[:] = [time.monotonic()]
            return {"writable": True, "heartbeat_age_ms": 0}
        except BaseException:
            last_heartbeat.clear()
            raise

    return probe


def dynamodb_probe(client: Any, table_name: str) -> Probe:
    """A GetItem of a key that never exists: a data-plane read through the same path as payments."""

    def probe() -> Mapping[str, Any]:
        client.get_item(
            TableName=table_name, Key={"pk": {"S": "health#probe"}}, ProjectionExpression="pk"
        )
        return {}

    return probe


def s3_probe(client: Any, bucket: str) -> Probe:
    """HeadBucket: the bucket exists in this region and we may use it."""

    def probe() -> Mapping[str, Any]:
        client.head_bucket(Bucket=bucket)
        return {}

    return probe
