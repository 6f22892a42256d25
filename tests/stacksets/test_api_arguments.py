"""Arguments that real StackSets require and moto ignores: CallAs on every call that takes it
(service-managed), pagination of list calls, StaleRequestException (Stubber and botocore's
service model; issue 10, item 6)."""

import dataclasses
from types import SimpleNamespace

import boto3
import pytest

from stacksets import state
from stacksets import teardown
from stacksets.commands import deploy, drift
from toolkit.config import SERVICE_MANAGED
from stacksets.context import Context, desired
from stacksets.operations import RolloutError, Runner, StaleState
from stacksets.plan import instances_args, next_step, update_stack_set_args
from toolkit.kernel import Step
from tests.stubs import FakeClock, reporter, stubbed_aws
from toolkit.aws import Aws
from tests.stacksets.test_plan import observed_after

MODEL = boto3.client("cloudformation", region_name="us-east-1").meta.service_model


@pytest.fixture
def delegated(example_config):
    return dataclasses.replace(example_config, target=dataclasses.replace(
        example_config.target, permission_model=SERVICE_MANAGED, call_as="DELEGATED_ADMIN",
        organizational_units=("ou-abcd-12345678",)))


def takes_call_as(operation):
    return "CallAs" in MODEL.operation_model(operation).input_shape.members


def test_every_planned_stack_set_call_passes_call_as(delegated, bundle):
    wanted = desired(delegated, bundle)
    observed = observed_after(wanted, "peer-routes")
    calls = {
        "CreateStackSet": next_step(delegated, wanted, SimpleNamespace(
            stack_set=None, instances={}, last_operation="", global_stack=None)).arguments,
        "UpdateStackSet": update_stack_set_args(delegated, wanted, delegated.regions, "op"),
        "UpdateStackInstances": instances_args(delegated, "join", delegated.regions, {}, "op"),
        "CreateStackInstances": instances_args(delegated, "foundation", delegated.regions, {},
                                               "op"),
        "DeleteStackInstances": teardown.delete_instance_step(delegated, "us-west-2",
                                                             "s:1").arguments,
        "DetectStackSetDrift": drift.detect_args(delegated, "op"),
    }
    unpeer = teardown.unpeer_step(delegated, dataclasses.replace(
        observed, stack_set=dataclasses.replace(observed.stack_set)))
    calls["UpdateStackInstances (unpeer)"] = unpeer.arguments
    for operation, arguments in calls.items():
        assert takes_call_as(operation.split(" ")[0]), operation
        assert arguments["CallAs"] == "DELEGATED_ADMIN", operation


def test_observing_passes_call_as_and_reads_every_page(delegated):
    aws, stubs, _ = stubbed_aws([("cloudformation", "us-east-1"), ("rds", "us-east-1")])
    cfn = stubs[("cloudformation", "us-east-1")]
    name = delegated.stack_set_name
    cfn.add_response("describe_stack_set", {"StackSet": {"StackSetName": name,
                                                         "Status": "ACTIVE"}},
                     {"StackSetName": name, "CallAs": "DELEGATED_ADMIN"})
    cfn.add_response("list_stack_set_operations", {"Summaries": [], "NextToken": "t"},
                     {"StackSetName": name, "CallAs": "DELEGATED_ADMIN"})
    cfn.add_response("list_stack_set_operations", {"Summaries": [
        {"OperationId": "op-1", "Status": "SUCCEEDED"}]},
        {"StackSetName": name, "CallAs": "DELEGATED_ADMIN", "NextToken": "t"})
    summary = {"StackSetId": "s:1", "Account": "123456789012", "Status": "CURRENT"}
    cfn.add_response("list_stack_instances", {"Summaries": [
        {**summary, "Region": "us-east-1"}], "NextToken": "n"},
        {"StackSetName": name, "CallAs": "DELEGATED_ADMIN"})
    cfn.add_response("list_stack_instances", {"Summaries": [
        {**summary, "Region": "us-west-2"}]},
        {"StackSetName": name, "CallAs": "DELEGATED_ADMIN", "NextToken": "n"})
    for region in ("us-east-1", "us-west-2"):
        cfn.add_response("describe_stack_instance", {"StackInstance": {
            **summary, "Region": region}}, {
            "StackSetName": name, "StackInstanceAccount": "123456789012",
            "StackInstanceRegion": region, "CallAs": "DELEGATED_ADMIN"})
    assert state.stack_set(aws, delegated).status == "ACTIVE"
    assert [o["OperationId"] for o in state.operations(aws, delegated)] == ["op-1"]
    found = state.instances(aws, delegated, with_outputs=False)
    assert sorted(found) == ["us-east-1", "us-west-2"]  # the second page was read
    cfn.assert_no_pending_responses()


def test_a_stale_request_is_planned_again_not_failed(example_config, bundle):
    aws, stubs, _ = stubbed_aws([("cloudformation", "us-east-1")])
    stubs[("cloudformation", "us-east-1")].add_client_error(
        "update_stack_instances", service_error_code="StaleRequestException",
        service_message="Another operation has been performed on this stack set")
    runner = Runner(aws, example_config, reporter([]))
    step = Step("join", "update_stack_instances", "us-east-1", {
        "StackSetName": example_config.stack_set_name, "Accounts": ["123456789012"],
        "Regions": ["us-east-1"], "OperationId": "join-1"}, "join", ("us-east-1",))
    with pytest.raises(StaleState, match="Another operation"):
        runner.start(step)


def test_deploy_observes_again_after_a_stale_request(example_config, bundle, monkeypatch):
    wanted = desired(example_config, bundle)
    states = [observed_after(wanted, "join"), observed_after(wanted, "join"),
              observed_after(wanted, "peer-routes")]
    monkeypatch.setattr(state, "observe", lambda aws, config: states.pop(0))
    ran = []

    def run(self, step):
        ran.append(step.name)
        if len(ran) == 1:
            raise StaleState("changed")
        return {"phase": step.name, "action": step.action, "regions": list(step.targets)}

    monkeypatch.setattr(Runner, "run", run)
    lines = []
    ctx = Context(example_config, bundle, Aws(clock=FakeClock()), reporter(lines))
    with pytest.raises(RolloutError, match="global phase blocked"):  # no API outputs here
        deploy.rollout(ctx, wanted)
    assert ran == ["peer-routes", "peer-routes"]
    assert any("the stack set changed since it was read" in line for line in lines)
