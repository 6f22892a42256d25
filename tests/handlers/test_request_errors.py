"""Every way a POST /process can be refused: status code, error code, named field and rule.

Each case also proves that a refused request writes nothing anywhere.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from payments.http import MAX_BODY_BYTES

from .conftest import DELETE, Api, http_event, new_key, payment_body

VALID_TOKEN = {"type": "card_token", "token": "tok_abcdefgh12345678"}

# (case id, body overrides, [(field, rule), ...])
FIELD_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("amount missing", {"amount": DELETE}, [("amount", "required")]),
    ("amount null", {"amount": None}, [("amount", "required")]),
    ("amount JSON float", {"amount": 12.34}, [("amount", "type")]),
    ("amount JSON integer", {"amount": 12}, [("amount", "type")]),
    ("amount excess EUR precision", {"amount": "12.345"}, [("amount", "precision")]),
    ("amount decimals in JPY", {"amount": "1.5", "currency": "JPY"}, [("amount", "precision")]),
    (
        "amount excess BHD precision",
        {"amount": "1.2345", "currency": "BHD"},
        [("amount", "precision")],
    ),
    ("amount zero", {"amount": "0"}, [("amount", "positive")]),
    ("amount zero with decimals", {"amount": "0.00"}, [("amount", "positive")]),
    ("amount negative", {"amount": "-1.00"}, [("amount", "format")]),
    ("amount exponent", {"amount": "1e3"}, [("amount", "format")]),
    ("amount leading zero", {"amount": "012.00"}, [("amount", "format")]),
    ("amount padded", {"amount": " 12.00"}, [("amount", "format")]),
    ("amount comma", {"amount": "12,00"}, [("amount", "format")]),
    ("amount NaN string", {"amount": "NaN"}, [("amount", "format")]),
    ("amount trailing point", {"amount": "12."}, [("amount", "format")]),
    ("amount above maximum", {"amount": "10000.01"}, [("amount", "maximum")]),
    ("amount huge", {"amount": "9" * 30}, [("amount", "format")]),
    ("currency missing", {"currency": DELETE}, [("currency", "required")]),
    ("currency lower case", {"currency": "eur"}, [("currency", "iso4217")]),
    ("currency unknown", {"currency": "ABC"}, [("currency", "iso4217")]),
    ("currency testing code", {"currency": "XXX"}, [("currency", "iso4217")]),
    ("currency precious metal", {"currency": "XAU"}, [("currency", "iso4217")]),
    ("currency withdrawn", {"currency": "HRK"}, [("currency", "iso4217")]),
    ("currency numeric", {"currency": 978}, [("currency", "type")]),
    ("merchant missing", {"merchant_id": DELETE}, [("merchant_id", "required")]),
    ("merchant empty", {"merchant_id": ""}, [("merchant_id", "format")]),
    ("merchant with space", {"merchant_id": "bad id"}, [("merchant_id", "format")]),
    ("merchant too long", {"merchant_id": "m" * 65}, [("merchant_id", "format")]),
    ("merchant object", {"merchant_id": {"id": 1}}, [("merchant_id", "type")]),
    ("source missing", {"source": DELETE}, [("source", "required")]),
    ("source string", {"source": "tok_abcdefgh"}, [("source", "type")]),
    ("source empty", {"source": {}}, [("source.type", "required"), ("source.token", "required")]),
    (
        "source token short",
        {"source": {**VALID_TOKEN, "token": "tok"}},
        [("source.token", "format")],
    ),
    (
        "source type bad",
        {"source": {**VALID_TOKEN, "type": "Card Token"}},
        [("source.type", "format")],
    ),
    (
        "source extra field",
        {"source": {**VALID_TOKEN, "cvv": "123"}},
        [("source.cvv", "unknown_field")],
    ),
    (
        "source token is a PAN",
        {"source": {**VALID_TOKEN, "token": "4111111111111111"}},
        [("source.token", "card_number")],
    ),
    (
        "PAN in an extra source field",
        {"source": {**VALID_TOKEN, "number": "5555 5555 5555 4444"}},
        [("source.number", "card_number")],
    ),
    (
        "PAN in description",
        {"description": "card 4242-4242-4242-4242 please"},
        [("description", "card_number")],
    ),
    ("PAN as JSON number", {"card": 4000056655665556}, [("card", "card_number")]),
    (
        "PAN as a key",
        {"source": {**VALID_TOKEN, "378282246310005": "x"}},
        [("source.<redacted>", "card_number")],
    ),
    ("description too long", {"description": "d" * 256}, [("description", "length")]),
    ("description number", {"description": 12}, [("description", "type")]),
    (
        "description control character",
        {"description": "a\u0000b"},
        [("description", "control_characters")],
    ),
    ("unknown field", {"customer": "c-1"}, [("customer", "unknown_field")]),
    (
        "every field invalid",
        {"amount": 1, "currency": "eur", "merchant_id": "", "source": [], "description": 5},
        [
            ("amount", "type"),
            ("currency", "iso4217"),
            ("merchant_id", "format"),
            ("source", "type"),
            ("description", "type"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES]
)
def test_invalid_field_is_422_naming_field_and_rule(
    api: Api, overrides: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    before = api.counts()

    response = api.post(payment_body(**overrides), new_key())

    error = assert_error(response, 422, "validation_failed")
    assert sorted((f["field"], f["rule"]) for f in error["fields"]) == sorted(expected)
    assert all(f["message"] for f in error["fields"])
    assert "4111111111111111" not in response["body"] and "378282246310005" not in response["body"]
    assert api.counts() == before


def raw_event(
    body: str | bytes | None,
    headers: dict[str, str],
    *,
    method: str = "POST",
    base64_encoded: bool = False,
) -> dict[str, Any]:
    return http_event(method, "/process", body=body, headers=headers, base64_encoded=base64_encoded)


JSON = {"content-type": "application/json"}
VALID = json.dumps(payment_body())

# (case id, event factory, status, error code)
REQUEST_CASES = [
    ("no idempotency key", lambda: raw_event(VALID, JSON), 400, "missing_idempotency_key"),
    (
        "blank idempotency key",
        lambda: raw_event(VALID, {**JSON, "idempotency-key": "  "}),
        400,
        "missing_idempotency_key",
    ),
    (
        "short idempotency key",
        lambda: raw_event(VALID, {**JSON, "idempotency-key": "abc"}),
        400,
        "invalid_idempotency_key",
    ),
    (
        "idempotency key with separator",
        lambda: raw_event(VALID, {**JSON, "idempotency-key": "key#12345678"}),
        400,
        "invalid_idempotency_key",
    ),
    (
        "repeated idempotency header",
        lambda: raw_event(VALID, {**JSON, "idempotency-key": "key-1234567,key-7654321"}),
        400,
        "invalid_idempotency_key",
    ),
    (
        "idempotency key too long",
        lambda: raw_event(VALID, {**JSON, "idempotency-key": "k" * 129}),
        400,
        "invalid_idempotency_key",
    ),
    ("not JSON", lambda: keyed("{amount: 1"), 400, "malformed_json"),
    ("empty body", lambda: keyed(None), 400, "malformed_json"),
    ("JSON array", lambda: keyed("[]"), 400, "malformed_json"),
    ("JSON string", lambda: keyed('"payment"'), 400, "malformed_json"),
    ("duplicate key", lambda: keyed('{"amount": "1.00", "amount": "2.00"}'), 400, "malformed_json"),
    ("NaN literal", lambda: keyed('{"amount": NaN}'), 400, "malformed_json"),
    ("deep nesting", lambda: keyed("[" * 5000 + "]" * 5000), 400, "malformed_json"),
    (
        "invalid UTF-8",
        lambda: keyed(b'{"amount": "\xff"}', base64_encoded=True),
        400,
        "malformed_json",
    ),
    ("invalid base64", lambda: keyed("not base64!", base64_encoded=True), 400, "malformed_body"),
    ("body too large", lambda: keyed(" " * (MAX_BODY_BYTES + 1)), 413, "payload_too_large"),
    (
        "base64 body too large",
        lambda: keyed(b" " * (MAX_BODY_BYTES + 1), base64_encoded=True),
        413,
        "payload_too_large",
    ),
    (
        "multi-byte body too large",
        lambda: keyed("é" * (MAX_BODY_BYTES // 2 + 1)),
        413,
        "payload_too_large",
    ),
    (
        "no content type",
        lambda: raw_event(VALID, {"idempotency-key": new_key()}),
        415,
        "unsupported_media_type",
    ),
    (
        "text content type",
        lambda: raw_event(VALID, {"content-type": "text/plain", "idempotency-key": new_key()}),
        415,
        "unsupported_media_type",
    ),
    (
        "latin-1 charset",
        lambda: raw_event(
            VALID,
            {"content-type": "application/json; charset=latin-1", "idempotency-key": new_key()},
        ),
        415,
        "unsupported_media_type",
    ),
    (
        "GET",
        lambda: raw_event(None, {"idempotency-key": new_key()}, method="GET"),
        405,
        "method_not_allowed",
    ),
]


def keyed(body: str | bytes | None, *, base64_encoded: bool = False) -> dict[str, Any]:
    return raw_event(body, {**JSON, "idempotency-key": new_key()}, base64_encoded=base64_encoded)


@pytest.mark.parametrize(
    ("make_event", "status", "code"),
    [c[1:] for c in REQUEST_CASES],
    ids=[c[0] for c in REQUEST_CASES],
)
def test_unreadable_request_is_refused_with_a_json_error(
    api: Api, make_event: Any, status: int, code: str
) -> None:
    before = api.counts()

    response = api.invoke_process(make_event())

    assert_error(response, status, code)
    assert api.counts() == before


def test_content_type_with_utf8_charset_and_base64_body_is_accepted(api: Api) -> None:
    event = raw_event(
        base64.b64encode(VALID.encode()).decode(),
        {"content-type": "Application/JSON; charset=UTF-8", "idempotency-key": new_key()},
        base64_encoded=True,
    )
    assert api.invoke_process(event)["statusCode"] == 201


def assert_error(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["content-type"] == "application/json"
    body = json.loads(response["body"])
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["correlation_id"] == response["headers"]["x-correlation-id"]
    assert "Traceback" not in response["body"]
    return body["error"]
