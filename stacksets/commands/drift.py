"""`drift`: StackSet drift detection, then the drifted resources of each drifted instance.

Exit status: 0 every instance IN_SYNC, 3 drift found (per-resource details printed), 1 the
detection failed, 2 a config or build problem. moto has no drift detection: `--local` says so
and exits 1."""

from __future__ import annotations

from typing import Any

from stacksets import state
from stacksets.context import Context
from stacksets.operations import RolloutError
from stacksets.plan import operation_id, operation_preferences
from toolkit import exit_codes

LOCAL = ("drift detection is not available in the local rehearsal (moto does not implement "
         "DetectStackSetDrift); run drift against AWS")
DIFFERENCE_STATUSES = ["MODIFIED", "DELETED"]


def detect_args(config, last_operation: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {"StackSetName": config.stack_set_name,
                                 "OperationPreferences": operation_preferences(config,
                                                                               config.regions),
                                 **config.call_as}
    arguments["OperationId"] = operation_id("drift", arguments, last_operation)
    return arguments


def resource_rows(drifts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DescribeStackResourceDrifts entries -> report rows (pure)."""
    return [{"logical_id": d["LogicalResourceId"], "type": d["ResourceType"],
             "physical_id": d.get("PhysicalResourceId", ""),
             "status": d["StackResourceDriftStatus"],
             "differences": [f"{p['PropertyPath']} ({p.get('DifferenceType', 'NOT_EQUAL')}): "
                             f"expected {p.get('ExpectedValue')} actual {p.get('ActualValue')}"
                             for p in d.get("PropertyDifferences", [])]}
            for d in drifts]


def drifted_resources(ctx: Context, region: str, stack_id: str) -> list[dict[str, Any]]:
    return resource_rows(ctx.aws.pages(
        ctx.aws.cfn(region).describe_stack_resource_drifts, "StackResourceDrifts",
        StackName=stack_id, StackResourceDriftStatusFilters=DIFFERENCE_STATUSES))


def run(ctx: Context, args) -> int:
    config, reporter, runner = ctx.config, ctx.reporter, ctx.runner
    if ctx.local:
        raise RolloutError(LOCAL)
    if state.stack_set(ctx.aws, config) is None:
        raise RolloutError(f"stack set {config.stack_set_name} does not exist: nothing to check")
    history = state.operations(ctx.aws, config)
    arguments = detect_args(config, history[-1]["OperationId"] if history else "")
    cfn = ctx.aws.cfn(config.administration_region)
    try:
        started = ctx.aws.call(cfn.detect_stack_set_drift, **arguments)["OperationId"]
    except NotImplementedError as error:  # moto: "has not been implemented"
        raise RolloutError(LOCAL) from error
    runner.wait(started, "drift")
    drifted = {}
    for region, instance in state.instances(ctx.aws, config, with_outputs=False).items():
        resources = drifted_resources(ctx, region, instance.stack_id) \
            if instance.drift == "DRIFTED" and instance.stack_id else []
        drifted[region] = {"drift": instance.drift, "resources": resources}
        reporter.info(f"{region} ({config.role_of(region)}): {instance.drift}")
        for resource in resources:
            reporter.info(f"    {resource['logical_id']} ({resource['type']} "
                          f"{resource['physical_id']}) {resource['status']}")
            for difference in resource["differences"]:
                reporter.info(f"        {difference}")
    missing = [r for r in config.regions if r not in drifted]
    for region in missing:
        reporter.warn(f"{region}: no stack instance (deploy first)")
    reporter.record("drift", drifted)
    result = "drifted" if any(d["drift"] == "DRIFTED" for d in drifted.values()) else "in sync"
    reporter.record("result", result)
    return exit_codes.DRIFTED if result == "drifted" else exit_codes.OK
