"""The DNS step's outcome: a global stack update that rolls back stops the runbook at once
with the stack's status and its first failed resource, without a second UpdateStack."""

from __future__ import annotations

import dataclasses
import datetime
import functools

from runbook import decide as runbook
from runbook.state import DrState, Member
from tests.runbook.test_runbook import RECOVERY, cloud, run, wanted  # noqa: F401 (fixtures)
from toolkit import kernel

HOME = "us-east-1"


class _RollsBack:
    """The writer is in RECOVERY already; the global stack update that moves DNS fails and
    rolls back (UPDATE_ROLLBACK_COMPLETE), leaving the preference at HOME."""

    def __init__(self):
        self.clock, self.acted = 0.0, []
        self.state = DrState(
            home=HOME, recovery=RECOVERY, global_cluster="g",
            members=(Member(HOME, "a", False, "connected"), Member(RECOVERY, "b", True)),
            healthy={HOME: True, RECOVERY: True}, writable={HOME: True, RECOVERY: True},
            dns_preferred=HOME, dns_updates={RECOVERY: {"StackName": "payments-example-global"}},
            global_stack_status="UPDATE_COMPLETE", global_stack_pending="")

    def observe(self):
        return self.state

    def act(self, step):
        self.acted.append(step)
        self.state = dataclasses.replace(self.state,
                                         global_stack_status="UPDATE_ROLLBACK_COMPLETE")

    def sleep(self, seconds):
        self.clock += seconds

    def now(self):
        return self.clock


def test_a_dns_update_that_rolls_back_is_reported_as_such():
    world = _RollsBack()
    result = kernel.run(world, functools.partial(runbook.switchover, to=RECOVERY), poll=10)
    assert len(world.acted) == 1
    assert "ROLLBACK" in result.message, result.message


def test_the_adapter_names_the_first_failed_resource_of_a_rollback(cloud, example_config):
    """Against the fake AWS: UpdateStack is accepted, the stack rolls back, its events name the
    resource that failed; the runbook stops once, with both, and does not update again."""
    cloud.writer = RECOVERY
    stamp = datetime.datetime(2026, 1, 3, tzinfo=datetime.timezone.utc)

    def rolls_back(region, **arguments):
        cloud.global_status = "UPDATE_ROLLBACK_COMPLETE"
        cloud.global_events = [
            {"LogicalResourceId": "ApiFailoverRecordPrimary", "StackName": "payments-example-global",
             "ResourceType": "AWS::Route53::RecordSet", "ResourceStatus": "UPDATE_FAILED",
             "ResourceStatusReason": "Invalid request: no such alias target",
             "PhysicalResourceId": "api.example.com", "Timestamp": stamp}]
        return {"StackId": "stack"}

    cloud.cloudformation_update_stack = rolls_back
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "failed", result.message
    assert "UPDATE_ROLLBACK_COMPLETE" in result.message
    assert "ApiFailoverRecordPrimary (AWS::Route53::RecordSet) UPDATE_FAILED" in result.message
    assert [w[2] for w in cloud.writes()] == ["update_stack"]
    assert timeline.entries[-1].step == "failed"


def test_a_rolled_back_stack_before_the_run_does_not_stop_the_dns_step(cloud, example_config):
    """UPDATE_ROLLBACK_COMPLETE left by an earlier update is a stack that can be updated: the
    DNS step runs (the failure is read only right after the step itself)."""
    cloud.writer = RECOVERY
    cloud.global_status = "UPDATE_ROLLBACK_COMPLETE"
    result, _, _ = run(cloud, example_config, functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "done" and cloud.preferred == RECOVERY, result.message
