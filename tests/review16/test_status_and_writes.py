"""Review 16: `status` exit 0 without a global stack; what `plan --local` writes; a misspelled
--profile."""

from __future__ import annotations

import json

import pytest

from payments_dr import cli
from stacksets.plan import Stack
from tests.conftest import EXAMPLE
from tests.stacksets.test_status import deployed, run_status  # noqa: F401 (fixture)
from toolkit import exit_codes


@pytest.mark.xfail(strict=True, reason=(
    "review16 F14: plan --local (the README tour's first command, 'it writes nothing') creates "
    "./build/rehearsal/<env>.jsonl in the working directory and records CreateHostedZone in "
    "it; so do status/dr status/keys --local (journal.recording() mkdirs and appends); "
    "tests/payments_dr/test_cli.py only checks with --local-state outside the directory"))
def test_plan_local_writes_nothing_into_the_working_directory(capsys, monkeypatch, tmp_path):
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("STACKSETS_REHEARSAL_STATE_DIR", raising=False)
    status = cli.main(["plan", "--config", str(EXAMPLE), "--local"])
    assert status == 0, capsys.readouterr().err[-2000:]
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == []


@pytest.mark.xfail(strict=True, reason=(
    "review16 F15: a --profile that ~/.aws/config does not have (botocore ProfileNotFound, a "
    "BotoCoreError) exits 1 'AWS: ...' although it is invalid command-line input found before "
    "any AWS call (exit 2)"))
def test_an_unknown_profile_is_invalid_input(capsys, build_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                     "--profile", "prdo", "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2, document["error"]
