"""The runbook's adapter for the local drill: the same `DrState` and `Step`s as on AWS, carried
out on the two-region world of `local_world`.

AWS call                     here
SwitchoverGlobalCluster      stop the writer cleanly (its WAL reaches the standby), promote
                             the target, repoint the writer endpoint, rebuild the old writer
                             as a standby of the new one (Aurora rejoins it as a secondary)
FailoverGlobalCluster        `pg_ctl promote` in the target, repoint the writer endpoint; the
  (AllowDataLoss)            lost writer leaves the topology until it is rebuilt
Route 53 record update       the failover records' preferred region

Time is the drill's simulated clock in AWS seconds: `sleep()` advances the simulation (load,
health checks, scheduled events), so a runbook waiting 10 s lets the world move 10 s.
A region declared failed is never touched (`client()` refuses, as on AWS).
"""

from __future__ import annotations

from typing import Any, Callable

from runbook.aws_adapter import FailedRegionCall, writable_from
from rehearsal.gameday.local_world import RegionDown, World, http_event
from rehearsal.gameday.resolver import FailoverRecords
from runbook.state import DrState, Member
from toolkit.kernel import Step


class Topology:
    """What the global cluster's control plane knows: the writer and the members."""

    def __init__(self, home: str, recovery: str):
        self.writer = home
        self.members = {home: "connected", recovery: "connected"}


class LocalAdapter:
    def __init__(self, world: World, topology: Topology, records: FailoverRecords,
                 global_cluster: str, advance: Callable[[float], None],
                 now: Callable[[], float], failed: str | None = None,
                 last_lag: Callable[[], float | None] = lambda: None):
        self.world, self.topology, self.records = world, topology, records
        self.global_cluster, self.failed = global_cluster, failed
        self._advance, self._now, self._last_lag = advance, now, last_lag
        self.touched: set[str] = set()
        self.actions: list[tuple[float, str, str]] = []

    def region(self, name: str) -> str:
        if name == self.failed:
            raise FailedRegionCall(f"{name} is declared failed")
        self.touched.add(name)
        return name

    def now(self) -> float:
        return self._now()

    def sleep(self, seconds: float) -> None:
        self._advance(seconds)

    # --- observe ---------------------------------------------------------------------------
    def observe(self) -> DrState:
        home, recovery = self.world.home, self.world.recovery
        healthy: dict[str, bool | None] = {}
        writable: dict[str, bool | None] = {}
        for name in (home, recovery):  # the failed one too: its /health is no AWS API call
            healthy[name], writable[name] = health(self.world, name if name == self.failed
                                                   else self.region(name))
        writer = self.topology.writer
        lag = None
        if writer != self.failed:
            lag = replication_lag_ms(self.world, writer, self.topology)
        rpo = lag if lag is not None else self._last_lag()
        replayed = None
        standby = next((r for r in (home, recovery) if r != writer and r != self.failed
                        and r in self.topology.members), None)
        if standby is not None:
            # pg_last_xact_replay_timestamp(): commit time of the last transaction the standby
            # replayed (the heartbeats make it recent while the writer lives).
            stamp = self.world.sql(self.region(standby),
                                   "SELECT pg_last_xact_replay_timestamp()")[0][0]
            replayed = stamp.isoformat(timespec="milliseconds") if stamp else None
        members = tuple(Member(r, f"{self.global_cluster}:{r}", r == writer,
                               "" if r == writer else sync)
                        for r, sync in self.topology.members.items())
        return DrState(
            home=home, recovery=recovery, global_cluster=self.global_cluster,
            global_status="available", members=members, replication_lag_ms=lag,
            rpo_lag_ms=rpo, last_replicated_at=replayed, healthy=healthy, writable=writable,
            health_checks={r: c.healthy for r, c in self.records.checks.items()},
            dns_preferred=self.records.preferred, secret_replica="InSync",
            # The drill's global stack is the failover-records model: the DNS step's
            # arguments name the region it is to prefer (AWS: deploy's UpdateStack call).
            dns_updates={r: {"PreferredRegion": r} for r in (home, recovery)},
            table_replicas={home: "ACTIVE", recovery: "ACTIVE"},
            observed_regions=tuple(sorted(self.touched)))

    # --- act -------------------------------------------------------------------------------
    def act(self, step: Step) -> None:
        self.actions.append((self.now(), step.action, step.region))
        getattr(self, step.action)(step)

    def failover_global_cluster(self, step: Step) -> None:
        assert step.arguments["AllowDataLoss"] is True
        target = self.region(step.region)
        lost = self.topology.writer
        self.world.promote(target)
        self.world.point_writer_endpoint(target)
        self.topology.writer = target
        self.topology.members.pop(lost, None)

    def switchover_global_cluster(self, step: Step) -> None:
        target = self.region(step.region)
        old = self.region(self.topology.writer)
        self.world.stop_clean(old)
        self.world.promote(target)
        self.world.point_writer_endpoint(target)
        self.topology.writer = target
        self.world.rebuild_as_standby(old, of=target)
        self.topology.members[old] = "connected"

    def prefer_dns(self, step: Step) -> None:
        self.records.prefer(step.targets[0])


def health(world: World, region: str) -> tuple[bool, bool | None]:
    """GET /health through the region's real handler."""
    try:
        response = world.regions[region].call("health", http_event("GET", "/health"))
    except RegionDown:
        return False, None
    try:
        import json
        body: dict[str, Any] = json.loads(response.get("body") or "{}")
    except ValueError:
        body = {}
    return response["statusCode"] == 200, writable_from(body)


def replication_lag_ms(world: World, writer: str, topology: Topology) -> float | None:
    """The standby's replay lag as the writer sees it (pg_stat_replication): 0 when it has
    replayed everything, its `replay_lag` otherwise; None when no standby streams (Aurora's
    AuroraGlobalDBReplicationLag has no datapoint then)."""
    rows = world.sql(writer, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), "
                             "EXTRACT(EPOCH FROM replay_lag) * 1000 FROM pg_stat_replication "
                             "WHERE state = 'streaming'")
    for region in topology.members:
        if region != writer:
            topology.members[region] = "connected" if rows else "pending-resync"
    if not rows:
        return None
    behind, lag = rows[0]
    return 0.0 if behind is not None and float(behind) == 0 else float(lag or 1.0)
