"""Review 16: the rollout's and the teardown's pure decisions on observed states that the
decision kernel must not take for done, and must not wait on for ever."""

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


@pytest.mark.xfail(strict=True, reason=(
    "review16 F4: next_global_step() never looks at the global stack's status: a global "
    "CREATE/UPDATE still IN_PROGRESS (deploy interrupted during the global phase, whose "
    "message promises that re-running waits for it) already carries the new parameters and "
    "template, so deploy re-run says 'nothing to do' (exit 0) while the stack may still roll "
    "back"))
@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"])
def test_a_global_stack_still_in_progress_is_not_done(example_config, bundle, status):
    wanted = desired(example_config, bundle)
    observed = observed_after(wanted, "peer-routes")
    observed = dataclasses.replace(observed, instances={
        r: dataclasses.replace(i, outputs={**i.outputs, **OUTPUTS})
        for r, i in observed.instances.items()})
    values = plan.global_parameters(example_config, wanted,
                                    plan.outputs_by_role(example_config, observed))
    running = dataclasses.replace(observed, global_stack=Stack(
        status, wanted.global_template, values, version="v1"))
    decision = plan.next_step(example_config, wanted, running)
    assert not isinstance(decision, kernel.Done), decision


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


@pytest.mark.xfail(strict=True, reason=(
    "review16 F5: the teardown waits on any *_IN_PROGRESS global stack, and destroy runs the "
    "kernel without a timeout: REVIEW_IN_PROGRESS (a change set made for a new stack and never "
    "executed) is a stable status, so destroy polls for ever, printing one line"))
def test_destroy_does_not_wait_for_ever_on_a_stable_global_stack_status(example_config,
                                                                        bundle):
    from stacksets.operations import POLL
    from stacksets.commands.destroy import SETTLE_SECONDS

    state = Teardown(Observed(global_stack=Stack("REVIEW_IN_PROGRESS", {}, {})))
    world = _StuckWorld(state)
    # destroy's own call (stacksets/commands/destroy.py run()): no timeout.
    # Passes once the loop returns (deleting the stack, or giving up with a reason) within
    # a week of simulated polls; today it never returns.
    kernel.run(world, lambda now: next_teardown_step(example_config, now),
               poll=POLL, settle_polls=int(SETTLE_SECONDS / POLL))
