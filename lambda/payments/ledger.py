"""The payment ledger in Aurora PostgreSQL: the system of record.

A committed ledger row *is* the payment. Everything else (the DynamoDB status
item, the S3 receipt, the stored idempotent response) is a projection of the
row, written after it and rebuilt from it on a retry.

:meth:`Ledger.record` is idempotent on the merchant's idempotency key, in
one statement: ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` returns
the new row, or the row already recorded for the key. A concurrent insert of
the same key waits for the first to commit and then returns that row, so two
regions racing on one key (both reach the single writer through the global
writer endpoint) always get one row back and never an empty result. The
returned row must belong to the same request, or the key was reused. This is
also what makes a retry safe after a timeout whose commit outcome is unknown.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from .database import ROLE_CHECK, Database, ServerRole
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
ON CONFLICT ON CONSTRAINT payments_merchant_idempotency_key_unique
-- A no-op update: it locks the existing row and makes RETURNING return it.
DO UPDATE SET idempotency_key = payments.idempotency_key
RETURNING {_COLUMNS}
"""

_SELECT_BY_KEY = (
    f"SELECT {_COLUMNS} FROM payments "
    "WHERE merchant_id = :merchant_id AND idempotency_key = :idempotency_key"
)

_HEARTBEAT = """
INSERT INTO heartbeats (region, written_at) VALUES (:region, now())
ON CONFLICT (region) DO UPDATE SET written_at = EXCLUDED.written_at
RETURNING written_at
"""


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
        (row,) = rows  # ON CONFLICT ... DO UPDATE ... RETURNING: exactly one row, always
        recorded = _from_row(row)
        if recorded.request_hash != payment.request_hash:
            raise IdempotencyKeyReused(payment.idempotency_key)
        return recorded

    def find(self, merchant_id: str, idempotency_key: str) -> RecordedPayment | None:
        rows = self._database.run(
            _SELECT_BY_KEY, merchant_id=merchant_id, idempotency_key=idempotency_key
        )
        return _from_row(rows[0]) if rows else None

    def server_role(self) -> ServerRole:
        ((in_recovery, read_only),) = self._database.run(ROLE_CHECK)
        return ServerRole(bool(in_recovery), read_only == "on")

    def heartbeat(self, region: str) -> None:
        """A committed write through the payment path's endpoint: the only proof of "writable"
        (``pg_is_in_recovery()`` is false on a primary whose session is read only, and a
        forwarded or proxied write can fail where a read succeeds)."""
        self._database.run(_HEARTBEAT, region=region)


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
