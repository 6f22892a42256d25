"""Replication between the regions, as the runbook observes it (`DrState`) and as the `status`
command reads the buckets' rules: the global database, the secret replica, the table replicas,
the receipts buckets' rules, and the lag the services report.
"""

from __future__ import annotations

from runbook.decide import DEFAULT_MAX_LAG_MS
from runbook.state import SECRET_IN_SYNC, TABLE_ACTIVE
from stacksets.commands.status import bucket_replication as bucket_rules
from toolkit import resource_names as names
from toolkit.config import Config
from verify.checks import Outcome, attention, failed, judged, passed
from verify.observe import Observations

CONNECTED = ("", "connected")  # SynchronizationStatus of a secondary that is replicating


def _notes(observed: Observations, *about: str) -> str:
    found = [n for n in observed.dr.notes if any(word in n for word in about)]
    return f" ({'; '.join(found)})" if found else ""


def global_database(observed: Observations) -> Outcome:
    state = observed.dr
    writer = state.writer
    if writer is None:
        members = [m.region for m in state.members] or "none observed"
        return failed(f"no single writer in {state.global_cluster} (members: {members})"
                      + _notes(observed, "DescribeGlobalClusters"))
    if state.moving:
        return failed(f"a writer move is in progress ({state.global_status}, failover state "
                      f"{state.failover_status or 'none'})")
    secondary = state.other(writer)
    member = state.member(secondary)
    if secondary == observed.lost:
        return attention(f"writer in {writer}; {secondary} is declared lost, so nothing is "
                         "replicated until it is back and has rejoined")
    if member is None:
        return failed(f"writer in {writer}; {secondary} has no cluster in {state.global_cluster}"
                      ": committed payments are not copied to another region")
    if member.synchronization not in CONNECTED:
        return failed(f"writer in {writer}; {secondary}'s cluster is {member.synchronization}, "
                      "not connected")
    return passed(f"writer in {writer} (home {state.home}); {secondary}'s cluster is a "
                  f"connected secondary of {state.global_cluster} ({state.global_status})")


def secret_replica(observed: Observations) -> Outcome:
    found = observed.dr.secret_replica
    return judged([] if found == SECRET_IN_SYNC else [
        f"the replica in {observed.dr.recovery} is {found!r}, not {SECRET_IN_SYNC}"
        + _notes(observed, "DescribeSecret", "secret")],
        f"the database secret's replica in {observed.dr.recovery} is {SECRET_IN_SYNC}")


def table_replica(config: Config, observed: Observations, region: str) -> Outcome:
    found = observed.dr.table_replicas.get(region)
    table = names.table(config)
    return judged([] if found == TABLE_ACTIVE else [
        f"{table} in {region} is {found!r}, not {TABLE_ACTIVE}"
        + _notes(observed, f"DescribeTable in {region}")], f"{table} in {region} is ACTIVE")


def bucket_replication(config: Config, observed: Observations, region: str) -> Outcome:
    bucket = names.bucket(config, region)
    rules = bucket_rules(observed.aws, region, bucket)
    rule = rules.get(names.S3_REPLICATION_RULE) if isinstance(rules, dict) else None
    if rule != "Enabled":
        return failed(f"{bucket}: replication rule {names.S3_REPLICATION_RULE} is "
                      f"{rule or rules!r}, not Enabled")
    return passed(f"{bucket}: rule {names.S3_REPLICATION_RULE} Enabled")


def lag(observed: Observations) -> Outcome:
    """Aurora replication lag (the secondary's latest datapoint) and S3 replication failures
    in the last 15 minutes, as `dr status` reads them."""
    state = observed.dr
    problems = []
    if state.replication_lag_ms is None or state.replication_lag_ms > DEFAULT_MAX_LAG_MS:
        shown = "no recent datapoint" if state.replication_lag_ms is None \
            else f"{state.replication_lag_ms:.0f} ms"
        problems.append(f"Aurora replication lag {shown} (limit {DEFAULT_MAX_LAG_MS:.0f} ms)"
                        + _notes(observed, "AuroraGlobalDB"))
    for region, metrics in sorted(state.s3_replication.items()):
        if metrics.get("failed") is None or metrics["failed"] > 0:
            problems.append(f"S3 replication from {region}: {metrics.get('failed')} failed "
                            "operations in the last 15 minutes"
                            + _notes(observed, "OperationsFailedReplication"))
    if problems:
        return failed("; ".join(problems))
    rpo = "unknown" if state.rpo_lag_ms is None else f"{state.rpo_lag_ms:.0f} ms"
    return passed(f"Aurora replication lag {state.replication_lag_ms:.0f} ms (RPO lag {rpo}); "
                  f"no failed S3 replication in 15 minutes from {sorted(state.s3_replication)}")
