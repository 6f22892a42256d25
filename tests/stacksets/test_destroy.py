"""Teardown pieces without moto: the unpeer operation's arguments, the production refusal,
the retained list, the recovery region's Aurora cluster leaving the global cluster and
deletion protection going off (Stubber)."""

import dataclasses
from datetime import datetime
from types import SimpleNamespace

import pytest

from templates import names

from stacksets import aurora
from stacksets.commands import destroy
from stacksets.context import desired
from stacksets.operations import RolloutError
from stacksets.plan import Instance, Observed, Stack
from tests.stubs import stubbed_aws

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
    step = destroy.unpeer_step(example_config, joined(wanted))
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
    assert destroy.unpeer_step(example_config, observed) is None


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


def rds_stub():
    aws, stubs, clock = stubbed_aws([("rds", "us-west-2")])
    return aws, stubs[("rds", "us-west-2")], clock


def members(*arns):
    return {"GlobalClusters": [{"GlobalClusterIdentifier": "payments-example-global",
                                "GlobalClusterMembers": [{"DBClusterArn": a} for a in arns]}]}


def test_the_secondary_leaves_the_global_cluster_and_the_tool_waits_for_it():
    aws, rds, clock = rds_stub()
    rds.add_response("describe_db_clusters", {"DBClusters": [{"DBClusterArn": CLUSTER_ARN}]},
                     {"DBClusterIdentifier": "payments-example-us-west-2"})
    rds.add_response("describe_global_clusters", members("arn:primary", CLUSTER_ARN))
    rds.add_response("remove_from_global_cluster", {}, {
        "GlobalClusterIdentifier": "payments-example-global", "DbClusterIdentifier": CLUSTER_ARN})
    rds.add_response("describe_global_clusters", members("arn:primary", CLUSTER_ARN))
    rds.add_response("describe_global_clusters", members("arn:primary"))
    result = aurora.leave_global_cluster(aws, "us-west-2", OUTPUTS, first_delay=5)
    assert result == "payments-example-us-west-2 removed from payments-example-global"
    assert clock.slept == [5]
    rds.assert_no_pending_responses()


def test_a_cluster_that_already_left_is_not_removed_again():
    aws, rds, _ = rds_stub()
    rds.add_response("describe_db_clusters", {"DBClusters": [{"DBClusterArn": CLUSTER_ARN}]})
    rds.add_response("describe_global_clusters", members("arn:primary"))
    assert "is not a member" in aurora.leave_global_cluster(aws, "us-west-2", OUTPUTS)
    rds.assert_no_pending_responses()


def test_a_removal_that_never_finishes_stops_with_advice():
    aws, rds, _ = rds_stub()
    rds.add_response("describe_db_clusters", {"DBClusters": [{"DBClusterArn": CLUSTER_ARN}]})
    rds.add_response("describe_global_clusters", members(CLUSTER_ARN))
    rds.add_response("remove_from_global_cluster", {})
    for _ in range(3):
        rds.add_response("describe_global_clusters", members(CLUSTER_ARN))
    with pytest.raises(RolloutError, match="still a member .* re-run destroy"):
        aurora.leave_global_cluster(aws, "us-west-2", OUTPUTS, timeout=10, first_delay=5)


def test_termination_and_replica_protection_go_off_through_the_api():
    """moto implements neither termination protection nor a replica the rehearsal can
    protect: Stubber (issue 10, item 7)."""
    from stacksets import protection

    aws, stubs, _ = stubbed_aws([("cloudformation", "us-east-1"), ("dynamodb", "us-west-2")])
    cfn, dynamodb = stubs[("cloudformation", "us-east-1")], stubs[("dynamodb", "us-west-2")]
    cfn.add_response("describe_stacks", {"Stacks": [{
        "StackName": "payments-prod-global", "CreationTime": datetime(2026, 1, 1),
        "StackStatus": "CREATE_COMPLETE", "EnableTerminationProtection": True}]})
    cfn.add_response("update_termination_protection", {}, {
        "StackName": "payments-prod-global", "EnableTerminationProtection": False})
    dynamodb.add_response("describe_table", {"Table": {"TableName": "payments-prod-payments",
                                                       "DeletionProtectionEnabled": True}})
    dynamodb.add_response("update_table", {}, {"TableName": "payments-prod-payments",
                                               "DeletionProtectionEnabled": False})
    assert protection.stack(aws, "us-east-1", "payments-prod-global") == \
        "termination protection off for stack payments-prod-global (us-east-1)"
    assert protection.table_replica(aws, "us-west-2", "payments-prod-payments") == \
        "deletion protection off for the payments-prod-payments replica in us-west-2"
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def test_after_a_failover_the_writer_leaves_the_global_cluster_last(example_config):
    assert destroy.leave_order(example_config, "us-east-1") == ("us-west-2", "us-east-1")
    assert destroy.leave_order(example_config, "us-west-2") == ("us-east-1", "us-west-2")
