"""The payment ledger in Aurora PostgreSQL: the system of record.

A committed ledger row *is* the payment. Everything else (the DynamoDB status
item, the S3 receipt, the stored idempotent response) is a projection of the
row, written after it and rebuilt from it on a retry.

:meth:`Ledger.record` is idempotent on the idempotency key: the insert does
nothing when the key already has a row, and the existing row is returned
instead, provided it was written for the same request. This makes it safe to
retry after a timeout whose commit outcome is unknown, and it is the final
arbiter when two regions accept the same key at once (the unique constraint is
enforced by the single Aurora writer, also for writes forwarded from the
secondary region).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from .database import Database
from .errors import IdempotencyKeyReused
from .models import PAYMENT_STATUS_ACCEPTED, NewPayment, RecordedPayment

_COLUMNS = (
    "payment_id::text, idempotency_key, request_hash, merchant_id, amount, currency, "
    "currency_exponent, description, status, correlation_id, region, created_at"
)

_INSERT = f"""
INSERT INTO payments (
    payment_id, idempotency_key, request_hash, merchant_id, amount, currency,
    currency_exponent, description, source_type, source_fingerprint, status,
    correlation_id, region
) VALUES (
    CAST(:payment_id AS uuid), :idempotency_key, :request_hash, :merchant_id,
    CAST(:amount AS numeric), :currency, :currency_exponent, :description, :source_type,
    :source_fingerprint, :status, :correlation_id, :region
)
ON CONFLICT ON CONSTRAINT payments_idempotency_key_unique DO NOTHING
RETURNING {_COLUMNS}
"""

_SELECT_BY_KEY = f"SELECT {_COLUMNS} FROM payments WHERE idempotency_key = :idempotency_key"

_PROBE = "SELECT 1, pg_is_in_recovery()"


def new_payment_id() -> str:
    return str(uuid.uuid4())


class Ledger:
    def __init__(self, database: Database) -> None:
        self._database = database

    def record(self, payment: NewPayment) -> RecordedPayment:
        """Insert the payment, or return the row already recorded for its key.

        Raises IdempotencyKeyReused when the key's row belongs to another request.
        """
        request = payment.request
        rows = self._database.run(
            _INSERT,
            payment_id=payment.payment_id,
            idempotency_key=payment.idempotency_key,
            request_hash=payment.request_hash,
            merchant_id=request.merchant_id,
            amount=str(request.amount),
            currency=request.currency,
            currency_exponent=request.exponent,
            description=request.description,
            source_type=request.source.type,
            source_fingerprint=request.source.fingerprint(),
            status=PAYMENT_STATUS_ACCEPTED,
            correlation_id=payment.correlation_id,
            region=payment.region,
        )
        if not rows:
            rows = self._database.run(_SELECT_BY_KEY, idempotency_key=payment.idempotency_key)
        recorded = _from_row(rows[0])
        if recorded.request_hash != payment.request_hash:
            raise IdempotencyKeyReused(payment.idempotency_key)
        return recorded

    def find(self, idempotency_key: str) -> RecordedPayment | None:
        rows = self._database.run(_SELECT_BY_KEY, idempotency_key=idempotency_key)
        return _from_row(rows[0]) if rows else None

    def probe(self) -> bool:
        """One round trip proving the database answers; True when it accepts writes."""
        ((_, in_recovery),) = self._database.run(_PROBE)
        return not in_recovery


def _from_row(row: list[Any]) -> RecordedPayment:
    (
        payment_id,
        key,
        request_hash,
        merchant_id,
        amount,
        currency,
        exponent,
        description,
        status,
        correlation_id,
        region,
        created_at,
    ) = row
    return RecordedPayment(
        payment_id=payment_id,
        idempotency_key=key,
        request_hash=request_hash,
        merchant_id=merchant_id,
        amount=Decimal(amount),
        currency=currency,
        exponent=int(exponent),
        description=description,
        status=status,
        correlation_id=correlation_id,
        region=region,
        created_at=created_at,
    )
