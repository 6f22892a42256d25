"""`payments-dr verify --local` against the account `deploy --local` left (the same journal, each
command its own in-process CLI call): what the rehearsal models runs and passes, the rest is
skipped as needing a real account (never passed), and the command exits 4."""

from __future__ import annotations

import contextlib
import io
import json

from payments_dr import cli
from tests.conftest import EXAMPLE
from toolkit.exit_codes import ATTENTION, OK

HOME, RECOVERY = "us-east-1", "us-west-2"
# What moto and the rehearsal's mirrors can answer.
MODELLED = {("dns-records", None), ("global-database", None), ("secret-replica", None),
            *((name, region) for name in ("functions", "table-replica", "bucket-replication")
              for region in (HOME, RECOVERY)),
            *(("alarms-configured", scope) for scope in (HOME, RECOVERY, "global"))}


def command(build_dir, state, *argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([*argv, "--config", str(EXAMPLE), "--local", "--build-dir",
                         str(build_dir), "--local-state", str(state), "--output", "json"])
    return code, json.loads(out.getvalue())


def test_verify_after_deploy_local(build_dir, tmp_path):
    state = tmp_path / "example.jsonl"
    code, _ = command(build_dir, state, "deploy")
    assert code == OK
    journal = state.read_bytes()

    code, document = command(build_dir, state, "verify")
    assert (code, document["result"], document["local"]) == (ATTENTION, "attention", True)
    results = {(c["name"], c["region"]): c for c in document["checks"]}
    ran = {key for key, c in results.items() if c["result"] != "skipped"}
    assert ran == MODELLED
    assert {results[key]["result"] for key in MODELLED} == {"pass"}, \
        [results[k]["detail"] for k in MODELLED if results[k]["result"] != "pass"]
    skipped = [c for key, c in results.items() if key not in MODELLED]
    assert skipped and all(c["detail"].startswith("needs a real account") for c in skipped)
    assert {c["name"] for c in skipped} == {
        "dns-answer", "health-host", "failover-name-tls", "database-certificate",
        "alarms-state", "replication-lag", "test-payment"}
    assert document["test_key"] is None  # no key is made when no payment can be sent
    assert state.read_bytes() == journal  # verify wrote nothing into the rehearsed account

    # after a rehearsed failover with home lost, nothing of home is read
    code, _ = command(build_dir, state, "dr", "failover", "--to", RECOVERY, "--local-lose", HOME,
                      "--poll", "0.01", "--timeline", str(tmp_path / "failover.json"))
    assert code == OK
    code, document = command(build_dir, state, "verify", "--lost", HOME)
    results = {(c["name"], c["region"]): c["result"] for c in document["checks"]}
    assert code == ATTENTION and "fail" not in results.values()
    assert results[("global-database", None)] == "attention"  # the writer is in recovery
    assert results[("functions", RECOVERY)] == "pass"
    assert {v for (_, region), v in results.items() if region == HOME} == {"skipped"}
