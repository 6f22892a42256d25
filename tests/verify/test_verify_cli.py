"""`payments-dr verify` through the one console command and its error path: the JSON document,
the account check, bad input before any AWS call, and Ctrl-C in the middle of a test payment
(the key is revoked before the command exits 130)."""

from __future__ import annotations

import json

import pytest

import toolkit.aws
from payments_dr import cli
from tests.runbook.fakes import FakeAws
from tests.verify.conftest import World
from toolkit.exit_codes import ATTENTION, INTERRUPTED, OK, USAGE
from verify import network


@pytest.fixture
def verify_cli(world: World, build_dir, monkeypatch, capsys):
    monkeypatch.setattr(toolkit.aws, "Aws", lambda session=None, **_: FakeAws(world.cloud))

    def run(*extra: str) -> tuple[int, dict, str]:
        status = cli.main(["verify", "--config", world.config.path, "--build-dir",
                           str(build_dir), "--output", "json", *extra])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return status, json.loads(captured.out), captured.err
    return run


def test_the_json_document_through_the_cli(world: World, verify_cli) -> None:
    status, document, err = verify_cli()
    assert status == OK
    assert {"command", "environment", "local", "result", "checks", "counts", "test_key",
            "seconds"} <= set(document)
    assert (document["command"], document["local"], document["result"]) == \
        ("verify", False, "passed")
    assert len(document["checks"]) == 25
    assert "PASS      test-payment" in err  # the lines go to stderr with --output json
    assert ("sts", world.config.administration_region, "get_caller_identity") in \
        [c[:3] for c in world.cloud.calls]


def test_ctrl_c_during_a_test_payment_revokes_the_key_then_exits_130(
        world: World, verify_cli, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(network, "post_json", interrupted)
    status, document, err = verify_cli()
    assert status == INTERRUPTED and document["result"] == "interrupted"
    records = [r for items in world.cloud.key_records().values() for r in items]
    assert records and {r["key_status"]["S"] for r in records} == {"revoked"}
    assert document["test_key"]["revoked"] == "revoked"
    assert "revoked" in err and "sk_example_" not in err + json.dumps(document)


def test_a_lost_region_that_is_not_the_environments_is_bad_input(world, verify_cli) -> None:
    status, document, _ = verify_cli("--lost", "eu-west-1")
    assert status == USAGE and document["result"] == "error"
    assert "--lost 'eu-west-1': allowed are this environment's regions" in \
        document["error"]["message"]
    assert world.cloud.calls == []


def test_with_the_administration_region_lost_the_account_is_checked_elsewhere(
        world: World, verify_cli) -> None:
    lost = world.config.administration_region
    world.cloud.down.add(lost)
    status, document, _ = verify_cli("--lost", lost)
    assert (status, document["result"]) == (ATTENTION, "attention")
    assert lost not in world.cloud.regions_called()
    assert "fail" not in {c["result"] for c in document["checks"]}
