"""Refusals before any write: the home region is fixed for ever, and the Lambda concurrency
quota must leave 100 unreserved in each region. A deploy after a failover plans exactly what
it would plan before it."""

import dataclasses
from types import SimpleNamespace

import pytest

from templates import names

from stacksets import plan, preflight
from stacksets.commands import deploy
from stacksets.context import Context, desired
from stacksets.operations import RolloutError
from stacksets.plan import Stack
from tests.stubs import reporter, stubbed_aws
from tests.stacksets.test_plan import observed_after

HOME, RECOVERY = "us-east-1", "us-west-2"


@pytest.fixture
def wanted(example_config, bundle):
    return desired(example_config, bundle)


def deployed(wanted, home=HOME, recovery=RECOVERY):
    return Stack("ACTIVE", wanted.regional_template, {
        **wanted.stack_set_parameters, names.HOME_REGION: home, names.RECOVERY_REGION: recovery})


# --- the home region is fixed ------------------------------------------------------------------
def test_a_config_that_swaps_the_regions_is_refused_naming_both_values(example_config, wanted):
    reason = preflight.region_lock(example_config, deployed(wanted, RECOVERY, HOME))
    assert "HomeRegion is us-west-2 in the stack set, us-east-1 in the config (regions.home)" \
        in reason
    assert "RecoveryRegion is us-east-1 in the stack set, us-west-2 in the config" in reason
    assert "second global database, table and secret" in reason
    assert "restore regions.home: us-west-2 and regions.recovery: us-east-1" in reason


def test_the_same_regions_or_no_stack_set_are_not_refused(example_config, wanted):
    assert preflight.region_lock(example_config, deployed(wanted)) is None
    assert preflight.region_lock(example_config, None) is None


def test_deploy_refuses_before_roles_artifacts_or_operations(example_config, bundle):
    """Only the reads of the refusal happen: a write would hit an unstubbed client."""
    aws, stubs, _ = stubbed_aws([("cloudformation", HOME), ("lambda", HOME),
                                 ("lambda", RECOVERY)])
    wanted = desired(example_config, bundle)
    stubs[("cloudformation", HOME)].add_response("describe_stack_set", {"StackSet": {
        "StackSetName": example_config.stack_set_name, "Status": "ACTIVE",
        "TemplateBody": "{}", "Parameters": [
            {"ParameterKey": names.HOME_REGION, "ParameterValue": RECOVERY},
            {"ParameterKey": names.RECOVERY_REGION, "ParameterValue": HOME}]}})
    for region in (HOME, RECOVERY):
        stubs[("lambda", region)].add_response("get_account_settings", {
            "AccountLimit": {"ConcurrentExecutions": 1000}})
    lines = []
    ctx = Context(example_config, bundle, aws, reporter(lines),
                  identity={"account": "123456789012", "partition": "aws"})
    with pytest.raises(RolloutError) as refused:
        deploy.run(ctx, SimpleNamespace())
    assert str(refused.value) == "deploy refused before any change"
    assert "HomeRegion is us-west-2 in the stack set" in refused.value.details[0]
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    assert wanted.stack_set_parameters[names.HOME_REGION] == HOME


# --- after a failover ----------------------------------------------------------------------------
@pytest.mark.parametrize("phase", ["stack set", "foundation", "join", "peer-routes"])
def test_where_the_writer_runs_never_changes_the_plan(example_config, wanted, phase):
    before = observed_after(wanted, phase)
    after_failover = dataclasses.replace(before, writer_region=RECOVERY)
    assert plan.next_step(example_config, wanted, after_failover) == \
        plan.next_step(example_config, wanted, before)


def test_a_deploy_after_a_failover_changes_no_database_resource(example_config, wanted):
    """Converged and failed over: nothing to do. With a new build: the update keeps the
    regions and every database parameter, and runs home region first as always."""
    observed = dataclasses.replace(observed_after(wanted, "peer-routes"), writer_region=RECOVERY)
    step = plan.next_step(example_config, wanted, observed)
    assert isinstance(step, plan.Blocked) and step.name == "global"  # not a regional step
    newer = dataclasses.replace(observed, stack_set=dataclasses.replace(
        observed.stack_set, template=dict(wanted.regional_template, Description="older")))
    step = plan.next_step(example_config, wanted, newer)
    assert (step.name, step.action) == ("template", "update_stack_set")
    assert step.summary.endswith("(template)")  # no parameter changes
    given = {p["ParameterKey"]: p["ParameterValue"] for p in step.arguments["Parameters"]}
    assert (given[names.HOME_REGION], given[names.RECOVERY_REGION]) == (HOME, RECOVERY)
    assert {k: v for k, v in given.items() if k.startswith("Db")} == \
        {k: v for k, v in observed.stack_set.parameters.items() if k.startswith("Db")}
    assert step.arguments["OperationPreferences"]["RegionOrder"] == [HOME, RECOVERY]


# --- Lambda concurrency quota --------------------------------------------------------------------
def test_the_need_counts_every_reservation_of_the_built_template(example_config, wanted):
    reserved = preflight.reservations(example_config, wanted.regional_template, HOME)
    declared = wanted.regional_parameters
    processor = int(declared["ProcessorReservedConcurrency"]["Default"])
    assert reserved["ProcessorFunction"] == processor
    assert sum(reserved.values()) > processor  # the health function reserves too


def with_health_parameter(template, default):
    """The template as the lead's change makes it: HealthReservedConcurrency, 0 = none."""
    template = dict(template, Parameters={**template["Parameters"], "HealthReservedConcurrency": {
        "Type": "Number", "Default": default, "MinValue": 0}}, Resources=dict(
        template["Resources"]))
    health = template["Resources"]["HealthFunction"]
    template["Resources"]["HealthFunction"] = {**health, "Properties": {
        **health["Properties"], "ReservedConcurrentExecutions": {"Fn::If": [
            "HasHealthReservation", {"Ref": "HealthReservedConcurrency"},
            {"Ref": "AWS::NoValue"}]}}}
    return template


def test_effective_values_come_from_overrides_then_parameters_then_defaults(example_config,
                                                                           wanted):
    config = dataclasses.replace(
        example_config, parameters={**example_config.parameters,
                                    "ProcessorReservedConcurrency": "200"},
        region_overrides={RECOVERY: {"ProcessorReservedConcurrency": "20",
                                     "HealthReservedConcurrency": "0"}})
    template = with_health_parameter(wanted.regional_template, "10")
    assert preflight.reservations(config, template, HOME) == {
        "HealthFunction": 10, "ProcessorFunction": 200, "AuthorizerFunction": 20}
    assert preflight.reservations(config, template, RECOVERY) == {
        "ProcessorFunction": 20, "AuthorizerFunction": 20}  # the authorizer's is fixed


def quota_run(example_config, bundle, quotas):
    aws, stubs, _ = stubbed_aws([("lambda", HOME), ("lambda", RECOVERY)])
    for region, quota in quotas.items():
        stubs[("lambda", region)].add_response("get_account_settings", {
            "AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions":
                             quota}}, {})
    found = preflight.refusals(aws, example_config, bundle.regional.document, None)
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    return found


def test_a_quota_below_reservations_plus_100_is_refused_per_region(example_config, bundle):
    need = sum(preflight.reservations(example_config, bundle.regional.document,
                                      RECOVERY).values()) + 100
    found = quota_run(example_config, bundle, {HOME: 1000, RECOVERY: need - 1})
    assert len(found) == 1
    assert found[0].startswith(f"us-west-2 (recovery): the account's Lambda concurrency quota "
                               f"is {need - 1}")
    assert f"keeps 100 unreserved, so it needs at least {need}" in found[0]
    assert "Request a quota increase" in found[0]
    assert "or lower ProcessorReservedConcurrency" in found[0]


def test_a_quota_of_exactly_the_need_passes(example_config, bundle):
    need = sum(preflight.reservations(example_config, bundle.regional.document,
                                      HOME).values()) + 100
    assert quota_run(example_config, bundle, {HOME: need, RECOVERY: 1000}) == []


def test_new_accounts_with_a_quota_of_10_are_refused_in_both_regions(example_config, bundle):
    found = quota_run(example_config, bundle, {HOME: 10, RECOVERY: 10})
    assert [f.split(" ")[0] for f in found] == [HOME, RECOVERY]


def test_a_region_removed_from_the_config_is_reported(example_config):
    listed = [{"Region": r, "Account": "123456789012"} for r in (HOME, RECOVERY, "eu-west-1")]
    from stacksets import state

    regions = state.stray_regions(example_config, listed)
    assert regions == ("eu-west-1",)
    (line,) = preflight.strays(example_config, regions)
    assert line.startswith("payments-example-regional has a stack instance in eu-west-1, which "
                           "the config does not name")
