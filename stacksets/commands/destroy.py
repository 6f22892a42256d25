"""`destroy`: ordered teardown.

1. the global stack (DNS failover records and health checks) in us-east-1;
2. every Aurora cluster leaves the global cluster, the writer last (the tool waits for each),
   then deletion protection goes off, with a line per change: both clusters, the recovery
   region's table replica, the (retained) global cluster; in production the global stack's
   termination protection goes off before step 1;
3. "unpeer": one UpdateStackInstances for both regions back to the foundation values
   (PeerRegionReady=false, no peer VPC, no peering connection; region overrides kept), so the
   peering connection, the routes over it, the replicas and the replication rules go while both
   regions still exist;
4. the recovery region's stack instance, then the home region's (with `--empty-buckets`,
   non-production only, each region's receipts bucket is emptied of every object version);
5. the stack set.
Resources with a Retain or Snapshot DeletionPolicy stay; they are listed at the end, with the
artifact buckets. A production environment (`production: true`) is refused unless
`--confirm-production <environment>` is given."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError

from templates import names

from stacksets import aurora, protection, state
from toolkit.aws import error_message
from stacksets.context import Context
from stacksets.operations import RolloutError
from toolkit.kernel import Step
from stacksets.plan import (FOUNDATION, GLOBAL_REGION, deployment, instances_args,
                            kept_parameters, operation_id, operation_preferences,
                            phase_overrides, phase_values)

UNPEER = "unpeer"
RETAINING = ("Retain", "RetainExceptOnCreate", "Snapshot")


def add_arguments(parser) -> None:
    parser.add_argument("--empty-buckets", action="store_true",
                        help="non-production only: delete every object version of the receipts "
                             "buckets first")
    parser.add_argument("--confirm-production", metavar="ENVIRONMENT",
                        help="required for a production environment: its name, typed out")


def refusal(config, args) -> str | None:
    """Why this teardown is refused, or None (pure)."""
    if config.production and args.confirm_production != config.environment:
        return (f"{config.environment} is a production environment (production: true): "
                f"refusing to destroy without --confirm-production {config.environment}")
    if config.production and args.empty_buckets:
        return ("--empty-buckets is refused for a production environment: payment receipts "
                "are kept; empty them yourself if you really mean it")
    return None


def refusal_before_build(raw: dict, args) -> str | None:
    """The same refusal from the raw config file, before the build and any AWS call."""
    return refusal(SimpleNamespace(production=raw.get("production") is True,
                                   environment=str(raw.get("environment", ""))), args)


def retained(template: dict, present: set[str] | None = None) -> list[str]:
    """Logical ids with a retaining DeletionPolicy; only those in `present` when given (a
    resource whose condition is false in a region does not exist there)."""
    return sorted(k for k, r in template.get("Resources", {}).items()
                  if r.get("DeletionPolicy") in RETAINING and (present is None or k in present))


def stack_resources(ctx: Context, region: str, stack: str) -> set[str] | None:
    try:
        return {r["LogicalResourceId"] for r in ctx.aws.pages(
            ctx.aws.cfn(region).list_stack_resources, "StackResourceSummaries",
            StackName=stack)}
    except ClientError as error:
        ctx.reporter.warn(f"cannot list the resources of {stack} in {region} "
                          f"({error_message(error)}): listing every retaining resource")
        return None


def empty_bucket(ctx: Context, region: str, bucket: str) -> int:
    s3, removed = ctx.aws.client("s3", region), 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objects:
            ctx.aws.call(s3.delete_objects, Bucket=bucket, Delete={"Objects": objects,
                                                                   "Quiet": True})
            removed += len(objects)
    return removed


def unpeer_step(config, observed) -> Step | None:
    """Both regions back to the foundation phase values in one operation, or None when they
    already are (pure)."""
    declared = observed.stack_set.template.get("Parameters", {})
    foundation = phase_values(FOUNDATION, declared, {})
    regions = tuple(r for r in config.regions if r in observed.instances and any(
        phase_overrides(observed.instances[r]).get(k, v) != v for k, v in foundation.items()))
    if not regions:
        return None
    arguments = instances_args(config, UNPEER, regions, foundation, observed.last_operation,
                               kept_parameters(config, declared))
    return Step(UNPEER, "update_stack_instances", config.administration_region, arguments,
                f"{UNPEER}: foundation values in {', '.join(regions)}", regions)


def delete_instance_step(config, region: str, stack_set_id: str) -> Step:
    arguments: dict[str, Any] = {
        "StackSetName": config.stack_set_name, **deployment(config), "Regions": [region],
        "RetainStacks": False, "OperationPreferences": operation_preferences(config, (region,)),
        **config.call_as}
    arguments["OperationId"] = operation_id("destroy", arguments, stack_set_id + region)
    return Step("destroy", "delete_stack_instances", config.administration_region, arguments,
                f"destroy: delete the stack instance in {region} ({config.role_of(region)})",
                (region,))


def leave_order(config, writer: str | None) -> tuple[str, ...]:
    """The regions whose clusters leave the global cluster, the writer's last: a secondary
    leaves first, the writer when it is the only member (Aurora User Guide, "Deleting an
    Amazon Aurora global database"). After a failover the writer is in the recovery region."""
    return tuple(sorted(config.regions, key=lambda region: region == writer))


def _record(reporter, phase: str, action: str, regions: list[str], result: str) -> None:
    reporter.info(f"-> {phase}: {result}")
    reporter.append("phases", {"phase": phase, "action": action, "regions": regions,
                               "result": result})


def release_data_tier(ctx: Context, observed) -> None:
    """Every member cluster leaves the global cluster (writer last), then deletion protection
    goes off for what the teardown deletes (both clusters, the recovery region's table
    replica) and for the retained, now empty global cluster."""
    config, reporter = ctx.config, ctx.reporter
    writer = observed.writer_region or config.home_region
    for region in leave_order(config, writer):
        instance = observed.instances.get(region)
        if instance is not None:
            result = aurora.leave_global_cluster(ctx.aws, region, instance.outputs)
            _record(reporter, "leave-global-cluster", "remove_from_global_cluster", [region],
                    f"{region}: {result}")
    outputs = {r: i.outputs for r, i in observed.instances.items()}
    releases = [(region, "modify_db_cluster",
                 lambda r=region: protection.cluster(ctx.aws, r, outputs[r][
                     names.OUT_DB_CLUSTER_ID]))
                for region in leave_order(config, writer)
                if outputs.get(region, {}).get(names.OUT_DB_CLUSTER_ID)]
    table = next((o[names.OUT_TABLE_NAME] for o in outputs.values()
                  if o.get(names.OUT_TABLE_NAME)), None)
    if table:
        releases.append((config.recovery_region, "update_table",
                         lambda: protection.table_replica(ctx.aws, config.recovery_region,
                                                          table)))
    identifier = state.global_cluster_id(outputs)
    if identifier:
        releases.append((writer, "modify_global_cluster",
                         lambda: protection.global_cluster(ctx.aws, writer, identifier)))
    for region, action, release in releases:
        result = release()
        if result:
            _record(reporter, "release", action, [region], result)


def run(ctx: Context, args) -> int:
    config, reporter, runner = ctx.config, ctx.reporter, ctx.runner
    refused = refusal(config, args)
    if refused:
        raise RolloutError(refused)
    observed = state.observe(ctx.aws, config)
    kept: list[str] = []

    if observed.global_stack is not None:
        kept += [f"{GLOBAL_REGION} {config.global_stack_name}: {r}"
                 for r in retained(observed.global_stack.template,
                                   stack_resources(ctx, GLOBAL_REGION, config.global_stack_name))]
        released = protection.stack(ctx.aws, GLOBAL_REGION, config.global_stack_name)
        if released:
            _record(reporter, "release", "update_termination_protection", [], released)
        reporter.append("phases", runner.run(Step(
            "global", "delete_stack", GLOBAL_REGION, {"StackName": config.global_stack_name},
            f"global: delete {config.global_stack_name}")))

    release_data_tier(ctx, observed)

    if observed.stack_set is not None:
        for region in reversed(config.regions):  # listed before unpeer deletes any of them
            instance = observed.instances.get(region)
            if instance is not None:
                present = stack_resources(ctx, region, instance.stack_id) \
                    if instance.stack_id else None
                kept += [f"{region} {config.stack_set_name}: {r}"
                         for r in retained(observed.stack_set.template, present)]
        step = unpeer_step(config, observed)
        if step is not None:
            reporter.append("phases", runner.run(step))
        for region in reversed(config.regions):  # recovery region first
            instance = observed.instances.get(region)
            if instance is None:
                continue
            bucket = instance.outputs.get(names.OUT_BUCKET_NAME)
            if args.empty_buckets and bucket:
                reporter.info(f"   emptied {bucket}: {empty_bucket(ctx, region, bucket)} "
                              "object versions")
            reporter.append("phases", runner.run(
                delete_instance_step(config, region, observed.stack_set.stack_id)))
        ctx.aws.call(ctx.aws.cfn(config.administration_region).delete_stack_set,
                     StackSetName=config.stack_set_name, **config.call_as)
        reporter.info(f"-> deleted stack set {config.stack_set_name}")
        reporter.append("phases", {"phase": "stack-set", "action": "delete_stack_set",
                                   "regions": [], "result": "deleted"})

    buckets = [f"artifact bucket {config.artifact_bucket_prefix}-{r}" for r in config.regions]
    reporter.info("retained (delete by hand when no longer needed):")
    for line in kept + buckets:
        reporter.info(f"    {line}")
    reporter.record("retained", kept + buckets)
    reporter.record("result", "destroyed")
    return 0
