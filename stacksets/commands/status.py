"""`status`: stack instances and drift state, where the Aurora writer is, replication health
of the global table and the receipts buckets, health-check state. Warns when the configured
primary is not where the writer is: after a failover, a deploy must not fight it."""

from __future__ import annotations

from typing import Any, Callable

from botocore.exceptions import ClientError

from templates import names

from stacksets import state
from stacksets.aws import error_code
from stacksets.context import Context
from stacksets.plan import GLOBAL_REGION


def _probe(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except ClientError as error:
        return f"unknown ({error_code(error)})"
    except NotImplementedError:
        return "not available in the local rehearsal"


def writer_region(ctx: Context, outputs: dict) -> Any:
    identifier = outputs.get("primary", {}).get(names.OUT_GLOBAL_CLUSTER_ID)
    if not identifier:
        return "not deployed"
    rds = ctx.aws.client("rds", ctx.config.primary_region)
    clusters = ctx.aws.call(rds.describe_global_clusters,
                            GlobalClusterIdentifier=identifier)["GlobalClusters"]
    writers = [m["DBClusterArn"].split(":")[3] for c in clusters
               for m in c.get("GlobalClusterMembers", []) if m.get("IsWriter")]
    return writers[0] if writers else "no writer"


def table_replicas(ctx: Context, region: str, table: str | None) -> Any:
    if not table:
        return "not deployed"
    found = ctx.aws.call(ctx.aws.client("dynamodb", region).describe_table,
                         TableName=table)["Table"]
    return {r["RegionName"]: r.get("ReplicaStatus", "?") for r in found.get("Replicas", [])} \
        or found.get("TableStatus")


def bucket_replication(ctx: Context, region: str, bucket: str | None) -> Any:
    if not bucket:
        return "not deployed"
    try:
        rules = ctx.aws.call(ctx.aws.client("s3", region).get_bucket_replication,
                             Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    except ClientError as error:
        if error_code(error) == "ReplicationConfigurationNotFoundError":
            return "no replication rule"
        raise
    return {r.get("ID", "rule"): r.get("Status") for r in rules}


def health(ctx: Context, check_id: str | None) -> Any:
    if not check_id:
        return "not deployed"
    route53 = ctx.aws.client("route53", GLOBAL_REGION)
    observations = ctx.aws.call(route53.get_health_check_status,
                                HealthCheckId=check_id)["HealthCheckObservations"]
    healthy = sum("Success" in o.get("StatusReport", {}).get("Status", "") for o in observations)
    return f"{healthy}/{len(observations)} checkers healthy"


def run(ctx: Context, args) -> int:
    config, reporter = ctx.config, ctx.reporter
    observed = state.observe(ctx.aws, config)
    outputs = {config.role_of(r): dict(i.outputs) for r, i in observed.instances.items()}
    regions = {}
    for region in config.regions:
        instance = observed.instances.get(region)
        own = outputs.get(config.role_of(region), {})
        regions[region] = {
            "role": config.role_of(region),
            "instance": instance.status if instance else "not created",
            "detailed_status": instance.detailed_status if instance else "",
            "drift": instance.drift if instance else "",
            "table_replicas": _probe(lambda: table_replicas(ctx, region,
                                                            own.get(names.OUT_TABLE_NAME))),
            "bucket_replication": _probe(lambda: bucket_replication(
                ctx, region, own.get(names.OUT_BUCKET_NAME))),
        }
        reporter.info(f"{region} ({config.role_of(region)}): " + ", ".join(
            f"{k}={v}" for k, v in regions[region].items() if k != "role"))
    writer = _probe(lambda: writer_region(ctx, outputs))
    reporter.info(f"aurora writer: {writer}")
    if writer in config.regions and writer != config.primary_region:
        reporter.warn(f"the Aurora writer is in {writer}, but the config names "
                      f"{config.primary_region} primary (a failover happened?): swap "
                      "regions.primary/secondary in the config before the next deploy")
    global_outputs = observed.global_stack.outputs if observed.global_stack else {}
    checks = {role: _probe(lambda key=key: health(ctx, global_outputs.get(key)))
              for role, key in (("primary", names.OUT_PRIMARY_HEALTH_CHECK_ID),
                                ("secondary", names.OUT_SECONDARY_HEALTH_CHECK_ID))}
    reporter.info(f"health checks: {checks}")
    reporter.record("regions", regions)
    reporter.record("aurora_writer", writer)
    reporter.record("health_checks", checks)
    reporter.record("global", {"status": observed.global_stack.status
                               if observed.global_stack else "not created"})
    return 0
