"""Teardown pieces without moto: the unpeer operation's arguments, the production refusal,
the retained list, the clusters leaving the global cluster (writer last, waited for) and
protection going off through the API (Stubber), and an interrupted teardown resumed after
every one of its steps (tests/stacksets/teardown_model.py: what AWS holds, changed by each
step as AWS would)."""

import dataclasses
from types import SimpleNamespace

import pytest

from templates import names

from stacksets import teardown
from stacksets.commands import destroy
from stacksets.context import desired
from stacksets.operations import RolloutError, raise_unless_done
from stacksets.plan import Instance, Observed, Stack
from stacksets.teardown import next_teardown_step
from toolkit import kernel
from toolkit.kernel import Done, Step, Wait
from tests.stacksets.teardown_model import Account, Interrupt
from tests.stubs import reporter, stubbed_aws

VPC, PCX = "vpc-0123456789abcdef0", "pcx-0123456789abcdef0"
CLUSTER_ARN = "arn:aws:rds:us-west-2:123456789012:cluster:payments-example-us-west-2"
OUTPUTS = {names.OUT_GLOBAL_CLUSTER_ID: "payments-example-global",
           names.OUT_DB_CLUSTER_ID: "payments-example-us-west-2"}


def joined(wanted, **secondary):
    values = {"RecoveryVpcId": VPC, "PeerRegionReady": "true", "PeeringConnectionId": PCX,
              "GlobalWriterEndpoint": "payments-example-global.global-0a.global.rds.amazonaws.com"}
    return Observed(stack_set=Stack("ACTIVE", wanted.regional_template, {}), last_operation="op",
                    instances={"us-east-1": Instance("us-east-1", overrides=values),
                               "us-west-2": Instance("us-west-2", overrides={
                                   **values, "EgressMode": "none", **secondary})})


def test_unpeer_is_one_operation_for_both_regions_keeping_region_overrides(example_config,
                                                                            bundle):
    wanted = desired(example_config, bundle)
    step = teardown.unpeer_step(example_config, joined(wanted))
    assert step.targets == ("us-east-1", "us-west-2")
    assert step.arguments["ParameterOverrides"] == [
        {"ParameterKey": "EgressMode", "UsePreviousValue": True},
        {"ParameterKey": "GlobalWriterEndpoint", "ParameterValue": ""},
        {"ParameterKey": "PeerRegionReady", "ParameterValue": "false"},
        {"ParameterKey": "PeeringConnectionId", "ParameterValue": ""},
        {"ParameterKey": "RecoveryVpcId", "ParameterValue": ""}]


def test_no_unpeer_when_both_regions_have_the_foundation_values(example_config, bundle):
    wanted = desired(example_config, bundle)
    observed = joined(wanted)
    observed = dataclasses.replace(observed, instances={
        r: dataclasses.replace(i, overrides={k: v for k, v in i.overrides.items()
                                             if k == "EgressMode"})
        for r, i in observed.instances.items()})
    assert teardown.unpeer_step(example_config, observed) is None


@pytest.mark.parametrize("production, flags, refused", [
    (False, {}, None),
    (False, {"empty_buckets": True}, None),
    (True, {}, "refusing to destroy without --confirm-production example"),
    (True, {"confirm_production": "prod"}, "refusing to destroy without --confirm-production"),
    (True, {"confirm_production": "example"}, None),
    (True, {"confirm_production": "example", "empty_buckets": True},
     "--empty-buckets is refused for a production environment"),
])
def test_production_needs_the_explicit_flag(example_config, production, flags, refused):
    config = dataclasses.replace(example_config, production=production)
    args = SimpleNamespace(**{"confirm_production": None, "empty_buckets": False, **flags})
    reason = destroy.refusal(config, args)
    assert (reason is None) if refused is None else (refused in reason)


def test_retained_lists_only_resources_the_stack_has():
    template = {"Resources": {"Bucket": {"DeletionPolicy": "Retain"},
                              "Cluster": {"DeletionPolicy": "Snapshot"},
                              "Queue": {"DeletionPolicy": "Delete"}, "Topic": {}}}
    assert destroy.retained(template) == ["Bucket", "Cluster"]
    assert destroy.retained(template, {"Bucket", "Topic"}) == ["Bucket"]


def test_the_secondary_leaves_first_and_the_teardown_waits_until_it_is_no_member(
        example_config, bundle):
    """RemoveFromGlobalCluster is asynchronous: the member list names the cluster for a while
    after the call. The call is not repeated; the writer leaves only after it."""
    account = Account(example_config, desired(example_config, bundle), lag=2)
    result = kernel.run(account, lambda state: next_teardown_step(example_config, state),
                        poll=10, settle_polls=180)
    assert result.outcome == "done", result.message
    leaves = [(s.region, s.arguments) for s, _ in result.ran if s.name == "leave-global-cluster"]
    assert leaves == [
        ("us-west-2", {"GlobalClusterIdentifier": "payments-example-global",
                       "DbClusterIdentifier": CLUSTER_ARN}),
        ("us-east-1", {"GlobalClusterIdentifier": "payments-example-global",
                       "DbClusterIdentifier": CLUSTER_ARN.replace("us-west-2", "us-east-1")})]
    assert account.clock.slept == [10, 10]  # a poll each for its removal to show


def test_a_cluster_that_already_left_is_not_removed_again(example_config, bundle):
    account = Account(example_config, desired(example_config, bundle))
    account.members.discard("us-west-2")
    step = next_teardown_step(example_config, account.observe())
    assert step.action == "delete_stack"  # the global stack first
    account.global_stack = None
    step = next_teardown_step(example_config, account.observe())
    assert (step.action, step.region) == ("remove_from_global_cluster", "us-east-1")


def test_a_removal_that_never_shows_stops_with_advice(example_config, bundle):
    account = Account(example_config, desired(example_config, bundle), lag=10_000)
    account.global_stack = None
    result = kernel.run(account, lambda state: next_teardown_step(example_config, state),
                        poll=10, settle_polls=3)
    assert [s.action for s, _ in result.ran] == ["remove_from_global_cluster"]
    with pytest.raises(RolloutError, match="leave-global-cluster: ran but the world does not "
                                           "show its effect after 3 polls .* re-run destroy"):
        raise_unless_done(result, "teardown", "destroy")


def test_termination_and_replica_protection_go_off_through_the_api(example_config, bundle):
    """moto implements neither termination protection nor a replica the rehearsal can
    protect: the decisions, then the calls through Stubber (issue 10, item 7)."""
    config = dataclasses.replace(example_config, production=True, environment="prod")
    account = Account(config, desired(config, bundle))
    account.global_protected = True
    first = next_teardown_step(config, account.observe())
    assert (first.action, first.arguments) == (
        "update_termination_protection",
        {"StackName": "payments-prod-global", "EnableTerminationProtection": False})
    account.members.clear()
    account.global_stack = None
    account.clusters_protected.clear()
    replica = next_teardown_step(config, account.observe())
    assert (replica.action, replica.region, replica.arguments) == (
        "update_table", "us-west-2",
        {"TableName": "payments-prod-payments", "DeletionProtectionEnabled": False})

    aws, stubs, _ = stubbed_aws([("cloudformation", "us-east-1"), ("dynamodb", "us-west-2")])
    stubs[("cloudformation", "us-east-1")].add_response(
        "update_termination_protection", {}, dict(first.arguments))
    stubs[("dynamodb", "us-west-2")].add_response("update_table", {}, dict(replica.arguments))
    from stacksets.operations import Runner
    lines = []
    world = destroy.TeardownWorld(Runner(aws, config, reporter(lines)), lambda: None)
    assert world.act(first)["result"] == \
        "termination protection off for stack payments-prod-global (us-east-1)"
    assert world.act(replica)["result"] == \
        "deletion protection off for the payments-prod-payments replica in us-west-2"
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    # A Ctrl-C right after a single call names it (the CLI reads this: toolkit/in_flight.py).
    from toolkit.in_flight import CURRENT

    assert (CURRENT.what, CURRENT.service) == (
        "UpdateTable (deletion protection off for the payments-prod-payments replica in "
        "us-west-2)", "DynamoDB")


def test_after_a_failover_the_writer_leaves_the_global_cluster_last(example_config):
    assert teardown.leave_order(example_config, "us-east-1") == ("us-west-2", "us-east-1")
    assert teardown.leave_order(example_config, "us-west-2") == ("us-east-1", "us-west-2")


# --- an interrupted teardown resumes from what AWS holds ---------------------------------------
@pytest.mark.parametrize("writer", ["us-east-1", "us-west-2"])
def test_the_full_teardown_order(example_config, bundle, writer):
    config = dataclasses.replace(example_config, production=True, environment="prod")
    account = Account(config, desired(config, bundle), writer=writer, empty_buckets=True)
    account.global_protected = True
    result = kernel.run(account, lambda state: next_teardown_step(config, state), poll=10)
    assert result.outcome == "done"
    other = "us-east-1" if writer == "us-west-2" else "us-west-2"
    assert [(s.name, s.action, ",".join(s.targets) or "-") for s, _ in result.ran] == [
        ("release", "update_termination_protection", "-"),
        ("global", "delete_stack", "-"),
        ("leave-global-cluster", "remove_from_global_cluster", other),
        ("leave-global-cluster", "remove_from_global_cluster", writer),  # the writer last
        ("release", "modify_db_cluster", other),
        ("release", "modify_db_cluster", writer),
        ("release", "update_table", "us-west-2"),
        ("release", "modify_global_cluster", writer),
        ("unpeer", "update_stack_instances", "us-east-1,us-west-2"),
        ("empty-bucket", "empty_bucket", "us-west-2"),
        ("destroy", "delete_stack_instances", "us-west-2"),  # the recovery region first
        ("empty-bucket", "empty_bucket", "us-east-1"),
        ("destroy", "delete_stack_instances", "us-east-1"),
        ("stack-set", "delete_stack_set", "-"),
    ]
    assert account.empty()


@pytest.mark.parametrize("stop_after", range(14))
def test_an_interrupted_teardown_resumes_without_repeating_a_step(example_config, bundle,
                                                                  stop_after):
    """Ctrl-C right after each step in turn (the call made, before the next observation);
    the re-run ends in the same state and runs no step twice."""
    config = dataclasses.replace(example_config, production=True, environment="prod")
    account = Account(config, desired(config, bundle), empty_buckets=True)
    account.global_protected = True
    account.interrupt_after = stop_after + 1
    with pytest.raises(Interrupt):
        kernel.run(account, lambda state: next_teardown_step(config, state), poll=10)
    done_before = list(account.done)
    account.interrupt_after = None
    result = kernel.run(account, lambda state: next_teardown_step(config, state), poll=10)
    assert result.outcome == "done" and account.empty()
    assert len(done_before) == stop_after + 1
    assert len(account.done) == 14 and len(set(account.done)) == 14  # none repeated
    assert account.done[:len(done_before)] == done_before


def test_a_running_operation_is_waited_for_first(example_config, bundle):
    account = Account(example_config, desired(example_config, bundle))
    account.running = "destroy-0a1b"
    assert isinstance(next_teardown_step(example_config, account.observe()), Wait)
    account.running = None
    assert isinstance(next_teardown_step(example_config, account.observe()), Step)
    assert isinstance(next_teardown_step(example_config, Account(
        example_config, desired(example_config, bundle), nothing=True).observe()), Done)
