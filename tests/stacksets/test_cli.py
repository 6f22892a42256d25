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
