"""`deploy`: roles, artifacts, then the phased rollout as a loop around `plan.next_step()`.

Each iteration observes AWS, runs the one next operation and observes again, so a re-run after
any failure or interruption continues from what AWS holds, and a re-run after success starts
no operation at all."""

from __future__ import annotations

from typing import Any

from stacksets import artifacts, preflight, roles, schema, state
from stacksets.context import Context, desired, uploads
from stacksets.operations import RolloutError, StaleState
from stacksets.plan import Blocked, Step, next_step

MAX_STEPS = 16  # a first rollout needs 6 (with 2 override sets); more means no convergence


def _comparable(step: Step) -> tuple:
    arguments = {k: v for k, v in step.arguments.items()
                 if k not in ("OperationId", "ClientRequestToken")}
    return (step.phase, step.action, repr(sorted(arguments.items())))


def publish_artifacts(ctx: Context, partition: str) -> list[str]:
    lines, buckets = [], {}
    for item in uploads(ctx.config, ctx.bundle):
        if item.bucket not in buckets:
            s3 = ctx.aws.client("s3", item.region)
            created = artifacts.ensure_bucket(s3, item.bucket, item.region, partition)
            buckets[item.bucket] = created
            lines.append(f"bucket {item.bucket}: {'created' if created else 'present'}")
        uploaded = artifacts.upload(ctx.aws.client("s3", item.region), item)
        lines.append(f"  s3://{item.bucket}/{item.key}: "
                     f"{'uploaded' if uploaded else 'already there'}")
    return lines


def region_report(ctx: Context, observed) -> dict[str, Any]:
    report = {}
    for region in ctx.config.regions:
        instance = observed.instances.get(region)
        report[region] = {"role": ctx.config.role_of(region),
                          "status": instance.status if instance else "MISSING",
                          "detailed_status": instance.detailed_status if instance else "",
                          "outputs": dict(instance.outputs) if instance else {}}
    return report


def rollout(ctx: Context, wanted) -> list[dict[str, Any]]:
    """Run steps until none is left; returns the executed steps' records."""
    config, reporter, runner = ctx.config, ctx.reporter, ctx.runner
    observed = state.observe(ctx.aws, config)
    if observed.running_operation:
        reporter.info(f"an operation is running on {config.stack_set_name} "
                      f"({observed.running_operation}): waiting for it before planning")
        runner.wait(observed.running_operation, "running operation", fail=False)
        observed = state.observe(ctx.aws, config)
    for line in preflight.strays(config, observed.stray_regions):
        reporter.warn(line)
    executed: list[dict[str, Any]] = []
    previous = None
    for _ in range(MAX_STEPS):
        step = next_step(config, wanted, observed)
        if step is None:
            break
        if isinstance(step, Blocked):
            reporter.append("phases", {"phase": step.phase, "result": "BLOCKED",
                                       "reason": step.reason})
            raise RolloutError(f"{step.phase} phase blocked: {step.reason}; the rollout is "
                               "not complete (re-run deploy once the cause is fixed)")
        if previous is not None and _comparable(step) == previous:
            raise RolloutError(f"{step.summary}: succeeded but AWS does not show the change; "
                               "stopping instead of repeating it")
        previous = _comparable(step)
        try:
            record = runner.run(step)
        except StaleState as stale:
            reporter.info(f"   the stack set changed since it was read ({stale}); reading it "
                          "again")
            previous = None
            observed = state.observe(ctx.aws, config)
            continue
        reporter.append("phases", record)
        executed.append(record)
        observed = state.observe(ctx.aws, config)
    else:
        raise RolloutError(f"no convergence after {MAX_STEPS} operations")
    region = observed.writer_region or config.home_region
    line = schema.migrate(ctx.aws, {r: i.outputs for r, i in observed.instances.items()},
                          region, ctx.local)
    reporter.info(line)
    reporter.record("schema", line)
    reporter.record("regions", region_report(ctx, observed))
    if observed.global_stack:
        reporter.record("global", {"stack": config.global_stack_name,
                                   "status": observed.global_stack.status,
                                   "outputs": dict(observed.global_stack.outputs)})
    return executed


def run(ctx: Context, args) -> int:
    reporter = ctx.reporter
    wanted = desired(ctx.config, ctx.bundle)  # refuses an incomplete build before any write
    identity = ctx.identity
    refused = preflight.refusals(ctx.aws, ctx.config, wanted.regional_template,
                                 state.stack_set(ctx.aws, ctx.config))
    if refused:
        raise RolloutError("deploy refused before any change", refused)
    # moto's IAM is consistent at once: the rehearsal does not wait for propagation
    for line in roles.ensure(ctx.aws, ctx.config, identity, ctx.bundle.regional.document,
                             write=True, settle=0 if ctx.local else roles.PROPAGATION_SECONDS):
        reporter.info(line)
    for line in publish_artifacts(ctx, identity["partition"]):
        reporter.info(line)
    executed = rollout(ctx, wanted)
    operations = [r for r in executed if r["action"] != "create_stack_set"]
    reporter.record("sequential_operations", len(operations))
    if executed:
        reporter.info(f"deploy complete: {len(operations)} sequential operation(s)")
        reporter.record("result", "deployed")
    else:
        reporter.info("nothing to do: both regions and the global stack match the build and "
                      "the config (no operation started)")
        reporter.record("result", "no changes")
    return 0
