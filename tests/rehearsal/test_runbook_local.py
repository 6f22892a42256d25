"""The DR runbook rehearsed against the account `deploy --local` left: each command as the CLI
runs it (its own fresh moto, the journal replayed, its changing calls recorded), so the writer
and DNS moves of one command are what the next one finds. The stand-ins (/health model, lag,
lost region) are in rehearsal/account/runbook_model.py."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest

from payments_dr import cli
from tests.conftest import EXAMPLE

HOME, RECOVERY = "us-east-1", "us-west-2"


def command(build_dir, state, *argv):
    out = io.StringIO()
    dr = argv[0] == "dr"
    arguments = [*argv, "--config", str(EXAMPLE), "--local", "--build-dir", str(build_dir),
                 "--local-state", str(state), "--output", "json"]
    if dr and argv[1] != "status":
        arguments += ["--poll", "0.01", "--timeline", str(state.with_name(f"{argv[1]}.json"))]
    with contextlib.redirect_stdout(out):
        code = cli.main(arguments)
    return code, json.loads(out.getvalue())


def moved(document):
    state = document["state"] if "state" in document else document["runbook"]["state"]
    return state["writer"], state["dns_preferred"]


@pytest.fixture(scope="module")
def deployed(build_dir, tmp_path_factory):
    """The journal of one `deploy --local`: each test starts from a copy of that account."""
    state = tmp_path_factory.mktemp("deployed") / "example.jsonl"
    code, document = command(build_dir, state, "deploy")
    assert code == 0, document
    return state


@pytest.fixture
def run(build_dir, deployed, tmp_path):
    state = tmp_path / "example.jsonl"
    shutil.copy(deployed, state)
    return lambda *argv: command(build_dir, state, *argv)


def test_the_runbook_both_ways_then_a_failover_with_home_lost(run):
    code, document = run("dr", "status")
    assert (code, document["result"]) == (0, "healthy"), document["problems"]
    assert moved(document) == (HOME, HOME)
    assert any("stand-in 0 ms" in c for c in document["state"]["caveats"])

    code, document = run("dr", "switchover", "--to", RECOVERY)
    assert (code, document["result"]) == (0, "done"), document
    assert [e["step"] for e in document["timeline"]] == ["switchover", "prefer-dns", "done"]

    code, document = run("dr", "status")  # another invocation: the moves were journaled
    assert code == 0 and moved(document) == (RECOVERY, RECOVERY)
    code, document = run("status")  # the rollout's view agrees: PRIMARY is recovery's now
    assert code == 0 and document["health_checks"][RECOVERY]["record"] == "PRIMARY"
    assert document["aurora_writer"] == RECOVERY

    code, document = run("dr", "failback")
    assert (code, document["result"]) == (0, "done") and moved(document) == (HOME, HOME)

    # home is up: a data-losing failover is refused, with the evidence
    code, document = run("dr", "failover", "--to", RECOVERY)
    assert (code, document["result"]) == (1, "refused")
    assert "answers 200 from here" in document["runbook"]["reasons"][0]

    # home lost: every AWS call in us-east-1 fails, so a runbook touching it would fail
    code, document = run("dr", "failover", "--to", RECOVERY, "--local-lose", HOME)
    assert (code, document["result"]) == (0, "done"), document
    observed = document["runbook"]["state"]
    assert observed["observed_regions"] == [RECOVERY] and observed["writer"] == RECOVERY
    assert observed["healthy"] == {HOME: False, RECOVERY: True}

    # home back (rejoined as a secondary): DNS serves home, the writer is in recovery
    code, document = run("dr", "failback")
    assert (code, document["result"]) == (0, "done") and moved(document) == (HOME, HOME)


def test_a_failover_to_home_with_the_recovery_region_lost(run):
    """The other direction: us-east-1 survives, so Route 53 is asked, and its check of the lost
    region follows the model (failing)."""
    assert run("dr", "switchover", "--to", RECOVERY)[0] == 0
    code, document = run("dr", "failover", "--to", HOME, "--local-lose", RECOVERY)
    assert (code, document["result"]) == (0, "done"), document
    observed = document["runbook"]["state"]
    assert observed["health_checks"] == {RECOVERY: False, HOME: True}
    assert RECOVERY not in observed["observed_regions"] and observed["writer"] == HOME
