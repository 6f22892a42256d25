"""`deploy`: roles, artifacts, then the phased rollout: `plan.next_step()` on the decision kernel.

Each iteration observes AWS, runs the one next operation and observes again, so a re-run after
any failure or interruption continues from what AWS holds, and a re-run after success starts
no operation at all."""

from __future__ import annotations

from typing import Any

from stacksets import artifacts, preflight, roles, schema, state
from stacksets.context import Context, desired, uploads
from stacksets.operations import POLL, ReportLog, RolloutError, StackSetWorld, raise_unless_done
from stacksets.plan import next_step
from toolkit import exit_codes, kernel

MAX_STEPS = 16  # a first rollout needs 6 (with 2 override sets); more means no convergence


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
    """Run steps until none is left (on the decision kernel); returns the executed steps'
    records."""
    config, reporter, runner = ctx.config, ctx.reporter, ctx.runner
    observed = state.observe(ctx.aws, config)
    for line in preflight.strays(config, observed.stray_regions):
        reporter.warn(line)
    first = [observed]  # the kernel's first observation, unless an operation changes it
    if observed.running_operation:
        reporter.info(f"an operation is running on {config.stack_set_name} "
                      f"({observed.running_operation}): waiting for it before planning")
        runner.wait(observed.running_operation, "running operation", fail=False)
        first.clear()
    world = StackSetWorld(runner, lambda: first.pop() if first else state.observe(ctx.aws,
                                                                                    config))
    result = kernel.run(world, lambda now: next_step(config, wanted, now),
                        log=ReportLog(reporter), poll=POLL, max_steps=MAX_STEPS)
    raise_unless_done(result, "rollout", "deploy")
    observed = result.last
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
    return [record for _, record in result.ran]


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
    return exit_codes.OK
