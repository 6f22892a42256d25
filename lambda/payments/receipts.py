"""Payment receipts as JSON objects in the regional S3 bucket, under ``receipts/``.

The bucket encrypts with its default SSE-KMS key, so no key id is sent here.
A receipt is written with ``If-None-Match: *`` (S3 conditional writes): a
retry that rebuilds the same receipt from the ledger does not pile up object
versions in the versioned bucket, and a receipt once written is never
replaced, with one exception: a 201 answered from a row the request did not
insert first (a payment recorded again after a failover lost its row, or a
retry that found its row) rewrites the receipt (:mod:`payments.service`), so a
receipt of the lost row is replaced by the row the ledger has. That costs one
more object version in the rare case where the receipt was already right (a
retry after the idempotency record expired, two regions racing on one key).
Its content is derived from the ledger row only, so the object is the same
whichever invocation wrote it.

The SDK that the Lambda runtime bundles varies by runtime release and region
("Runtime-included SDK versions"); one older than botocore 1.35 rejects the
``IfNoneMatch`` parameter client-side. The store then falls back to a plain
put, which is still correct (same bytes; at worst one more object version).
"""

from __future__ import annotations

from typing import Any

import contextlib

from botocore.exceptions import ParamValidationError

from . import aws
from .models import RecordedPayment, canonical_json

PREFIX = "receipts/"
DEPENDENCY = "s3"
RECEIPT_VERSION = 1


def receipt_key(payment: RecordedPayment) -> str:
    """``receipts/YYYY/MM/DD/<payment_id>.json`` (UTC date of the ledger row)."""
    return f"{PREFIX}{payment.created_at:%Y/%m/%d}/{payment.payment_id}.json"


def receipt_document(payment: RecordedPayment) -> dict[str, Any]:
    return {"receipt_version": RECEIPT_VERSION, "payment": payment.to_json()}


class ReceiptStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket
        self._conditional = {"IfNoneMatch": "*"}

    def put(self, payment: RecordedPayment, *, replace: bool = False) -> str:
        """Write the receipt if absent; with ``replace``, whatever the key holds (the receipt
        of a ledger row a failover lost)."""
        key = receipt_key(payment)
        body = canonical_json(receipt_document(payment)).encode()
        # PreconditionFailed: already written by an earlier attempt;
        # ConditionalRequestConflict: being written by a concurrent one (same bytes).
        with contextlib.suppress(aws.Refused):
            try:
                self._put(key, body, {} if replace else self._conditional)
            except ParamValidationError:
                self._conditional = {}  # SDK predates S3 conditional writes
                self._put(key, body, {})
        return key

    def exists(self, payment: RecordedPayment) -> bool:
        """Whether this bucket holds the payment's receipt (HeadObject). S3 answers a missing
        key with 404 only to a caller that may also list the bucket, 403 otherwise
        ("HeadObject", Amazon S3 API Reference): the reconcile role has s3:ListBucket."""
        try:
            aws.call(DEPENDENCY, self._client.head_object, expected=("404", "NoSuchKey",
                                                                       "NotFound"),
                     Bucket=self._bucket, Key=receipt_key(payment))
            return True
        except aws.Refused:
            return False

    def _put(self, key: str, body: bytes, conditional: dict[str, str]) -> None:
        aws.call(
            DEPENDENCY,
            self._client.put_object,
            expected=("PreconditionFailed", "ConditionalRequestConflict"),
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            **conditional,
        )
