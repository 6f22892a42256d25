"""`drift` against botocore's Stubber (moto has no drift detection): the exact call sequence,
per-resource output, and the exit status."""

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from payments_dr import cli
from stacksets.commands import drift
from stacksets.context import Context
from tests.stubs import reporter, stubbed_aws
from toolkit import exit_codes

ACCOUNT = "123456789012"
STACK_SET = "payments-example-regional"
STARTED = datetime(2026, 1, 1, tzinfo=timezone.utc)
STACK = "arn:aws:cloudformation:{}:123456789012:stack/StackSet-payments-example-regional-x/{}"


def instance(region, drift_status):
    return {"StackSetId": "s:1", "Region": region, "Account": ACCOUNT, "Status": "CURRENT",
            "StackId": STACK.format(region, "id"), "DriftStatus": drift_status}


def resource_drift(logical, status, differences=()):
    return {"StackId": STACK.format("us-west-2", "id"), "LogicalResourceId": logical,
            "PhysicalResourceId": f"{logical.lower()}-1", "ResourceType": "AWS::EC2::RouteTable",
            "StackResourceDriftStatus": status, "Timestamp": STARTED,
            "PropertyDifferences": [{"PropertyPath": path, "ExpectedValue": expected,
                                     "ActualValue": actual, "DifferenceType": "NOT_EQUAL"}
                                    for path, expected, actual in differences]}


@pytest.fixture
def drift_run(example_config, bundle):
    def start(secondary_drift):
        aws, stubs, clock = stubbed_aws([("cloudformation", "us-east-1"),
                                         ("cloudformation", "us-west-2")])
        admin, west = stubs[("cloudformation", "us-east-1")], stubs[("cloudformation",
                                                                       "us-west-2")]
        admin.add_response("describe_stack_set", {"StackSet": {
            "StackSetName": STACK_SET, "Status": "ACTIVE", "TemplateBody": "{}",
            "StackSetARN": "arn:aws:cloudformation:us-east-1:123456789012:stackset/x:1"}},
            {"StackSetName": STACK_SET})
        admin.add_response("list_stack_set_operations", {"Summaries": [
            {"OperationId": "peer-routes-1", "Status": "SUCCEEDED",
             "CreationTimestamp": STARTED}]}, {"StackSetName": STACK_SET})
        expected = drift.detect_args(example_config, "peer-routes-1")
        admin.add_response("detect_stack_set_drift", {"OperationId": expected["OperationId"]},
                           expected)
        for status in ("RUNNING", "SUCCEEDED"):
            admin.add_response("describe_stack_set_operation", {"StackSetOperation": {
                "OperationId": expected["OperationId"], "Status": status, "Action":
                "DETECT_DRIFT", "CreationTimestamp": STARTED}})
            admin.add_response("list_stack_set_operation_results", {"Summaries": [
                {"Account": ACCOUNT, "Region": r, "Status": status}
                for r in ("us-east-1", "us-west-2")]})
        admin.add_response("list_stack_instances", {"Summaries": [
            instance("us-east-1", "IN_SYNC"), instance("us-west-2", secondary_drift)]})
        for region, status in (("us-east-1", "IN_SYNC"), ("us-west-2", secondary_drift)):
            admin.add_response("describe_stack_instance",
                               {"StackInstance": instance(region, status)},
                               {"StackSetName": STACK_SET, "StackInstanceAccount": ACCOUNT,
                                "StackInstanceRegion": region})
        if secondary_drift == "DRIFTED":
            filters = {"StackName": STACK.format("us-west-2", "id"),
                       "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
            west.add_response("describe_stack_resource_drifts", {
                "StackResourceDrifts": [resource_drift(
                    "PrivateRouteTableA", "MODIFIED",
                    [("/Tags/0/Value", "payments", "hand-edited")])],
                "NextToken": "page-2"}, filters)
            west.add_response("describe_stack_resource_drifts", {
                "StackResourceDrifts": [resource_drift("PeerRouteFromRecoveryA", "DELETED")]},
                {**filters, "NextToken": "page-2"})
        lines = []
        ctx = Context(example_config, bundle, aws, reporter(lines),
                      runner_options={"first_delay": 2})
        status = drift.run(ctx, SimpleNamespace())
        for stub in stubs.values():
            stub.assert_no_pending_responses()
        return status, ctx.reporter.document, "".join(lines), clock
    return start


def test_drifted_resources_are_listed_per_region_and_resource_with_exit_3(drift_run):
    status, document, text, clock = drift_run("DRIFTED")
    assert status == exit_codes.DRIFTED == 3
    assert document["result"] == "drifted"
    assert document["drift"]["us-east-1"] == {"drift": "IN_SYNC", "resources": []}
    assert document["drift"]["us-west-2"]["resources"] == [
        {"logical_id": "PrivateRouteTableA", "type": "AWS::EC2::RouteTable",
         "physical_id": "privateroutetablea-1", "status": "MODIFIED",
         "differences": ["/Tags/0/Value (NOT_EQUAL): expected payments actual hand-edited"]},
        {"logical_id": "PeerRouteFromRecoveryA", "type": "AWS::EC2::RouteTable",
         "physical_id": "peerroutefromrecoverya-1", "status": "DELETED", "differences": []}]
    assert "us-west-2 (recovery): DRIFTED" in text
    assert "PrivateRouteTableA (AWS::EC2::RouteTable privateroutetablea-1) MODIFIED" in text
    assert "/Tags/0/Value (NOT_EQUAL): expected payments actual hand-edited" in text
    assert clock.slept == [2 * 1.2]  # one poll while RUNNING


def test_in_sync_exits_0_without_reading_resource_drifts(drift_run):
    status, document, text, _ = drift_run("IN_SYNC")
    assert status == 0 and document["result"] == "in sync"
    assert "us-west-2 (recovery): IN_SYNC" in text


def test_exit_statuses_are_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["drift", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 done" in text and "2 invalid input" in text
    assert "3 drift: drift detection found drifted resources" in text
