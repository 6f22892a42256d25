"""The rollout as pure functions: desired state + observed state -> the next operation.

Nothing here calls AWS. `next_step()` is the whole ordering logic, and `deploy` runs it on the
decision kernel (`toolkit/kernel.py`: observe, run the step, observe again), which is what
makes a re-run resume from whatever AWS holds: a phase that is done is simply not chosen again.

Order (SPEC "Rollout tool"; each line is one StackSet operation, or a stack operation):
  foundation   CreateStackInstances: the stack set's values (RecoveryVpcId and
               PeeringConnectionId empty, PeerRegionReady=false) plus each region's own
               `region_overrides`. One operation per distinct set of region overrides (the
               example config: 2), home region's first; without region overrides, 1.
  join         UpdateStackInstances, both regions at once: RecoveryVpcId=<recovery region VpcId>,
               PeerRegionReady=true (the home region requests peering and replicates to the
               recovery region, which joins the home region's global resources).
  peer-routes  UpdateStackInstances, both regions at once: PeeringConnectionId=<the home
               region's output>.
  global       CreateStack/UpdateStack of `<prefix>-<env>-global` in us-east-1 (after any
               operation on it that is still in progress has ended).
So a first rollout is (number of distinct region-override sets) + 3 sequential operations.

Why join and peer-routes need no per-region operation although the regions' overrides differ:
CloudFormation stores ParameterOverrides per stack instance, and UpdateStackInstances treats
its list as the instance's new override list: a parameter given with a value is overridden, a
parameter given with `UsePreviousValue: true` keeps its present overridden value, and a
parameter left out of the list goes back to the stack set's value (API Reference,
UpdateStackInstances, ParameterOverrides). So the phase operations pass the phase values, which
are the same in both regions (each region's template uses what concerns it), and
`UsePreviousValue` for every parameter any region overrides: one operation keeps each region's
own overrides. Only a change of the region overrides themselves needs an operation per region
("overrides" phase), with that region's full list.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from templates import names

from toolkit import resource_names
from toolkit.config import SERVICE_MANAGED, Config
from toolkit.kernel import Blocked, Decision, Done, Step, Wait

FOUNDATION, JOIN, PEER_ROUTES, OVERRIDES, TEMPLATE, GLOBAL = (
    "foundation", "join", "peer-routes", "overrides", "template", "global")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
GLOBAL_REGION = names.GLOBAL_REGION
MASK = "****"

# Global stack parameters filled from regional outputs: parameter -> (role, output).
GLOBAL_FROM_OUTPUTS = {
    names.PRIMARY_API_TARGET: ("home", names.OUT_API_DOMAIN_TARGET),
    names.PRIMARY_API_TARGET_ZONE: ("home", names.OUT_API_DOMAIN_ZONE_ID),
    names.PRIMARY_HEALTH_HOST: ("home", names.OUT_API_ENDPOINT_HOST),
    names.SECONDARY_API_TARGET: ("recovery", names.OUT_API_DOMAIN_TARGET),
    names.SECONDARY_API_TARGET_ZONE: ("recovery", names.OUT_API_DOMAIN_ZONE_ID),
    names.SECONDARY_HEALTH_HOST: ("recovery", names.OUT_API_ENDPOINT_HOST),
}

# Stack-set parameters the global stack repeats when the config sets them: the dashboard draws
# the reservations; EnableDrills also switches the ARC Region switch plan.
GLOBAL_FROM_PARAMETERS = ("ProcessorReservedConcurrency", "HealthReservedConcurrency",
                          "EnableDrills")


# --- state ---------------------------------------------------------------------------------
DONE, FAILED, PENDING = "done", "failed", "pending"
# A stack made by a change set that was never executed: no template, no resources, and not an
# operation that ends by itself (CloudFormation User Guide, "Stack status codes").
REVIEW = "REVIEW_IN_PROGRESS"


def stack_state(status: str) -> str:
    """A CloudFormation stack status reduced to pending / done / failed (CloudFormation User
    Guide, "Stack status codes"): a rollback completed is a failed operation."""
    if status.endswith("_IN_PROGRESS"):
        return PENDING
    if status.endswith("_FAILED") or "ROLLBACK" in status:
        return FAILED
    return DONE


@dataclass(frozen=True)
class Instance:
    region: str
    status: str = "CURRENT"  # CURRENT | OUTDATED | INOPERABLE
    detailed_status: str = ""
    reason: str = ""
    overrides: Mapping[str, str] = field(default_factory=dict)
    stack_id: str | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    drift: str = "NOT_CHECKED"


@dataclass(frozen=True)
class Stack:
    status: str
    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    outputs: Mapping[str, str] = field(default_factory=dict)
    stack_id: str = ""
    version: str = ""  # last update or creation time: changes after every operation


@dataclass(frozen=True)
class Observed:
    stack_set: Stack | None = None
    instances: Mapping[str, Instance] = field(default_factory=dict)
    running_operation: str | None = None
    last_operation: str = ""
    global_stack: Stack | None = None
    # Where the Aurora writer runs (None: unknown or no database yet). Reported, and
    # deliberately never read by `next_step`: a failover moves the writer, not the roles, so
    # a deploy after it plans exactly what it would plan before.
    writer_region: str | None = None
    # The global database's writer endpoint (DescribeGlobalClusters `Endpoint`): a join-phase
    # parameter of both regions. Its name never changes, so a failover changes no plan.
    writer_endpoint: str | None = None
    # Regions where the stack set has an instance that the config does not name (a region
    # removed from the config): reported, never deleted or ignored silently.
    stray_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Desired:
    """What the build and the config ask for (template sources point at uploaded artifacts)."""
    regional_source: Mapping[str, str]   # TemplateBody or TemplateURL
    regional_template: Mapping[str, Any]
    stack_set_parameters: Mapping[str, str]
    global_source: Mapping[str, str]
    global_template: Mapping[str, Any]

    @property
    def regional_parameters(self) -> Mapping[str, Any]:
        return self.regional_template.get("Parameters", {})

    @property
    def regional_outputs(self) -> Mapping[str, Any]:
        return self.regional_template.get("Outputs", {})


# --- parameters ------------------------------------------------------------------------------
def stack_set_parameters(config: Config, declared: Mapping[str, Any],
                         code_keys: Mapping[str, str]) -> dict[str, str]:
    """Stack-set level values: the tool's own, the user's `parameters:`, the foundation
    values of the phase parameters, and every parameter a region overrides (with the
    template's default unless `parameters:` sets it): UpdateStackInstances "can only override
    the parameter values that are specified in the StackSet" (API Reference,
    UpdateStackInstances). Declared parameters only."""
    domain = config.domain
    tool = {
        names.NAME_PREFIX: config.name_prefix, names.ENVIRONMENT_NAME: config.environment,
        names.HOME_REGION: config.home_region,
        names.RECOVERY_REGION: config.recovery_region,
        names.ALARM_EMAIL: config.alarm_email,
        names.ARTIFACT_BUCKET_PREFIX: config.artifact_bucket_prefix,
        names.API_DOMAIN_NAME: domain.name if domain else None,
        names.API_HOSTED_ZONE_ID: domain.hosted_zone_id if domain else None,
        **code_keys,
    }
    values = {k: v for k, v in tool.items() if v is not None}
    values.update(config.parameters)
    values.update(phase_values(FOUNDATION, declared, {}))
    for name in kept_parameters(config, declared):
        if name not in values and "Default" in declared[name]:
            values[name] = str(declared[name]["Default"])
    return {k: v for k, v in sorted(values.items()) if k in declared}


def phase_values(phase: str, declared: Mapping[str, Any],
                 outputs: Mapping[str, Mapping[str, str]],
                 writer_endpoint: str = "") -> dict[str, str]:
    """The phase parameters a phase sets (declared ones only); `outputs` maps role -> stack
    outputs. Join leaves PeeringConnectionId as it is (it passes it with UsePreviousValue).
    From the join on, both regions get the global database's writer endpoint
    (DescribeGlobalClusters `Endpoint`): the functions of both connect to it, and it follows
    the writer through switchovers and failovers, so it never changes afterwards."""
    if phase == FOUNDATION:
        values = {names.RECOVERY_VPC_ID: "", names.PEER_REGION_READY: "false",
                  names.PEERING_CONNECTION_ID: "", names.GLOBAL_WRITER_ENDPOINT: ""}
    else:
        values = {names.RECOVERY_VPC_ID: outputs["recovery"][names.OUT_VPC_ID],
                  names.PEER_REGION_READY: "true",
                  names.GLOBAL_WRITER_ENDPOINT: writer_endpoint}
        if phase != JOIN:
            values[names.PEERING_CONNECTION_ID] = outputs["home"].get(
                names.OUT_PEERING_CONNECTION_ID, "")
    return {k: v for k, v in values.items() if k in declared}


PHASE_PARAMETERS = (names.RECOVERY_VPC_ID, names.PEER_REGION_READY, names.PEERING_CONNECTION_ID,
                    names.GLOBAL_WRITER_ENDPOINT)


def region_overrides(config: Config, region: str, declared: Mapping[str, Any]) -> dict[str, str]:
    """The config's own overrides for `region` (declared parameters only)."""
    return dict(sorted((k, v) for k, v in config.region_overrides.get(region, {}).items()
                       if k in declared))


def kept_parameters(config: Config, declared: Mapping[str, Any]) -> tuple[str, ...]:
    """Every parameter some region overrides: a phase operation over both regions passes them
    with UsePreviousValue, so each region keeps its own value."""
    return tuple(sorted({k for r in config.regions for k in region_overrides(config, r, declared)}))


def phase_overrides(instance: "Instance") -> dict[str, str]:
    return {k: v for k, v in instance.overrides.items() if k in PHASE_PARAMETERS}


def own_overrides(instance: "Instance") -> dict[str, str]:
    return {k: v for k, v in instance.overrides.items() if k not in PHASE_PARAMETERS}


def overrides_match(instance: "Instance", wanted: Mapping[str, str],
                    stack_set_values: Mapping[str, str]) -> bool:
    """Whether an instance's own overrides are what the config asks. An override the config
    does not ask for counts as absent when it equals the stack set's value: the API Reference
    does not say whether `UsePreviousValue` on a parameter an instance does not override
    records an override; if AWS records one, it holds the stack set's value and changes
    nothing, so it is not corrected by an operation on every deploy. It is corrected once that
    stack set value changes (the pinned value then differs)."""
    present = own_overrides(instance)
    pinned = {k: v for k, v in present.items()
              if k not in wanted and stack_set_values.get(k) == v}
    return {k: v for k, v in present.items() if k not in pinned} == dict(wanted)


def instance_overrides(config: Config, region: str, declared: Mapping[str, Any],
                       phase: Mapping[str, str]) -> dict[str, str]:
    """The override list an instance should end up with: phase values plus its region's own."""
    return dict(sorted({**phase, **region_overrides(config, region, declared)}.items()))


def parameter_list(values: Mapping[str, str],
                   keep: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """boto3 `Parameters`/`ParameterOverrides`; `keep`: names passed with UsePreviousValue."""
    items: list[dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v}
                                   for k, v in values.items()]
    items += [{"ParameterKey": k, "UsePreviousValue": True} for k in keep if k not in values]
    return sorted(items, key=lambda item: item["ParameterKey"])


def parameters_differ(wanted: Mapping[str, str], present: Mapping[str, str],
                      declared: Mapping[str, Any]) -> list[str]:
    """Names whose value would change. A parameter not passed takes the template default;
    a masked (NoEcho) value cannot be compared and is assumed unchanged."""
    changed = []
    for name in sorted(set(wanted) | set(present)):
        want = wanted.get(name, str(declared.get(name, {}).get("Default", "")))
        have = present.get(name, str(declared.get(name, {}).get("Default", "")))
        if name not in declared and name not in wanted:
            changed.append(name)  # the new template no longer declares it
        elif have != MASK and want != have:
            changed.append(name)
    return changed


def effective_parameters(config: Config, desired: Desired, region: str,
                         overrides: Mapping[str, str]) -> list[dict[str, str]]:
    """Per region, each parameter's value and where it comes from (for `plan`); NoEcho
    parameters are masked."""
    rows = []
    for name, declaration in sorted(desired.regional_parameters.items()):
        if name in overrides:
            value = overrides[name]
            source = "override (region)" if name in config.region_overrides.get(region, {}) \
                else "override (phase)"
        elif name in desired.stack_set_parameters:
            value, source = desired.stack_set_parameters[name], "stack set"
        else:
            value, source = str(declaration.get("Default", "")), "template default"
        if str(declaration.get("NoEcho", "false")).lower() == "true":
            value = MASK
        rows.append({"name": name, "value": value, "source": source})
    return rows


# --- boto3 arguments -------------------------------------------------------------------------
def operation_preferences(config: Config, regions: tuple[str, ...],
                          concurrency: str | None = None) -> dict[str, Any]:
    preferences = config.preferences
    return {"RegionConcurrencyType": concurrency or preferences.region_concurrency,
            "MaxConcurrentPercentage": preferences.max_concurrent_percentage,
            "FailureToleranceCount": preferences.failure_tolerance_count,
            "RegionOrder": list(regions)}


def deployment(config: Config) -> dict[str, Any]:
    """Self-managed: the account. Service-managed: the OUs, narrowed to the account
    (AccountFilterType INTERSECTION), so the rollout never spreads to every account of an OU."""
    target = config.target
    if target.permission_model == SERVICE_MANAGED:
        return {"DeploymentTargets": {"OrganizationalUnitIds": list(target.organizational_units),
                                      "Accounts": [target.account],
                                      "AccountFilterType": "INTERSECTION"}}
    return {"Accounts": [target.account]}


def operation_id(phase: str, arguments: Mapping[str, Any], after: str) -> str:
    """Deterministic: the same call planned from the same state gets the same id, so a call
    retried after a timeout cannot start a second operation (CloudFormation answers
    OperationIdAlreadyExistsException). `after` is the latest operation already on the stack
    set, so the same arguments planned after another operation get a new id."""
    digest = hashlib.sha256(json.dumps([phase, arguments, after], sort_keys=True,
                                       default=str).encode()).hexdigest()
    return f"{phase}-{digest[:32]}"


def _with_operation_id(phase: str, arguments: dict[str, Any], after: str) -> dict[str, Any]:
    return {**arguments, "OperationId": operation_id(phase, arguments, after)}


def permission_arguments(config: Config) -> dict[str, str]:
    """Self-managed: the roles CloudFormation uses, on CreateStackSet and on every
    UpdateStackSet (an update without them falls back to the default role names)."""
    if config.target.permission_model == SERVICE_MANAGED:
        return {}
    arguments = {"ExecutionRoleName": config.target.execution_role_name}
    if config.target.administration_role_arn:
        arguments["AdministrationRoleARN"] = config.target.administration_role_arn
    return arguments


def create_stack_set_args(config: Config, desired: Desired) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "StackSetName": config.stack_set_name,
        "Description": f"{config.name_prefix}-{config.environment}: payment API, regional "
                       f"(home {config.home_region}, recovery {config.recovery_region})",
        **desired.regional_source,
        "Parameters": parameter_list(desired.stack_set_parameters),
        "Capabilities": CAPABILITIES,
        "Tags": tags(config),
        "PermissionModel": config.target.permission_model,
        **config.call_as, **permission_arguments(config),
    }
    if config.target.permission_model == SERVICE_MANAGED:
        arguments["AutoDeployment"] = {"Enabled": False}
    # Managed execution lets CloudFormation queue non-conflicting operations instead of
    # failing them with OperationInProgressException.
    arguments["ManagedExecution"] = {"Active": True}
    return arguments


def update_stack_set_args(config: Config, desired: Desired, regions: tuple[str, ...],
                          after: str) -> dict[str, Any]:
    """Template or stack-set parameters changed: redeploy the existing instances, home region
    first and SEQUENTIAL, so the home region's shared resources change before the recovery
    region's."""
    arguments = {
        "StackSetName": config.stack_set_name, **desired.regional_source,
        "Parameters": parameter_list(desired.stack_set_parameters),
        "Capabilities": CAPABILITIES, "Tags": tags(config),
        "OperationPreferences": operation_preferences(config, regions, "SEQUENTIAL"),
        **deployment(config), "Regions": list(regions), **config.call_as,
        **permission_arguments(config),
    }
    return _with_operation_id(TEMPLATE, arguments, after)


def instances_args(config: Config, phase: str, regions: tuple[str, ...],
                   overrides: Mapping[str, str], after: str,
                   keep: tuple[str, ...] = (), concurrency: str | None = None) -> dict[str, Any]:
    """CreateStackInstances / UpdateStackInstances. Without overrides and `keep` (a creation
    with the stack set's values only) there is no ParameterOverrides at all: for an update an
    empty list would mean "every override back to the stack set's value"."""
    arguments: dict[str, Any] = {
        "StackSetName": config.stack_set_name, **deployment(config), "Regions": list(regions)}
    if overrides or keep:
        arguments["ParameterOverrides"] = parameter_list(overrides, keep)
    arguments["OperationPreferences"] = operation_preferences(config, regions, concurrency)
    arguments.update(config.call_as)
    return _with_operation_id(phase, arguments, after)


def tags(config: Config) -> list[dict[str, str]]:
    return [{"Key": "Environment", "Value": config.environment},
            {"Key": "ManagedBy", "Value": "payments-dr-stacksets"}]


# --- global stack ----------------------------------------------------------------------------
def global_parameters(config: Config, desired: Desired,
                      outputs: Mapping[str, Mapping[str, str]]) -> dict[str, str] | Blocked:
    """Values for the global template's declared parameters, or why they cannot be had yet."""
    declared = desired.global_template.get("Parameters", {})
    needed = {p: src for p, src in GLOBAL_FROM_OUTPUTS.items() if p in declared}
    not_declared = sorted({o for _, o in needed.values() if o not in desired.regional_outputs})
    if not_declared:
        return Blocked(GLOBAL, "the regional template declares no output "
                       f"{', '.join(not_declared)} yet (the payment service is not built): "
                       "the global stack (DNS failover) is skipped until it does")
    missing = sorted(f"{config.role_of(r)} {o}" for p, (role, o) in needed.items()
                     for r in [config.home_region if role == "home"
                               else config.recovery_region]
                     if not outputs.get(role, {}).get(o))
    if missing:
        return Blocked(GLOBAL, f"regional output(s) without a value yet: {', '.join(missing)}")
    domain = config.domain
    if domain is None and names.DOMAIN_NAME in declared \
            and "Default" not in declared[names.DOMAIN_NAME]:
        return Blocked(GLOBAL, "the config has no `domain:` section (domain.name is the "
                       "failover name): the global stack is skipped")
    values = {p: outputs[role][o] for p, (role, o) in needed.items()}
    values.update({
        names.NAME_PREFIX: config.name_prefix, names.ENVIRONMENT_NAME: config.environment,
        names.ALARM_EMAIL: config.alarm_email,
        # The dashboard and the Region switch plan name both regions.
        names.HOME_REGION: config.home_region, names.RECOVERY_REGION: config.recovery_region,
        **{p: str(config.parameters[p]) for p in GLOBAL_FROM_PARAMETERS
           if p in config.parameters},
    })
    if domain:
        values.update({names.DOMAIN_NAME: domain.name, names.HOSTED_ZONE_ID: domain.hosted_zone_id,
                       names.ZONE_NAME: domain.zone_name,
                       names.HEALTH_CHECK_FAILURE_THRESHOLD:
                           str(domain.health_check_failure_threshold)})
    return {k: v for k, v in sorted(values.items()) if k in declared}


def global_stack_args(config: Config, desired: Desired, parameters: Mapping[str, str],
                      create: bool, after: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "StackName": config.global_stack_name, **desired.global_source,
        "Parameters": parameter_list(parameters), "Capabilities": CAPABILITIES,
        "Tags": tags(config),
    }
    if create:
        arguments["EnableTerminationProtection"] = config.production
    token = operation_id(GLOBAL, arguments, after)
    return {**arguments, "ClientRequestToken": token}


# --- the next step -----------------------------------------------------------------------------
def _same_template(a: Mapping[str, Any] | None, b: Mapping[str, Any]) -> bool:
    return a is not None and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def stack_set_changes(desired: Desired, stack_set: Stack) -> list[str]:
    changes = []
    if not _same_template(stack_set.template, desired.regional_template):
        changes.append("template")
    changed = parameters_differ(desired.stack_set_parameters, stack_set.parameters,
                                desired.regional_parameters)
    if changed:
        changes.append("parameters " + ", ".join(changed))
    return changes


def _grouped(config: Config, targets: Mapping[str, Mapping[str, str]]):
    """Regions with identical overrides share an operation; home region's group first."""
    groups: dict[str, tuple[list[str], Mapping[str, str]]] = {}
    for region in config.regions:
        if region in targets:
            key = json.dumps(targets[region], sort_keys=True)
            groups.setdefault(key, ([], targets[region]))[0].append(region)
    return [(tuple(regions), values) for regions, values in groups.values()]


def distinct_override_sets(config: Config,
                           targets: Mapping[str, Mapping[str, str]]) -> int:
    return len(_grouped(config, targets))


def _first_group_step(config: Config, phase: str, action: str,
                      targets: Mapping[str, Mapping[str, str]], observed: Observed,
                      why: str, concurrency: str | None = None) -> Step:
    """One operation per distinct override list (regions whose lists differ cannot share
    one); the home region's first. The next call of `next_step` plans the next group."""
    regions, overrides = _grouped(config, targets)[0]
    arguments = instances_args(config, phase, regions, overrides, observed.last_operation,
                               concurrency=concurrency)
    return Step(phase, action, config.administration_region, arguments,
                f"{phase}: {action} in {', '.join(regions)} ({why})", regions)


def _phase_step(config: Config, phase: str, regions: tuple[str, ...],
                values: Mapping[str, str], keep: tuple[str, ...], observed: Observed,
                why: str) -> Step:
    """One operation for all `regions`: the phase values, region overrides kept."""
    arguments = instances_args(config, phase, regions, values, observed.last_operation, keep)
    return Step(phase, "update_stack_instances", config.administration_region, arguments,
                f"{phase}: update_stack_instances in {', '.join(regions)} ({why})", regions)


def outputs_by_role(config: Config, observed: Observed) -> dict[str, Mapping[str, str]]:
    return {config.role_of(r): i.outputs for r, i in observed.instances.items()}


def next_step(config: Config, desired: Desired, observed: Observed) -> Decision:
    """The single next operation of a rollout from `observed` towards `desired` (a `Step`), why
    it cannot go on (`Blocked`), or `Done`. Deterministic: the same inputs give the same step
    and the same operation id."""
    if observed.stack_set is None:
        return Step(FOUNDATION, "create_stack_set", config.administration_region,
                    create_stack_set_args(config, desired),
                    f"create stack set {config.stack_set_name}")
    step = _stack_set_step(config, desired, observed) or _instances_step(config, desired,
                                                                         observed)
    if step is not None:
        return step
    return next_global_step(config, desired, observed, outputs_by_role(config, observed)) or \
        Done("both regions and the global stack match the build and the config")


def _stack_set_step(config: Config, desired: Desired, observed: Observed) -> Step | None:
    existing = tuple(r for r in config.regions if r in observed.instances)
    changes = stack_set_changes(desired, observed.stack_set)
    if changes and existing:
        return Step(TEMPLATE, "update_stack_set", config.administration_region,
                    update_stack_set_args(config, desired, existing, observed.last_operation),
                    f"{TEMPLATE}: update_stack_set in {', '.join(existing)} "
                    f"({'; '.join(changes)})", existing)
    if changes:  # no instance yet: nothing to redeploy, the stack set itself is updated
        arguments = update_stack_set_args(config, desired, (), observed.last_operation)
        for key in ("Accounts", "DeploymentTargets", "Regions", "OperationPreferences"):
            arguments.pop(key, None)
        return Step(TEMPLATE, "update_stack_set", config.administration_region, arguments,
                    f"{TEMPLATE}: update_stack_set ({'; '.join(changes)})")
    return None


def _instances_step(config: Config, desired: Desired,
                    observed: Observed) -> Step | Blocked | None:
    declared = desired.regional_parameters
    missing = {r: region_overrides(config, r, declared)
               for r in config.regions if r not in observed.instances}
    if missing:
        return _first_group_step(config, FOUNDATION, "create_stack_instances", missing,
                                 observed, "no stack instance yet")

    changed = {r: instance_overrides(config, r, declared, phase_overrides(i))
               for r, i in observed.instances.items()
               if not overrides_match(i, region_overrides(config, r, declared),
                                      desired.stack_set_parameters)}
    if changed:
        return _first_group_step(config, OVERRIDES, "update_stack_instances", changed,
                                 observed, "region_overrides changed")

    # A failed or OUTDATED instance (a failed creation included) is pushed again with the
    # values it has, before any later phase depends on its outputs. SEQUENTIAL, home region
    # first, like the template update it may be finishing (the stack set already holds the
    # new template, so that update is not planned again).
    failed = {r: instance_overrides(config, r, declared, phase_overrides(i))
              for r, i in observed.instances.items() if i.status != "CURRENT"}
    if failed:
        return _first_group_step(config, OVERRIDES, "update_stack_instances", failed,
                                 observed, "the instance is not CURRENT: redeploy it with its "
                                 "values", concurrency="SEQUENTIAL")

    keep = kept_parameters(config, declared)
    outputs = outputs_by_role(config, observed)
    if names.OUT_VPC_ID not in outputs["recovery"] and (
            names.RECOVERY_VPC_ID in declared or names.PEER_REGION_READY in declared):
        return Blocked(JOIN, f"the recovery region stack in {config.recovery_region} has no "
                       f"{names.OUT_VPC_ID} output; check its status")
    if names.GLOBAL_WRITER_ENDPOINT in declared and not observed.writer_endpoint:
        return Blocked(JOIN, "the global database's writer endpoint is not known yet "
                       f"(DescribeGlobalClusters in {config.home_region} gave no Endpoint); "
                       "check the home region's global cluster")
    join = phase_values(JOIN, declared, outputs, observed.writer_endpoint or "")
    regions = tuple(r for r in config.regions
                    if any(observed.instances[r].overrides.get(k) != v for k, v in join.items()))
    if regions:
        kept = keep + ((names.PEERING_CONNECTION_ID,)
                       if names.PEERING_CONNECTION_ID in declared else ())
        return _phase_step(config, JOIN, regions, join, tuple(sorted(kept)), observed,
                           "the recovery region's VPC id and PeerRegionReady=true")

    if names.PEERING_CONNECTION_ID in declared and \
            not outputs["home"].get(names.OUT_PEERING_CONNECTION_ID):
        return Blocked(PEER_ROUTES, f"the home region stack in {config.home_region} has no "
                       f"{names.OUT_PEERING_CONNECTION_ID} output after the join phase")
    final = phase_values(PEER_ROUTES, declared, outputs, observed.writer_endpoint or "")
    stale = tuple(r for r in config.regions if phase_overrides(observed.instances[r]) != final)
    if stale:
        return _phase_step(config, PEER_ROUTES, stale, final, keep, observed,
                           "the home region's peering connection id")
    return None


# The failover records' PRIMARY/SECONDARY inputs. `dr switchover` swaps each pair in the
# global stack (template unchanged) so DNS prefers the new writer; a deploy keeps that choice.
PREFERENCE_PAIRS = ((names.PRIMARY_API_TARGET, names.SECONDARY_API_TARGET),
                    (names.PRIMARY_API_TARGET_ZONE, names.SECONDARY_API_TARGET_ZONE),
                    (names.PRIMARY_HEALTH_HOST, names.SECONDARY_HEALTH_HOST))


def swap_preference(values: Mapping[str, str]) -> dict[str, str]:
    swapped = dict(values)
    for first, second in PREFERENCE_PAIRS:
        if first in swapped and second in swapped:
            swapped[first], swapped[second] = swapped[second], swapped[first]
    return swapped


def next_global_step(config: Config, desired: Desired, observed: Observed,
                     outputs: Mapping[str, Mapping[str, str]],
                     prefer: str | None = None) -> Step | Wait | Blocked | None:
    """The global stack's operation, if any. `prefer`: the region the PRIMARY failover record
    is to point at; by default where the deployed stack points it (home for a new one), so a
    deploy keeps what `dr switchover` chose. `dr switchover` and `dr failback` make their DNS
    step with this function, so its call is deploy's, with only the preference moved."""
    parameters = global_parameters(config, desired, outputs)
    if isinstance(parameters, Blocked):
        return parameters
    stack = observed.global_stack
    if prefer is None:
        # Where the deployed PRIMARY record points: `dr switchover` moved the DNS preference
        # with the writer, and a deploy must not undo it (read as `status` and `dr` read it).
        prefer = (resource_names.preferred_region(stack.parameters) if stack else None) \
            or config.home_region
    if prefer == config.recovery_region:
        parameters = swap_preference(parameters)
    after = stack.version if stack else ""
    if stack is not None and stack.status == REVIEW:
        return Blocked(GLOBAL, f"{config.global_stack_name} is {REVIEW}: a change set made "
                       "for it was never executed (the stack has no template or resources "
                       "yet); execute or delete that change set, or delete the stack, then "
                       "re-run deploy")
    if stack is not None and stack.status.endswith("_IN_PROGRESS"):
        # Its new template and parameters are already what it shows; until the operation
        # ends it may still roll back (CloudFormation User Guide, "Stack status codes").
        return Wait(f"the global stack {config.global_stack_name} is {stack.status}: waiting "
                    "for that operation to end")
    if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        # A stack whose creation failed can only be deleted (CloudFormation User Guide,
        # "Stack status codes").
        return Step(GLOBAL, "delete_stack", GLOBAL_REGION,
                    {"StackName": config.global_stack_name},
                    f"{GLOBAL}: delete {config.global_stack_name} ({stack.status}) to recreate it")
    if stack is None:
        return Step(GLOBAL, "create_stack", GLOBAL_REGION,
                    global_stack_args(config, desired, parameters, True, after),
                    f"{GLOBAL}: create_stack {config.global_stack_name} in {GLOBAL_REGION}")
    changed = parameters_differ(parameters, stack.parameters,
                                desired.global_template.get("Parameters", {}))
    same_template = _same_template(stack.template, desired.global_template)
    if changed or not same_template:
        what = ([] if same_template else ["template"]) + \
            (["parameters " + ", ".join(changed)] if changed else [])
        return Step(GLOBAL, "update_stack", GLOBAL_REGION,
                    global_stack_args(config, desired, parameters, False, after),
                    f"{GLOBAL}: update_stack {config.global_stack_name} ({'; '.join(what)})")
    return None


def resource_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[str]]:
    """Logical ids added, removed and modified between two templates (for `plan`)."""
    before, after = old.get("Resources", {}), new.get("Resources", {})
    return {"added": sorted(set(after) - set(before)),
            "removed": sorted(set(before) - set(after)),
            "modified": sorted(k for k in set(before) & set(after) if before[k] != after[k])}
