"""Waiting and failure paths against botocore's Stubber: no AWS, no moto."""

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.stub import Stubber

from toolkit.aws import Aws, call
from stacksets.operations import RolloutError, Runner
from toolkit.kernel import Step
from toolkit.report import Reporter
from tests.stubs import FakeClock, Lines as _Lines

STACK_SET = "payments-example-regional"
STARTED = datetime(2026, 1, 1, tzinfo=timezone.utc)
STACK_ID = "arn:aws:cloudformation:us-west-2:123456789012:stack/StackSet-x/abc"


@pytest.fixture
def stubbed(example_config):
    """A Runner whose clients are stubbed; every unexpected call fails the test."""
    clock = FakeClock()
    aws = Aws(clock=clock)
    stubs = {}
    for region in ("us-east-1", "us-west-2"):
        client = boto3.client("cloudformation", region_name=region)
        aws._clients[("cloudformation", region)] = client
        stubs[region] = Stubber(client)
        stubs[region].activate()
    lines = []
    reporter = Reporter("text", out=_Lines(lines), err=_Lines(lines), tty=False)
    runner = Runner(aws, example_config, reporter, first_delay=2, max_delay=30)
    yield runner, stubs, clock, lines
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def operation(status, reason=None):
    body = {"OperationId": "join-1", "Status": status, "CreationTimestamp": STARTED,
            "StackSetId": "s:1", "Action": "UPDATE"}
    if reason:
        body["StatusReason"] = reason
    return {"StackSetOperation": body}


def results(*rows):
    return {"Summaries": [{"Account": "123456789012", "Region": r, "Status": s,
                           **({"StatusReason": why} if why else {})} for r, s, why in rows]}


def step():
    return Step("join", "update_stack_instances", "us-east-1",
                {"StackSetName": STACK_SET, "Accounts": ["123456789012"],
                 "Regions": ["us-east-1", "us-west-2"], "ParameterOverrides": [],
                 "OperationId": "join-1"}, "join", ("us-east-1", "us-west-2"))


def test_wait_polls_with_backoff_until_success(stubbed):
    runner, stubs, clock, lines = stubbed
    admin = stubs["us-east-1"]
    for status in ("RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"):
        admin.add_response("describe_stack_set_operation", operation(status))
        admin.add_response("list_stack_set_operation_results",
                           results(("us-east-1", status if status != "RUNNING" else "RUNNING",
                                    None)))
    assert runner.wait("join-1", "join") == "SUCCEEDED"
    assert clock.slept == [2 * 1.2, 3 * 1.2, 4.5 * 1.2]  # x1.5 per poll, jitter at its max
    assert any("join: RUNNING  us-east-1=RUNNING" in line for line in lines)


def test_failed_instance_reports_reason_and_first_failed_event(stubbed):
    runner, stubs, clock, lines = stubbed
    admin, west = stubs["us-east-1"], stubs["us-west-2"]
    admin.add_response("describe_stack_set_operation", operation("FAILED"))
    admin.add_response("list_stack_set_operation_results", results(
        ("us-east-1", "SUCCEEDED", None),
        ("us-west-2", "FAILED", "ResourceLogicalId:SecondaryCluster, ResourceStatus:"
                                "CREATE_FAILED")))
    admin.add_response("describe_stack_instance", {"StackInstance": {
        "StackSetId": "s:1", "Region": "us-west-2", "Account": "123456789012",
        "StackId": STACK_ID}})

    def event(minutes, logical, status, reason):
        return {"StackId": STACK_ID, "EventId": f"e{minutes}", "StackName": "StackSet-x",
                "LogicalResourceId": logical, "PhysicalResourceId": "p",
                "ResourceType": "AWS::RDS::DBCluster", "ResourceStatus": status,
                "ResourceStatusReason": reason,
                "Timestamp": STARTED + timedelta(minutes=minutes)}
    west.add_response("describe_stack_events", {"StackEvents": [  # newest first
        event(9, "Table", "CREATE_FAILED", "Resource creation cancelled"),
        event(8, "SecondaryCluster", "CREATE_FAILED",
              "The engine version is not supported for global clusters"),
        event(7, "SecondaryCluster", "CREATE_IN_PROGRESS", ""),
        event(-60, "Old", "UPDATE_FAILED", "an older failure, before this operation")]})
    with pytest.raises(RolloutError) as caught:
        runner.wait("join-1", "join")
    assert "operation join-1 FAILED" in str(caught.value)
    assert caught.value.details == [
        "us-west-2 (123456789012): FAILED: ResourceLogicalId:SecondaryCluster, "
        "ResourceStatus:CREATE_FAILED",
        "us-west-2 first failed resource: SecondaryCluster (AWS::RDS::DBCluster) CREATE_FAILED: "
        "The engine version is not supported for global clusters"]


def test_an_operation_that_succeeded_with_a_failed_instance_is_a_failure(stubbed):
    """Issue 10, item 3: a tolerated failure ends SUCCEEDED; the results still show it."""
    runner, stubs, clock, lines = stubbed
    admin, west = stubs["us-east-1"], stubs["us-west-2"]
    admin.add_response("describe_stack_set_operation", operation("SUCCEEDED"))
    admin.add_response("list_stack_set_operation_results", results(
        ("us-east-1", "SUCCEEDED", None), ("us-west-2", "FAILED", "Quota exceeded")))
    admin.add_response("describe_stack_instance", {"StackInstance": {
        "StackSetId": "s:1", "Region": "us-west-2", "Account": "123456789012",
        "StackId": STACK_ID}})
    west.add_response("describe_stack_events", {"StackEvents": []})
    with pytest.raises(RolloutError) as caught:
        runner.wait("join-1", "join")
    assert "operation join-1 SUCCEEDED with a failed stack instance" in str(caught.value)
    assert caught.value.details == ["us-west-2 (123456789012): FAILED: Quota exceeded"]


def test_a_ci_log_gets_a_line_at_least_every_30_seconds_with_the_latest_events(stubbed):
    """Issue 10, item 8: nothing changes for minutes (an Aurora cluster being created);
    without a TTY a heartbeat names the newest stack event per region."""
    runner, stubs, clock, lines = stubbed
    admin = stubs["us-east-1"]
    polls = 12
    for number in range(polls):
        status = "SUCCEEDED" if number == polls - 1 else "RUNNING"
        admin.add_response("describe_stack_set_operation", operation(status))
        admin.add_response("list_stack_set_operation_results",
                           results(("us-west-2", status, None)))
    asked = []

    def latest_events(found):
        asked.append([r["Region"] for r in found])
        return ["us-west-2 DbCluster CREATE_IN_PROGRESS"]

    runner.latest_events = latest_events
    printed = []
    real_info, real_progress = runner.reporter.info, runner.reporter.progress
    runner.reporter.info = lambda text: (printed.append((clock.now(), text)), real_info(text))

    def progress(*args):
        shown = real_progress(*args)
        if shown:
            printed.append((clock.now(), "progress"))
        return shown

    runner.reporter.progress = progress
    assert runner.wait("join-1", "join") == "SUCCEEDED"
    assert sum(clock.slept) > 180  # minutes of waiting...
    times = [0.0] + [t for t, _ in printed]
    assert max(b - a for a, b in zip(times, times[1:])) <= 30  # ...never 30 s without a line
    beats = [text for _, text in printed if "still RUNNING" in text]
    assert len(beats) >= 6 and asked[0] == ["us-west-2"]
    assert beats[0].endswith("; latest: us-west-2 DbCluster CREATE_IN_PROGRESS")


def test_latest_events_reads_each_instance_stack_once(stubbed):
    runner, stubs, clock, lines = stubbed
    admin, west = stubs["us-east-1"], stubs["us-west-2"]
    admin.add_response("describe_stack_instance", {"StackInstance": {
        "StackSetId": "s:1", "Region": "us-west-2", "Account": "123456789012",
        "StackId": STACK_ID}})
    for status in ("CREATE_IN_PROGRESS", "CREATE_COMPLETE"):
        west.add_response("describe_stack_events", {"StackEvents": [{
            "StackId": STACK_ID, "EventId": "e", "StackName": "StackSet-x",
            "LogicalResourceId": "DbCluster", "ResourceStatus": status, "Timestamp": STARTED}]},
            {"StackName": STACK_ID})
    found = [{"Region": "us-west-2", "Account": "123456789012"}]
    assert runner.latest_events(found) == ["us-west-2 DbCluster CREATE_IN_PROGRESS"]
    assert runner.latest_events(found) == ["us-west-2 DbCluster CREATE_COMPLETE"]


def test_throttling_is_retried_with_jitter(stubbed):
    runner, stubs, clock, lines = stubbed
    admin = stubs["us-east-1"]
    for _ in range(3):
        admin.add_client_error("list_stack_set_operations", service_error_code="Throttling",
                               http_status_code=400)
    admin.add_response("list_stack_set_operations", {"Summaries": []})
    assert runner.running_operation() is None
    assert clock.slept == [1.0, 2.0, 4.0]


def test_throttling_gives_up_after_the_last_attempt():
    clock = FakeClock()
    client = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error("list_stack_sets", service_error_code="ThrottlingException")
        with pytest.raises(Exception, match="ThrottlingException"):
            call(client.list_stack_sets, clock=clock, attempts=3)
    assert len(clock.slept) == 2


def test_operation_in_progress_waits_for_it_then_starts(stubbed):
    runner, stubs, clock, lines = stubbed
    admin = stubs["us-east-1"]
    admin.add_client_error("update_stack_instances",
                           service_error_code="OperationInProgressException")
    admin.add_response("list_stack_set_operations", {"Summaries": [
        {"OperationId": "someone-else", "Status": "RUNNING", "Action": "UPDATE"}]})
    admin.add_response("describe_stack_set_operation", operation("SUCCEEDED"))
    admin.add_response("list_stack_set_operation_results", results())
    admin.add_response("update_stack_instances", {"OperationId": "join-1"},
                       expected_params=dict(step().arguments))
    assert runner.start(step()) == "join-1"
    assert any("another operation is running" in line for line in lines)


def test_a_retried_call_that_already_started_waits_for_its_own_operation(stubbed):
    runner, stubs, clock, lines = stubbed
    stubs["us-east-1"].add_client_error("update_stack_instances",
                                        service_error_code="OperationIdAlreadyExistsException")
    assert runner.start(step()) == "join-1"


def test_no_updates_is_success_for_the_global_stack(stubbed):
    runner, stubs, clock, lines = stubbed
    stubs["us-east-1"].add_client_error(
        "update_stack", service_error_code="ValidationError",
        service_message="No updates are to be performed.")
    result = runner.run(Step("global", "update_stack", "us-east-1",
                             {"StackName": "payments-example-global", "TemplateBody": "{}"},
                             "global"))
    assert result["result"] == "no changes"


def test_a_timeout_says_how_to_resume(stubbed):
    runner, stubs, clock, lines = stubbed
    runner.timeout = 3
    for _ in range(3):
        stubs["us-east-1"].add_response("describe_stack_set_operation", operation("RUNNING"))
        stubs["us-east-1"].add_response("list_stack_set_operation_results", results())
    with pytest.raises(RolloutError, match="Re-run deploy to resume"):
        runner.wait("join-1", "join")


def test_waiting_for_the_global_stack_also_beats_every_30_seconds(stubbed):
    """The global stack (a plain stack, not a StackSet operation) can take minutes too (health
    checks, the certificate of a new zone): a CI log still gets a line every 30 s."""
    runner, stubs, clock, lines = stubbed
    east = stubs["us-east-1"]
    polls = 10
    for number in range(polls):
        status = "CREATE_COMPLETE" if number == polls - 1 else "CREATE_IN_PROGRESS"
        east.add_response("describe_stacks", {"Stacks": [{
            "StackName": "payments-example-global", "StackId": "arn:stack/g/1",
            "StackStatus": status, "CreationTime": STARTED}]})
        if status != "CREATE_COMPLETE":
            pass
    runner.latest_stack_event = lambda region, stack: f"{region} PrimaryHealthCheck " \
                                                      "CREATE_IN_PROGRESS"
    assert runner.wait_stack("us-east-1", "payments-example-global", "global",
                             STARTED) == "CREATE_COMPLETE"
    beats = [line for line in lines if "still CREATE_IN_PROGRESS" in line]
    assert sum(clock.slept) > 90 and beats
    assert beats[0].endswith("latest: us-east-1 PrimaryHealthCheck CREATE_IN_PROGRESS")
