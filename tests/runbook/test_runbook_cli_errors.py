"""A runbook through the CLI's one error path: a refused or unfinished runbook has the one
error shape (`result` refused or failed, `error {message, details}`, the kernel's outcome in
`runbook.outcome`); a Ctrl-C right after a runbook's (or a teardown's) call names it."""

from __future__ import annotations

import json

from payments_dr import cli
from tests.conftest import EXAMPLE
from tests.runbook.test_runbook import cloud, patched_cli, wanted  # noqa: F401 (fixtures)

IDENTITY = {"account": "123456789012", "partition": "aws"}


def test_a_refused_runbook_has_the_one_error_shape(capsys, build_dir, monkeypatch, tmp_path):
    import toolkit.aws
    from runbook import commands as dr_cli
    from tests.runbook.fakes import Cloud, FakeAws
    from toolkit import config as config_module
    from stacksets.context import desired
    from toolkit.bundle import load

    config = config_module.load(EXAMPLE, load(build_dir).regional.parameters)
    cloud = Cloud(config.home_region, config.recovery_region)
    cloud.deploy(config, desired(config, load(build_dir)))

    def fake_aws(session=None):
        aws = FakeAws(cloud)
        aws.identity = lambda region: IDENTITY
        return aws

    monkeypatch.setattr(toolkit.aws, "Aws", fake_aws)
    monkeypatch.setattr(toolkit.aws, "new_session", lambda profile=None: None)
    original = dr_cli.AwsAdapter
    monkeypatch.setattr(dr_cli, "AwsAdapter", lambda aws, cfg, **options: original(
        aws, cfg, **{**options, "get": cloud.health}))
    code = cli.main(["dr", "failover", "--to", config.recovery_region, "--config",
                     str(EXAMPLE), "--build-dir", str(build_dir), "--output", "json",
                     "--timeline", str(tmp_path / "timeline.json")])
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["result"] == "refused"
    assert set(document.get("error", {})) == {"message", "details"}, sorted(document)
    assert document["error"]["details"] == document["runbook"]["reasons"] != []
    assert document["runbook"]["outcome"] == "refused"


def test_a_runbook_out_of_time_fails_in_the_one_error_shape(patched_cli, build_dir, capsys,
                                                           tmp_path):
    """The kernel's outcome (timeout) stays in runbook.outcome; `result` is one of the
    documented values."""
    patched_cli.writer = "us-west-2"
    patched_cli.api_up["us-west-2"] = False  # the new writer's /health never says writable
    code = cli.main(["dr", "switchover", "--to", "us-west-2", "--config", str(EXAMPLE),
                     "--build-dir", str(build_dir), "--output", "json", "--timeout", "30",
                     "--poll", "10", "--timeline", str(tmp_path / "timeline.json")])
    document = json.loads(capsys.readouterr().out)
    assert (code, document["result"], document["runbook"]["outcome"]) == (1, "failed", "timeout")
    assert document["error"]["message"].startswith("timed out after 30s; next: ")
    assert "re-running resumes" in document["error"]["message"]


def test_a_ctrl_c_after_the_failover_call_says_it_was_made(capsys, build_dir, monkeypatch,
                                                          tmp_path):
    import toolkit.aws
    from runbook import commands as dr_cli
    from runbook.aws_adapter import AwsAdapter
    from tests.runbook.fakes import Cloud, FakeAws
    from toolkit import config as config_module
    from stacksets.context import desired
    from toolkit.bundle import load

    config = config_module.load(EXAMPLE, load(build_dir).regional.parameters)
    cloud = Cloud(config.home_region, config.recovery_region)
    cloud.deploy(config, desired(config, load(build_dir)))
    cloud.down.add(config.home_region)
    cloud.route53[config.home_region] = False

    def fake_aws(session=None):
        aws = FakeAws(cloud)
        aws.identity = lambda region: IDENTITY
        return aws

    def failover_then_ctrl_c(self, step):
        original_failover(self, step)
        raise KeyboardInterrupt

    original_failover = AwsAdapter.failover_global_cluster
    monkeypatch.setattr(AwsAdapter, "failover_global_cluster", failover_then_ctrl_c)
    monkeypatch.setattr(toolkit.aws, "Aws", fake_aws)
    monkeypatch.setattr(toolkit.aws, "new_session", lambda profile=None: None)
    monkeypatch.setattr(dr_cli, "AwsAdapter", lambda aws, cfg, **options: AwsAdapter(
        aws, cfg, **{**options, "get": cloud.health}))
    code = cli.main(["dr", "failover", "--to", config.recovery_region, "--config",
                     str(EXAMPLE), "--build-dir", str(build_dir),
                     "--timeline", str(tmp_path / "timeline.json")])
    err = capsys.readouterr().err
    assert code == 130
    assert ("rds", config.recovery_region, "failover_global_cluster") in cloud.writes()
    assert "before any operation was started" not in err, err.splitlines()[-1]
    assert "ERROR: interrupted: FailoverGlobalCluster (AllowDataLoss) of " \
           "payments-example-global to us-west-2 keeps running in AWS RDS; re-running dr " \
           "failover resumes it" in err
