"""Can this region take payments? One cheap call per dependency, run in parallel.

Route 53 HTTPS health checkers wait about 4 s to connect and then 2 s for
the response ("How Amazon Route 53 determines whether a health check is
healthy"), so every probe has a short timeout and the whole check a deadline
below that; a probe that has not answered by then counts as failed.

The verdict (:func:`evaluate`) depends on the region's role:

* every dependency must answer;
* in the **primary** role the database must also accept writes
  (``pg_is_in_recovery()`` is false). After a failover the old primary's
  cluster becomes a read-only secondary: reporting it unhealthy keeps DNS on
  the promoted region.
* in the **secondary** role a read-only database is expected (a global
  database secondary, optionally with write forwarding) and reported as
  ``"writable": false`` without failing the check. Route 53 failover routing
  answers with the primary record when both records are unhealthy, so a
  standby that reported itself down until promotion would keep traffic on a
  dead primary.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .config import RegionRole
from .errors import DependencyUnavailable
from .ledger import Ledger

Probe = Callable[[], Mapping[str, Any]]
"""Returns details for the report, raises on failure."""

DEADLINE_SECONDS = 1.5


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": self.ok,
            "latency_ms": round(self.latency_ms, 1),
            **self.details,
        }
        if self.error:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    role: RegionRole
    region: str
    checks: tuple[CheckResult, ...]
    failing: tuple[str, ...]

    @property
    def status_code(self) -> int:
        return 200 if self.healthy else 503

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "role": self.role.value,
            "region": self.region,
            "failing": list(self.failing),
            "checks": {check.name: check.to_json() for check in self.checks},
        }


def evaluate(role: RegionRole, region: str, checks: tuple[CheckResult, ...]) -> HealthReport:
    failing = [check.name for check in checks if not check.ok]
    database = next((c for c in checks if c.name == "database"), None)
    if (
        role is RegionRole.PRIMARY
        and database is not None
        and database.ok
        and database.details.get("writable") is False
    ):
        failing.append("database")
    return HealthReport(not failing, role, region, checks, tuple(failing))


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


def database_probe(ledger: Ledger) -> Probe:
    """``SELECT 1, pg_is_in_recovery()``: reachable, and writable or not."""
    return lambda: {"writable": ledger.probe()}


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
