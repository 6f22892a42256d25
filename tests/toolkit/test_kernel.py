"""The decision kernel on its own: a toy world whose state is a number and a plan that counts it
up to a goal. Every outcome of the loop, the rule for a repeated step, dry run, stale state."""

from __future__ import annotations

import pytest

from toolkit import kernel
from toolkit.errors import StaleState
from toolkit.kernel import Blocked, Done, Refuse, Step, Wait


class Counter:
    """`value` goes up by one per `bump`; `lag` observations after a bump still show the old
    value (an eventually consistent describe call)."""

    def __init__(self, lag: int = 0, busy: int = 0):
        self.value, self.shown, self.lag, self.busy = 0, 0, lag, busy
        self.clock, self.acted, self.behind = 0.0, [], 0

    def observe(self):
        if self.behind:
            self.behind -= 1
        else:
            self.shown = self.value
        return {"value": self.shown, "busy": self.busy}

    def act(self, step):
        self.acted.append(step.name)
        self.value += 1
        self.behind = self.lag
        return {"bumped": self.value}

    def sleep(self, seconds):
        self.clock += seconds
        self.busy = max(0, self.busy - 1)

    def now(self):
        return self.clock


def up_to(goal):
    def decide(state):
        if state["busy"]:
            return Wait(f"busy for {state['busy']} more polls")
        if state["value"] >= goal:
            return Done(f"value {state['value']}")
        return Step(f"bump-{state['value']}", "bump", "here", {"OperationId": str(state)},
                    f"bump {state['value']} -> {state['value'] + 1}")
    return decide


class Recorder(kernel.Log):
    def __init__(self):
        self.events = []

    def waiting(self, reason):
        self.events.append(("wait", reason))

    def started(self, step):
        self.events.append(("start", step.name))

    def finished(self, step, record):
        self.events.append(("end", step.name, record))

    def stale(self, step, error):
        self.events.append(("stale", step.name))

    def stopped(self, result):
        self.events.append(("stop", result.outcome))


def test_steps_until_done_and_a_rerun_does_nothing():
    world, log = Counter(), Recorder()
    result = kernel.run(world, up_to(3), log=log)
    assert (result.outcome, result.message, result.ok) == ("done", "value 3", True)
    assert world.acted == ["bump-0", "bump-1", "bump-2"]
    assert [r for _, r in result.ran] == [{"bumped": 1}, {"bumped": 2}, {"bumped": 3}]
    assert world.clock == 0  # a step's effect is observed at once: no poll is slept
    again = kernel.run(world, up_to(3))
    assert again.outcome == "done" and again.ran == [] and world.acted == ["bump-0", "bump-1",
                                                                           "bump-2"]


def test_waits_sleep_one_poll_each_then_the_step_runs():
    world, log = Counter(busy=2), Recorder()
    result = kernel.run(world, up_to(1), log=log, poll=7)
    assert result.outcome == "done" and world.clock == 14
    assert log.events[:3] == [("wait", "busy for 2 more polls"), ("wait", "busy for 1 more polls"),
                              ("start", "bump-0")]


@pytest.mark.parametrize("decision, outcome", [
    (Refuse(("not safe", "not now")), "refused"),
    (Blocked("global", "no outputs yet"), "blocked"),
])
def test_refused_and_blocked_stop_without_acting(decision, outcome):
    world = Counter()
    result = kernel.run(world, lambda state: decision)
    assert result.outcome == outcome and not result.ok and world.acted == []
    assert result.decision == decision
    if outcome == "refused":
        assert result.reasons == ("not safe", "not now")
    else:
        assert result.message == "global blocked: no outputs yet"


def test_a_step_that_shows_its_effect_late_gets_polls_and_is_not_run_again():
    """AWS is eventually consistent: the repeat becomes a wait, within the settle budget."""
    world, log = Counter(lag=2), Recorder()
    result = kernel.run(world, up_to(1), log=log, poll=5)
    assert result.outcome == "done"
    assert world.acted == ["bump-0"]
    assert ("wait", "waiting for bump-0 to show its effect") in log.events
    assert world.clock == 10


def test_a_step_whose_effect_never_shows_stops_with_an_error_naming_it():
    world = Counter(lag=100)
    result = kernel.run(world, up_to(1), poll=5, settle_polls=3)
    assert result.outcome == "stuck" and not result.ok
    assert result.message.startswith("bump-0: ran but the world does not show its effect "
                                     "after 3 polls (bump 0 -> 1)")
    assert world.acted == ["bump-0"]  # never twice in a row
    assert world.clock == 15


def test_the_timeout_stops_a_wait_with_its_reason():
    world = Counter(busy=100)
    result = kernel.run(world, up_to(1), poll=10, timeout=30)
    assert result.outcome == "timeout" and "busy for" in result.message
    assert world.acted == [] and world.clock == 40


def test_no_convergence_after_max_steps():
    world = Counter()
    result = kernel.run(world, up_to(10), max_steps=4)
    assert result.outcome == "no-convergence" and len(world.acted) == 4
    assert "no convergence after 4 steps" in result.message


def test_dry_run_observes_and_decides_once():
    world = Counter()
    result = kernel.run(world, up_to(2), dry_run=True)
    assert result.outcome == "dry-run" and result.ok and world.acted == []
    assert result.planned.name == "bump-0" and result.message == "would run: bump 0 -> 1"
    waiting = kernel.run(Counter(busy=1), up_to(2), dry_run=True)
    assert waiting.planned is None and waiting.message == "would wait: busy for 1 more polls"


def test_a_failing_step_stops_with_its_error():
    class Broken(Counter):
        def act(self, step):
            raise RuntimeError("access denied")

    result = kernel.run(Broken(), up_to(1))
    assert result.outcome == "failed" and result.message == "bump-0 failed: access denied"
    assert isinstance(result.error, RuntimeError)


def test_stale_state_observes_again_and_decides_anew():
    class StaleOnce(Counter):
        def act(self, step):
            if not self.acted:
                self.acted.append("stale")
                raise StaleState("changed since read")
            return super().act(step)

    world, log = StaleOnce(), Recorder()
    result = kernel.run(world, up_to(1), log=log)
    assert result.outcome == "done" and world.acted == ["stale", "bump-0"]
    assert ("stale", "bump-0") in log.events  # the same step again: not a repeat


def test_an_interruption_propagates_and_a_rerun_resumes():
    class Interrupted(Counter):
        def act(self, step):
            record = super().act(step)
            if len(self.acted) == 2:
                raise KeyboardInterrupt
            return record

    world = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        kernel.run(world, up_to(3))
    result = kernel.run(world, up_to(3))
    assert result.outcome == "done" and world.acted == ["bump-0", "bump-1", "bump-2"]


def test_tokens_do_not_make_a_repeat_a_new_step():
    first = Step("join", "update_stack_instances", "us-east-1",
                 {"Regions": ["a"], "OperationId": "join-1"}, "join")
    again = Step("join", "update_stack_instances", "us-east-1",
                 {"Regions": ["a"], "OperationId": "join-2"}, "join")
    other = Step("join", "update_stack_instances", "us-east-1",
                 {"Regions": ["b"], "OperationId": "join-1"}, "join")
    assert first.same_as(again) and not first.same_as(other)


def test_a_resumed_step_is_the_last_step_of_the_new_run():
    """An interrupted run's last step (from the caller's log) gets its settle polls in the
    re-run: shown late, it is waited for; never shown, the loop stops naming it; a different
    decision runs at once."""
    bump = up_to(1)({"value": 0, "busy": 0})
    world, log = Counter(), Recorder()
    world.value, world.behind = 1, 2  # the interrupted bump landed; shown two reads late
    result = kernel.run(world, up_to(1), log=log, poll=5, resumed=kernel.Ran.of(bump))
    assert result.outcome == "done" and world.acted == [] and world.clock == 10
    never = kernel.run(Counter(lag=100), up_to(1), poll=5, settle_polls=2,
                       resumed=kernel.Ran.of(bump))
    assert never.outcome == "stuck" and never.message.startswith(
        "bump-0: started by an interrupted run but the world does not show its effect")
    other = Step("other", "bump", "here", {}, "another step")
    fresh = Counter()
    assert kernel.run(fresh, up_to(1), resumed=kernel.Ran.of(other)).outcome == "done"
    assert fresh.acted == ["bump-0"]


def test_a_repeated_step_whose_failure_the_world_shows_stops_at_once():
    """A stack update that rolled back: deciding it again right after it ran stops with the
    failure (no settle polls, no second call); the same failure before it ran does not."""
    def decide(state):
        if state["value"] >= 2:
            return Done("done")
        return Step("update", "bump", "here", {}, "update the stack",
                    failure="it ended UPDATE_ROLLBACK_COMPLETE")

    class RollsBack(Counter):
        def act(self, step):
            self.acted.append(step.name)

    world = RollsBack()
    result = kernel.run(world, decide, poll=5)
    assert (result.outcome, result.message) == (
        "failed", "update failed: it ended UPDATE_ROLLBACK_COMPLETE (update the stack)")
    assert world.acted == ["update"] and world.clock == 0 and result.error is None


def test_a_step_fingerprint_survives_json_and_ignores_tokens_and_words():
    import json

    step = Step("dns", "prefer_dns", "us-east-1",
                {"Parameters": ({"ParameterKey": "A", "ParameterValue": "1"},),
                 "ClientRequestToken": "t-1"}, "prefer home", targets=("us-east-1",))
    again = Step("dns", "prefer_dns", "us-east-1",
                 json.loads(json.dumps({"Parameters": [{"ParameterKey": "A",
                                                        "ParameterValue": "1"}],
                                        "ClientRequestToken": "t-2"})),
                 "other words", targets=("us-east-1",), failure="rolled back")
    assert step.fingerprint == again.fingerprint
    assert step.fingerprint != Step("dns", "prefer_dns", "us-east-1", {}, "x").fingerprint
