"""Payment status items in the DynamoDB global table (``pk = "payment#<payment_id>"``).

Replicated to both regions, so either region can answer "what happened to
this payment" after a failover without the database. The item is written only
after the ledger row is committed and only if absent: a retry that rebuilds it
from the ledger writes nothing new, and a later status change made by another
process is never overwritten by a replay. Status items carry no ``expires_at``:
they are kept.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import DependencyUnavailable
from .models import RecordedPayment

KEY_PREFIX = "payment#"
DEPENDENCY = "dynamodb"


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
        try:
            self._client.put_item(
                TableName=self._table,
                Item=status_item(payment, receipt_key),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code != "ConditionalCheckFailedException":  # already written: nothing new
                raise DependencyUnavailable(DEPENDENCY, code or "ClientError") from None
        except BotoCoreError as error:
            raise DependencyUnavailable(DEPENDENCY, type(error).__name__) from None
