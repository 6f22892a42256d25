"""The runbook's adapter for the local drill: the same `DrState` and `Step`s as on AWS, carried
out on the two-region world of `local_world`.

AWS call                     here
SwitchoverGlobalCluster      the global cluster shows `switching-over` for SWITCHOVER_SECONDS
                             while the writer keeps taking payments; then the writer stops
                             cleanly (its WAL reaches the standby), the target is promoted, the
                             writer endpoint follows, and the old writer is rebuilt as a
                             standby of the new one (Aurora keeps it as a secondary)
FailoverGlobalCluster        `failing-over` for FAILOVER_SECONDS, then `pg_ctl promote` in the
  (AllowDataLoss)            target and the writer endpoint follows; the lost writer leaves
                             the topology until it is rebuilt
Route 53 record update       the failover records' preferred region
DescribeSecret, DescribeTable  moto's own answers (the secret's replica status, the table)

The durations are AWS's stated figures (rehearsal/aws_figures.py) on the drill's simulated
clock: `sleep()` advances the simulation (load, health checks, scheduled events), so a runbook
waiting 10 s lets the world move 10 s. A region declared failed is never touched (`region()`
refuses, as on AWS).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from rehearsal.aws_figures import FAILOVER_SECONDS, SWITCHOVER_SECONDS
from rehearsal.gameday.local_world import RegionDown, World, http_event
from rehearsal.gameday.resolver import FailoverRecords
from runbook.aws_adapter import FailedRegionCall, writable_from
from runbook.state import DrState, Member
from toolkit.kernel import Step


class Topology:
    """What the global cluster's control plane knows: the writer, the members and a writer
    move in progress (`moving`: (status, target region, when it completes))."""

    def __init__(self, home: str, recovery: str):
        self.writer = home
        self.members = {home: "connected", recovery: "connected"}
        self.moving: tuple[str, str, float] | None = None


Schedule = Callable[[float, str, Callable[[], None]], None]
"""(AWS seconds from now, what, action): run `action` on the simulated clock."""


class LocalAdapter:
    def __init__(self, world: World, topology: Topology, records: FailoverRecords,
                 global_cluster: str, advance: Callable[[float], None],
                 now: Callable[[], float], schedule: Schedule, failed: str | None = None,
                 last_lag: Callable[[], float | None] = lambda: None):
        self.world, self.topology, self.records = world, topology, records
        self.global_cluster, self.failed = global_cluster, failed
        self._advance, self._now, self._schedule = advance, now, schedule
        self._last_lag = last_lag
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
        writer, moving = self.topology.writer, self.topology.moving
        lag = None
        if writer != self.failed and moving is None:
            lag = replication_lag_ms(self.world, writer, self.topology)
        rpo = lag if lag is not None else self._last_lag()
        replayed = None
        standby = next((r for r in (home, recovery) if r != writer and r != self.failed
                        and r in self.topology.members and moving is None), None)
        if standby is not None:
            # pg_last_xact_replay_timestamp(): commit time of the last transaction the standby
            # replayed (the heartbeats make it recent while the writer lives).
            stamp = self.world.sql(self.region(standby),
                                   "SELECT pg_last_xact_replay_timestamp()")[0][0]
            replayed = stamp.isoformat(timespec="milliseconds") if stamp else None
        members = tuple(Member(r, f"{self.global_cluster}:{r}", r == writer,
                               "" if r == writer else sync)
                        for r, sync in self.topology.members.items())
        status, target = (moving[0], moving[1]) if moving else ("available", "")
        return DrState(
            home=home, recovery=recovery, global_cluster=self.global_cluster,
            global_status=status, failover_status=status if moving else "",
            failover_to=target, members=members, replication_lag_ms=lag,
            rpo_lag_ms=rpo, last_replicated_at=replayed, healthy=healthy, writable=writable,
            health_checks={r: c.healthy for r, c in self.records.checks.items()},
            dns_preferred=self.records.preferred, secret_replica=self._secret_replica(),
            # The drill's global stack is the failover-records model: the DNS step's
            # arguments name the region it is to prefer (AWS: deploy's UpdateStack call).
            dns_updates={r: {"PreferredRegion": r} for r in (home, recovery)},
            table_replicas=self._tables(), observed_regions=tuple(sorted(self.touched)))

    def _secret_replica(self) -> str | None:
        """The replica's status as the primary secret in home reports it (DescribeSecret);
        not read while home is the failed region."""
        if self.failed == self.world.home:
            return None
        import boto3

        try:
            found = boto3.client("secretsmanager", region_name=self.region(self.world.home)) \
                .describe_secret(SecretId=self.world.secret_name("app"))
        except (ClientError, BotoCoreError):
            return None
        return next((r.get("Status") for r in found.get("ReplicationStatus", [])
                     if r.get("Region") == self.world.recovery), None)

    def _tables(self) -> dict[str, str]:
        import boto3

        statuses = {}
        for name in (self.world.home, self.world.recovery):
            if name == self.failed:
                continue
            client = boto3.client("dynamodb", region_name=self.region(name))
            try:
                statuses[name] = _while_clients_write(
                    lambda: client.describe_table(TableName=self.world.table_name()))["Table"][
                        "TableStatus"]
            except (ClientError, BotoCoreError):
                continue
        return statuses

    # --- act -------------------------------------------------------------------------------
    def act(self, step: Step) -> None:
        self.actions.append((self.now(), step.action, step.region))
        getattr(self, step.action)(step)

    def failover_global_cluster(self, step: Step) -> None:
        assert step.arguments["AllowDataLoss"] is True
        target = self.region(step.region)

        def promoted() -> None:
            lost = self.topology.writer
            self.world.promote(target)
            self.world.point_writer_endpoint(target)
            self.topology.writer, self.topology.moving = target, None
            self.topology.members.pop(lost, None)
        self._move("failing-over", target, FAILOVER_SECONDS, promoted)

    def switchover_global_cluster(self, step: Step) -> None:
        target = self.region(step.region)
        old = self.region(self.topology.writer)

        def switched() -> None:
            self.world.stop_clean(old)
            self.world.promote(target)
            self.world.point_writer_endpoint(target)
            self.topology.writer, self.topology.moving = target, None
            self.world.rebuild_as_standby(old, of=target)
            self.topology.members[old] = "connected"
        self._move("switching-over", target, SWITCHOVER_SECONDS, switched)

    def _move(self, status: str, target: str, seconds: float,
              complete: Callable[[], None]) -> None:
        self.topology.moving = (status, target, self.now() + seconds)
        self._schedule(seconds, f"{status} to {target} complete", complete)

    def prefer_dns(self, step: Step) -> None:
        self.records.prefer(step.targets[0])


def health(world: World, region: str) -> tuple[bool, bool | None]:
    """GET /health through the region's real handler."""
    try:
        response = world.regions[region].call("health", http_event("GET", "/health"))
    except RegionDown:
        return False, None
    try:
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


def _while_clients_write(describe: Callable[[], dict[str, Any]], tries: int = 5
                         ) -> dict[str, Any]:
    """moto's DescribeTable counts the table's items without a lock, so while the drill's
    clients write it can fail with "dictionary changed size during iteration" (a stand-in's
    race, not an answer AWS gives): ask again."""
    for attempt in range(tries):
        try:
            return describe()
        except RuntimeError as error:
            if "changed size during iteration" not in str(error) or attempt == tries - 1:
                raise
    raise AssertionError("unreachable")
