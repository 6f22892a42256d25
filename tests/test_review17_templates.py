"""Review of issue 17 (review17): the reconcile function's IAM policy (xfail(strict) so main
stays green; the reason names the finding)."""

import pytest


@pytest.mark.xfail(strict=True, reason="review17 F9: the reconcile role may PutItem/UpdateItem "
                   "any item of the table, idempotency records included; it needs only "
                   "payment#* and reconcile#* (dynamodb:LeadingKeys)")
def test_the_reconcile_role_writes_only_status_items_and_its_watermark(regional):
    policy = regional.props("ReconcileRole")["Policies"][0]["PolicyDocument"]
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "StatusItemsAndWatermark"]
    leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
    assert sorted(leading.get("dynamodb:LeadingKeys", [])) == ["payment#*", "reconcile#*"]
