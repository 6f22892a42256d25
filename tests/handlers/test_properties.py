"""Properties over arbitrary requests: never a 5xx, never a stack trace, every
accepted payment stored exactly once and replayed byte for byte."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from payments import validation
from payments.currencies import MAX_AMOUNT_MINOR_UNITS, MINOR_UNITS
from payments.http import ApiError

from .conftest import Api, http_event

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def valid_payments(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(st.sampled_from(sorted(MINOR_UNITS)))
    exponent = MINOR_UNITS[currency]
    limit = MAX_AMOUNT_MINOR_UNITS[currency]
    minor = draw(st.one_of(st.integers(1, 100), st.integers(1, limit), st.just(limit)))
    body: dict[str, Any] = {
        "amount": f"{Decimal(minor).scaleb(-exponent):f}",
        "currency": currency,
        "merchant_id": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)),
        "source": {
            "type": "card_token",
            "token": draw(st.from_regex(r"[A-Za-z0-9_-]{8,40}", fullmatch=True)),
        },
    }
    if draw(st.booleans()):
        body["description"] = draw(st.one_of(st.none(), st.text(max_size=80)))
    return body


@st.composite
def payment_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Valid payments, half of them with a few fields replaced, dropped or added."""
    body = draw(valid_payments())
    if draw(st.booleans()):
        return body
    for name in draw(st.sets(st.sampled_from(sorted(body)), min_size=1, max_size=2)):
        if draw(st.booleans()):
            del body[name]
        else:
            body[name] = draw(json_values)
    body.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=1)))
    return body


def mostly(
    usual: st.SearchStrategy[Any], unusual: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``usual`` about four times in five."""
    return st.integers(0, 4).flatmap(lambda n: unusual if n == 4 else usual)


raw_bodies = mostly(
    payment_bodies().map(json.dumps), st.one_of(json_values.map(json.dumps), st.text(max_size=200))
)
idempotency_keys = mostly(st.just("key-"), st.one_of(st.text(max_size=140), st.none()))
content_types = mostly(
    st.just("application/json"),
    st.one_of(st.sampled_from(["text/plain", "application/json; charset=utf-16", ""]), st.none()),
)


def headers_for(key: str | None, content_type: str | None) -> dict[str, str]:
    headers = {}
    if key is not None:
        headers["idempotency-key"] = key
    if content_type is not None:
        headers["content-type"] = content_type
    return headers


@PROPERTY_SETTINGS
@given(
    raw=raw_bodies, key=idempotency_keys, content_type=content_types, base64_encoded=st.booleans()
)
def test_any_request_gets_a_clean_answer_and_accepted_ones_are_stored_once(
    api: Api, raw: str, key: str | None, content_type: str | None, base64_encoded: bool
) -> None:
    if key == "key-":
        key = f"key-{uuid.uuid4()}"  # fresh per example: the database outlives examples
    request = http_event(
        "POST",
        "/process",
        body=raw.encode("utf-8", "surrogatepass"),
        headers=headers_for(key, content_type),
        base64_encoded=base64_encoded,
    )

    response = api.invoke_process(request)

    event(f"status {response['statusCode']}")
    assert response["statusCode"] < 500, response["body"]
    assert "Traceback" not in response["body"]
    body = json.loads(response["body"])
    assert body["correlation_id"] == response["headers"]["x-correlation-id"]
    if response["statusCode"] != 201:
        assert set(body) == {"error", "correlation_id"}
        return
    assert key is not None
    rows = api.ledger_rows(key)
    assert [row[0] for row in rows] == [body["payment_id"]]
    assert api.status_item(body["payment_id"]) is not None
    assert len(api.receipt_keys(body["payment_id"])) == 1
    replay = api.invoke_process(
        http_event(
            "POST",
            "/process",
            body=request["body"],
            headers=request["headers"],
            base64_encoded=base64_encoded,
        )
    )
    assert (replay["statusCode"], replay["body"]) == (201, response["body"])
    assert len(api.ledger_rows(key)) == 1


@settings(max_examples=300, deadline=None)
@given(
    document=st.one_of(
        payment_bodies(), st.dictionaries(st.text(max_size=10), json_values, max_size=6)
    )
)
def test_validation_accepts_or_explains_never_crashes(document: dict[str, Any]) -> None:
    try:
        request = validation.payment_request(document)
    except ApiError as error:
        assert error.status_code == 422 and error.fields
        assert len({f.field for f in error.fields}) == len(error.fields)
        return
    minor_units = request.amount.scaleb(request.exponent)
    assert 0 < minor_units <= MAX_AMOUNT_MINOR_UNITS[request.currency]
    assert request.amount == Decimal(document["amount"])
    assert -request.amount.as_tuple().exponent <= MINOR_UNITS[request.currency]  # type: ignore[operator]
