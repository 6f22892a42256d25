"""Command-line input refused as bad input (exit 2) before the work it would cost: the
production-name check before the build, a --profile the AWS config does not have, paths that
are not regular files, arguments too large to echo, numbers that are not numbers, and
argparse's own errors in the one JSON shape."""

from __future__ import annotations

import json

import pytest

from payments_dr import cli
from tests.conftest import EXAMPLE, edited_example


def test_a_production_name_with_production_false_is_refused_before_the_build(
        capsys, monkeypatch, tmp_path):
    """docs/rollout.md: refused before the build (the check ran after it, in validate())."""
    from toolkit import bundle as bundle_module

    def never_build(*args, **kwargs):
        raise AssertionError("the build ran")

    monkeypatch.setattr(bundle_module, "build_in_memory", never_build)
    path = edited_example(tmp_path, "environment: example", "environment: prod")
    status = cli.main(["plan", "--config", str(path), "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 2 and "names a production environment" in document["error"]["message"]


def test_an_unknown_profile_is_invalid_input(capsys, build_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    (tmp_path / "config").write_text("[profile prod]\nregion = us-east-1\n")
    code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                     "--profile", "prdo", "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2, document["error"]
    assert document["error"]["message"].startswith("--profile 'prdo': no such profile")
    assert document["error"]["message"].endswith("profiles there: prod")
    monkeypatch.setenv("AWS_PROFILE", "prdo")  # the same mistake in the environment
    code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                     "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2 and document["error"]["message"].startswith("AWS_PROFILE 'prdo'")


def test_a_known_profile_is_used(capsys, build_dir, monkeypatch, tmp_path):
    """The other direction: a profile the config has passes on to STS."""
    from toolkit.aws import Aws

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    (tmp_path / "config").write_text("[profile prod]\nregion = us-east-1\n")
    asked = []
    monkeypatch.setattr(Aws, "identity", lambda self, region: asked.append(
        self.session.profile_name) or {"account": "999999999999", "partition": "aws"})
    code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                     "--profile", "prod"])
    assert code == 1 and asked == ["prod"]  # refused by account, after the profile was used


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_config_that_is_not_a_regular_file_says_what_it_is(capsys, tmp_path, kind):
    import os

    path = tmp_path / "env.yaml"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    code = cli.main(["plan", "--config", str(path), "--output", "json"])
    message = json.loads(capsys.readouterr().out)["error"]["message"]
    assert code == 2 and ("is a directory" if kind == "directory" else "is a named pipe") in \
        message and "no such file" not in message


def test_a_huge_argument_is_not_echoed_in_full(capsys, tmp_path):
    huge = "x" * 100_000
    for argv in (["plan", "--config", str(tmp_path / huge[:200]) + huge],
                 ["plan", "--config", "x.yaml", "--output", huge],
                 ["dr", "status", "--config", str(EXAMPLE), "--lost", huge]):
        code = cli.main([*argv, "--output", "json"] if "--output" not in argv else argv)
        captured = capsys.readouterr()
        assert code == 2
        assert len(captured.err) < 2000, (argv[:3], len(captured.err))


@pytest.mark.parametrize("argv", [["plan", "--output", "json"],
                                  ["plan", "--output", "json", "--config", "x.yaml",
                                   "--timeout", "abc"]])
def test_a_command_line_error_with_output_json_is_a_json_document(capsys, argv):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 2
    document = json.loads(captured.out)
    assert document["result"] == "error" and set(document["error"]) == {"message", "details"}
    assert document["error"]["details"][0].startswith("usage: payments-dr plan")
    assert captured.err.startswith("ERROR: payments-dr plan: ")  # text: the same, one line each


@pytest.mark.parametrize("argv, option", [
    (["dr", "status", "--max-lag-ms", "nan"], "--max-lag-ms"),
    (["dr", "switchover", "--to", "us-west-2", "--max-lag-ms", "-1"], "--max-lag-ms"),
    (["dr", "failback", "--timeout", "nan"], "--timeout"),
    (["dr", "failback", "--timeout", "0"], "--timeout"),
    (["dr", "failback", "--poll", "-1"], "--poll"),
    (["dr", "failback", "--poll", "inf"], "--poll"),
    (["deploy", "--timeout", "nan"], "--timeout"),
    (["destroy", "--timeout", "-5"], "--timeout"),
])
def test_a_number_option_that_is_not_a_finite_number_in_range_is_refused(capsys, argv, option):
    code = cli.main([*argv, "--config", str(EXAMPLE), "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2 and document["result"] == "error"
    assert f"argument {option}: got " in document["error"]["message"]


@pytest.mark.parametrize("text, value", [("0", 0.0), ("250", 250.0), ("1.5", 1.5)])
def test_a_finite_number_in_range_is_taken(text, value):
    args = cli.parser().parse_args(["dr", "status", "--config", str(EXAMPLE),
                                    "--max-lag-ms", text])
    assert args.max_lag_ms == value


@pytest.mark.parametrize("manifest, says", [
    ("not json", "cannot be read as JSON"), ("[]", "has no `artifacts` mapping"),
    ('{"artifacts": {"../../etc/passwd": {"sha256": "0"}}}', "outside the build directory"),
    ('{"artifacts": {"regional.json": {"sha256": "0"}}}', "cannot be read"),
])
def test_a_broken_build_directory_is_bad_input(capsys, tmp_path, manifest, says):
    (tmp_path / "manifest.json").write_text(manifest)
    code = cli.main(["plan", "--config", str(EXAMPLE), "--build-dir", str(tmp_path),
                     "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2 and says in document["error"]["message"], document["error"]
