"""The runbook's reconcile step when a check stops early, and the synchronous invocation that
waits for the reconcile function (found by the issue-17 review: F8 and F2)."""

from __future__ import annotations

import functools

import pytest
from botocore.exceptions import ReadTimeoutError

from runbook import decide as runbook
from runbook.commands import state_lines
from runbook.state import DrState, Member, Projections
from templates.reconcile import RECONCILE
from templates.service import MIGRATE
from toolkit.aws import BOTO_CONFIG, INVOKE_CONFIG, Aws
from toolkit.kernel import Done, Step

from tests.runbook.test_reconcile_and_durability import (
    invocations, lost_region_cloud, state_after_move,
)
from tests.runbook.test_runbook import HOME, RECOVERY, run


def state_after_failover(lost: str, **changes) -> DrState:
    """The writer moved out of `lost` and reports writable in the other region."""
    to = RECOVERY if lost == HOME else HOME
    return state_after_move(members=(Member(to, f"arn-{to}", True),
                                     Member(lost, f"arn-{lost}", False)),
                            healthy={lost: False, to: True}, writable={to: True},
                            health_checks={lost: False, to: True}, **changes)


def test_an_incomplete_reconcile_check_does_not_finish_the_failover():
    """review17 F8: a check that stopped early (complete: false, the function's time ran out)
    with nothing missing yet used to end dr failover as 'receipts and status items
    complete'."""
    seen = Projections(missing_receipts=0, missing_status_items=0, rows_checked=500,
                       complete=False)
    outcome = runbook.failover(state_after_move(projections={RECOVERY: seen}), to=RECOVERY)
    assert not isinstance(outcome, Done), outcome


@pytest.mark.parametrize("lost", [HOME, RECOVERY])
@pytest.mark.parametrize("complete", [False, True])
def test_a_check_that_stopped_early_repairs_and_checks_the_rest(lost, complete):
    to = RECOVERY if lost == HOME else HOME
    seen = Projections(0, 0, 500, complete=complete)
    outcome = runbook.failover(state_after_failover(lost, projections={to: seen}), to=to)
    if complete:
        assert isinstance(outcome, Done)
        assert f"receipts and status items complete in {to}" in outcome.summary
        return
    assert isinstance(outcome, Step) and outcome.action == "reconcile_projections", outcome
    assert outcome.region == to
    assert outcome.arguments == runbook.reconcile_event(repair=True, peer_region_lost=True)
    assert "stopped after 500 payment(s) (its time ran out)" in outcome.summary
    assert "still stopped after 500" in outcome.failure


@pytest.mark.parametrize("lost", [HOME, RECOVERY])
def test_failover_repairs_after_a_check_that_stopped_early(example_config, lost):
    to = RECOVERY if lost == HOME else HOME
    cloud = lost_region_cloud(lost)
    cloud.stops_early[to] = 1  # the first check runs out of time, nothing missing in its rows
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.failover, to=to), failed=lost)
    assert result.outcome == "done", result.message
    assert f"receipts and status items complete in {to}" in result.message
    assert [e.step for e in timeline.entries][-2:] == ["reconcile", "done"]
    calls = invocations(cloud)
    assert {region for region, _ in calls} == {to}
    assert [event["repair"] for _, event in calls] == [False, True, False]


@pytest.mark.parametrize("lost", [HOME, RECOVERY])
def test_a_check_that_keeps_stopping_early_says_what_remains(example_config, lost):
    """After one repair the check still runs out of time: the runbook stops at once naming
    what is unchecked (the writer is in place), instead of waiting or repeating the repair."""
    to = RECOVERY if lost == HOME else HOME
    cloud = lost_region_cloud(lost)
    cloud.stops_early[to] = 99
    result, _, _ = run(cloud, example_config, functools.partial(runbook.failover, to=to),
                       failed=lost)
    assert result.outcome == "failed", result.message
    assert f"check in {to} still stopped after 25 payment(s)" in result.message
    assert "unchecked" in result.message and cloud.writer == to
    assert [event["repair"] for _, event in invocations(cloud)] == [False, True, False]
    assert any(f"check in {to} stopped after 25 payment(s)" in problem
               for problem in runbook.problems(result.last))
    assert "the check stopped early" in "\n".join(state_lines(result.last))


def test_the_runbook_waits_for_the_reconcile_function_as_long_as_it_may_run():
    """review17 F2: the reconcile function (timeout 300 s) used to be invoked with boto3's
    default 60 s read timeout; the migrate function (deploy, verify) the same."""
    aws = Aws()
    client = aws.client("lambda", "us-east-1")
    assert client.meta.config.read_timeout > RECONCILE.timeout
    assert client.meta.config.read_timeout > MIGRATE.timeout
    assert aws.client("sts", "us-east-1").meta.config.read_timeout == 60  # others as before


@pytest.mark.parametrize("config, attempts", [(INVOKE_CONFIG, 1), (BOTO_CONFIG, 4)],
                         ids=["lambda client", "any other client"])
def test_a_timed_out_invocation_is_never_sent_again(monkeypatch, config, attempts):
    """botocore retries a ReadTimeoutError: a function still running would be started again
    (the second case shows the count can come out otherwise)."""
    monkeypatch.setattr("toolkit.aws.SERVICE_CONFIGS", {"lambda": config})
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda seconds: None)  # retry backoff
    aws = Aws()
    client = aws.client("lambda", RECOVERY)
    sent: list[str] = []

    def time_out(request, **_):
        sent.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register("before-send.lambda.Invoke", time_out)
    with pytest.raises(ReadTimeoutError):
        aws.call(client.invoke, FunctionName="payments-example-reconcile",
                 InvocationType="RequestResponse", Payload=b"{}")
    assert len(sent) == attempts
