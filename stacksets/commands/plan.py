"""`plan`: each phase with its state, the effective parameters per region (stack-set value vs
override; NoEcho values masked) and, where stacks exist, what would change. No writes."""

from __future__ import annotations

from stacksets import preflight, roles, state
from standby_cost import estimate as cost
from stacksets.operations import RolloutError
from stacksets.context import Context, desired, uploads
from stacksets.plan import (FOUNDATION, GLOBAL, GLOBAL_REGION, JOIN, PEER_ROUTES,
                            distinct_override_sets, effective_parameters, next_step,
                            region_overrides, resource_changes)
from toolkit import exit_codes
from toolkit.kernel import Blocked, Step

ORDER = (FOUNDATION, JOIN, PEER_ROUTES, GLOBAL)


def sequential_operations(config, wanted, observed, step) -> int:
    """How many StackSet or stack operations deploy would run one after another (pure): the
    instance creations still missing (one per distinct override set), then each later phase.
    The synchronous CreateStackSet call is not counted."""
    if not isinstance(step, Step):
        return 0
    declared = wanted.regional_parameters
    missing = {r: region_overrides(config, r, declared)
               for r in config.regions if r not in observed.instances}
    if step.name == FOUNDATION:
        return distinct_override_sets(config, missing) + 3
    if step.name in ORDER:
        return len(ORDER) - ORDER.index(step.name)
    return 1


def run(ctx: Context, args) -> int:
    config, reporter = ctx.config, ctx.reporter
    wanted = desired(config, ctx.bundle)
    identity = ctx.identity
    observed = state.observe(ctx.aws, config)
    for line in roles.ensure(ctx.aws, config, identity, ctx.bundle.regional.document,
                             write=False):
        reporter.info(line)
    for line in preflight.strays(config, observed.stray_regions):
        reporter.warn(line)
    objects = uploads(config, ctx.bundle)
    reporter.info(f"artifacts: {len(objects)} object(s) in "
                  f"{', '.join(sorted({item.bucket for item in objects}))} (uploaded by deploy "
                  "if missing)")
    if observed.stack_set is not None:
        changes = resource_changes(observed.stack_set.template, wanted.regional_template)
        reporter.info(f"stack set {config.stack_set_name}: " + (", ".join(
            f"{k} {', '.join(v)}" for k, v in changes.items() if v) or "template unchanged"))
    else:
        reporter.info(f"stack set {config.stack_set_name}: does not exist yet")
    declared = wanted.regional_parameters
    regions = {}
    for region in config.regions:
        instance = observed.instances.get(region)
        current = instance.overrides if instance else {}
        target = dict(current) if instance else region_overrides(config, region, declared)
        rows = effective_parameters(config, wanted, region, target)
        regions[region] = {"role": config.role_of(region),
                           "instance": instance.status if instance else "not created",
                           "parameters": rows}
        reporter.info(f"{region} ({config.role_of(region)}), instance: "
                      f"{instance.status if instance else 'not created'}")
        for row in rows:
            reporter.info(f"    {row['name']:<28} {row['value']:<40} {row['source']}")
    reporter.record("regions", regions)
    try:
        standby = cost.for_config(config, ctx.bundle.regional.document,
                                  ctx.bundle.global_.document, GLOBAL_REGION)
        for line in cost.describe(standby):
            reporter.info(line)
    except cost.CostError as error:
        reporter.warn(f"standby cost not priced: {error}")
        standby = {"error": str(error)}
    reporter.record("standby_cost", standby)
    step = next_step(config, wanted, observed)
    if isinstance(step, Step):
        reporter.info(f"next: {step.summary}")
        nxt = {"phase": step.name, "action": step.action, "regions": list(step.targets)}
        later = [p for p in ORDER if step.name in ORDER and
                 ORDER.index(p) > ORDER.index(step.name)]
        if later:
            reporter.info(f"then (values known only after the step above): {', '.join(later)}")
    elif isinstance(step, Blocked):
        reporter.info(f"next: {step.name} phase blocked: {step.reason}")
        nxt = {"phase": step.name, "blocked": step.reason}
    else:
        reporter.info("next: nothing; deploy would change nothing")
        nxt = None
    count = sequential_operations(config, wanted, observed, step)
    reporter.info(f"sequential operations: {count}" + (
        " at least (more if that step changes what follows)" if isinstance(step, Step) and
        step.name not in ORDER else ""))
    reporter.record("next", nxt)
    reporter.record("sequential_operations", count)
    refused = preflight.refusals(ctx.aws, config, wanted.regional_template, observed.stack_set)
    if refused:
        raise RolloutError("deploy would be refused before any change", refused)
    return exit_codes.OK
