"""The reconcile function's IAM policy may touch only the items of the payments table that the
reconcile code reads and writes (found by the issue-17 review: F9)."""

from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatchcase

import pytest
from payments.idempotency import KEY_PREFIX as IDEMPOTENCY_PREFIX
from payments.merchant_keys import RECORD_PREFIX as MERCHANT_KEY_PREFIX
from payments.models import RecordedPayment
from payments.probe_keys import health_item_key
from payments.reconcile import Watermarks
from payments.status import StatusStore

PAYMENT = RecordedPayment(
    payment_id="6f1c1f3e-0000-4000-8000-000000000017", idempotency_key="key-review17",
    request_hash="a" * 64, merchant_id="m-1", amount=Decimal("5.000"), currency="JPY",
    exponent=0, description=None, status="accepted", correlation_id="req-17",
    region="us-east-1", created_at=datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC))


class RecordingTable:
    """A DynamoDB client that answers nothing found and records each partition key asked."""

    def __init__(self):
        self.keys: list[str] = []

    def get_item(self, Key, **_):
        self.keys.append(Key["pk"]["S"])
        return {}

    def update_item(self, Key, **_):
        self.keys.append(Key["pk"]["S"])
        return {}

    def put_item(self, Item, **_):
        self.keys.append(Item["pk"]["S"])
        return {}

    def batch_get_item(self, RequestItems, **_):
        for request in RequestItems.values():
            self.keys += [key["pk"]["S"] for key in request["Keys"]]
        return {}


def leading_keys(regional) -> list[str]:
    policy = regional.props("ReconcileRole")["Policies"][0]["PolicyDocument"]
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "StatusItemsAndWatermark"]
    return statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get(
        "dynamodb:LeadingKeys", [])


def allowed(patterns: list[str], key: str) -> bool:
    """IAM's StringLike: `*` and `?` are its only wildcards (fnmatch's `[` is in no pattern)."""
    assert not any("[" in pattern for pattern in patterns)
    return any(fnmatchcase(key, pattern) for pattern in patterns)


def test_the_reconcile_role_writes_only_status_items_and_its_watermark(regional):
    assert sorted(leading_keys(regional)) == ["payment#*", "reconcile#*"]


def test_every_item_the_reconcile_code_touches_is_allowed(regional):
    table = RecordingTable()
    statuses, watermarks = StatusStore(table, "t"), Watermarks(table, "t")
    statuses.put(PAYMENT, "receipts/2025/01/31/x.json")
    statuses.existing([PAYMENT.payment_id])
    for region in ("us-east-1", "us-west-2"):
        watermarks.get(region)
        watermarks.advance(region, PAYMENT.created_at)
    assert len(table.keys) == 6
    assert all(allowed(leading_keys(regional), key) for key in table.keys), table.keys


@pytest.mark.parametrize("key", [f"{IDEMPOTENCY_PREFIX}m-1#key-review17",
                                 f"{MERCHANT_KEY_PREFIX}sk_live_1", health_item_key("us-east-1")],
                         ids=["idempotency record", "merchant key", "health item"])
def test_no_other_item_of_the_table_is(regional, key):
    assert not allowed(leading_keys(regional), key)
