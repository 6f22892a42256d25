"""`status` on observed states (AWS reads replaced by their results): which health check is
which region's, what needs attention, the exit code."""

from __future__ import annotations

import dataclasses

import pytest

from templates import names

from stacksets import state
from stacksets.commands import status
from stacksets.context import Context
from stacksets.plan import Instance, Observed, Stack
from toolkit import exit_codes
from toolkit.aws import Aws
from tests.stubs import FakeClock, reporter

HOME, RECOVERY = "us-east-1", "us-west-2"
JOINED = {names.PEER_REGION_READY: "true"}


def global_stack(preferred: str) -> Stack:
    """The global stack as deploy (PRIMARY at home) or `dr switchover` (swapped) leaves it."""
    other = RECOVERY if preferred == HOME else HOME
    return Stack("UPDATE_COMPLETE", {}, {
        names.PRIMARY_HEALTH_HOST: f"{preferred}.api.example.com",
        names.SECONDARY_HEALTH_HOST: f"{other}.api.example.com",
        names.PRIMARY_API_TARGET: f"d-1.execute-api.{preferred}.amazonaws.com",
        names.SECONDARY_API_TARGET: f"d-2.execute-api.{other}.amazonaws.com"},
        outputs={names.OUT_PRIMARY_HEALTH_CHECK_ID: "hc-primary",
                 names.OUT_SECONDARY_HEALTH_CHECK_ID: "hc-secondary"})


def deployed(**changes) -> Observed:
    outputs = {names.OUT_BUCKET_NAME: "receipts", names.OUT_TABLE_NAME: "payments"}
    values = dict(stack_set=Stack("ACTIVE", {}, {}), last_operation="peer-routes-1",
                  instances={r: Instance(r, overrides=JOINED, outputs=outputs)
                             for r in (HOME, RECOVERY)},
                  global_stack=global_stack(HOME))
    return Observed(**{**values, **changes})


@pytest.fixture
def run_status(example_config, bundle, monkeypatch):
    def run(observed: Observed, checks=None, rules=None):
        monkeypatch.setattr(state, "observe", lambda aws, config: observed)
        monkeypatch.setattr(status, "writer", lambda ctx, outputs: HOME)
        monkeypatch.setattr(status, "table_replicas", lambda ctx, region, table: {
            HOME: "ACTIVE", RECOVERY: "ACTIVE"})
        found = rules or {HOME: {"to-peer-region": "Enabled"},
                          RECOVERY: {"to-peer-region": "Enabled"}}
        monkeypatch.setattr(status, "bucket_replication",
                            lambda ctx, region, bucket: found[region])
        healthy = checks or {"hc-primary": "3/3 checkers healthy",
                             "hc-secondary": "3/3 checkers healthy"}
        def health(ctx, check):
            text = healthy.get(check, "not deployed")
            return (text, not text.startswith("0/")) if "checkers" in text else text

        monkeypatch.setattr(status, "health", health)
        lines = []
        ctx = Context(example_config, bundle, Aws(clock=FakeClock()), reporter(lines))
        code = status.run(ctx, None)
        return code, lines, ctx.reporter.document
    return run


def test_a_healthy_deployment_exits_0(run_status):
    code, lines, document = run_status(deployed())
    assert code == exit_codes.OK and document["attention"] == []


@pytest.mark.parametrize("preferred", [HOME, RECOVERY])
def test_each_health_check_is_labelled_with_the_region_its_record_points_at(run_status,
                                                                            preferred):
    """After `dr switchover` PRIMARY points at the recovery region: its check is recovery's."""
    other = RECOVERY if preferred == HOME else HOME
    code, lines, document = run_status(
        deployed(global_stack=global_stack(preferred)),
        checks={"hc-primary": "3/3 checkers healthy", "hc-secondary": "0/3 checkers healthy"})
    assert document["health_checks"][preferred] == {
        "role": "home" if preferred == HOME else "recovery", "record": "PRIMARY",
        "state": "3/3 checkers healthy", "healthy": True}
    assert document["health_checks"][other]["state"] == "0/3 checkers healthy"
    role = "home" if other == HOME else "recovery"
    assert document["attention"] == [
        f"health check of {other} ({role}, SECONDARY record): 0/3 checkers healthy"]
    assert code == exit_codes.ATTENTION
    row = next(line for line in lines if line.startswith(f"{preferred} ("))
    assert "PRIMARY" in row and "3/3 checkers healthy" in row


def test_a_missing_replication_rule_after_the_join_needs_attention(run_status):
    code, lines, document = run_status(deployed(), rules={
        HOME: {"to-peer-region": "Enabled"}, RECOVERY: "no replication rule"})
    assert code == exit_codes.ATTENTION
    assert document["attention"] == [
        f"{RECOVERY}: no replication rule, but PeerRegionReady is true (run deploy)"]


def test_no_replication_rule_before_the_join_is_expected(run_status):
    foundation = {r: Instance(r, overrides={}, outputs={names.OUT_BUCKET_NAME: "b"})
                  for r in (HOME, RECOVERY)}
    code, lines, document = run_status(deployed(instances=foundation, global_stack=None),
                                       rules={r: "no replication rule" for r in (HOME, RECOVERY)})
    assert not any("replication" in line for line in document["attention"])


def test_a_running_operation_is_shown_and_needs_attention(run_status):
    """After Ctrl-C the creation of the recovery instance still runs in CloudFormation."""
    observed = deployed(instances={HOME: Instance(HOME)}, global_stack=None,
                        running_operation="foundation-0a1b2c")
    code, lines, document = run_status(observed)
    assert code == exit_codes.ATTENTION
    assert document["running_operation"] == "foundation-0a1b2c"
    assert any("operation foundation-0a1b2c is running on payments-example-regional" in line
               for line in lines)
    assert document["regions"][RECOVERY]["instance"] == "not created (operation running)"
    assert document["attention"][0].startswith(
        "operation foundation-0a1b2c is running on payments-example-regional")


# --- the global stack (its records and health checks) ------------------------------------------
@pytest.mark.parametrize("global_stack, says", [
    (None, "does not exist"), (Stack("ROLLBACK_COMPLETE", {}, {}), "last operation failed"),
    (Stack("DELETE_FAILED", {}, {}), "last operation failed"),
    (Stack("UPDATE_ROLLBACK_COMPLETE", {}, {}), "last operation failed"),
    (Stack("UPDATE_IN_PROGRESS", {}, {}), "is running"),
    (Stack("REVIEW_IN_PROGRESS", {}, {}), "never executed")])
def test_a_missing_failed_or_busy_global_stack_needs_attention(run_status, global_stack, says):
    code, lines, document = run_status(deployed(global_stack=global_stack))
    assert code == exit_codes.ATTENTION, document["attention"]
    assert [line for line in document["attention"] if "global stack" in line and says in line]


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE"])
def test_a_global_stack_whose_last_operation_succeeded_needs_nothing(run_status, status):
    code, lines, document = run_status(deployed(global_stack=dataclasses.replace(
        global_stack(HOME), status=status)))
    assert code == exit_codes.OK, document["attention"]
