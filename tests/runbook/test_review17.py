"""Review of issue 17 (review17): the runbook's reconcile step (xfail(strict) so main stays
green; the reason names the finding)."""

from __future__ import annotations

import pytest

from runbook import decide as runbook
from runbook.state import Projections
from toolkit.kernel import Done

from tests.runbook.test_reconcile_and_durability import state_after_move
from tests.runbook.test_runbook import RECOVERY


@pytest.mark.xfail(strict=True, reason="review17 F8: a reconcile check that stopped early "
                   "(complete: false, the function's time ran out) with nothing missing yet "
                   "ends dr failover as 'receipts and status items complete'")
def test_an_incomplete_reconcile_check_does_not_finish_the_failover():
    seen = Projections(missing_receipts=0, missing_status_items=0, rows_checked=500,
                       complete=False)
    outcome = runbook.failover(state_after_move(projections={RECOVERY: seen}), to=RECOVERY)
    assert not isinstance(outcome, Done), outcome


@pytest.mark.xfail(strict=True, reason="review17 F2: the runbook invokes the reconcile function "
                   "(timeout 300 s) synchronously with boto3's default 60 s read timeout and "
                   "3 attempts: a check longer than 60 s fails the step and runs the function "
                   "three times")
def test_the_runbook_waits_for_the_reconcile_function_as_long_as_it_may_run():
    from templates.reconcile import RECONCILE
    from toolkit.aws import Aws

    aws = Aws()
    client = aws.client("lambda", "us-east-1")
    assert client.meta.config.read_timeout > RECONCILE.timeout
