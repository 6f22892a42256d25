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

from rehearsal.account import journal

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

    code, report, err = cli(build_dir, state, "status")
    assert code == 0, err[-2000:]
    assert "writer in us-east-1, home us-east-1" in err

    code, report, err = cli(build_dir, state, "deploy")
    assert (code, report["result"]) == (0, "no changes"), err[-2000:]


def test_a_journal_that_cannot_be_replayed_is_refused_with_the_way_out(build_dir, tmp_path):
    state = tmp_path / "broken.jsonl"
    state.write_text('{"service": "cloudformation", "region": "us-east-1", '
                     '"operation": "UpdateStackSet", "params": {"StackSetName": "nope"}}\n')
    code, report, err = cli(build_dir, state, "status")
    assert code == 2
    assert f"{state}:1: the rehearsal state cannot be replayed" in err
    assert f"delete {state} to start from an empty account" in err
