"""The four runbooks as pure functions of the observed state: `DrState` -> one `Decision`.

Nothing here calls anything. Each function is the whole ordering logic of its runbook, so a
re-run after an interruption resumes by construction: a step whose effect is observed is not
chosen again. Refusals list every reason at once.

Facts the order depends on (checked against AWS documentation; see docs/runbook.md):
- `SwitchoverGlobalCluster` is the planned move: no data loss, both regions must be up, and the
  old writer becomes a secondary (Aurora User Guide, "Performing switchovers for Amazon Aurora
  global databases").
- `FailoverGlobalCluster` with `AllowDataLoss` (and no `Switchover`) is the unplanned move: it
  is called in the surviving region and loses what was not yet replicated; the old writer
  rejoins as a secondary when its region is back (RDS API Reference, "FailoverGlobalCluster").
- While either runs, DescribeGlobalClusters shows the move in `Status` and `FailoverState`.

After the writer moved and reports writable, each runbook rebuilds the projections (receipts,
status items) that the move left missing in the new writer's region: the reconcile function's
check is part of the observed state, and a step runs it to repair (lambda/payments/reconcile.py).
"""

from __future__ import annotations

import math

from payments.reconcile import REPLICATION_WINDOW
from templates import names
from templates.reconcile import RECONCILE, SCHEDULE_MINUTES

from runbook.state import SECRET_IN_SYNC, TABLE_ACTIVE, DrState, Projections
from stacksets.plan import FAILED, stack_state
from toolkit.kernel import Blocked, Decision, Done, Refuse, Step, Wait

GLOBAL_REGION = names.GLOBAL_REGION  # Route 53's control plane and its health-check metrics
DEFAULT_MAX_LAG_MS = 1000.0  # Aurora global database: typical lag under a second
# A move loses at most the projections of payments in flight and the receipts not replicated
# yet (S3 RTC: 15 minutes); older ones are the scheduled reconcile's, from its watermark. What
# the schedule may not have checked yet: its replication window, plus one interval, plus one
# run's timeout, plus a 5-minute margin. No wider: one check must cover the window within the
# function's timeout (at 20 payments/s, 36,000 rows), or the runbook stops on an unfinished
# check.
RECONCILE_WINDOW_MINUTES = (math.ceil(REPLICATION_WINDOW.total_seconds() / 60)
                            + SCHEDULE_MINUTES + math.ceil(RECONCILE.timeout / 60) + 5)


def reconcile_event(*, repair: bool, peer_region_lost: bool) -> dict[str, object]:
    """The reconcile function's event: its check (`repair: false`, observed) and its step."""
    return {"since_minutes": RECONCILE_WINDOW_MINUTES, "peer_region_lost": peer_region_lost,
            "repair": repair}


def _moving(state: DrState) -> Wait | None:
    if state.moving:
        return Wait(f"global cluster {state.global_cluster} is {state.global_status or '?'}"
                    + (f" (failover state {state.failover_status} to {state.failover_to})"
                       if state.failover_status else "") + ": a writer move is in progress")
    return None


def _writer_ready(state: DrState, region: str) -> Wait | None:
    if state.writable.get(region) is not True:
        return Wait(f"{region} is the writer; waiting for GET /health in {region} to report "
                    f"writable (now {state.writable.get(region)!r})")
    return None


def _dns_step(state: DrState, region: str) -> Step | Wait | Blocked | None:
    if state.global_stack_status and state.global_stack_status.endswith("_IN_PROGRESS"):
        return Wait(f"the global stack is {state.global_stack_status}")
    if state.dns_preferred == region:
        return None
    if state.global_stack_pending:
        return Blocked("prefer-dns", "the global stack is not what this build and config make "
                       f"it ({state.global_stack_pending}): the DNS step would deploy that too; "
                       f"the writer is in place, DNS still prefers {state.dns_preferred}: run "
                       "deploy (it keeps the preference), then this again")
    arguments = state.dns_updates.get(region)
    if arguments is None:
        return Blocked("prefer-dns", f"the global stack's update that makes DNS prefer {region} "
                       "could not be prepared (see the notes); the writer is in place, DNS "
                       f"still prefers {state.dns_preferred}: run deploy, then this again")
    return Step("prefer-dns", "prefer_dns", GLOBAL_REGION, arguments,
                f"make the PRIMARY failover record point at {region} (now "
                f"{state.dns_preferred}): deploy's UpdateStack of the global stack in "
                f"{GLOBAL_REGION}, with that preference", targets=(region,),
                failure=_stack_failure(state))


def _stack_failure(state: DrState) -> str:
    """How the global stack's last operation failed, if it did: right after the DNS step this
    is the DNS step's own outcome (the kernel reads it only then)."""
    status = state.global_stack_status
    if not status or stack_state(status) != FAILED:
        return ""
    return (f"the global stack's update ended {status}, DNS still prefers "
            f"{state.dns_preferred}" + (f"; first failed resource: {state.global_stack_failure}"
                                        if state.global_stack_failure else ""))


def _reconcile_step(state: DrState, region: str, peer_region_lost: bool
                    ) -> Step | Blocked | None:
    """Rebuild what the reconcile function's check found missing in the writer's region. A
    check that stopped early (`complete: false`: its time ran out) has not looked at the rest
    of the window, so "nothing missing" from it proves nothing: the repair runs too (it checks
    the window from its start and rebuilds as it goes)."""
    if region not in state.projections:
        return None  # this adapter does not observe projections (the local drill's)
    seen = state.projections[region]
    if seen is None:
        return Blocked("reconcile", f"the reconcile function's check in {region} did not run "
                       "(see the notes); the writer is in place: run the reconcile function "
                       f"in {region} by hand (README \"The reconcile step\"), then this again")
    if seen.complete and not seen.missing:
        return None
    window = f"payments of the last {RECONCILE_WINDOW_MINUTES} minutes"
    return Step("reconcile", "reconcile_projections", region,
                reconcile_event(repair=True, peer_region_lost=peer_region_lost),
                f"rebuild {seen.missing_receipts} receipt(s) and {seen.missing_status_items} "
                f"status item(s) missing in {region} from the ledger"
                + ("" if seen.complete else
                   f", and check the rest of the window: {_stopped_early(seen)}")
                + f" (the reconcile function, {window}"
                + (", the lost region's receipts included)" if peer_region_lost else ")"),
                failure="" if seen.complete or seen.missing else
                f"after the repair the reconcile function's check in {region} still "
                f"{_stopped_early(seen)}: {window} beyond those rows are unchecked. The writer "
                f"is in place; the scheduled reconcile in {region} checks them from its "
                "watermark, or run the function by hand (README \"The reconcile step\"), then "
                "this again")


def _stopped_early(seen: Projections) -> str:
    return (f"stopped after {seen.rows_checked} payment(s) (its time ran out) with "
            f"{seen.missing} missing among them")


def _projections_done(state: DrState, region: str) -> str:
    seen = state.projections.get(region)
    return "" if seen is None else f"; receipts and status items complete in {region}"


def rpo_of_acknowledged(state: DrState, lost: str, to: str) -> str:
    """What a failover means for payments already acknowledged (zero-loss acknowledgements:
    lambda/payments/durability.py)."""
    regional = state.regional_durability.get(to)
    seen = (f"{regional:.0f} request(s) answered in {to} with regional durability in the "
            "last 5 minutes" if regional else f"none answered in {to} with regional durability "
            "in the last 5 minutes")
    return (f"acknowledged payments: a 201 marked cross-region is in {to}'s storage; one "
            f"marked regional or off may be lost ({seen}; {lost}'s own are not read)")


def preflight(state: DrState, to: str, max_lag_ms: float) -> list[str]:
    """Why a planned switchover to `to` would not be safe now (empty: safe)."""
    problems = []
    if state.writer is None:
        problems.append(f"no single writer in global cluster {state.global_cluster} "
                        f"(members: {[m.region for m in state.members] or 'none observed'})")
    target = state.member(to)
    if target is None:
        problems.append(f"{to} has no cluster in global cluster {state.global_cluster}")
    elif target.synchronization not in ("", "connected"):
        problems.append(f"{to}'s cluster is {target.synchronization}, not connected")
    for region in state.regions:
        if state.healthy.get(region) is not True:
            problems.append(f"GET /health in {region} is not healthy "
                            f"({state.healthy.get(region)!r})")
    lag = state.replication_lag_ms
    if lag is None:
        problems.append("AuroraGlobalDBReplicationLag has no recent datapoint")
    elif not _within(lag, max_lag_ms):
        problems.append(f"replication lag {lag:.0f} ms is above {max_lag_ms:.0f} ms")
    if state.secret_replica != SECRET_IN_SYNC:
        problems.append(f"the database secret's replica is {state.secret_replica!r}, "
                        f"not {SECRET_IN_SYNC}")
    for region in state.regions:
        status = state.table_replicas.get(region)
        if status != TABLE_ACTIVE:
            problems.append(f"table replica in {region} is {status!r}, not {TABLE_ACTIVE}")
    if state.dns_preferred != to and state.global_stack_pending:
        problems.append(f"the global stack is not what this build and config make it "
                        f"({state.global_stack_pending}): the DNS step would deploy that too; "
                        "run deploy first, or run dr with the build that was deployed "
                        "(--build-dir)")
    return problems


def switchover(state: DrState, to: str, max_lag_ms: float = DEFAULT_MAX_LAG_MS) -> Decision:
    """Planned: preflight, SwitchoverGlobalCluster, wait for the writer and its /health, DNS."""
    if to not in state.regions:
        return Refuse((f"--to {to}: not one of this environment's regions {state.regions}",))
    if wait := _moving(state):
        return wait
    if state.writer == to:
        if wait := _writer_ready(state, to):
            return wait
        if step := _reconcile_step(state, to, peer_region_lost=False):
            return step
        if step := _dns_step(state, to):
            return step
        return Done(f"writer in {to}, /health there writable, DNS prefers {to}"
                    + _projections_done(state, to))
    if problems := preflight(state, to, max_lag_ms):
        return Refuse(tuple(problems))
    target = state.member(to)
    assert target is not None  # preflight refused otherwise
    return Step("switchover", "switchover_global_cluster", to,
                {"GlobalClusterIdentifier": state.global_cluster,
                 "TargetDbClusterIdentifier": target.cluster},
                f"SwitchoverGlobalCluster: {state.writer} -> {to} (planned, no data loss)")


def lost_evidence(state: DrState, lost: str, to: str) -> list[str]:
    """Why `lost` cannot be taken for lost (empty: it can), pure.

    Evidence of loss is one of: its own /health host gave no answer from here (the adapter
    asked again over 30 s), it answered with its database check failing, or its Route 53
    health check fails. Any sign of life refuses, whatever else is seen: Route 53 seeing it
    healthy, a 200, or any answer whose database check is "ok" (a heartbeat write just
    committed there: its writer is alive, the failure is the API's, and the other region
    writes through the global writer endpoint; a failover would only lose data)."""
    advice = (f"use `dr switchover --to {to}` (no data loss), or, if {lost} is really lost, "
              f"--force --confirm-data-loss {lost}")
    url = state.health_urls.get(lost) or "/health"
    status = state.health_status.get(lost)
    if state.health_checks.get(lost) is True:
        return [f"Route 53 reports {lost} healthy: it is not lost, and a failover loses its "
                f"unreplicated writes; {advice}"]
    if state.healthy.get(lost) is True:
        return [f"GET {url} answers 200 from here: {lost} is not lost, and a failover loses "
                f"its unreplicated writes; {advice}"]
    if state.writable.get(lost) is True:
        return [f"GET {url} answers{f' {status}' if status else ''} from here with its "
                f"database check ok: a heartbeat write from {lost} just committed through "
                f"the global writer endpoint, so the writer is alive. The API there fails, "
                f"not the database: Route 53 moves traffic, and {to} writes through the same "
                f"endpoint; a failover would only lose {lost}'s unreplicated writes; {advice}"]
    answered = state.answered(lost)
    if answered is False or (answered and state.writable.get(lost) is False) or \
            state.health_checks.get(lost) is False:
        return []
    seen = ("its /health was not read" if answered is None else
            f"its /health answered{f' {status}' if status else ''} without a database check "
            "(neither ok nor failing)")
    route53 = ("Route 53 was not asked" if lost not in state.health_checks
               else "Route 53's check could not be read")
    return [f"no evidence that {lost} is lost: {seen} and {route53}; if it is lost, run with "
            f"--force --confirm-data-loss {lost}"]


def failover(state: DrState, to: str, confirm_data_loss: str | None = None) -> Decision:
    """Unplanned: FailoverGlobalCluster with AllowDataLoss, called in `to`; DNS is left to the
    health checks (Route 53's control plane may be in the failed region). Only on positive
    evidence that the other region is lost, or when the operator typed that region as
    `confirm_data_loss` (`--force --confirm-data-loss REGION`)."""
    if to not in state.regions:
        return Refuse((f"--to {to}: not one of this environment's regions {state.regions}",))
    failed = state.other(to)
    if wait := _moving(state):
        return wait
    if state.writer == to:
        if wait := _writer_ready(state, to):
            return wait
        if step := _reconcile_step(state, to, peer_region_lost=True):
            return step
        serving = state.dns_serving
        dns = (f"DNS serves {serving}" if serving else
               "DNS not observed (Route 53 control plane not asked)")
        return Done(f"writer in {to}, /health there writable; {dns}; the health check of "
                    f"{failed} moves traffic, no DNS write was made"
                    + _projections_done(state, to))
    problems = []
    target = state.member(to)
    if target is None:
        problems.append(f"{to} has no cluster in global cluster {state.global_cluster} as seen "
                        f"from {to}: nothing to promote")
    if confirm_data_loss is not None and confirm_data_loss != failed:
        problems.append(f"--confirm-data-loss {confirm_data_loss}: the region whose "
                        f"unreplicated writes would be lost is {failed}")
    elif confirm_data_loss is None:
        problems += lost_evidence(state, failed, to)
    if problems:
        return Refuse(tuple(problems))
    assert target is not None
    return Step("failover", "failover_global_cluster", to,
                {"GlobalClusterIdentifier": state.global_cluster,
                 "TargetDbClusterIdentifier": target.cluster, "AllowDataLoss": True},
                f"FailoverGlobalCluster with AllowDataLoss in {to}: {failed} is lost "
                f"(last RPO lag seen: {_ms(state.rpo_lag_ms)}"
                + (f"; last replicated transaction {state.last_replicated_at}"
                   if state.last_replicated_at else "")
                + f"; {rpo_of_acknowledged(state, failed, to)})")


def failback(state: DrState, max_lag_ms: float = DEFAULT_MAX_LAG_MS) -> Decision:
    """Back home once home has rejoined as a secondary and caught up: a switchover home."""
    home = state.home
    if state.writer != home and not state.moving:
        member = state.member(home)
        if member is None:
            return Refuse((f"{home} has no cluster in global cluster {state.global_cluster}: "
                           "it has not rejoined; when its region is back Aurora rejoins it as "
                           "a secondary (or add it back), then re-run failback",))
        if member.synchronization not in ("", "connected"):
            return Wait(f"{home} rejoined and is {member.synchronization}: waiting until it is "
                        "connected")
        lag = state.replication_lag_ms
        if lag is None or not _within(lag, max_lag_ms):
            return Wait(f"waiting for replication to {home} to catch up "
                        f"(lag {_ms(lag)}, limit {max_lag_ms:.0f} ms)")
    return switchover(state, home, max_lag_ms)


def problems(state: DrState, max_lag_ms: float = DEFAULT_MAX_LAG_MS) -> list[str]:
    """`dr status`: everything that is not healthy (empty: exit 0)."""
    found = [n for n in state.notes]
    writer = state.writer
    if writer is None:
        found.append(f"no single writer in {state.global_cluster}")
    if state.moving:
        found.append(f"writer move in progress ({state.global_status}/{state.failover_status})")
    for region in state.regions:
        if state.healthy.get(region) is not True:
            found.append(f"GET /health in {region}: {state.healthy.get(region)!r}")
    if writer and state.writable.get(writer) is not True:
        found.append(f"/health in the writer region {writer} does not report writable")
    lag = state.replication_lag_ms
    if lag is None or not _within(lag, max_lag_ms):
        found.append(f"replication lag {_ms(lag)} (limit {max_lag_ms:.0f} ms)")
    if state.secret_replica != SECRET_IN_SYNC:
        found.append(f"secret replica {state.secret_replica!r}")
    for region in state.regions:
        if state.table_replicas.get(region) != TABLE_ACTIVE:
            found.append(f"table replica in {region}: {state.table_replicas.get(region)!r}")
    for region, metrics in state.s3_replication.items():
        if metrics.get("failed"):
            found.append(f"S3 replication from {region}: {metrics['failed']:.0f} failed "
                         "operations in the last 15 minutes")
    if writer and state.dns_serving not in (None, writer):
        found.append(f"DNS serves {state.dns_serving} but the writer is in {writer}")
    for region, requests in state.regional_durability.items():
        if requests:
            found.append(f"{region}: {requests:.0f} request(s) in the last 5 minutes answered by "
                         "processors with regional durability only (zero-loss degraded: the "
                         "other region confirms no commit; RegionalDurabilityAlarm)")
    for region, seen in state.projections.items():
        if seen is not None and seen.missing:
            found.append(f"projections missing in {region} (payments of the last "
                         f"{RECONCILE_WINDOW_MINUTES} minutes): {seen.missing_receipts} "
                         f"receipt(s), {seen.missing_status_items} status item(s); the "
                         "scheduled reconcile rebuilds them, or run it now (README)")
        if seen is not None and not seen.complete:
            found.append(f"the reconcile function's check in {region} {_stopped_early(seen)}: "
                         f"the rest of the last {RECONCILE_WINDOW_MINUTES} minutes is "
                         "unchecked; the scheduled reconcile checks it from its watermark, or "
                         "run it now (README)")
    return found


def _within(lag: float, limit: float) -> bool:
    """Written so that a NaN lag or limit is never within (every comparison with NaN is
    false: `lag > nan` would let any lag through)."""
    return lag <= limit


def _ms(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} ms"


RUNBOOKS = ("switchover", "failover", "failback")
