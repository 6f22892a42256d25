"""The command line as a person and a CI log see it: errors before any work, one JSON shape
for every error, no traceback (issue 10, items 1 and 8)."""

import json

import pytest
from botocore.exceptions import NoCredentialsError

from toolkit import bundle as bundle_module
from payments_dr import cli
from toolkit.aws import Aws
from tests.conftest import EXAMPLE


def run_json(capsys, *argv):
    status = cli.main([*argv, "--output", "json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, json.loads(captured.out), captured.err


def never_build(*args, **kwargs):
    raise AssertionError("the build ran")


def test_a_missing_config_is_reported_before_the_build(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(bundle_module, "build", never_build)
    status, document, err = run_json(capsys, "plan", "--config", str(tmp_path / "nope.yaml"))
    assert status == 2
    assert document["result"] == "error"
    assert document["error"] == {"message": f"--config {tmp_path / 'nope.yaml'}: no such file "
                                 "(the environments are in stacksets/environments/, e.g. "
                                 "example.yaml)", "details": []}


def test_a_production_teardown_is_refused_before_the_build(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(bundle_module, "build", never_build)
    production = tmp_path / "prod.yaml"
    production.write_text(EXAMPLE.read_text().replace("production: false", "production: true"))
    status, document, err = run_json(capsys, "destroy", "--config", str(production))
    assert status == 1 and document["result"] == "refused"
    assert "refusing to destroy without --confirm-production example" in \
        document["error"]["message"]


def test_an_invalid_config_has_the_same_error_shape(capsys, build_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("home: us-east-1", "primary: us-east-1"))
    status, document, err = run_json(capsys, "plan", "--config", str(bad), "--build-dir",
                                     str(build_dir))
    assert status == 2
    assert set(document["error"]) == {"message", "details"}
    assert "regions.primary: renamed to regions.home" in document["error"]["message"]


def test_no_credentials_says_how_to_provide_them(capsys, build_dir, monkeypatch):
    def no_credentials(self, region):
        raise NoCredentialsError()

    monkeypatch.setattr(Aws, "identity", no_credentials)
    status, document, err = run_json(capsys, "status", "--config", str(EXAMPLE), "--build-dir",
                                     str(build_dir))
    assert status == 1
    message = document["error"]["message"]
    assert message.startswith("no AWS credentials found: pass --profile NAME")
    assert "or rehearse without an account with --local" in message


@pytest.mark.parametrize("command", ["plan", "deploy", "status", "drift", "destroy"])
def test_another_account_is_refused_before_anything_else(capsys, build_dir, monkeypatch,
                                                         command):
    asked = []

    def identity(self, region):
        asked.append(region)
        return {"account": "999999999999", "partition": "aws"}

    monkeypatch.setattr(Aws, "identity", identity)
    monkeypatch.setattr(Aws, "client", lambda *a, **k: pytest.fail("an AWS call was made"))
    status, document, err = run_json(capsys, command, "--config", str(EXAMPLE), "--build-dir",
                                     str(build_dir))
    assert status == 1 and document["result"] == "failed"
    assert document["error"]["message"].startswith(
        "the credentials are for account 999999999999, but target.account is 123456789012")
    assert asked == ["us-east-1"]  # STS in the administration region (its partition)


def test_drift_local_says_plainly_that_it_is_not_available(capsys, build_dir):
    status, document, err = run_json(capsys, "drift", "--config", str(EXAMPLE), "--local",
                                     "--build-dir", str(build_dir))
    assert status == 1
    assert document["error"]["message"] == (
        "drift detection is not available in the local rehearsal (moto does not implement "
        "DetectStackSetDrift); run drift against AWS")


# --- one error path (issue 16, "One error path") -------------------------------------------
def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("stage, target", [
    ("imports", "payments_dr.cli.parser"),
    ("config", "toolkit.config.read"),
    ("build", "toolkit.bundle.build_in_memory"),
    ("journal replay", "rehearsal.account.resume"),
    ("teardown", "stacksets.commands.destroy.run"),
])
def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(capsys, monkeypatch, build_dir, stage,
                                                       target):
    monkeypatch.setattr(target, interrupt)
    argv = ["destroy" if stage == "teardown" else "plan", "--config", str(EXAMPLE), "--local",
            "--local-state", str(build_dir / "no-such-journal.jsonl")]
    if stage != "build":
        argv += ["--build-dir", str(build_dir)]
    status = cli.main([*argv, "--output", "json"])
    captured = capsys.readouterr()
    assert status == 130, stage
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("ERROR:")]
    assert errors == ["ERROR: interrupted before any operation was started; re-running starts "
                      "afresh"]
    document = json.loads(captured.out)
    assert document["result"] == "interrupted"
    assert set(document["error"]) == {"message", "details"}


def test_ctrl_c_names_the_operation_that_keeps_running(capsys, monkeypatch, build_dir):
    from stacksets.commands import deploy

    def interrupted_while_waiting(ctx, args):
        ctx.runner.current = "operation op-123 (join) on payments-example-regional"
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "run", interrupted_while_waiting)
    monkeypatch.setattr(Aws, "identity", lambda self, region: {"account": "123456789012",
                                                               "partition": "aws"})
    status = cli.main(["deploy", "--config", str(EXAMPLE), "--build-dir", str(build_dir)])
    err = capsys.readouterr().err
    assert status == 130
    assert "ERROR: interrupted: operation op-123 (join) on payments-example-regional keeps " \
           "running in AWS CloudFormation; re-running deploy resumes it" in err


@pytest.mark.parametrize("output", ["text", "json"])
def test_an_unexpected_exception_is_one_line_in_the_error_shape(capsys, monkeypatch, build_dir,
                                                                output):
    from stacksets.commands import status as status_command

    def broken(ctx, args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(status_command, "run", broken)
    monkeypatch.setattr(Aws, "identity", lambda self, region: {"account": "123456789012",
                                                               "partition": "aws"})
    code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                     "--output", output])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    (line,) = [line for line in captured.err.splitlines() if line.startswith("ERROR:")]
    assert line.startswith("ERROR: unexpected error: ZeroDivisionError: division by zero "
                           "(at test_cli.py:")
    if output == "json":
        document = json.loads(captured.out)
        assert document["result"] == "error"
        assert document["error"]["message"] == line.removeprefix("ERROR: ")


@pytest.mark.parametrize("content, before_build, expected", [
    ("environment: &e example\n", True, "anchors and aliases are not allowed"),
    ("environment: example\nenvironment: prod\n", True, "duplicate key 'environment'"),
    ("environment: prod\n", False, "production: false, but environment 'prod' names a "
                                   "production environment"),
])
def test_a_bad_config_file_exits_2_before_any_aws_call(capsys, monkeypatch, tmp_path,
                                                       build_dir, content, before_build,
                                                       expected):
    if before_build:
        monkeypatch.setattr(bundle_module, "load", never_build)
    monkeypatch.setattr(Aws, "client", lambda *a, **k: pytest.fail("an AWS call was made"))
    monkeypatch.setattr(Aws, "identity", lambda *a, **k: pytest.fail("an AWS call was made"))
    path = tmp_path / "env.yaml"
    path.write_text(EXAMPLE.read_text().replace("environment: example\n", content))
    status, document, err = run_json(capsys, "plan", "--config", str(path), "--build-dir",
                                     str(build_dir))
    assert status == 2 and document["result"] == "error"
    assert expected in document["error"]["message"]


def test_plan_writes_nothing_into_the_working_directory(capsys, monkeypatch, tmp_path):
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    state = tmp_path / "journal.jsonl"
    status = cli.main(["plan", "--config", str(EXAMPLE), "--local", "--local-state",
                       str(state)])
    assert status == 0, capsys.readouterr().err[-2000:]
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("command", ["plan", "deploy", "status", "drift", "destroy", "keys",
                                     "cost"])
def test_every_command_takes_profile_and_the_common_options(command):
    argv = [command, *(["list"] if command == "keys" else []), "--config", str(EXAMPLE),
            "--profile", "ops", "--output", "json", "--local"]
    args = cli.parser().parse_args(argv)
    assert (args.profile, args.output, args.local) == ("ops", "json", True)


def test_python_m_stacksets_runs_the_rollout_verbs_only():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "stacksets", "dr", "status"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2  # bad input, in the one error shape
    assert "ERROR: python -m stacksets runs plan, deploy, status, drift, destroy; dr is " \
           "`payments-dr dr ...`" in done.stderr


def test_the_exit_codes_are_one_table():
    assert [code for code, _ in cli.EXIT_CODES] == [0, 1, 2, 3, 4, 130]
    help_text = cli.parser().format_help()
    for code, meaning in cli.EXIT_CODES:
        assert f"{code} {meaning.split()[0]}" in " ".join(help_text.split())
