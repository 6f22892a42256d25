"""The global stack in states the rollout and the teardown must neither take for done nor wait
on for ever: an operation still in progress (wait), a change set never executed
(REVIEW_IN_PROGRESS: deploy stops and says so, destroy deletes it), and destroy's time limit."""

from __future__ import annotations

import dataclasses

import pytest

from stacksets import plan
from stacksets.context import desired
from stacksets.plan import Observed, Stack
from stacksets.teardown import Teardown, next_teardown_step
from templates import names
from tests.stacksets.test_plan import observed_after
from toolkit import kernel

OUTPUTS = {names.OUT_API_DOMAIN_TARGET: "d-abc.execute-api.us-east-1.amazonaws.com",
           names.OUT_API_DOMAIN_ZONE_ID: "Z1UJRXOUMOOFQ8",
           names.OUT_API_ENDPOINT_HOST: "abc.execute-api.us-east-1.amazonaws.com"}


def with_outputs(observed: Observed) -> Observed:
    """Both regions joined, with the outputs the global stack's parameters come from."""
    return dataclasses.replace(observed, instances={
        r: dataclasses.replace(i, outputs={**i.outputs, **OUTPUTS})
        for r, i in observed.instances.items()})


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"])
def test_a_global_stack_still_in_progress_is_not_done(example_config, bundle, status):
    wanted = desired(example_config, bundle)
    observed = with_outputs(observed_after(wanted, "peer-routes"))
    values = plan.global_parameters(example_config, wanted,
                                    plan.outputs_by_role(example_config, observed))
    running = dataclasses.replace(observed, global_stack=Stack(
        status, wanted.global_template, values, version="v1"))
    decision = plan.next_step(example_config, wanted, running)
    assert isinstance(decision, kernel.Wait) and status in decision.reason, decision
    done = dataclasses.replace(running, global_stack=Stack(
        status.replace("IN_PROGRESS", "COMPLETE"), wanted.global_template, values,
        version="v1"))
    assert isinstance(plan.next_step(example_config, wanted, done), kernel.Done)


def test_a_global_stack_from_a_change_set_never_executed_stops_deploy(example_config, bundle):
    wanted = desired(example_config, bundle)
    observed = dataclasses.replace(with_outputs(observed_after(wanted, "peer-routes")),
                                   global_stack=Stack("REVIEW_IN_PROGRESS", {}, {}))
    decision = plan.next_step(example_config, wanted, observed)
    assert isinstance(decision, kernel.Blocked) and "never executed" in decision.reason


class _StuckWorld:
    """The teardown's world with a global stack that stays as it is (a stable status)."""

    def __init__(self, state):
        self.state, self.clock, self.acted = state, 0.0, []

    def observe(self):
        return self.state

    def act(self, step):
        self.acted.append(step)

    def sleep(self, seconds):
        self.clock += seconds
        if self.clock > 7 * 24 * 3600:
            raise AssertionError("destroy still waiting after a week of polls")

    def now(self):
        return self.clock


def test_destroy_does_not_wait_for_ever_on_a_stable_global_stack_status(example_config,
                                                                        bundle):
    from stacksets.operations import POLL
    from stacksets.commands.destroy import SETTLE_SECONDS

    state = Teardown(Observed(global_stack=Stack("REVIEW_IN_PROGRESS", {}, {})))
    world = _StuckWorld(state)
    # Without a timeout: the decision itself must not wait on a status that never ends.
    result = kernel.run(world, lambda now: next_teardown_step(example_config, now),
                        poll=POLL, settle_polls=int(SETTLE_SECONDS / POLL))
    assert [step.action for step in world.acted] == ["delete_stack"]
    assert result.outcome == "stuck"  # the stack never went: stopped, naming the deletion


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"])
def test_destroy_waits_on_an_operation_in_progress_within_its_timeout(example_config, status):
    """An operation that ends by itself is waited for; destroy's --timeout bounds it."""
    from stacksets.operations import POLL
    from stacksets.commands.destroy import SETTLE_SECONDS

    world = _StuckWorld(Teardown(Observed(global_stack=Stack(status, {}, {}))))
    result = kernel.run(world, lambda now: next_teardown_step(example_config, now),
                        poll=POLL, settle_polls=int(SETTLE_SECONDS / POLL), timeout=600)
    assert world.acted == [] and result.outcome == "timeout" and status in result.message
    assert world.clock <= 600 + POLL


def test_a_stack_from_a_change_set_never_executed_is_read_without_its_template(example_config):
    """It has no template yet: GetTemplate is not asked (Stubber: an unexpected call fails)."""
    import datetime

    from stacksets import state
    from tests.stubs import stubbed_aws

    aws, stubs, _ = stubbed_aws([("cloudformation", "us-east-1")])
    stubs[("cloudformation", "us-east-1")].add_response("describe_stacks", {"Stacks": [{
        "StackName": example_config.global_stack_name, "StackStatus": "REVIEW_IN_PROGRESS",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/x/1",
        "CreationTime": datetime.datetime(2026, 1, 1)}]},
        {"StackName": example_config.global_stack_name})
    found = state.global_stack(aws, example_config)
    assert (found.status, found.template) == ("REVIEW_IN_PROGRESS", {})
    stubs[("cloudformation", "us-east-1")].assert_no_pending_responses()
