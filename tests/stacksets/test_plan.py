"""Exact boto3 arguments per phase, from the pure planning functions."""

import dataclasses

import pytest

from templates import names

from stacksets import plan
from toolkit import resource_names
from stacksets.context import desired
from stacksets.plan import Instance, Observed, Stack

ACCOUNT = "123456789012"
PREFERENCES = {"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100,
               "FailureToleranceCount": 0}
VPC, PCX = "vpc-0123456789abcdef0", "pcx-0123456789abcdef0"
WRITER = "payments-example-global.global-0a1b2c3d.global.rds.amazonaws.com"


def parameters(**values):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]


@pytest.fixture
def wanted(example_config, bundle):
    return desired(example_config, bundle)


def observed_after(wanted, phase):
    """The state AWS would hold after `phase` (primary us-east-1, secondary us-west-2 with its
    EgressMode override from the example config)."""
    stack_set = Stack("ACTIVE", wanted.regional_template, wanted.stack_set_parameters)
    if phase == "stack set":
        return Observed(stack_set=stack_set, last_operation="")
    values = {"foundation": {},
              "join": {"RecoveryVpcId": VPC, "PeerRegionReady": "true",
                       "GlobalWriterEndpoint": WRITER},
              "peer-routes": {"RecoveryVpcId": VPC, "PeerRegionReady": "true",
                              "PeeringConnectionId": PCX, "GlobalWriterEndpoint": WRITER}}[phase]
    primary_outputs = {names.OUT_VPC_ID: "vpc-0aaaaaaaaaaaaaaaa"}
    if phase != "foundation":
        primary_outputs[names.OUT_PEERING_CONNECTION_ID] = PCX
    return Observed(stack_set=stack_set, last_operation="op-1", writer_endpoint=WRITER,
                    instances={
        "us-east-1": Instance("us-east-1", overrides=values, outputs=primary_outputs),
        "us-west-2": Instance("us-west-2", overrides={**values, "EgressMode": "none"},
                              outputs={names.OUT_VPC_ID: VPC})})


def keep(name):
    return {"ParameterKey": name, "UsePreviousValue": True}


def test_create_stack_set(example_config, wanted):
    step = plan.next_step(example_config, wanted, Observed())
    assert step.action == "create_stack_set" and step.region == "us-east-1"
    arguments = dict(step.arguments)
    source = arguments.pop("TemplateURL")
    assert source.startswith("https://payments-example-artifacts-123456789012-us-east-1.s3."
                             "us-east-1.amazonaws.com/templates/regional-")
    assert arguments.pop("Parameters") == plan.parameter_list(wanted.stack_set_parameters)
    assert arguments == {
        "StackSetName": "payments-example-regional",
        "Description": "payments-example: payment API, regional (home us-east-1, "
                       "recovery us-west-2)",
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        "Tags": [{"Key": "Environment", "Value": "example"},
                 {"Key": "ManagedBy", "Value": "payments-dr-stacksets"}],
        "PermissionModel": "SELF_MANAGED",
        "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
        "ManagedExecution": {"Active": True}}


def test_stack_set_parameters_are_declared_ones_with_foundation_phase_values(wanted):
    values = wanted.stack_set_parameters
    assert set(values) <= set(wanted.regional_parameters)
    assert values[names.EGRESS_MODE] == "single-nat"
    assert values[names.PEER_REGION_READY] == "false"
    assert values[names.RECOVERY_VPC_ID] == "" and values[names.PEERING_CONNECTION_ID] == ""
    assert values[names.FUNCTION_CODE_KEY].startswith("lambda/functions-")


def instance_step(config, wanted, observed, concurrency="PARALLEL"):
    step = plan.next_step(config, wanted, observed)
    arguments = dict(step.arguments)
    assert arguments.pop("OperationId") == plan.operation_id(
        step.name, {k: v for k, v in arguments.items()}, observed.last_operation)
    assert arguments.pop("StackSetName") == "payments-example-regional"
    assert arguments.pop("Accounts") == [ACCOUNT]
    assert arguments.pop("OperationPreferences") == {
        **PREFERENCES, "RegionConcurrencyType": concurrency, "RegionOrder": arguments["Regions"]}
    return step, arguments


def test_foundation_is_one_create_per_distinct_override_set_primary_first(example_config,
                                                                           wanted):
    observed = dataclasses.replace(observed_after(wanted, "stack set"), instances={})
    step, arguments = instance_step(example_config, wanted, observed)
    assert (step.name, step.action) == ("foundation", "create_stack_instances")
    assert arguments == {"Regions": ["us-east-1"]}  # the stack set's values: no overrides
    created = dataclasses.replace(observed_after(wanted, "foundation"), instances={
        "us-east-1": observed_after(wanted, "foundation").instances["us-east-1"]})
    step, arguments = instance_step(example_config, wanted, created)
    assert (step.name, step.action) == ("foundation", "create_stack_instances")
    assert arguments == {"Regions": ["us-west-2"],
                         "ParameterOverrides": parameters(EgressMode="none")}


def test_without_region_overrides_both_regions_are_created_in_one_operation(example_config,
                                                                             wanted):
    config = dataclasses.replace(example_config, region_overrides={})
    observed = dataclasses.replace(observed_after(wanted, "stack set"), instances={})
    step, arguments = instance_step(config, wanted, observed)
    assert arguments == {"Regions": ["us-east-1", "us-west-2"]}


def test_join_is_one_operation_for_both_regions_keeping_their_overrides(example_config, wanted):
    step, arguments = instance_step(example_config, wanted, observed_after(wanted, "foundation"))
    assert (step.name, step.action) == ("join", "update_stack_instances")
    assert arguments == {"Regions": ["us-east-1", "us-west-2"], "ParameterOverrides": [
        keep("EgressMode"), {"ParameterKey": "GlobalWriterEndpoint", "ParameterValue": WRITER},
        {"ParameterKey": "PeerRegionReady", "ParameterValue": "true"},
        keep("PeeringConnectionId"), {"ParameterKey": "RecoveryVpcId", "ParameterValue": VPC}]}


def test_peer_routes_is_one_operation_for_both_regions(example_config, wanted):
    step, arguments = instance_step(example_config, wanted, observed_after(wanted, "join"))
    assert (step.name, step.action) == ("peer-routes", "update_stack_instances")
    assert arguments == {"Regions": ["us-east-1", "us-west-2"], "ParameterOverrides": [
        keep("EgressMode"),
        *parameters(GlobalWriterEndpoint=WRITER, PeerRegionReady="true",
                    PeeringConnectionId=PCX, RecoveryVpcId=VPC)]}


def test_without_region_overrides_nothing_is_kept(example_config, wanted):
    config = dataclasses.replace(example_config, region_overrides={})
    observed = observed_after(wanted, "join")
    observed = dataclasses.replace(observed, instances={
        r: dataclasses.replace(i, overrides={k: v for k, v in i.overrides.items()
                                             if k != "EgressMode"})
        for r, i in observed.instances.items()})
    step, arguments = instance_step(config, wanted, observed)
    assert arguments["ParameterOverrides"] == parameters(
        GlobalWriterEndpoint=WRITER, PeerRegionReady="true", PeeringConnectionId=PCX,
        RecoveryVpcId=VPC)


def test_a_changed_region_override_is_its_own_operation_with_the_full_list(example_config,
                                                                          wanted):
    config = dataclasses.replace(example_config,
                                 region_overrides={"us-west-2": {"EgressMode": "single-nat"}})
    step, arguments = instance_step(config, wanted, observed_after(wanted, "peer-routes"))
    assert (step.name, step.targets) == ("overrides", ("us-west-2",))
    assert arguments["ParameterOverrides"] == parameters(
        EgressMode="single-nat", GlobalWriterEndpoint=WRITER, PeerRegionReady="true",
        PeeringConnectionId=PCX,
        RecoveryVpcId=VPC)


def test_a_removed_region_override_is_left_out_so_the_stack_set_value_returns(example_config,
                                                                             wanted):
    config = dataclasses.replace(example_config, region_overrides={})
    step, arguments = instance_step(config, wanted, observed_after(wanted, "peer-routes"))
    assert (step.name, step.targets) == ("overrides", ("us-west-2",))
    assert arguments["ParameterOverrides"] == parameters(
        GlobalWriterEndpoint=WRITER, PeerRegionReady="true", PeeringConnectionId=PCX,
        RecoveryVpcId=VPC)


def test_an_instance_that_is_not_current_is_redeployed_with_its_values(example_config, wanted):
    observed = observed_after(wanted, "peer-routes")
    observed = dataclasses.replace(observed, instances={
        **observed.instances, "us-west-2": dataclasses.replace(
            observed.instances["us-west-2"], status="OUTDATED")})
    step, arguments = instance_step(example_config, wanted, observed, "SEQUENTIAL")
    assert (step.name, step.targets) == ("overrides", ("us-west-2",))
    assert arguments["ParameterOverrides"] == parameters(
        EgressMode="none", GlobalWriterEndpoint=WRITER, PeerRegionReady="true",
        PeeringConnectionId=PCX, RecoveryVpcId=VPC)


@pytest.mark.parametrize("status", ["OUTDATED", "INOPERABLE"])
def test_a_failed_recovery_foundation_is_retried_before_join_needs_its_outputs(
        example_config, wanted, status):
    """Issue 10, item 2: the failed creation has no VpcId output; the join phase must not
    block on that before the instance is pushed again."""
    observed = observed_after(wanted, "foundation")
    observed = dataclasses.replace(observed, instances={
        **observed.instances, "us-west-2": dataclasses.replace(
            observed.instances["us-west-2"], status=status, outputs={})})
    step, arguments = instance_step(example_config, wanted, observed, "SEQUENTIAL")
    assert (step.name, step.action, step.targets) == (
        "overrides", "update_stack_instances", ("us-west-2",))
    assert arguments["ParameterOverrides"] == parameters(EgressMode="none")


def test_a_region_override_of_a_parameter_the_config_leaves_alone_is_in_the_stack_set(
        example_config, bundle):
    """Issue 10, item 4: AWS only overrides parameters the stack set has."""
    config = dataclasses.replace(example_config, region_overrides={
        **example_config.region_overrides, "us-west-2": {"EgressMode": "none",
                                                         "DbBackupRetentionDays": "7"}})
    values = desired(config, bundle).stack_set_parameters
    default = bundle.regional.parameters["DbBackupRetentionDays"]["Default"]
    assert values["DbBackupRetentionDays"] == str(default)
    assert values["EgressMode"] == "single-nat"  # parameters: wins over the default


def test_an_override_recorded_by_use_previous_value_does_not_repeat_an_operation(
        example_config, wanted):
    """Checked only on paper: if AWS recorded `UsePreviousValue` on EgressMode as an override
    of the home region (with the stack set's value), the rollout still converges."""
    observed = observed_after(wanted, "peer-routes")
    home = observed.instances["us-east-1"]
    pinned = dataclasses.replace(home, overrides={**home.overrides, "EgressMode": "single-nat"})
    observed = dataclasses.replace(observed, instances={**observed.instances,
                                                        "us-east-1": pinned})
    step = plan.next_step(example_config, wanted, observed)
    assert isinstance(step, plan.Blocked) and step.name == "global"  # nothing regional
    # once the stack set's value changes, the stale pin is removed in one operation
    config = dataclasses.replace(example_config, parameters={
        **example_config.parameters, "EgressMode": "nat-per-az"})
    changed = dataclasses.replace(wanted, stack_set_parameters={
        **wanted.stack_set_parameters, "EgressMode": "nat-per-az"})
    observed = dataclasses.replace(observed, stack_set=dataclasses.replace(
        observed.stack_set, parameters=changed.stack_set_parameters))
    step, arguments = instance_step(config, changed, observed)
    assert (step.name, step.targets) == ("overrides", ("us-east-1",))
    assert "EgressMode" not in {p["ParameterKey"] for p in arguments["ParameterOverrides"]}


def test_template_change_updates_the_stack_set_sequentially_primary_first(example_config, wanted):
    observed = observed_after(wanted, "peer-routes")
    old = dict(wanted.regional_template, Description="an older build")
    observed = dataclasses.replace(observed, stack_set=dataclasses.replace(
        observed.stack_set, template=old))
    step = plan.next_step(example_config, wanted, observed)
    assert (step.name, step.action) == ("template", "update_stack_set")
    assert step.arguments["OperationPreferences"] == {
        "RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentPercentage": 100,
        "FailureToleranceCount": 0, "RegionOrder": ["us-east-1", "us-west-2"]}
    assert step.arguments["Regions"] == ["us-east-1", "us-west-2"]


def test_a_template_update_that_failed_half_way_is_retried_sequentially_home_first(
        example_config, wanted):
    """Issue 10, item 6: the stack set already holds the new template, both instances are
    OUTDATED; the retry keeps the update's order (home region first, SEQUENTIAL)."""
    observed = observed_after(wanted, "peer-routes")
    same = {**observed.instances["us-west-2"].overrides, "EgressMode": "single-nat"}
    observed = dataclasses.replace(observed, instances={
        r: dataclasses.replace(i, status="OUTDATED", overrides=same)
        for r, i in observed.instances.items()})
    config = dataclasses.replace(example_config, region_overrides={
        "us-east-1": {"EgressMode": "single-nat"}, "us-west-2": {"EgressMode": "single-nat"}})
    step, arguments = instance_step(config, wanted, observed, "SEQUENTIAL")
    assert step.targets == ("us-east-1", "us-west-2")
    assert arguments["Regions"] == ["us-east-1", "us-west-2"]


def test_update_stack_set_names_the_roles_it_was_created_with(example_config, wanted):
    config = dataclasses.replace(example_config, target=dataclasses.replace(
        example_config.target, administration_role_arn="arn:aws:iam::123456789012:role/Admin",
        execution_role_name="PaymentsExecution"))
    observed = observed_after(wanted, "peer-routes")
    observed = dataclasses.replace(observed, stack_set=dataclasses.replace(
        observed.stack_set, template={}))
    step = plan.next_step(config, wanted, observed)
    assert step.action == "update_stack_set"
    assert step.arguments["AdministrationRoleARN"] == "arn:aws:iam::123456789012:role/Admin"
    assert step.arguments["ExecutionRoleName"] == "PaymentsExecution"


def test_global_stack_is_skipped_with_a_reason_while_outputs_are_missing(example_config, wanted):
    observed = observed_after(wanted, "peer-routes")
    step = plan.next_step(example_config, wanted, observed)
    assert isinstance(step, plan.Blocked) and step.name == "global"
    assert "ApiDomainTarget" in step.reason


def test_global_stack_is_skipped_when_the_template_lacks_the_outputs(example_config, wanted):
    template = dict(wanted.regional_template)
    template["Outputs"] = {k: v for k, v in template["Outputs"].items()
                           if k != names.OUT_API_DOMAIN_TARGET}
    step = plan.global_parameters(example_config, dataclasses.replace(
        wanted, regional_template=template), {})
    assert isinstance(step, plan.Blocked)
    assert "declares no output ApiDomainTarget yet" in step.reason


def test_global_stack_arguments(example_config, wanted):
    outputs = {names.OUT_API_DOMAIN_TARGET: "d-abc.execute-api.us-east-1.amazonaws.com",
               names.OUT_API_DOMAIN_ZONE_ID: "Z1UJRXOUMOOFQ8",
               names.OUT_API_ENDPOINT_HOST: "abc.execute-api.us-east-1.amazonaws.com"}
    values = plan.global_parameters(example_config, wanted,
                                    {"home": outputs, "recovery": outputs})
    assert values[names.PRIMARY_API_TARGET] == outputs[names.OUT_API_DOMAIN_TARGET]
    assert values[names.SECONDARY_HEALTH_HOST] == outputs[names.OUT_API_ENDPOINT_HOST]
    assert values[names.HOSTED_ZONE_ID] == "Z0123456789EXAMPLE"
    arguments = plan.global_stack_args(example_config, wanted, values, True, "")
    assert arguments["StackName"] == "payments-example-global"
    assert arguments["EnableTerminationProtection"] is False
    assert arguments["ClientRequestToken"] == plan.global_stack_args(
        example_config, wanted, values, True, "")["ClientRequestToken"]


def test_operation_ids_are_deterministic_and_change_with_the_state():
    arguments = {"StackSetName": "s", "Regions": ["us-east-1"]}
    first = plan.operation_id("join", arguments, "op-1")
    assert first == plan.operation_id("join", dict(arguments), "op-1")
    assert first != plan.operation_id("join", arguments, "op-2")
    assert first.startswith("join-") and len(first) <= 128


def test_nothing_left_after_a_complete_rollout(example_config, wanted):
    observed = observed_after(wanted, "peer-routes")
    outputs = {names.OUT_API_DOMAIN_TARGET: "d-abc.execute-api.us-east-1.amazonaws.com",
               names.OUT_API_DOMAIN_ZONE_ID: "Z1UJRXOUMOOFQ8",
               names.OUT_API_ENDPOINT_HOST: "abc.execute-api.us-east-1.amazonaws.com"}
    instances = {r: dataclasses.replace(i, outputs={**i.outputs, **outputs})
                 for r, i in observed.instances.items()}
    observed = dataclasses.replace(observed, instances=instances)
    step = plan.next_step(example_config, wanted, observed)
    assert step.action == "create_stack"
    values = plan.global_parameters(example_config, wanted,
                                    plan.outputs_by_role(example_config, observed))
    done = dataclasses.replace(observed, global_stack=Stack(
        "CREATE_COMPLETE", wanted.global_template, values))
    assert isinstance(plan.next_step(example_config, wanted, done), plan.Done)


def test_join_waits_for_the_global_writer_endpoint(example_config, wanted):
    """Both regions' functions connect to the global writer endpoint: the join phase does not
    run without it (it would leave the recovery region with no database to reach)."""
    observed = dataclasses.replace(observed_after(wanted, "foundation"), writer_endpoint=None)
    step = plan.next_step(example_config, wanted, observed)
    assert isinstance(step, plan.Blocked) and step.name == "join"
    assert "writer endpoint" in step.reason


def test_a_failover_changes_no_phase_value(example_config, wanted):
    """The global writer endpoint's name survives switchovers and failovers: a deploy after a
    failover (writer in the recovery region) plans nothing."""
    done = observed_after(wanted, "peer-routes")
    moved = dataclasses.replace(done, writer_region="us-west-2")
    assert plan.next_step(example_config, wanted, moved) == plan.next_step(
        example_config, wanted, done)


def test_a_deploy_keeps_the_dns_preference_that_dr_switchover_chose(example_config, wanted):
    """After `dr switchover --to <recovery>`, the global stack's PRIMARY record points at the
    recovery region; a later deploy must not move DNS back to home behind the operator."""
    outputs = {"home": {names.OUT_API_DOMAIN_TARGET: "d-home.execute-api.us-east-1.amazonaws.com",
                        names.OUT_API_DOMAIN_ZONE_ID: "ZHOME",
                        names.OUT_API_ENDPOINT_HOST: "us-east-1.api.example.com"},
               "recovery": {names.OUT_API_DOMAIN_TARGET:
                            "d-rec.execute-api.us-west-2.amazonaws.com",
                            names.OUT_API_DOMAIN_ZONE_ID: "ZREC",
                            names.OUT_API_ENDPOINT_HOST: "us-west-2.api.example.com"}}
    normal = plan.global_parameters(example_config, wanted, outputs)
    swapped = plan.swap_preference(normal)
    assert swapped[names.PRIMARY_API_TARGET] == outputs["recovery"][names.OUT_API_DOMAIN_TARGET]
    deployed = Stack("UPDATE_COMPLETE", wanted.global_template, swapped, version="v1")
    observed = Observed(global_stack=deployed)
    assert resource_names.preferred_region(deployed.parameters) == "us-west-2"
    assert plan.next_global_step(example_config, wanted, observed, outputs) is None
    back_home = Stack("UPDATE_COMPLETE", wanted.global_template, normal, version="v1")
    assert resource_names.preferred_region(back_home.parameters) == "us-east-1"
    assert plan.next_global_step(example_config, wanted, Observed(global_stack=back_home),
                                 outputs) is None
