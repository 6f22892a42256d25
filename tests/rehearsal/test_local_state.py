"""Issue 10, item 9: resume is rehearsable from the command line. `--local` keeps the account
between invocations (a journal of the calls that changed something, replayed into a fresh moto
with the same ids), so deploy, Ctrl-C, deploy and status behave as they would against AWS.
Each command runs as its own process, exactly as typed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rehearsal.account import journal
from tests.conftest import EXAMPLE as EXAMPLE_PATH

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "stacksets/environments/example.yaml"


def cli(build_dir: Path, state: Path, *arguments: str, **env: str):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "stacksets", *arguments, "--config", EXAMPLE, "--local",
         "--build-dir", str(build_dir), "--local-state", str(state), "--output", "json"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=240, check=False)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {}), done.stderr


def test_deploy_interrupted_then_resumed_then_status_and_a_no_op(build_dir, tmp_path):
    state = tmp_path / "example.jsonl"
    code, report, err = cli(build_dir, state, "deploy",
                            **{journal.INTERRUPT_AFTER: "UpdateStackInstances"})
    assert code == 130, err[-2000:]
    assert "keeps running in AWS CloudFormation; re-running deploy resumes it" in err
    assert state.exists()

    code, report, err = cli(build_dir, state, "deploy")
    assert code == 0, err[-2000:]
    phases = [p["phase"] for p in report["phases"]]
    assert phases == ["peer-routes", "global"], phases  # foundation and join are not repeated
    assert "recorded call(s) replayed" in err

    journaled = state.read_text()
    code, report, err = cli(build_dir, state, "status")
    assert code == 0, err[-2000:]
    assert "writer in us-east-1, home us-east-1" in err

    code, report, err = cli(build_dir, state, "deploy")
    assert (code, report["result"]) == (0, "no changes"), err[-2000:]
    # Neither the status nor the no-op deploy wrote anything (the artifact buckets' settings
    # are read, not put again): the journal is as the resumed deploy left it.
    assert state.read_text() == journaled


def test_a_journal_that_cannot_be_replayed_is_refused_with_the_way_out(build_dir, tmp_path):
    state = tmp_path / "broken.jsonl"
    state.write_text('{"service": "cloudformation", "region": "us-east-1", '
                     '"operation": "UpdateStackSet", "params": {"StackSetName": "nope"}}\n')
    code, report, err = cli(build_dir, state, "status")
    assert code == 2
    assert f"{state}:1: the rehearsal state cannot be replayed" in err
    assert f"delete {state} to start from an empty account" in err


# --- where the rehearsed account lives, and who writes it ------------------------------------
def test_plan_local_writes_nothing_into_the_working_directory(capsys, monkeypatch, tmp_path):
    """The README tour's first command: it writes nothing, anywhere by default (the journal
    lives in the user's state directory, and a plan records nothing)."""
    from payments_dr import cli

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("STACKSETS_REHEARSAL_STATE_DIR", raising=False)
    status = cli.main(["plan", "--config", str(EXAMPLE_PATH), "--local"])
    assert status == 0, capsys.readouterr().err[-2000:]
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == []
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("argv", [["status"], ["dr", "status"], ["keys", "list"], ["plan"]])
def test_a_command_that_only_reads_records_nothing(build_dir, tmp_path, capsys, argv):
    """After a deploy, read-only commands replay the journal and leave it as it was (Scan and
    Query are reads too: `keys list` grew it)."""
    from payments_dr import cli

    state = tmp_path / "example.jsonl"
    local = ["--config", str(EXAMPLE_PATH), "--build-dir", str(build_dir), "--local",
             "--local-state", str(state)]
    assert cli.main(["deploy", *local]) == 0
    before = state.read_bytes()
    assert cli.main([*argv, *local]) in (0, 4), capsys.readouterr().err[-2000:]
    assert state.read_bytes() == before
    assert "this command only reads: it records nothing" in capsys.readouterr().out


def test_the_default_journal_is_in_the_user_state_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(journal.STATE_DIR, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert journal.default_path("example") == \
        tmp_path / "state" / "payments-dr" / "rehearsal" / "example.jsonl"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # invalid: ignored (XDG spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert journal.default_path("example") == \
        tmp_path / "home" / ".local" / "state" / "payments-dr" / "rehearsal" / "example.jsonl"
    monkeypatch.setenv(journal.STATE_DIR, str(tmp_path / "elsewhere"))
    assert journal.default_path("example") == tmp_path / "elsewhere" / "example.jsonl"


def test_a_fifo_as_local_state_is_refused_not_waited_on(tmp_path, build_dir, capsys):
    import threading

    from payments_dr import cli

    fifo = tmp_path / "journal.jsonl"
    os.mkfifo(fifo)
    codes = []
    command = threading.Thread(target=lambda: codes.append(cli.main(
        ["status", "--config", str(EXAMPLE_PATH), "--local", "--build-dir", str(build_dir),
         "--local-state", str(fifo)])), daemon=True)
    command.start()
    command.join(5)
    blocked = command.is_alive()
    if blocked:  # release the reader with an EOF; its next open of the path makes a file
        writer = open(fifo, "w")
        os.unlink(fifo)
        writer.close()
        command.join(60)
    assert not blocked, "status --local --local-state <FIFO> still blocked after 5 s"
    assert codes == [2]


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_a_local_state_that_is_not_a_regular_file_is_refused(tmp_path, build_dir, capsys,
                                                            kind):
    from payments_dr import cli

    path = tmp_path if kind == "directory" else Path("/dev/zero")
    code = cli.main(["status", "--config", str(EXAMPLE_PATH), "--local", "--build-dir",
                     str(build_dir), "--local-state", str(path), "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 2 and "not a regular file" in document["error"]["message"]
