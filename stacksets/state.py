"""Observe what AWS holds: the stack set, its instances (with overrides and outputs) and the
global stack. Read-only; the result is plain data for `plan.next_step()`."""

from __future__ import annotations

import json
from typing import Any, Mapping

from botocore.exceptions import ClientError

from templates import names

from stacksets import aurora
from toolkit.aws import Aws, error_code, error_message
from toolkit.config import Config
from stacksets.plan import GLOBAL_REGION, REVIEW, Instance, Observed, Stack

RUNNING = ("RUNNING", "QUEUED", "STOPPING")


def _parameters(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in items or []}


def _outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", []) or []}


def _template(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else json.loads(body or "{}")


def stack_set(aws: Aws, config: Config) -> Stack | None:
    cfn = aws.cfn(config.administration_region)
    try:
        found = aws.call(cfn.describe_stack_set, StackSetName=config.stack_set_name,
                         **config.call_as)["StackSet"]
    except ClientError as error:
        if error_code(error) == "StackSetNotFoundException":
            return None
        raise
    if found.get("Status") == "DELETED":
        return None
    return Stack(status=found.get("Status", ""), template=_template(found.get("TemplateBody")),
                 parameters=_parameters(found.get("Parameters")),
                 stack_id=found.get("StackSetARN", ""))


def operations(aws: Aws, config: Config) -> list[dict[str, Any]]:
    summaries = aws.pages(aws.cfn(config.administration_region).list_stack_set_operations,
                          "Summaries", StackSetName=config.stack_set_name, **config.call_as)
    return sorted(summaries, key=lambda o: str(o.get("CreationTimestamp", "")))


def stack_outputs(aws: Aws, region: str, stack_id: str) -> dict[str, str]:
    try:
        stacks = aws.call(aws.cfn(region).describe_stacks, StackName=stack_id)["Stacks"]
    except ClientError as error:
        if "does not exist" in error_message(error):
            return {}
        raise
    return _outputs(stacks[0]) if stacks else {}


def summaries(aws: Aws, config: Config) -> list[dict[str, Any]]:
    return aws.pages(aws.cfn(config.administration_region).list_stack_instances, "Summaries",
                     StackSetName=config.stack_set_name, **config.call_as)


def stray_regions(config: Config, listed: list[dict[str, Any]]) -> tuple[str, ...]:
    """Regions with a stack instance that the config no longer names (pure)."""
    return tuple(sorted({s["Region"] for s in listed} - set(config.regions)))


def instances(aws: Aws, config: Config, with_outputs: bool = True,
              listed: list[dict[str, Any]] | None = None) -> dict[str, Instance]:
    """The configured regions' stack instances; `with_outputs` also reads each stack's
    outputs (one DescribeStacks per region)."""
    cfn = aws.cfn(config.administration_region)
    found = {}
    for summary in listed if listed is not None else summaries(aws, config):
        region = summary["Region"]
        if summary.get("Account") != config.target.account or region not in config.regions:
            continue
        detail = aws.call(cfn.describe_stack_instance, StackSetName=config.stack_set_name,
                          StackInstanceAccount=summary["Account"], StackInstanceRegion=region,
                          **config.call_as)["StackInstance"]
        stack_id = detail.get("StackId")
        found[region] = Instance(
            region=region, status=detail.get("Status", ""),
            detailed_status=detail.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
            reason=detail.get("StatusReason", ""),
            overrides=_parameters(detail.get("ParameterOverrides")), stack_id=stack_id,
            outputs=stack_outputs(aws, region, stack_id) if stack_id and with_outputs else {},
            drift=detail.get("DriftStatus", "NOT_CHECKED"))
    return found


def global_stack(aws: Aws, config: Config) -> Stack | None:
    cfn = aws.cfn(GLOBAL_REGION)
    try:
        stack = aws.call(cfn.describe_stacks, StackName=config.global_stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in error_message(error):
            return None
        raise
    if stack["StackStatus"] == "DELETE_COMPLETE":
        return None
    # A stack in REVIEW_IN_PROGRESS has no template yet (a change set never executed).
    template = {} if stack["StackStatus"] == REVIEW else aws.call(
        cfn.get_template, StackName=config.global_stack_name)["TemplateBody"]
    return Stack(status=stack["StackStatus"], template=_template(template),
                 parameters=_parameters(stack.get("Parameters")), outputs=_outputs(stack),
                 stack_id=stack["StackId"],
                 version=str(stack.get("LastUpdatedTime") or stack.get("CreationTime")))


def global_cluster_id(outputs: Mapping[str, Mapping[str, str]]) -> str | None:
    """The global cluster's identifier from any region's stack outputs."""
    return next((o[names.OUT_GLOBAL_CLUSTER_ID] for o in outputs.values()
                 if o.get(names.OUT_GLOBAL_CLUSTER_ID)), None)


def writer(aws: Aws, config: Config,
           instances: Mapping[str, Instance]) -> tuple[str | None, str | None]:
    """(the writer's region, the global writer endpoint), None where unknown."""
    identifier = global_cluster_id({r: i.outputs for r, i in instances.items()})
    if not identifier:
        return None, None
    try:
        found = aurora.global_cluster(aws, config.regions, identifier) or {}
    except (ClientError, NotImplementedError):
        return None, None  # the join phase waits for the endpoint (Blocked, with the reason)
    writers = [m["DBClusterArn"].split(":")[3] for m in found.get("GlobalClusterMembers", [])
               if m.get("IsWriter")]
    return (writers[0] if writers else None), (found.get("Endpoint") or None)


def observe(aws: Aws, config: Config) -> Observed:
    found = stack_set(aws, config)
    if found is None:
        return Observed(global_stack=global_stack(aws, config))
    history = operations(aws, config)
    running = [o["OperationId"] for o in history if o.get("Status") in RUNNING]
    listed = summaries(aws, config)
    current = instances(aws, config, listed=listed)
    where, endpoint = writer(aws, config, current)
    return Observed(stack_set=found, instances=current,
                    stray_regions=stray_regions(config, listed),
                    running_operation=running[-1] if running else None,
                    last_operation=history[-1]["OperationId"] if history else "",
                    global_stack=global_stack(aws, config),
                    writer_region=where, writer_endpoint=endpoint)
