"""Can this region take payments now? One cheap call per dependency, in parallel.

Route 53 HTTPS health checkers wait about 4 s to connect and then 2 s for
the response ("How Amazon Route 53 determines whether a health check is
healthy"), so every probe has a short timeout and the whole check a deadline
below that; a probe that has not answered by then counts as failed.

Healthy means exactly "a payment sent here now would be recorded": every
dependency answers and accepts a write. A payment needs writes in all three stores (the ledger
row, conditional PutItems in the table, the receipt's PutObject encrypted with the regional key
through the bucket's default SSE-KMS), and a store can answer reads while it refuses writes (a
disabled or unusable bucket key, a bucket policy that denies PutObject: HeadBucket needs
neither KMS nor PutObject), so each is proven with a write of the same kind: a heartbeat row,
a conditional PutItem of the region's ``health#<region>`` item, a PutObject of the region's
``health/<region>`` object (``payments.probe_keys``). The region's deploy role
plays no part: the database decides who writes. Both regions' functions reach
the writer through the global writer endpoint, so in normal operation both
regions are healthy (the recovery region writes across the peering), and
after a failover the promoted region is healthy the moment its writes succeed.
"Writable" is proven, not inferred: the server must not be in recovery, the
session must not be read only, and a heartbeat row must commit.

The response says only healthy or not and which dependency failed (the check
is public: Route 53 calls it without credentials). Latencies and reasons go to
the request's log line.

Because the check is public, it must not turn every anonymous request into
writes. Every check still reads from each store (the database says what it is:
reachable, not in recovery, not read only; a GetItem; HeadBucket), but a
container writes to each at most once per :data:`HEARTBEAT_INTERVAL_SECONDS`
(:class:`WriteCadence`); in between, its last write stands as the proof that
writes succeed. So the one thing the check can get wrong, for at most that long,
is a store that answers reads but has just started refusing writes; a store that
stops answering is reported at once. Any failure forgets the last write: the
next healthy answer needs a new one.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .database import Database
from .errors import DependencyUnavailable
from .ledger import Ledger
from .probe_keys import health_item_key, health_object_key

Probe = Callable[[], Mapping[str, Any]]
"""Returns details for the report, raises on failure."""

DEADLINE_SECONDS = 1.5
HEARTBEAT_INTERVAL_SECONDS = 5.0
"""Half the health checks' 10 s interval ("Values that you specify when you create or update
health checks", Route 53 Developer Guide: RequestInterval 10 or 30): a write this old still
proves "writable" for less than one interval. Read at every check."""
HEALTH_ITEM_TTL_SECONDS = 24 * 3600
"""The health item's ``expires_at`` (the table's TTL attribute): a region that stops checking
leaves no item behind for long."""


class WriteCadence:
    """When this container last proved that a store takes writes: due again once
    :data:`HEARTBEAT_INTERVAL_SECONDS` have passed, at once after any failure."""

    def __init__(self) -> None:
        self._written: float | None = None

    def due(self) -> bool:
        return self._written is None or \
            time.monotonic() - self._written >= HEARTBEAT_INTERVAL_SECONDS

    def age_ms(self) -> int:
        return 0 if self._written is None else round((time.monotonic() - self._written) * 1000)

    def wrote(self) -> None:
        self._written = time.monotonic()

    def forget(self) -> None:
        self._written = None


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
    cadence = WriteCadence()

    def probe() -> Mapping[str, Any]:
        try:
            prepare()
            role = ledger.server_role()
            if not role.writable:
                database.discard()
                cadence.forget()
                return {"writable": False, "in_recovery": role.in_recovery,
                        "read_only": role.read_only}
            if not cadence.due():
                return {"writable": True, "heartbeat_age_ms": cadence.age_ms()}
            ledger.heartbeat(region)
            cadence.wrote()
            return {"writable": True, "heartbeat_age_ms": 0}
        except BaseException:
            cadence.forget()
            raise

    return probe


def proving_probe(read: Callable[[], None], write: Callable[[], None]) -> Probe:
    """A store's probe: a write when one is due (:class:`WriteCadence`), else a read; the
    report says how old the last proving write is. A write replaces the read rather than
    following it, so a check never waits for two calls to one store."""
    cadence = WriteCadence()

    def probe() -> Mapping[str, Any]:
        try:
            if cadence.due():
                write()
                cadence.wrote()
            else:
                read()
            return {"write_age_ms": cadence.age_ms()}
        except BaseException:
            cadence.forget()
            raise

    return probe


def dynamodb_probe(client: Any, table_name: str, region: str) -> Probe:
    """The region's ``health#<region>`` item: read (GetItem) at every check, and written at the
    cadence with a conditional PutItem, as the payment path writes its items. The condition
    keeps the item's time from moving back when containers' clocks differ; a conditional check
    that fails for that reason was still answered by the table's write path."""
    key = {"pk": {"S": health_item_key(region)}}

    def read() -> None:
        client.get_item(TableName=table_name, Key=key, ProjectionExpression="pk")

    def write() -> None:
        now = time.time()
        written = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        try:
            client.put_item(
                TableName=table_name,
                Item={**key, "written_at": {"S": written},
                      "expires_at": {"N": str(int(now) + HEALTH_ITEM_TTL_SECONDS)}},
                ConditionExpression="attribute_not_exists(pk) OR written_at < :written",
                ExpressionAttributeValues={":written": {"S": written}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    return proving_probe(read, write)


def s3_probe(client: Any, bucket: str, region: str) -> Probe:
    """HeadBucket at every check (the bucket exists here and we may use it), and at the
    cadence a PutObject of the region's ``health/<region>`` object, the receipt's write path:
    no encryption parameters, so the bucket's default SSE-KMS with the regional key and the
    bucket key apply, as for a receipt (``payments.receipts``)."""

    def read() -> None:
        client.head_bucket(Bucket=bucket)

    def write() -> None:
        client.put_object(Bucket=bucket, Key=health_object_key(region),
                          Body=datetime.now(UTC).isoformat(timespec="milliseconds").encode(),
                          ContentType="text/plain")

    return proving_probe(read, write)
