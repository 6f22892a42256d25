"""Payment status items in the DynamoDB global table (``pk = "payment#<payment_id>"``).

Replicated to both regions, so either region can answer "what happened to
this payment" after a failover without the database. The item is written only
after the ledger row is committed and only if absent, or if it describes an
earlier ledger row of the payment: a retry that rebuilds it from the ledger
writes nothing new, and a later status change made by another process is never
overwritten by a replay. An earlier row is one a failover lost, whose payment
was then recorded again under the same id (:mod:`payments.service`): the item
then follows the row the ledger has (its ``created_at``, later; ISO 8601 UTC
timestamps of one width compare as text in time order). Status items carry no
``expires_at``: they are kept.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any

from . import aws
from .errors import DependencyUnavailable
from .models import RecordedPayment

KEY_PREFIX = "payment#"
DEPENDENCY = "dynamodb"
BATCH_GET_LIMIT = 100  # keys per BatchGetItem ("BatchGetItem", DynamoDB API Reference)
_UNPROCESSED_RETRIES = 5


def status_item(payment: RecordedPayment, receipt_key: str) -> dict[str, Any]:
    body = payment.to_json()
    item = {
        "pk": {"S": KEY_PREFIX + payment.payment_id},
        "idempotency_key": {"S": payment.idempotency_key},
        "receipt_key": {"S": receipt_key},
        **{name: {"S": value} for name, value in body.items() if isinstance(value, str)},
    }
    return item


class StatusStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, payment: RecordedPayment, receipt_key: str) -> None:
        item = status_item(payment, receipt_key)
        with contextlib.suppress(aws.Refused):  # already written: nothing new
            aws.call(DEPENDENCY, self._client.put_item, expected=(aws.CONDITION_FAILED,),
                     TableName=self._table, Item=item,
                     ConditionExpression="attribute_not_exists(pk) OR created_at < :created_at",
                     ExpressionAttributeValues={":created_at": item["created_at"]})

    def existing(self, payment_ids: Iterable[str]) -> set[str]:
        """Which of these payments have a status item in this region's replica (BatchGetItem,
        100 keys a call; keys DynamoDB leaves unprocessed are asked again with back-off)."""
        ids = list(payment_ids)
        found: set[str] = set()
        for first in range(0, len(ids), BATCH_GET_LIMIT):
            keys = [{"pk": {"S": KEY_PREFIX + pid}} for pid in ids[first:first + BATCH_GET_LIMIT]]
            for attempt in range(_UNPROCESSED_RETRIES + 1):
                if not keys:
                    break
                if attempt:
                    time.sleep(0.05 * 2 ** attempt)
                answer = self._batch_get(keys)
                found.update(item["pk"]["S"].removeprefix(KEY_PREFIX)
                             for item in answer.get("Responses", {}).get(self._table, []))
                keys = answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if keys:
                raise DependencyUnavailable(DEPENDENCY, "BatchGetItem left keys unprocessed")
        return found

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = aws.call(
            DEPENDENCY, self._client.batch_get_item,
            RequestItems={self._table: {"Keys": keys, "ProjectionExpression": "pk"}})
        return answer
