"""The receipt store's conditional write, and its fallback for an older runtime SDK."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ParamValidationError
from payments.models import RecordedPayment
from payments.receipts import ReceiptStore, receipt_key

from .conftest import BUCKET, REGION, Api

PAYMENT = RecordedPayment(
    payment_id="6f1c1f3e-0000-4000-8000-000000000001",
    idempotency_key="key-receipts-0001",
    request_hash="a" * 64,
    merchant_id="m-1",
    amount=Decimal("5.000"),
    currency="JPY",
    exponent=0,
    description=None,
    status="accepted",
    correlation_id="req-1",
    region=REGION,
    created_at=datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC),
)


def test_receipt_key_is_dated_under_the_receipts_prefix() -> None:
    assert receipt_key(PAYMENT) == f"receipts/2025/01/31/{PAYMENT.payment_id}.json"


def test_second_write_of_a_receipt_adds_no_version(api: Api) -> None:
    store = ReceiptStore(boto3.client("s3", region_name=REGION), BUCKET)
    key = store.put(PAYMENT)
    assert store.put(PAYMENT) == key
    versions = api.s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    assert len(versions) == 1


class OldSdkClient:
    """An S3 client whose SDK predates conditional writes."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if "IfNoneMatch" in kwargs:
            raise ParamValidationError(report="Unknown parameter in input: IfNoneMatch")


def test_falls_back_to_a_plain_put_when_the_sdk_lacks_if_none_match() -> None:
    client = OldSdkClient()
    store = ReceiptStore(client, BUCKET)
    store.put(PAYMENT)
    store.put(PAYMENT)
    assert ["IfNoneMatch" in call for call in client.calls] == [True, False, False]
