"""`status`: stack instances and drift state, where the Aurora writer is, replication health
of the global table and the receipts buckets, health-check state; a table per concern and
exit status 4 when something needs attention.

The Aurora writer may be in either region. "writer in <recovery>, home <home>" after a failover
or switchover is a normal state, not a mistake in the config: the home region (which declares
the global database, the table and the secret) never changes, and `deploy` changes no database
resource wherever the writer is. Failing back is a runbook step, never a config edit."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from botocore.exceptions import ClientError

from templates import names

from stacksets import aurora, preflight, state
from toolkit import route53 as route53_health
from toolkit.aws import Aws, error_code
from stacksets.context import Context
from stacksets.plan import FAILED, GLOBAL_REGION, PENDING, REVIEW, Stack, stack_state
from stacksets.state import global_cluster_id
from toolkit import resource_names as dr_names
from toolkit import exit_codes

UNAVAILABLE_LOCALLY = "not available in the local rehearsal"
HEALTHY_REPLICA = "ACTIVE"
NO_RULE = "no replication rule"
NOT_CREATED_RUNNING = "not created (operation running)"


def _probe(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except ClientError as error:
        return f"unknown ({error_code(error)})"
    except NotImplementedError:
        return UNAVAILABLE_LOCALLY


def writer(ctx: Context, outputs: Mapping[str, Mapping[str, str]]) -> Any:
    identifier = global_cluster_id(outputs)
    if not identifier:
        return "not deployed"
    return aurora.writer_region(ctx.aws, ctx.config.regions, identifier) or "no writer"


def writer_line(writer: Any, home: str, recovery: str) -> str:
    """How the writer's place reads to an operator (pure)."""
    if writer == home:
        return f"aurora: writer in {writer}, home {home}"
    if writer == recovery:
        return (f"aurora: writer in {writer}, home {home}: the database runs in the recovery "
                "region after a failover or switchover. This is a supported state: deploy "
                "changes no database resource; fail back with the runbook when the home region "
                "is healthy (the config stays as it is)")
    return f"aurora: writer {writer}, home {home}"


def table_replicas(ctx: Context, region: str, table: str | None) -> Any:
    if not table:
        return "not deployed"
    found = ctx.aws.call(ctx.aws.client("dynamodb", region).describe_table,
                         TableName=table)["Table"]
    return {r["RegionName"]: r.get("ReplicaStatus", "?") for r in found.get("Replicas", [])} \
        or found.get("TableStatus")


def bucket_replication(aws: Aws, region: str, bucket: str | None) -> Any:
    """{rule id: Status} of the bucket's replication rules, NO_RULE, or "not deployed"
    (`payments-dr verify` reads the same)."""
    if not bucket:
        return "not deployed"
    try:
        rules = aws.call(aws.client("s3", region).get_bucket_replication,
                         Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    except ClientError as error:
        if error_code(error) == "ReplicationConfigurationNotFoundError":
            return NO_RULE
        raise
    return {r.get("ID", "rule"): r.get("Status") for r in rules}


def health(ctx: Context, check_id: str | None) -> Any:
    """(state text, healthy as Route 53 decides it), or a string when there is no check."""
    if not check_id:
        return "not deployed"
    route53 = ctx.aws.client("route53", GLOBAL_REGION)
    observations = ctx.aws.call(route53.get_health_check_status,
                                HealthCheckId=check_id)["HealthCheckObservations"]
    return (f"{route53_health.healthy_checkers(observations)}/{len(observations)} checkers "
            "healthy", route53_health.is_healthy(observations))


def global_attention(name: str, stack: Stack | None) -> list[str]:
    """The global stack (failover records, health checks), pure: missing, an operation on it
    still in progress, or its last operation failed or rolled back (CloudFormation User Guide,
    "Stack status codes")."""
    if stack is None:
        return [f"global stack {name} ({GLOBAL_REGION}) does not exist: no failover DNS "
                "records or health checks (run deploy)"]
    if stack.status == REVIEW:
        return [f"global stack {name} is {REVIEW}: a change set made for it was never "
                "executed (no records, no health checks); execute or delete it, then run "
                "deploy"]
    state = stack_state(stack.status)
    if state == PENDING:
        return [f"global stack {name} is {stack.status}: an operation on it is running (a "
                "deploy, destroy or dr switchover); check again when it has ended"]
    if state == FAILED:
        return [f"global stack {name} is {stack.status}: its last operation failed (run "
                "deploy; `deploy` shows the first failed resource)"]
    return []


def attention(regions: Mapping[str, Mapping[str, Any]], checks: Mapping[str, Mapping[str, Any]],
              running: str | None = None, stack_set: str = "") -> list[str]:
    """What an operator must look at (pure): a StackSet operation still running, an instance
    that is not CURRENT, drift, a table replica that is not ACTIVE, a replication rule that is
    missing once the regions are joined (PeerRegionReady=true) or not enabled, a failing health
    check, a probe that could not answer."""
    found = []
    if running:
        found.append(f"operation {running} is running on {stack_set}: run deploy to wait for it "
                     "and resume the rollout")
    for region, row in regions.items():
        if row["instance"] == "not created":
            found.append(f"{region}: no stack instance yet (run deploy)")
        elif row["instance"] not in ("CURRENT", NOT_CREATED_RUNNING):
            found.append(f"{region}: stack instance {row['instance']} "
                         f"{row['detailed_status']}".rstrip() + " (run deploy to push it again)")
        if row["drift"] == "DRIFTED":
            found.append(f"{region}: drifted (run drift for the resources)")
        replicas = row["table_replicas"]
        if isinstance(replicas, dict):
            found += [f"{region}: table replica in {r} is {s}" for r, s in replicas.items()
                      if s != HEALTHY_REPLICA]
        rules = row["bucket_replication"]
        if isinstance(rules, dict):
            found += [f"{region}: bucket replication rule {r} is {s}" for r, s in rules.items()
                      if s != "Enabled"]
        elif rules == NO_RULE and row.get("peer_ready"):
            found.append(f"{region}: {NO_RULE}, but {names.PEER_REGION_READY} is true "
                         "(run deploy)")
        for key in ("table_replicas", "bucket_replication"):
            if isinstance(row[key], str) and row[key].startswith("unknown"):
                found.append(f"{region}: {key.replace('_', ' ')} {row[key]}")
    for region, check in checks.items():
        state = str(check["state"])
        if check.get("healthy") is False or state.startswith("unknown"):
            found.append(f"health check of {region} ({check['role']}, {check['record']} "
                         f"record): {state}")
    return found


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value) if value not in ("", None) else "-"


def health_checks(ctx: Context, stack) -> dict[str, dict[str, Any]]:
    """Each region's Route 53 health check, labelled by the region its failover record points
    at now (after `dr switchover` the PRIMARY record is the recovery region's)."""
    records = dr_names.failover_records(stack.parameters, stack.outputs) if stack else {}
    found = {}
    for region, (record, check) in sorted(records.items(), key=lambda item: item[1][0]):
        probed = _probe(lambda check=check: health(ctx, check))
        state, healthy = probed if isinstance(probed, tuple) else (probed, None)
        found[region] = {"role": ctx.config.role_of(region), "record": record,
                         "state": state, "healthy": healthy}
    return found


def run(ctx: Context, args) -> int:
    config, reporter = ctx.config, ctx.reporter
    observed = state.observe(ctx.aws, config)
    running = observed.running_operation
    if running:
        reporter.info(f"operation {running} is running on {config.stack_set_name} (a deploy "
                      "or destroy that was interrupted, or one running now)")
    outputs = {r: dict(i.outputs) for r, i in observed.instances.items()}
    regions = {}
    for region in config.regions:
        instance = observed.instances.get(region)
        own = outputs.get(region, {})
        regions[region] = {
            "role": config.role_of(region),
            "instance": instance.status if instance else
            (NOT_CREATED_RUNNING if running else "not created"),
            "detailed_status": instance.detailed_status if instance else "",
            "drift": instance.drift if instance else "",
            "peer_ready": bool(instance) and
            instance.overrides.get(names.PEER_REGION_READY) == "true",
            "table_replicas": _probe(lambda: table_replicas(ctx, region,
                                                            own.get(names.OUT_TABLE_NAME))),
            "bucket_replication": _probe(lambda: bucket_replication(
                ctx.aws, region, own.get(names.OUT_BUCKET_NAME))),
        }
    reporter.table(["region", "role", "instance", "drift", "table replicas",
                    "bucket replication"],
                   [[r, row["role"], f"{row['instance']} {row['detailed_status']}".strip(),
                     row["drift"], _cell(row["table_replicas"]), _cell(row["bucket_replication"])]
                    for r, row in regions.items()])
    where = _probe(lambda: writer(ctx, outputs))
    reporter.info(writer_line(where, *config.regions))
    checks = health_checks(ctx, observed.global_stack)
    reporter.table(["health check (Route 53)", "record", "state"],
                   [[f"{region} ({check['role']})", check["record"], _cell(check["state"])]
                    for region, check in checks.items()])
    needs = attention(regions, checks, running, config.stack_set_name) + \
        global_attention(config.global_stack_name, observed.global_stack) + \
        preflight.strays(config, observed.stray_regions)
    for line in needs:
        reporter.warn(line)
    reporter.record("regions", regions)
    reporter.record("running_operation", running)
    reporter.record("aurora_writer", where)
    reporter.record("home_region", config.home_region)
    reporter.record("health_checks", checks)
    reporter.record("attention", needs)
    reporter.record("global", {"status": observed.global_stack.status
                               if observed.global_stack else "not created"})
    reporter.record("result", "attention" if needs else "ok")
    return exit_codes.ATTENTION if needs else exit_codes.OK
