"""Review of issue 17 (review17): the drill's audit against a ledger that breaks its own
unique constraint (xfail(strict) so main stays green; the reason names the finding)."""

from __future__ import annotations

import pytest

from rehearsal.gameday.audit import audit

from tests.rehearsal.test_audit import LOSS, HOME, paid_order, row


@pytest.mark.xfail(strict=True, reason="review17 F7: the audit indexes the final ledger by "
                   "idempotency key, so two rows under one key (the constraint it must not "
                   "trust) collapse into one and the duplicate charge is not counted")
def test_two_rows_under_one_key_are_a_duplicate_charge():
    paid = paid_order(1, HOME, 10.0)
    ledger = [row("o1-k1", 1), row("o1-k1", 1, payment="p-second-charge")]
    verdict = audit([paid], ledger, verified={"o1-k1": True}, loss=LOSS)
    assert len(verdict["duplicate_charges"]) == 1
