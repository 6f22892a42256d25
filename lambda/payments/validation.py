"""Turns an untrusted request into a :class:`~payments.models.PaymentRequest`, or says why not.

Pure functions: no I/O, no clock. Status codes follow RFC 9110: 400 when the
request cannot be read at all (missing or invalid ``Idempotency-Key``, a card
number in a header, a body that is not a JSON object), 422 when it reads but
breaks a field rule. Invalid fields are reported at once, one error per field,
at most :data:`MAX_FIELD_ERRORS` of them (a hostile body must not turn 16 KiB
into a large answer); messages say what is allowed and never echo what was
sent (it might be card data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from . import cardnumbers
from .currencies import max_amount_minor_units, minor_units
from .http import ApiError
from .models import (
    MERCHANT_ID_PATTERN, FieldError, PaymentRequest, PaymentSource, format_amount,
)

IDEMPOTENCY_KEY_HEADER = "idempotency-key"
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
"""8 to 128 characters; a UUID fits. No '#' (the table's key separator) and no ','
(API Gateway joins repeated headers with commas)."""

AMOUNT_PATTERN = re.compile(r"(?:0|[1-9][0-9]{0,17})(?:\.([0-9]{1,18}))?")
SOURCE_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
SOURCE_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,255}")
MAX_DESCRIPTION_CHARS = 255
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_UNPAIRED_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""json.loads turns a "\\ud800" escape without its pair into a lone surrogate, which
no store can encode (it would fail the same way at every retry)."""
_BIDI_CONTROLS = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional formatting characters (Unicode TR9): they make stored text, receipts
and log lines display differently from what they hold ("Trojan Source")."""

MAX_FIELD_ERRORS = 20
MAX_FIELD_PATH_CHARS = 100

UUID_EXPECTED = frozenset({IDEMPOTENCY_KEY_HEADER, "source.token"})
"""The header and the body field in which a UUID is an id (``cardnumbers``: its groups are
never joined): the Idempotency-Key, which the API asks clients to make a random UUID (about 1
in 135 would otherwise be refused), and the vault token, which many vaults issue as
a UUID and which is never stored or logged, only hashed. Every other value is free text to the
scan: a UUID-shaped string there is read as the digits it shows."""

SCANNED_HEADERS = (IDEMPOTENCY_KEY_HEADER, "content-type")
"""The headers the handler reads, and so could store or log. The others are never
read, stored or logged by the handler; scanning them would refuse payments for a
random digit stretch in a trace id (``traceparent``, ``x-amzn-trace-id``) or a
signature (``authorization``), and a list of proxies' IPs (``x-forwarded-for``)
joins into one long digit run."""

PATH_PSEUDO_HEADER = ":path"
"""The request target (path and query string), scanned like a header: the path is
logged, and HTTP/2 sends it as this pseudo-header."""

FIELDS = frozenset({"amount", "currency", "merchant_id", "source", "description"})
SOURCE_FIELDS = frozenset({"type", "token"})


def refuse_card_numbers_in_headers(values: Mapping[str, str | None]) -> None:
    """400 when a scanned header (name -> value, None when absent) or the
    :data:`PATH_PSEUDO_HEADER` holds a card number.

    Runs before anything reads or logs a header. An idempotency key that is a
    UUID always passes (:data:`UUID_EXPECTED`)."""
    found = sorted(name for name, value in values.items()
                   if value and _holds_card_number(name, value))
    if found:
        raise ApiError(
            400,
            "card_number_in_header",
            "a header or the path holds what looks like a card number (13-19 digits "
            "passing the Luhn check); send no card data, only a vault token in "
            "source.token; use a UUID as Idempotency-Key",
            fields=[
                FieldError(f"header:{name}", "card_number", "must not contain a card number")
                for name in found
            ],
        )


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


def payment_request(
    document: Mapping[str, Any], limit_multiplier: Decimal = Decimal(1)
) -> PaymentRequest:
    """Validate every field; raise one 422 listing the invalid fields.

    ``limit_multiplier`` scales the per-currency amount caps
    (:data:`payments.currencies.MAX_AMOUNT_MINOR_UNITS`).
    """
    errors = _Errors()
    _scan_text(errors, dict(document))
    for name in sorted(set(document) - FIELDS):
        errors.add(
            _reportable(name),
            "unknown_field",
            f"is not accepted; allowed fields: {', '.join(sorted(FIELDS))}",
        )

    currency = _text(errors, document, "currency", _currency_rule)
    exponent = minor_units(currency) if currency else None
    amount = _amount(errors, document.get("amount"), currency, exponent, limit_multiplier)
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
        raise errors.to_api_error()
    assert amount is not None and currency and exponent is not None and merchant_id and source
    return PaymentRequest(amount, currency, exponent, merchant_id, source, description)


Rule = Callable[[str], tuple[str, str] | None]


class _Errors(dict[str, FieldError]):
    """First error per field wins, so a card-number finding is never hidden by a later rule."""

    def add(self, field: str, rule: str, message: str) -> None:
        field = _reportable_path(field)
        self.setdefault(field, FieldError(field, rule, message))

    def to_api_error(self) -> ApiError:
        """At most MAX_FIELD_ERRORS, in the order found except that unknown fields
        come last: a thousand stray keys must not push out the amount's error."""
        ordered = sorted(self.values(), key=lambda error: error.rule == "unknown_field")
        shown = ordered[:MAX_FIELD_ERRORS]
        message = "one or more fields are invalid"
        if len(ordered) > len(shown):
            message = f"{len(ordered)} fields are invalid; the first {len(shown)} are listed"
        return ApiError(422, "validation_failed", message, fields=shown)


def _reportable_path(path: str) -> str:
    """A JSON path short enough for a response and a log line, and never holding a
    digit run that looks like a card number (array indices are digits too)."""
    if len(path) > MAX_FIELD_PATH_CHARS:
        path = path[: MAX_FIELD_PATH_CHARS - 3] + "..."
    return cardnumbers.REDACTED_KEY if cardnumbers.contains_card_number(path) else path


def _scan_text(errors: _Errors, document: Mapping[str, Any]) -> None:
    """Every key and scalar, anywhere in the body: card numbers, then characters
    no field may hold."""
    for path, key, value in cardnumbers.walk(document):
        text: str = key if key is not None else value
        if _holds_card_number(path if key is None else "", text):
            errors.add(
                path,
                "card_number",
                "must not contain a card number; send a vault token in source.token",
            )
        elif _UNPAIRED_SURROGATE.search(text):
            errors.add(
                path,
                "unpaired_surrogate",
                "must not contain an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape "
                "without its pair)",
            )
        elif _BIDI_CONTROLS.search(text):
            errors.add(
                path,
                "bidi_control",
                "must not contain bidirectional control characters "
                "(U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)",
            )


def _holds_card_number(where: str, text: str) -> bool:
    """The scan for a header or body value at ``where``: UUIDs are ids only where one is
    expected (:data:`UUID_EXPECTED`)."""
    if where in UUID_EXPECTED:
        return cardnumbers.contains_card_number_outside_uuids(text)
    return cardnumbers.contains_card_number(text)


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


_reportable = cardnumbers.reportable_name


def _pattern_rule(pattern: re.Pattern[str], message: str) -> Rule:
    return lambda value: None if pattern.fullmatch(value) else ("format", message)


def _currency_rule(value: str) -> tuple[str, str] | None:
    if minor_units(value) is None:
        return "iso4217", "must be an upper-case ISO 4217 code of a circulating currency, e.g. EUR"
    return None


def _amount(
    errors: _Errors,
    value: Any,
    currency: str | None,
    exponent: int | None,
    limit_multiplier: Decimal,
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
    if currency is not None and exponent is not None:
        cap = max_amount_minor_units(currency, limit_multiplier)
        if amount.scaleb(exponent) > cap:
            largest = format_amount(Decimal(cap).scaleb(-exponent), exponent)
            errors.add(field, "maximum", f"must be at most {largest} for {currency}")
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
