"""Turns an untrusted request into a :class:`~payments.models.PaymentRequest`, or says why not.

Pure functions: no I/O, no clock. Status codes follow RFC 9110: 400 when the
request cannot be read at all (missing or invalid ``Idempotency-Key``, body
that is not a JSON object), 422 when it reads but breaks a field rule. Every
invalid field is reported at once, one error per field; messages say what is
allowed and never echo what was sent (it might be card data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from . import cardnumbers
from .currencies import minor_units
from .http import ApiError
from .models import FieldError, PaymentRequest, PaymentSource

IDEMPOTENCY_KEY_HEADER = "idempotency-key"
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
"""8 to 128 characters; a UUID fits. No '#' (the table's key separator) and no ','
(API Gateway joins repeated headers with commas)."""

AMOUNT_PATTERN = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\.([0-9]{1,18}))?")
MERCHANT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
SOURCE_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
SOURCE_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,255}")
MAX_DESCRIPTION_CHARS = 255
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

FIELDS = frozenset({"amount", "currency", "merchant_id", "source", "description"})
SOURCE_FIELDS = frozenset({"type", "token"})


def idempotency_key(value: str | None) -> str:
    if value is None or not value.strip():
        raise ApiError(400, "missing_idempotency_key", "the Idempotency-Key header is required")
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "the Idempotency-Key header must be 8-128 characters of A-Z a-z 0-9 . _ : - "
            "starting with a letter or digit",
        )
    return value


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Strict JSON: UTF-8, one object, no duplicate keys, no NaN or Infinity.

    Numbers parse to Decimal or int, never float, so a rejected amount is never
    silently rounded on the way to its error message.
    """
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the request body must be UTF-8") from None
    except (ValueError, RecursionError) as error:
        reason = str(error) if isinstance(error, _DuplicateKey) else "the body is not valid JSON"
        raise ApiError(400, "malformed_json", reason) from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    return document


def payment_request(document: Mapping[str, Any], max_amount: Decimal) -> PaymentRequest:
    """Validate every field; raise one 422 listing all invalid fields."""
    errors = _Errors()
    for path in cardnumbers.paths_with_card_numbers(dict(document)):
        errors.add(
            path,
            "card_number",
            "must not contain a card number; send a vault token in source.token",
        )
    for name in sorted(set(document) - FIELDS):
        errors.add(
            _reportable(name),
            "unknown_field",
            f"is not accepted; allowed fields: {', '.join(sorted(FIELDS))}",
        )

    currency = _text(errors, document, "currency", _currency_rule)
    exponent = minor_units(currency) if currency else None
    amount = _amount(errors, document.get("amount"), exponent, max_amount)
    merchant_id = _text(
        errors,
        document,
        "merchant_id",
        _pattern_rule(
            MERCHANT_ID_PATTERN,
            "must be 1-64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit",
        ),
    )
    source = _source(errors, document.get("source"))
    description = _description(errors, document.get("description"))

    if errors:
        raise ApiError(
            422, "validation_failed", "one or more fields are invalid", fields=errors.values()
        )
    assert amount is not None and currency and exponent is not None and merchant_id and source
    return PaymentRequest(amount, currency, exponent, merchant_id, source, description)


Rule = Callable[[str], tuple[str, str] | None]


class _Errors(dict[str, FieldError]):
    """First error per field wins, so a card-number finding is never hidden by a later rule."""

    def add(self, field: str, rule: str, message: str) -> None:
        self.setdefault(field, FieldError(field, rule, message))


def _text(
    errors: _Errors, document: Mapping[str, Any], key: str, rule: Rule, *, field: str | None = None
) -> str | None:
    field = field or key
    value = document.get(key)
    if value is None:
        errors.add(field, "required", "is required")
        return None
    if not isinstance(value, str):
        errors.add(field, "type", "must be a string")
        return None
    problem = rule(value)
    if problem:
        errors.add(field, *problem)
        return None
    return value


_REPORTABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def _reportable(name: str) -> str:
    """An unexpected key as it may appear in an error and a log line: plain
    identifiers as sent, anything else (a card number, markup, 10 KB of junk) redacted."""
    return name if _REPORTABLE_NAME.fullmatch(name) else cardnumbers.REDACTED_KEY


def _pattern_rule(pattern: re.Pattern[str], message: str) -> Rule:
    return lambda value: None if pattern.fullmatch(value) else ("format", message)


def _currency_rule(value: str) -> tuple[str, str] | None:
    if minor_units(value) is None:
        return "iso4217", "must be an upper-case ISO 4217 code of a circulating currency, e.g. EUR"
    return None


def _amount(
    errors: _Errors, value: Any, exponent: int | None, max_amount: Decimal
) -> Decimal | None:
    field = "amount"
    if value is None:
        errors.add(field, "required", "is required")
        return None
    if not isinstance(value, str):
        errors.add(field, "type", 'must be a decimal string such as "12.34", not a JSON number')
        return None
    match = AMOUNT_PATTERN.fullmatch(value)
    if not match:
        errors.add(field, "format", 'must be digits with an optional decimal point, e.g. "12.34"')
        return None
    decimals = len(match.group(1) or "")
    if exponent is not None and decimals > exponent:
        errors.add(
            field, "precision", f"must have at most {exponent} decimal places for this currency"
        )
        return None
    amount = Decimal(value)
    if amount <= 0:
        errors.add(field, "positive", "must be greater than zero")
        return None
    if amount > max_amount:
        errors.add(field, "maximum", f"must be at most {max_amount:f}")
        return None
    return amount


def _source(errors: _Errors, value: Any) -> PaymentSource | None:
    if value is None:
        errors.add("source", "required", "is required")
        return None
    if not isinstance(value, dict):
        errors.add(
            "source", "type", 'must be an object such as {"type": "card_token", "token": "..."}'
        )
        return None
    for name in sorted(set(value) - SOURCE_FIELDS):
        errors.add(
            f"source.{_reportable(name)}",
            "unknown_field",
            "is not accepted; allowed fields: token, type",
        )
    source_type = _text(
        errors,
        value,
        "type",
        _pattern_rule(
            SOURCE_TYPE_PATTERN, "must be 1-32 characters of a-z 0-9 _ starting with a letter"
        ),
        field="source.type",
    )
    token = _text(
        errors,
        value,
        "token",
        _pattern_rule(SOURCE_TOKEN_PATTERN, "must be 8-255 characters of A-Z a-z 0-9 _ -"),
        field="source.token",
    )
    if source_type is None or token is None:
        return None
    return PaymentSource(source_type, token)


def _description(errors: _Errors, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add("description", "type", "must be a string or null")
    elif len(value) > MAX_DESCRIPTION_CHARS:
        errors.add("description", "length", f"must be at most {MAX_DESCRIPTION_CHARS} characters")
    elif _CONTROL_CHARACTERS.search(value):
        errors.add("description", "control_characters", "must not contain control characters")
    else:
        return value
    return None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey("the body has a duplicate key; each key may appear once")
        document[key] = value
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")
