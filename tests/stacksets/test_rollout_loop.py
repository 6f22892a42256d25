"""The rollout on the decision kernel: the rule for a repeated step, as deploy runs it (observed
states and the Runner replaced; the kernel's own tests are in tests/toolkit)."""

import pytest

from stacksets import state
from stacksets.commands import deploy
from stacksets.context import Context, desired
from stacksets.operations import POLL, RolloutError, Runner
from toolkit.aws import Aws
from toolkit.kernel import SETTLE_POLLS
from tests.stacksets.test_plan import observed_after
from tests.stubs import FakeClock, reporter


def rollout(example_config, bundle, monkeypatch, states):
    wanted = desired(example_config, bundle)
    sequence = [observed_after(wanted, phase) for phase in states]
    monkeypatch.setattr(state, "observe", lambda aws, config: sequence.pop(0)
                        if len(sequence) > 1 else sequence[0])
    ran = []

    def run(self, step):
        ran.append(step.name)
        return {"phase": step.name, "action": step.action, "regions": list(step.targets)}

    monkeypatch.setattr(Runner, "run", run)
    clock = FakeClock()
    ctx = Context(example_config, bundle, Aws(clock=clock), reporter([]))
    with pytest.raises(RolloutError) as caught:
        deploy.rollout(ctx, wanted)
    return ran, clock, str(caught.value)


def test_an_operation_whose_effect_shows_late_is_waited_for_not_repeated(example_config, bundle,
                                                                         monkeypatch):
    """CloudFormation's describe calls may lag the operation that just succeeded."""
    ran, clock, message = rollout(example_config, bundle, monkeypatch,
                                  ["join", "join", "join", "peer-routes"])
    assert ran == ["peer-routes"]
    assert clock.slept == [POLL, POLL]
    assert "global phase blocked" in message  # the test's outputs have no API domain


def test_an_operation_whose_effect_never_shows_stops_naming_it(example_config, bundle,
                                                               monkeypatch):
    ran, clock, message = rollout(example_config, bundle, monkeypatch, ["join"])
    assert ran == ["peer-routes"]  # never twice in a row
    assert len(clock.slept) == SETTLE_POLLS
    assert message.startswith("deploy: peer-routes: ran but the world does not show its "
                              f"effect after {SETTLE_POLLS} polls")
