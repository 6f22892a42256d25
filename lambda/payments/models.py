"""Typed values that flow between validation, the ledger and the responses.

Amounts are :class:`decimal.Decimal` everywhere; a float never holds money.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MERCHANT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
"""A merchant id: the request's `merchant_id`, a merchant key's merchant, a ledger column."""


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace. Byte-identical for equal input."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_amount(amount: Decimal, exponent: int) -> str:
    """``Decimal("12.3"), 2 -> "12.30"``: the amount with exactly the currency's decimals."""
    return f"{amount.quantize(Decimal(1).scaleb(-exponent)):f}"


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its JSON path, the rule it broke, and what is allowed.

    Messages never echo the submitted value: it may be card data.
    """

    field: str
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class PaymentSource:
    """An opaque payment source token issued by the card vault; never logged."""

    type: str
    token: str = field(repr=False)

    def fingerprint(self) -> str:
        """SHA-256 of the token: lets the ledger group payments without storing the token."""
        return hashlib.sha256(f"{self.type}:{self.token}".encode()).hexdigest()


@dataclass(frozen=True)
class PaymentRequest:
    amount: Decimal
    currency: str
    exponent: int
    merchant_id: str
    source: PaymentSource = field(repr=False)
    description: str | None

    def fingerprint(self) -> str:
        """SHA-256 of what the request means, not of its bytes.

        Whitespace, key order, ``"12.3"`` versus ``"12.30"`` and an explicit
        ``"description": null`` do not make a different request; any change of
        amount, currency, merchant, source or description does.
        """
        canonical = canonical_json(
            {
                "amount": format_amount(self.amount, self.exponent),
                "currency": self.currency,
                "merchant_id": self.merchant_id,
                "source": {"type": self.source.type, "token": self.source.token},
                "description": self.description,
            }
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class NewPayment:
    """A validated request with the identifiers the ledger needs to record it."""

    payment_id: str
    idempotency_key: str
    request_hash: str
    request: PaymentRequest
    correlation_id: str
    region: str


@dataclass(frozen=True)
class RecordedPayment:
    """A ledger row. Every response, receipt and status item is derived from it alone,
    so a payment rebuilt from the ledger yields byte-identical output."""

    payment_id: str
    idempotency_key: str
    request_hash: str
    merchant_id: str
    amount: Decimal
    currency: str
    exponent: int
    description: str | None
    status: str
    correlation_id: str
    region: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "payment_id": self.payment_id,
            "status": self.status,
            "amount": format_amount(self.amount, self.exponent),
            "currency": self.currency,
            "merchant_id": self.merchant_id,
            "description": self.description,
            "created_at": format_timestamp(self.created_at),
            "region": self.region,
            "correlation_id": self.correlation_id,
        }


@dataclass(frozen=True)
class StoredResponse:
    """An HTTP response kept verbatim so a retry gets the same status and bytes."""

    status_code: int
    body: str
