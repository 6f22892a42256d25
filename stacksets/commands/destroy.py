"""`destroy`: the ordered teardown, `teardown.next_teardown_step()` on the decision kernel.

Each iteration observes what AWS holds (`observe`), takes the one next teardown step and runs
it, so an interrupted teardown re-run continues from where it stopped and repeats no step; the
order is in `stacksets/teardown.py`. Resources with a Retain or Snapshot DeletionPolicy stay;
they are listed at the end, with the artifact buckets. A production environment
(`production: true`) is refused unless `--confirm-production <environment>` is given;
`--empty-buckets` is refused for production."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError

from templates import names

from stacksets import artifacts, aurora, state
from stacksets.context import Context
from stacksets.operations import POLL, ReportLog, RolloutError, StackSetWorld, raise_unless_done
from stacksets.plan import GLOBAL_REGION
from stacksets.teardown import Cluster, Teardown, next_teardown_step
from toolkit import exit_codes, kernel
from toolkit.aws import Aws, error_code, error_message
from toolkit.config import Config
from toolkit.in_flight import CURRENT as IN_FLIGHT
from toolkit.kernel import Step

RETAINING = ("Retain", "RetainExceptOnCreate", "Snapshot")
GONE = ("DBClusterNotFoundFault", "GlobalClusterNotFoundFault", "ResourceNotFoundException",
        "NoSuchBucket")
# Removal from a global cluster is asynchronous and takes minutes: every teardown step may
# take this long to show its effect before the teardown stops (the kernel's settle polls).
SETTLE_SECONDS = 1800
# Teardown steps that are one API call each, by service (the rest are CloudFormation
# operations, run and waited on by the Runner).
CALLS = {"remove_from_global_cluster": "rds", "modify_db_cluster": "rds",
         "modify_global_cluster": "rds", "update_table": "dynamodb",
         "update_termination_protection": "cloudformation"}
SERVICE_NAMES = {"rds": "RDS", "dynamodb": "DynamoDB", "cloudformation": "CloudFormation"}


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


# --- observe ---------------------------------------------------------------------------------
def _read(function, default: Any) -> Any:
    """A describe call whose resource may be gone already (a resumed teardown)."""
    try:
        return function()
    except ClientError as error:
        if error_code(error) in GONE or "does not exist" in error_message(error):
            return default
        raise


def observe(aws: Aws, config: Config, empty_buckets: bool = False) -> Teardown:
    rollout = state.observe(aws, config)
    outputs = {r: i.outputs for r, i in rollout.instances.items()}
    protected = False
    if rollout.global_stack is not None:
        protected = bool(_read(lambda: aws.call(
            aws.cfn(GLOBAL_REGION).describe_stacks, StackName=config.global_stack_name)[
            "Stacks"][0].get("EnableTerminationProtection"), False))
    identifier = state.global_cluster_id(outputs)
    found = (_read(lambda: aurora.global_cluster(aws, config.regions, identifier), None)
             if identifier else None) or {}
    members = {m["DBClusterArn"] for m in found.get("GlobalClusterMembers", [])}
    clusters = {}
    for region, own in outputs.items():
        name = own.get(names.OUT_DB_CLUSTER_ID)
        described = _read(lambda: aws.call(aws.client("rds", region).describe_db_clusters,
                                           DBClusterIdentifier=name)["DBClusters"][0],
                          None) if name else None
        if described:
            clusters[region] = Cluster(region, name, described["DBClusterArn"],
                                       described["DBClusterArn"] in members,
                                       bool(described.get("DeletionProtection")))
    table = next((o[names.OUT_TABLE_NAME] for o in outputs.values()
                  if o.get(names.OUT_TABLE_NAME)), None)
    replica = _read(lambda: aws.call(aws.client("dynamodb", config.recovery_region)
                                     .describe_table, TableName=table)["Table"],
                    {}) if table else {}
    buckets = {}
    for region, own in outputs.items():
        bucket = own.get(names.OUT_BUCKET_NAME)
        if empty_buckets and bucket and _has_objects(aws, region, bucket):
            buckets[region] = bucket
    return Teardown(rollout, global_protected=protected, clusters=clusters,
                    global_cluster=found.get("GlobalClusterIdentifier"),
                    global_cluster_protected=bool(found.get("DeletionProtection")),
                    table=table, replica_protected=bool(replica.get("DeletionProtectionEnabled")),
                    buckets_with_objects=buckets)


def _has_objects(aws: Aws, region: str, bucket: str) -> bool:
    page = _read(lambda: aws.call(aws.client("s3", region).list_object_versions, Bucket=bucket,
                                  MaxKeys=1), {})
    return bool(page.get("Versions") or page.get("DeleteMarkers"))


# --- act -------------------------------------------------------------------------------------
class TeardownWorld(StackSetWorld):
    """CloudFormation operations through the Runner (progress, waiting); the data tier's
    single calls and the emptying of a bucket directly."""

    def act(self, step: Step) -> dict[str, Any]:
        if step.action not in CALLS and step.action != "empty_bucket":
            return super().act(step)
        reporter, aws = self.runner.reporter, self.runner.aws
        reporter.info(f"-> {step.summary}")
        result = step.summary
        if step.action == "empty_bucket":
            IN_FLIGHT.ended()  # our own deletions: nothing keeps running when they stop
            removed = empty_bucket(aws, step.region, step.arguments["Bucket"])
            result = f"emptied {step.arguments['Bucket']}: {removed} object versions"
        else:
            client = aws.client(CALLS[step.action], step.region)
            # Set before the call: an interruption while it is on the wire may leave it made
            # (a removal from the global cluster goes on for minutes after it).
            IN_FLIGHT.started(f"{client.meta.method_to_api_mapping[step.action]} "
                              f"({step.summary})", SERVICE_NAMES[CALLS[step.action]])
            aws.call(getattr(client, step.action), **step.arguments)
        return {"phase": step.name, "action": step.action, "regions": list(step.targets),
                "result": result}


def empty_bucket(aws: Aws, region: str, bucket: str) -> int:
    s3, removed = aws.client("s3", region), 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objects:
            aws.call(s3.delete_objects, Bucket=bucket, Delete={"Objects": objects,
                                                               "Quiet": True})
            removed += len(objects)
    return removed


# --- what stays --------------------------------------------------------------------------------
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


def kept_resources(ctx: Context, observed) -> list[str]:
    """What the teardown leaves, from the stacks that still exist (listed before any of them
    is deleted). A region whose stack an interrupted teardown deleted already (the stack set
    is still there) is listed from the template, every retaining resource: its stack's
    resources can no longer be listed."""
    config, kept = ctx.config, []
    if observed.global_stack is not None:
        kept += [f"{GLOBAL_REGION} {config.global_stack_name}: {r}"
                 for r in retained(observed.global_stack.template,
                                   stack_resources(ctx, GLOBAL_REGION, config.global_stack_name))]
    for region in reversed(config.regions) if observed.stack_set else ():
        instance = observed.instances.get(region)
        present = stack_resources(ctx, region, instance.stack_id) \
            if instance and instance.stack_id else None
        kept += [f"{region} {config.stack_set_name}: {r}"
                 for r in retained(observed.stack_set.template, present)]
    return kept + [f"artifact bucket {artifacts.bucket_name(config.artifact_bucket_prefix, r)}"
                   for r in config.regions]


def run(ctx: Context, args) -> int:
    config, reporter = ctx.config, ctx.reporter
    refused = refusal(config, args)
    if refused:
        raise RolloutError(refused)
    first = [observe(ctx.aws, config, args.empty_buckets)]
    kept = kept_resources(ctx, first[0].rollout)
    world = TeardownWorld(ctx.runner, lambda: first.pop() if first else observe(
        ctx.aws, config, args.empty_buckets))
    result = kernel.run(world, lambda now: next_teardown_step(config, now),
                        log=ReportLog(reporter), poll=POLL,
                        settle_polls=int(SETTLE_SECONDS / POLL), timeout=args.timeout)
    raise_unless_done(result, "teardown", "destroy")
    reporter.info("retained (delete by hand when no longer needed):")
    for line in kept:
        reporter.info(f"    {line}")
    reporter.record("retained", kept)
    reporter.record("result", "destroyed")
    return exit_codes.OK
