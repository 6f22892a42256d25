"""What a runbook sees: `DrState`. What it may decide are the decision kernel's types
(`toolkit/kernel.py`: Step, Wait, Blocked, Refuse, Done), as for the rollout and the teardown.

Plain frozen data: the AWS adapter and the local drill adapter both produce a `DrState`, and
the runbook functions (`runbook/decide.py`) read nothing else. A value that could not be
observed is `None` (the failed region is never asked), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# RDS GlobalCluster.Status while a writer move runs, and FailoverState.Status values
# (RDS API Reference, "FailoverState").
MOVING_STATUSES = frozenset({"failing-over", "switching-over", "modifying"})
FAILOVER_RUNNING = frozenset({"pending", "failing-over"})
SECRET_IN_SYNC = "InSync"
TABLE_ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class Member:
    """One cluster of the global database, as DescribeGlobalClusters reports it."""
    region: str
    cluster: str          # identifier or ARN: what the RDS calls take as TargetDbClusterIdentifier
    is_writer: bool
    synchronization: str = ""   # SynchronizationStatus: connected | pending-resync


@dataclass(frozen=True)
class Projections:
    """What the reconcile function's check (`repair: false`) counted in one region: payments
    of the runbook's window (`decide.RECONCILE_WINDOW_MINUTES`), older than a minute, without
    their receipt or status item there."""
    missing_receipts: int
    missing_status_items: int
    rows_checked: int
    complete: bool = True

    @property
    def missing(self) -> int:
        return self.missing_receipts + self.missing_status_items

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> "Projections":
        return cls(int(report["missing_receipts"]), int(report["missing_status_items"]),
                   int(report["rows_checked"]), bool(report.get("complete", True)))


@dataclass(frozen=True)
class DrState:
    home: str
    recovery: str
    global_cluster: str
    global_status: str = ""                     # "" when not observed
    failover_status: str = ""                   # FailoverState.Status, "" when none
    failover_to: str = ""                       # region of FailoverState.ToDbClusterArn
    members: tuple[Member, ...] = ()
    replication_lag_ms: float | None = None     # AuroraGlobalDBReplicationLag, secondary
    rpo_lag_ms: float | None = None             # AuroraGlobalDBRPOLag, secondary
    last_replicated_at: str | None = None       # newest transaction the secondary replayed
    healthy: Mapping[str, bool | None] = field(default_factory=dict)    # GET /health 200
    health_urls: Mapping[str, str] = field(default_factory=dict)       # what was probed
    writable: Mapping[str, bool | None] = field(default_factory=dict)   # /health "writable"
    # The HTTP status each region's GET /health answered, 0 for no answer (after the adapter's
    # retries). An adapter that reports only `healthy` and `writable` leaves it empty: see
    # `answered()`.
    health_status: Mapping[str, int] = field(default_factory=dict)
    health_checks: Mapping[str, bool | None] = field(default_factory=dict)  # Route 53 view
    dns_preferred: str | None = None            # region of the PRIMARY failover record
    # The global stack's UpdateStack arguments that make DNS prefer each region, computed by
    # the rollout's own function (stacksets/plan.py next_global_step): deploy's global-phase
    # call with the preference moved. Empty when not observed (a region lost, no build).
    dns_updates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    global_stack_status: str | None = None
    # When the global stack's last operation failed or rolled back: its first failed resource
    # (None: not read, or nothing failed).
    global_stack_failure: str | None = None
    # What a deploy would change in the global stack besides the preference ("" nothing;
    # None not observed): the DNS step would carry it, so a switchover refuses first.
    global_stack_pending: str | None = None
    secret_replica: str | None = None           # replica's ReplicationStatus
    table_replicas: Mapping[str, str] = field(default_factory=dict)
    # S3 replication out of each region's receipts bucket, last 15 minutes:
    # {"failed": OperationsFailedReplication sum, "latency_s": ReplicationLatency maximum}
    s3_replication: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    # Requests answered in the last 5 minutes by processor containers that run with regional
    # durability only (zero-loss degraded; the processor's RegionalDurabilityRequests log
    # metric), per region; None: not read.
    regional_durability: Mapping[str, float | None] = field(default_factory=dict)
    # The reconcile function's check in the writer's region, once it reports writable. None:
    # the check did not run (the notes say why); a region absent: not observed (an adapter
    # that does not model projections, such as the local drill's).
    projections: Mapping[str, Projections | None] = field(default_factory=dict)
    observed_regions: tuple[str, ...] = ()      # regions whose APIs were called
    notes: tuple[str, ...] = ()                 # what could not be observed, and why
    caveats: tuple[str, ...] = ()               # stand-ins the observation rests on (rehearsal)

    @property
    def regions(self) -> tuple[str, str]:
        return (self.home, self.recovery)

    def other(self, region: str) -> str:
        return self.recovery if region == self.home else self.home

    @property
    def writer(self) -> str | None:
        writers = [m.region for m in self.members if m.is_writer]
        return writers[0] if len(writers) == 1 else None

    def member(self, region: str) -> Member | None:
        return next((m for m in self.members if m.region == region), None)

    def answered(self, region: str) -> bool | None:
        """Whether the region's /health gave any HTTP answer (None: not probed). Without a
        status, a region that is not healthy and reported no database check gave none (the
        game day's adapter reports a region that is down that way)."""
        if region in self.health_status:
            return self.health_status[region] != 0
        healthy = self.healthy.get(region)
        if healthy is None:
            return None
        return healthy or self.writable.get(region) is not None

    @property
    def moving(self) -> bool:
        return (self.global_status in MOVING_STATUSES
                or self.failover_status in FAILOVER_RUNNING)

    @property
    def dns_serving(self) -> str | None:
        """The record Route 53 answers with: PRIMARY while its check is healthy, else SECONDARY
        if that one is healthy, else PRIMARY again (both unhealthy: Route 53 Developer Guide,
        "How health checks work in simple Amazon Route 53 configurations" / failover routing)."""
        if self.dns_preferred is None:
            return None
        checks = self.health_checks or self.healthy
        preferred, other = self.dns_preferred, self.other(self.dns_preferred)
        if checks.get(preferred) is not False:
            return preferred
        return other if checks.get(other) else preferred

    def to_json(self) -> dict[str, Any]:
        return {
            "home": self.home, "recovery": self.recovery, "writer": self.writer,
            "global_cluster": self.global_cluster, "global_status": self.global_status,
            "failover": {"status": self.failover_status, "to": self.failover_to}
            if self.failover_status else None,
            "members": [m.__dict__ for m in self.members],
            "replication_lag_ms": self.replication_lag_ms, "rpo_lag_ms": self.rpo_lag_ms,
            "last_replicated_at": self.last_replicated_at,
            "healthy": dict(self.healthy), "health_urls": dict(self.health_urls),
            "writable": dict(self.writable), "health_status": dict(self.health_status),
            "health_checks": dict(self.health_checks),
            "dns_preferred": self.dns_preferred, "dns_serving": self.dns_serving,
            "global_stack_status": self.global_stack_status,
            "global_stack_failure": self.global_stack_failure,
            "global_stack_pending": self.global_stack_pending,
            "secret_replica": self.secret_replica, "table_replicas": dict(self.table_replicas),
            "s3_replication": {r: dict(v) for r, v in self.s3_replication.items()},
            "regional_durability": dict(self.regional_durability),
            "projections": {r: None if p is None else {**p.__dict__, "missing": p.missing}
                            for r, p in self.projections.items()},
            "observed_regions": list(self.observed_regions), "notes": list(self.notes),
            "caveats": list(self.caveats),
        }
