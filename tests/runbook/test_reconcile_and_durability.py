"""Issue 17 in the runbook: the reconcile step of `dr failover` and `dr failback` (a pure decision
on the kernel, invoked in the writer's region, in the timeline), and regional-only durability
in `dr status` and in what a failover says about RPO. Against the fake AWS of fakes.py."""

from __future__ import annotations

import functools
import json

import pytest

from runbook import decide as runbook
from runbook import loop
from runbook.aws_adapter import AwsAdapter
from runbook.commands import state_lines
from runbook.state import DrState, Member, Projections
from runbook.timeline import Timeline
from toolkit.kernel import Blocked, Done, Step

from tests.runbook.fakes import Cloud, FakeAws
from tests.runbook.test_runbook import (  # noqa: F401 (fixtures)
    HOME, RECOVERY, adapter, cloud, deployed, run, wanted,
)


def invocations(cloud: Cloud) -> list[tuple[str, dict]]:
    return [(region, json.loads(params["Payload"])) for service, region, operation, params
            in cloud.calls if operation == "invoke"]


def lost_region_cloud(lost: str) -> Cloud:
    cloud = Cloud(HOME, RECOVERY)
    cloud.writer = cloud.preferred = lost
    cloud.down.add(lost)
    cloud.route53[lost] = False
    return cloud


@pytest.mark.parametrize("lost", [HOME, RECOVERY])
def test_failover_rebuilds_what_the_lost_region_left_missing_in_the_new_writers_region(
    example_config, lost, tmp_path,
):
    to = RECOVERY if lost == HOME else HOME
    cloud = lost_region_cloud(lost)
    cloud.missing[to] = (3, 2)  # receipts that never replicated, status items in flight
    result, timeline, fake = run(cloud, example_config,
                                 functools.partial(runbook.failover, to=to), tmp_path,
                                 failed=lost)
    assert result.outcome == "done", result.message
    assert "receipts and status items complete in " + to in result.message
    steps = [e.step for e in timeline.entries]
    assert steps[0] == "failover" and steps[-2:] == ["reconcile", "done"]
    reconcile = timeline.entries[-2]
    assert (reconcile.region, reconcile.outcome) == (to, "ok")
    assert "3 receipt(s) and 2 status item(s)" in reconcile.summary
    # Checked before and after, repaired once; in the new writer's region only, the lost
    # region's receipts included.
    calls = invocations(cloud)
    assert {region for region, _ in calls} == {to}
    assert [event["repair"] for _, event in calls] == [False, True, False]
    assert all(event["peer_region_lost"]
               and event["since_minutes"] == runbook.RECONCILE_WINDOW_MINUTES == 30
               for _, event in calls)
    assert lost not in cloud.regions_called()
    assert cloud.missing[to] == (0, 0)


def test_failback_reconciles_home_before_dns_prefers_it(example_config, wanted):
    cloud = deployed(Cloud(HOME, RECOVERY), example_config, wanted)
    cloud.writer = cloud.preferred = RECOVERY  # after a failover; home rejoined and caught up
    cloud.missing[HOME] = (5, 0)  # receipts written in recovery while home's bucket was gone
    a = adapter(cloud, example_config)
    timeline = Timeline.open("failback", None, a.now)
    result = loop.run(a, runbook.failback, timeline, poll=10)
    assert result.outcome == "done", result.message
    steps = [e.step for e in timeline.entries if e.step != "wait"]
    assert steps == ["switchover", "reconcile", "prefer-dns", "done"]
    (repair,) = [event for region, event in invocations(cloud) if event["repair"]]
    assert repair == {"since_minutes": 30, "peer_region_lost": False, "repair": True}
    assert cloud.writer == HOME and cloud.preferred == HOME


def test_nothing_missing_means_no_reconcile_step(cloud, example_config, tmp_path):
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.switchover, to=RECOVERY), tmp_path)
    assert result.outcome == "done"
    assert "reconcile" not in [e.step for e in timeline.entries]
    assert invocations(cloud) and not any(e["repair"] for _, e in invocations(cloud))


def test_a_reconcile_that_cannot_run_blocks_with_its_reason(example_config):
    cloud = lost_region_cloud(HOME)
    cloud.reconcile_fails.add(RECOVERY)
    result, _, _ = run(cloud, example_config, functools.partial(runbook.failover, to=RECOVERY),
                       failed=HOME)
    assert result.outcome == "blocked"
    assert "reconcile function's check in us-west-2 did not run" in result.message
    assert cloud.writer == RECOVERY  # the failover itself is done; re-running resumes
    notes = result.last.notes
    assert any("database: connection failed" in note for note in notes)


def test_a_reconcile_that_repairs_nothing_is_not_repeated_for_ever(example_config):
    """Projections that stay missing (a store refusing writes) stop the runbook naming the
    step, after the kernel's settle polls, instead of invoking it again and again."""
    cloud = lost_region_cloud(HOME)
    cloud.missing[RECOVERY] = (1, 0)
    a = AwsAdapter(FakeAws(cloud), example_config, failed=HOME, get=cloud.health)
    original = cloud.lambda_invoke

    def still_missing(region, **params):
        answer = original(region, **params)
        cloud.missing[region] = (1, 0)
        return answer

    cloud.lambda_invoke = still_missing
    result = loop.run(a, functools.partial(runbook.failover, to=RECOVERY),
                      Timeline.open("failover", None, a.now), poll=10, timeout=600)
    assert result.outcome == "stuck" and "reconcile" in result.message
    assert sum(1 for _, e in invocations(cloud) if e["repair"]) == 1


def test_status_says_which_region_runs_with_regional_durability_and_what_is_missing(
    cloud, example_config,
):
    healthy = adapter(cloud, example_config).observe()
    # No datapoint: the filter counted no line (a Sum over nothing is 0).
    assert healthy.regional_durability == {HOME: 0.0, RECOVERY: 0.0}
    assert runbook.problems(healthy) == []
    cloud.regional_durability = {HOME: 120.0, RECOVERY: 0.0}
    cloud.missing[HOME] = (2, 1)
    state = adapter(cloud, example_config).observe()
    found = runbook.problems(state)
    assert any(p.startswith(f"{HOME}: 120 request(s) in the last 5 minutes answered by "
                            "processors with regional durability only") for p in found)
    assert not any(p.startswith(f"{RECOVERY}:") for p in found)
    assert any(f"projections missing in {HOME}" in p and "2 receipt(s), 1 status item(s)" in p
               for p in found)
    lines = "\n".join(state_lines(state))
    assert "durability=regional(120 requests/5min)" in lines and "durability=zero-loss" in lines
    assert f"projections in {HOME}: 2 receipt(s), 1 status item(s) missing" in lines
    document = state.to_json()
    assert document["regional_durability"] == {HOME: 120.0, RECOVERY: 0.0}
    assert document["projections"][HOME]["missing"] == 3


def test_a_lost_region_is_not_asked_for_its_durability(example_config):
    cloud = lost_region_cloud(HOME)
    state = AwsAdapter(FakeAws(cloud), example_config, failed=HOME,
                       get=cloud.health).observe()
    assert set(state.regional_durability) == {RECOVERY}


def test_the_failover_step_says_what_it_means_for_acknowledged_payments(example_config):
    cloud = lost_region_cloud(HOME)
    cloud.regional_durability = {RECOVERY: 4.0}
    result, _, _ = run(cloud, example_config, functools.partial(runbook.failover, to=RECOVERY),
                       failed=HOME, dry_run=True)
    summary = result.planned.summary
    assert "a 201 marked cross-region is in us-west-2's storage" in summary
    assert "4 request(s) answered in us-west-2 with regional durability" in summary
    assert "us-east-1's own are not read" in summary


def state_after_move(**changes) -> DrState:
    values = dict(home=HOME, recovery=RECOVERY, global_cluster="g", global_status="available",
                  members=(Member(RECOVERY, "arn-r", True), Member(HOME, "arn-h", False)),
                  healthy={HOME: False, RECOVERY: True}, writable={RECOVERY: True},
                  health_checks={HOME: False, RECOVERY: True})
    return DrState(**{**values, **changes})


def test_the_decision_needs_no_adapter_that_observes_projections():
    """An adapter that does not observe projections (the local drill) gets no reconcile step;
    the AWS adapter observes them whenever the writer reports writable (tests above)."""
    assert isinstance(runbook.failover(state_after_move(), to=RECOVERY), Done)
    step = runbook.failover(state_after_move(projections={RECOVERY: Projections(0, 4, 9)}),
                            to=RECOVERY)
    assert isinstance(step, Step) and step.action == "reconcile_projections"
    assert step.arguments == runbook.reconcile_event(repair=True, peer_region_lost=True)
    blocked = runbook.failover(state_after_move(projections={RECOVERY: None}), to=RECOVERY)
    assert isinstance(blocked, Blocked) and blocked.name == "reconcile"
