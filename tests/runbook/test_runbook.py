"""The DR runbooks against a fake AWS (tests/runbook/fakes.py): every step, every refusal,
failover never touching the failed region, an interrupted run that resumes, and the CLI."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from payments_dr import cli as payments_dr_cli
from runbook import commands as dr_cli
from runbook import loop
from runbook import decide as runbook
from runbook.aws_adapter import AwsAdapter
from runbook.timeline import Timeline
from toolkit import exit_codes, kernel

from stacksets import plan
from stacksets.context import desired
from tests.runbook.fakes import Cloud, FakeAws, cluster_arn

HOME, RECOVERY = "us-east-1", "us-west-2"  # the example config's regions


@pytest.fixture
def wanted(example_config, bundle):
    return desired(example_config, bundle)


@pytest.fixture
def cloud(example_config, wanted):
    """Both regions up, the writer at home, everything deployed by `deploy`."""
    return deployed(Cloud(HOME, RECOVERY), example_config, wanted)


def deployed(cloud, config, wanted):
    cloud.deploy(config, wanted)
    return cloud


def adapter(cloud, config, failed=None):
    return AwsAdapter(FakeAws(cloud), config, failed=failed, get=cloud.health,
                      **({"desired": cloud.deployed["desired"]} if cloud.deployed else {}))


def run(cloud, config, decide, tmp_path=None, failed=None, dry_run=False, **kwargs):
    a = adapter(cloud, config, failed)
    path = tmp_path / "timeline.json" if tmp_path else None
    timeline = Timeline.open("op", path, a.now)
    return loop.run(a, decide, timeline, dry_run=dry_run, poll=10, timeout=600, **kwargs), \
        timeline, a


def test_switchover_runs_every_step_in_order(cloud, example_config, tmp_path):
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.switchover, to=RECOVERY), tmp_path)
    assert result.outcome == "done", result.message
    assert cloud.writes() == [("rds", RECOVERY, "switchover_global_cluster"),
                              ("cloudformation", "us-east-1", "update_stack")]
    call = next(c for c in cloud.calls if c[2] == "switchover_global_cluster")
    assert call[3] == {"GlobalClusterIdentifier": "payments-example-global",
                       "TargetDbClusterIdentifier": cluster_arn(RECOVERY)}
    assert cloud.writer == RECOVERY and cloud.preferred == RECOVERY
    steps = [e.step for e in timeline.entries]
    assert steps == ["switchover", "wait", "wait", "prefer-dns", "done"]
    assert "to report writable" in timeline.entries[2].summary
    saved = json.loads((tmp_path / "timeline.json").read_text())
    assert saved["result"] == "done" and all(e["outcome"] != "running" for e in saved["entries"])


def test_switchover_when_already_there_changes_nothing(cloud, example_config):
    cloud.writer = cloud.preferred = RECOVERY
    result, _, _ = run(cloud, example_config, functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "done" and cloud.writes() == []


@pytest.mark.parametrize("breakage, reason", [
    (lambda c: c.api_up.__setitem__(RECOVERY, False), f"GET /health in {RECOVERY}"),
    (lambda c: c.lag.__setitem__("AuroraGlobalDBReplicationLag", 5000.0), "replication lag 5000"),
    (lambda c: setattr(c, "secret", "InProgress"), "secret's replica is 'InProgress'"),
    (lambda c: c.tables.__setitem__(RECOVERY, "UPDATING"), "table replica in us-west-2"),
    (lambda c: c.members.pop(RECOVERY), f"{RECOVERY} has no cluster"),
    (lambda c: c.members.__setitem__(RECOVERY, "pending-resync"), "pending-resync"),
])
def test_switchover_preflight_refuses_with_the_reason(cloud, example_config, breakage, reason):
    breakage(cloud)
    result, _, _ = run(cloud, example_config, functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "refused"
    assert any(reason in r for r in result.reasons), result.reasons
    assert cloud.writes() == []


def test_switchover_refuses_a_region_outside_the_environment(cloud, example_config):
    state = adapter(cloud, example_config).observe()
    decision = runbook.switchover(state, "eu-central-1")
    assert "not one of this environment's regions" in decision.reasons[0]


@pytest.mark.parametrize("home_region", [HOME, RECOVERY])
def test_failover_never_calls_an_api_in_the_failed_region(example_config, home_region):
    """Both directions: when us-east-1 is lost, Route 53's control plane is not asked either."""
    failed = home_region
    to = RECOVERY if failed == HOME else HOME
    cloud = Cloud(HOME, RECOVERY)
    cloud.writer = failed
    cloud.preferred = failed
    cloud.down.add(failed)
    cloud.route53[failed] = False
    fake = FakeAws(cloud)
    a = AwsAdapter(fake, example_config, failed=failed, get=cloud.health)
    timeline = Timeline.open("failover", None, a.now)
    result = loop.run(a, functools.partial(runbook.failover, to=to), timeline, poll=10)
    assert result.outcome == "done", result.message
    assert cloud.writer == to
    assert failed not in {region for _, region in fake.asked}
    assert failed not in cloud.regions_called()
    assert cloud.writes() == [("rds", to, "failover_global_cluster")]  # no DNS write
    call = next(c for c in cloud.calls if c[2] == "failover_global_cluster")
    assert call[3]["AllowDataLoss"] is True and "Switchover" not in call[3]
    assert result.first.rpo_lag_ms == 800.0  # the RPO lag seen before the failover


def test_failover_adapter_refuses_to_build_a_client_for_the_failed_region(cloud, example_config):
    a = adapter(cloud, example_config, failed=HOME)
    with pytest.raises(Exception, match="declared failed"):
        a.client("rds", HOME)


def test_failover_refused_while_route53_sees_the_other_region_healthy(example_config):
    cloud = Cloud(HOME, RECOVERY)
    cloud.writer = cloud.preferred = RECOVERY
    result, _, _ = run(cloud, example_config, functools.partial(runbook.failover, to=HOME),
                       failed=RECOVERY)
    assert result.outcome == "refused" and "use `dr switchover" in result.reasons[0]
    assert cloud.writes() == []
    forced, _, _ = run(cloud, example_config,
                       functools.partial(runbook.failover, to=HOME, confirm_data_loss=RECOVERY),
                       failed=RECOVERY)
    assert forced.outcome == "done" and cloud.writer == HOME


class Interrupted(Exception):
    pass


class InterruptAfterAct(AwsAdapter):
    def act(self, step):
        super().act(step)
        raise KeyboardInterrupt  # the operator's laptop dies right after the call


def test_an_interrupted_switchover_resumes_without_repeating_the_call(cloud, example_config,
                                                                      tmp_path):
    path = tmp_path / "timeline.json"
    first = InterruptAfterAct(FakeAws(cloud), example_config, get=cloud.health)
    decide = functools.partial(runbook.switchover, to=RECOVERY)
    with pytest.raises(KeyboardInterrupt):
        loop.run(first, decide, Timeline.open("switchover us-west-2", path, first.now), poll=10)
    assert json.loads(path.read_text())["entries"][-1]["outcome"] == "running"
    second = adapter(cloud, example_config)
    timeline = Timeline.open("switchover us-west-2", path, second.now)
    result = loop.run(second, decide, timeline, poll=10)
    assert result.outcome == "done"
    assert [w[2] for w in cloud.writes()].count("switchover_global_cluster") == 1
    steps = [e["step"] for e in json.loads(path.read_text())["entries"]]
    assert steps[:2] == ["switchover", "resume"] and steps[-1] == "done"


def test_failback_waits_for_rejoin_and_catch_up_then_switches_home(example_config, wanted):
    cloud = deployed(Cloud(HOME, RECOVERY), example_config, wanted)
    cloud.writer = RECOVERY       # after a failover
    cloud.members = {RECOVERY: "connected"}
    a = adapter(cloud, example_config)
    decide = functools.partial(runbook.failback)
    refused = runbook.failback(a.observe())
    assert "has not rejoined" in refused.reasons[0]
    cloud.members[HOME] = "pending-resync"
    assert "connected" in runbook.failback(a.observe()).reason
    cloud.members[HOME] = "connected"
    cloud.lag["AuroraGlobalDBReplicationLag"] = 9000.0
    assert "catch up" in runbook.failback(a.observe()).reason
    cloud.lag["AuroraGlobalDBReplicationLag"] = 30.0
    cloud.preferred = RECOVERY
    result = loop.run(a, decide, Timeline.open("failback", None, a.now), poll=10)
    assert result.outcome == "done"
    assert cloud.writer == HOME and cloud.preferred == HOME
    assert [w[2] for w in cloud.writes()] == ["switchover_global_cluster", "update_stack"]


def test_waiting_gives_up_at_the_timeout_with_the_reason(example_config):
    cloud = Cloud(HOME, RECOVERY)
    cloud.writer = RECOVERY
    cloud.members = {RECOVERY: "connected", HOME: "pending-resync"}
    a = adapter(cloud, example_config)
    timeline = Timeline.open("failback", None, a.now)
    result = loop.run(a, runbook.failback, timeline, poll=10, timeout=60)
    assert result.outcome == "timeout" and "pending-resync" in result.message
    assert [e.step for e in timeline.entries] == ["wait", "timeout"]


def test_dry_run_changes_nothing_and_names_the_next_step(cloud, example_config):
    result, _, _ = run(cloud, example_config, functools.partial(runbook.switchover, to=RECOVERY),
                       dry_run=True)
    assert result.outcome == "dry-run" and result.planned.action == "switchover_global_cluster"
    assert cloud.writes() == []


def test_status_is_healthy_only_when_everything_is(cloud, example_config):
    state = adapter(cloud, example_config).observe()
    assert runbook.problems(state) == []
    assert state.writer == HOME and state.dns_serving == HOME
    cloud.route53[HOME] = False
    cloud.api_up[HOME] = False
    state = adapter(cloud, example_config).observe()
    found = runbook.problems(state)
    assert state.dns_serving == RECOVERY
    assert any("GET /health in us-east-1" in p for p in found)
    assert any("DNS serves us-west-2 but the writer is in us-east-1" in p for p in found)


def test_status_reports_failed_s3_replication(cloud, example_config):
    cloud.s3_failed[HOME] = 7.0
    state = adapter(cloud, example_config).observe()
    assert state.s3_replication[HOME] == {"failed": 7.0, "latency_s": 12.0}
    assert any("S3 replication from us-east-1: 7 failed" in p for p in runbook.problems(state))


# --- CLI ---------------------------------------------------------------------------------------
@pytest.fixture
def patched_cli(monkeypatch, cloud):
    import toolkit.aws

    def fake_aws(session=None):
        aws = FakeAws(cloud)
        aws.identity = lambda region: {"account": "123456789012", "partition": "aws"}
        return aws

    monkeypatch.setattr(toolkit.aws, "Aws", fake_aws)
    monkeypatch.setattr(toolkit.aws, "new_session", lambda profile=None: None)
    original = dr_cli.AwsAdapter
    monkeypatch.setattr(dr_cli, "AwsAdapter",
                        lambda aws, config, **options: original(
                            aws, config, **{**options, "get": cloud.health}))
    return cloud


def cli(args, build_dir, capsys):
    code = payments_dr_cli.main(["dr", *args, "--config",
                                 str(Path("stacksets/environments/example.yaml")),
                                 "--build-dir", str(build_dir), "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_status_json_and_exit_code(patched_cli, build_dir, capsys):
    code, document = cli(["status"], build_dir, capsys)
    assert code == 0 and document["result"] == "healthy"
    assert document["state"]["writer"] == HOME and document["state"]["home"] == HOME
    patched_cli.secret = "Failed"
    code, document = cli(["status"], build_dir, capsys)
    # needs attention: 4, as `status` (1 is for failed, refused, blocked or timed out)
    assert code == exit_codes.ATTENTION == 4
    assert any("secret replica 'Failed'" in p for p in document["problems"])


def test_cli_switchover_writes_the_timeline(patched_cli, build_dir, capsys, tmp_path):
    path = tmp_path / "t.json"
    code, document = cli(["switchover", "--to", RECOVERY, "--poll", "1", "--timeline", str(path)],
                         build_dir, capsys)
    assert code == 0 and document["result"] == "done"
    assert document["rto_budget_seconds"] == 30 * 60  # the global template's default RTO
    assert [e["step"] for e in document["timeline"]] == [
        e["step"] for e in json.loads(path.read_text())["entries"]]


def test_cli_dry_run_failover(patched_cli, build_dir, capsys):
    patched_cli.down.add(HOME)
    patched_cli.route53[HOME] = False
    code, document = cli(["failover", "--to", RECOVERY, "--dry-run"], build_dir, capsys)
    assert code == 0 and document["runbook"]["next_step"]["action"] == "failover_global_cluster"
    assert patched_cli.writes() == [] and HOME not in patched_cli.regions_called()


def test_cli_rejects_an_unknown_region(patched_cli, build_dir, capsys):
    code, document = cli(["switchover", "--to", "eu-central-1"], build_dir, capsys)
    assert code == 2
    message = document["error"]["message"]
    assert "eu-central-1" in message and "us-east-1 (home)" in message


def test_cli_status_with_a_lost_region_calls_nothing_there(patched_cli, build_dir, capsys):
    patched_cli.down.add(RECOVERY)
    code, document = cli(["status", "--lost", RECOVERY], build_dir, capsys)
    assert code == exit_codes.ATTENTION and RECOVERY not in patched_cli.regions_called()
    assert any(f"GET /health in {RECOVERY}" in p for p in document["problems"])
    code, document = cli(["status", "--lost", "mars-north-1"], build_dir, capsys)
    assert code == 2 and "--lost 'mars-north-1'" in document["error"]["message"]


def test_failover_refused_when_the_target_has_no_cluster(example_config):
    cloud = Cloud(HOME, RECOVERY)
    cloud.down.add(HOME)
    cloud.members.pop(RECOVERY)
    result, _, _ = run(cloud, example_config, functools.partial(runbook.failover, to=RECOVERY),
                       failed=HOME)
    assert result.outcome == "refused" and "nothing to promote" in result.reasons[0]
    assert cloud.writes() == []


def test_an_interrupted_failover_resumes_without_a_second_failover(example_config, tmp_path):
    cloud = Cloud(HOME, RECOVERY)
    cloud.down.add(HOME)
    cloud.route53[HOME] = False
    path = tmp_path / "failover.json"
    decide = functools.partial(runbook.failover, to=RECOVERY)
    first = InterruptAfterAct(FakeAws(cloud), example_config, failed=HOME, get=cloud.health)
    with pytest.raises(KeyboardInterrupt):
        loop.run(first, decide, Timeline.open("failover us-west-2", path, first.now), poll=10)
    second = adapter(cloud, example_config, failed=HOME)
    result = loop.run(second, decide, Timeline.open("failover us-west-2", path, second.now),
                      poll=10)
    assert result.outcome == "done" and cloud.writer == RECOVERY
    assert [w[2] for w in cloud.writes()] == ["failover_global_cluster"]
    assert HOME not in cloud.regions_called()


def test_a_failed_call_stops_the_runbook_with_the_error(cloud, example_config, tmp_path):
    from botocore.exceptions import ClientError

    def refuse(region, **_):
        raise ClientError({"Error": {"Code": "InvalidGlobalClusterStateFault",
                                     "Message": "the global cluster is being modified"}},
                          "SwitchoverGlobalCluster")
    cloud.rds_switchover_global_cluster = refuse
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.switchover, to=RECOVERY), tmp_path)
    assert result.outcome == "failed" and "being modified" in result.message
    assert timeline.entries[-1].outcome == "error: ClientError"
    assert json.loads((tmp_path / "timeline.json").read_text())["result"] == "failed"


@pytest.mark.parametrize("option,value,allowed", [
    ("--rate", "0", "--rate 0: allowed 0.1 to 200"),
    ("--new-key-share", "1.5", "--new-key-share 1.5: allowed 0 to 1"),
    ("--patience", "30-5", "LOW-HIGH with LOW <= HIGH"),
    ("--replication-ms", "-1", "replication latency -1 ms: allowed 0 to 5000"),
])
def test_cli_rejects_a_drill_out_of_bounds(build_dir, capsys, option, value, allowed):
    code = payments_dr_cli.main(["dr", "drill", "--local", option, value, "--output",
                                 "json", "--build-dir", str(build_dir)])
    document = json.loads(capsys.readouterr().out)
    assert code == 2 and allowed in document["error"]["message"]


def test_health_is_read_from_each_regions_own_host_and_hosts_name_their_region(example_config):
    """The REST API's default endpoint is disabled: `dr` probes `<region>.<domain>/health`
    (templates/api.py health_host), and reads a region from either host form."""
    from toolkit import resource_names as dr_names

    assert dr_names.health_url(example_config, "us-west-2") == \
        f"https://us-west-2.{example_config.domain.name}/health"
    assert dr_names.region_of_host("us-west-2.api.example.com") == "us-west-2"
    assert dr_names.region_of_host("d-1.execute-api.eu-west-1.amazonaws.com") == "eu-west-1"
    assert dr_names.region_of_host("api.example.com") == ""


# --- the kernel's rule for a repeated step, on the runbook's side -------------------------------
def test_a_dns_update_whose_effect_shows_late_is_waited_for_not_repeated(cloud, example_config):
    """CloudFormation may show the old parameters for a while after UpdateStack."""
    cloud.writer = RECOVERY
    real_update, hidden = cloud.cloudformation_update_stack, {"reads": 0}

    def update_seen_late(region, **arguments):
        hidden["reads"] = 2
        hidden["apply"] = lambda: real_update(region, **arguments)
        return {"StackId": "stack"}

    real_describe = cloud.cloudformation_describe_stacks

    def describe(region, StackName):
        if hidden.get("apply") and hidden["reads"] == 0:
            hidden.pop("apply")()
        hidden["reads"] = max(0, hidden["reads"] - 1)
        return real_describe(region, StackName)

    cloud.cloudformation_update_stack, cloud.cloudformation_describe_stacks = \
        update_seen_late, describe
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "done", result.message
    assert [w[2] for w in cloud.writes()] == ["update_stack"] and cloud.preferred == RECOVERY
    assert "waiting for prefer-dns to show its effect" in [e.summary for e in timeline.entries]


def test_a_dns_update_whose_effect_never_shows_stops_naming_it(cloud, example_config):
    """Before the kernel, the runbook fired the same update again after six polls."""
    cloud.writer = RECOVERY
    cloud.cloudformation_update_stack = lambda region, **arguments: {"StackId": "stack"}
    result, timeline, _ = run(cloud, example_config,
                              functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "stuck"
    assert result.message.startswith("prefer-dns: ran but the world does not show its effect")
    assert [w[2] for w in cloud.writes()] == ["update_stack"]  # never twice in a row
    assert timeline.entries[-1].step == "stuck"


# --- failover needs positive evidence that the other region is lost ----------------------------
REGION_PAIRS = [(HOME, RECOVERY), (RECOVERY, HOME)]  # (home, recovery): us-east-1 either side


def environment(example_config, home, recovery):
    import dataclasses
    return dataclasses.replace(example_config, home_region=home, recovery_region=recovery,
                               region_overrides={})


def failover_cases():
    """Every (home, recovery, lost) combination: home lost or surviving, us-east-1 lost or
    surviving (when it is lost, Route 53's control plane is not asked)."""
    return [(home, recovery, lost) for home, recovery in REGION_PAIRS for lost in (home, recovery)]


def failover_run(config, cloud, lost, **options):
    to = config.recovery_region if lost == config.home_region else config.home_region
    cloud.writer = cloud.preferred = lost
    a = AwsAdapter(FakeAws(cloud), config, failed=lost, get=cloud.health)
    result = loop.run(a, functools.partial(runbook.failover, to=to, **options),
                      Timeline.open("failover", None, a.now), poll=10)
    assert lost not in cloud.regions_called()  # no AWS API in the lost region, ever
    return result, to


@pytest.mark.parametrize("home, recovery, lost", failover_cases())
def test_failover_is_refused_while_the_lost_regions_own_health_host_answers(
        example_config, home, recovery, lost):
    """The region is up: its /health answers 200 from here, whatever Route 53 says or whether
    it was asked (it is not when the lost region is us-east-1)."""
    config = environment(example_config, home, recovery)
    cloud = Cloud(home, recovery)
    cloud.route53[lost] = False  # even a failing Route 53 check is not enough against a 200
    result, _ = failover_run(config, cloud, lost)
    assert result.outcome == "refused", result.message
    assert any(f"GET https://{lost}.api.example.com/health answers 200 from here" in r
               for r in result.reasons), result.reasons
    assert cloud.writes() == []


@pytest.mark.parametrize("home, recovery, lost", failover_cases())
def test_failover_is_refused_while_route53_sees_the_lost_region_healthy(
        example_config, home, recovery, lost):
    config = environment(example_config, home, recovery)
    cloud = Cloud(home, recovery)
    cloud.down.add(lost)  # unreachable from here...
    result, to = failover_run(config, cloud, lost)
    if lost == "us-east-1":  # ...Route 53 not asked: its control plane is in the lost region
        assert result.outcome == "done" and cloud.writer == to
        return
    assert result.outcome == "refused"  # ...but Route 53's checkers reach it
    assert any(f"Route 53 reports {lost} healthy" in r for r in result.reasons)
    assert cloud.writes() == []


@pytest.mark.parametrize("home, recovery, lost", failover_cases())
def test_failover_runs_on_evidence_that_the_region_is_lost(example_config, home, recovery,
                                                           lost):
    config = environment(example_config, home, recovery)
    cloud = Cloud(home, recovery)
    cloud.down.add(lost)
    cloud.route53[lost] = False
    result, to = failover_run(config, cloud, lost)
    assert result.outcome == "done" and cloud.writer == to
    assert cloud.writes() == [("rds", to, "failover_global_cluster")]


@pytest.mark.parametrize("home, recovery, lost", failover_cases())
def test_a_forced_failover_needs_the_lost_region_typed(example_config, home, recovery, lost):
    config = environment(example_config, home, recovery)
    to = recovery if lost == home else home
    cloud = Cloud(home, recovery)  # both up: only --force can fail over now
    wrong, _ = failover_run(config, cloud, lost, confirm_data_loss=to)
    assert wrong.outcome == "refused" and cloud.writes() == []
    assert any(f"--confirm-data-loss {to}: the region whose unreplicated writes would be lost "
               f"is {lost}" in r for r in wrong.reasons), wrong.reasons
    forced, _ = failover_run(config, Cloud(home, recovery), lost, confirm_data_loss=lost)
    assert forced.outcome == "done"


def test_failover_without_any_evidence_is_refused(example_config):
    """Nothing could be read about the lost region (no health host answered either way and
    Route 53 not asked): no data-losing move on a guess."""
    from runbook.state import DrState, Member

    state = DrState(home=HOME, recovery=RECOVERY, global_cluster="g",
                    members=(Member(HOME, "a", True), Member(RECOVERY, "b", False)),
                    healthy={RECOVERY: True}, writable={RECOVERY: True})
    decision = runbook.failover(state, RECOVERY)
    assert isinstance(decision, kernel.Refuse)
    assert decision.reasons == (
        f"no evidence that {HOME} is lost: its /health was not read and Route 53 was not "
        f"asked; if it is lost, run with --force --confirm-data-loss {HOME}",)


@pytest.mark.parametrize("flags, message", [
    (["--force"], "--force needs --confirm-data-loss us-east-1"),
    (["--force", "--confirm-data-loss", "us-west-2"],
     "--confirm-data-loss 'us-west-2': type the lost region, us-east-1"),
    (["--confirm-data-loss", "us-east-1"], "--confirm-data-loss is only read with --force"),
])
def test_cli_force_needs_the_typed_confirmation(patched_cli, build_dir, capsys, flags, message):
    code, document = cli(["failover", "--to", RECOVERY, *flags], build_dir, capsys)
    assert code == exit_codes.USAGE and message in document["error"]["message"]
    assert patched_cli.writes() == []


# --- the DNS step is deploy's global-phase call with the preference moved -----------------------
@pytest.mark.parametrize("drills", ["true", "false"])
def test_the_dns_step_sends_what_deploy_sends_with_that_preference(example_config, bundle,
                                                                   drills):
    """With EnableDrills=true the global template has a named IAM role (RegionSwitchRole), which
    needs CAPABILITY_NAMED_IAM; deploy passes it, so the DNS step must too. The whole call is
    deploy's (template source, capabilities, every parameter): one implementation."""
    import dataclasses

    config = dataclasses.replace(example_config, parameters={
        **example_config.parameters, "EnableDrills": drills})
    wanted = desired(config, bundle)
    cloud = deployed(Cloud(HOME, RECOVERY), config, wanted)
    before = {role: cloud.deployed["outputs"][region]
              for role, region in (("home", HOME), ("recovery", RECOVERY))}
    result, _, _ = run(cloud, config, functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "done", result.message
    (call,) = [c[3] for c in cloud.calls if c[2] == "update_stack"]
    assert call["Capabilities"] == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
    expected = plan.global_stack_args(
        config, wanted, plan.swap_preference(plan.global_parameters(config, wanted, before)),
        False, "2026-01-02 00:00:00")
    assert call == expected
    # by the artifact bucket, as deploy sends it: never inline (51,200 bytes at most)
    assert "TemplateBody" not in call and call["TemplateURL"] == wanted.global_source["TemplateURL"]


def test_a_switchover_is_refused_when_its_dns_step_would_also_deploy_other_changes(cloud):
    """The DNS step is deploy's call: if the deployed global stack is not what this build and
    config make it, that call would also roll those changes out, in an incident."""
    config = cloud.deployed["config"]
    cloud.deployed["template"] = {**cloud.deployed["template"], "Description": "an older build"}
    result, _, _ = run(cloud, config, functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "refused" and cloud.writes() == []
    assert any("the global stack is not what this build and config make it (global: "
               "update_stack payments-example-global (template))" in r for r in result.reasons)


def test_cli_local_lose_needs_local(patched_cli, build_dir, capsys):
    code, document = cli(["status", "--local-lose", HOME], build_dir, capsys)
    assert code == exit_codes.USAGE and "--local-lose marks a region lost in the rehearsal: " \
        "it needs --local" in document["error"]["message"]


def test_a_resumed_switchover_does_not_deploy_other_changes_with_its_dns_step(cloud):
    """The writer moved already (an interrupted run): no preflight is left to refuse, so the
    DNS step itself stops."""
    config = cloud.deployed["config"]
    cloud.writer = RECOVERY
    cloud.deployed["template"] = {**cloud.deployed["template"], "Description": "an older build"}
    result, _, _ = run(cloud, config, functools.partial(runbook.switchover, to=RECOVERY))
    assert result.outcome == "blocked" and cloud.writes() == []
    assert "run deploy (it keeps the preference), then this again" in result.message


# --- the lag limit ------------------------------------------------------------------------------
def _lagging(lag_ms: float):
    from runbook.state import DrState, Member

    return DrState(home=HOME, recovery=RECOVERY, global_cluster="g",
                   members=(Member(HOME, "a", True), Member(RECOVERY, "b", False, "connected")),
                   replication_lag_ms=lag_ms, healthy={HOME: True, RECOVERY: True},
                   writable={HOME: True, RECOVERY: True}, secret_replica="InSync",
                   table_replicas={HOME: "ACTIVE", RECOVERY: "ACTIVE"}, dns_preferred=HOME,
                   global_stack_pending="")


def test_nan_is_not_a_lag_limit():
    """Every comparison with NaN is false: `lag > nan` let any lag through. The CLI refuses
    NaN too (tests/payments_dr/test_cli_inputs.py); the rule itself fails safe."""
    import math

    assert runbook.preflight(_lagging(600_000.0), RECOVERY, math.nan) != []
    assert runbook.problems(_lagging(600_000.0), math.nan) != []
    assert runbook.preflight(_lagging(10.0), RECOVERY, 1000.0) == []
    assert runbook.problems(_lagging(10.0), 1000.0) == []
    import dataclasses

    from runbook.state import Member

    away = dataclasses.replace(_lagging(10.0), members=(
        Member(HOME, "a", False, "connected"), Member(RECOVERY, "b", True)))
    assert isinstance(runbook.failback(away, math.nan), kernel.Wait)  # never "caught up"
    assert isinstance(runbook.failback(away, 1000.0), kernel.Step)
