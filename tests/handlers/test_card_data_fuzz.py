"""Issue 18: the whole event fuzzed. Card numbers (every brand prefix, 13-19 digits, five
digit scripts) go into the event's 21 positions (body keys and values, the headers the
handler reads and the ones it never reads, a header's name, the path and the query
string), grouped with separators of 8 classes derived from Unicode categories and
properties. Then nothing the request stored, logged or answered holds a Luhn-valid 13-19
digit run after the scanner's own normalisation outside the UUIDs that are its ids
(``cardnumbers.contains_card_number_outside_uuids``: payment, correlation and receipt ids,
the idempotency key), nor the digits of any number sent; refused requests store nothing.

Two tests: the full table (each of the 21 positions with each of the 8 classes, 168
requests), and 120 hypothesis cases putting numbers in one to five positions at once,
about half of them only where the handler never reads (accepted: their stores are
scanned). Deterministic (``derandomize``): CI runs the same cases every time.
docs/payment-api.md ("No card data") quotes these counts.
"""

from __future__ import annotations

import functools
import json
import sys
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_case
from hypothesis import strategies as st
from payments import cardnumbers

from .conftest import TABLE, Api, http_event, payment_body
from .test_card_data import ISSUER_PREFIXES, STYLES, assert_no_pan, restyle, with_check_digit
from .test_log_lines import decoded

CASES = 120
FIXED_PANS = ("4111111111111111", "5555555555554444", "378282246310005", "4222222222222",
              "6011111111111117", "3530111333300000", "2221000000000009", "6212345678901234569")
"""Test numbers of the brands (Visa 16 and 13, Mastercard, Amex, Discover, JCB, Mastercard
2-series, a 19-digit UnionPay), all Luhn-valid."""


@functools.cache
def separator_classes() -> dict[str, tuple[str, ...]]:
    """Every class of character that joins digit groups, from Unicode categories and
    properties (not from the scanner under test). A character whose NFKC form holds a letter
    or digit is left out: by policy a letter ends a run (docs/payment-api.md, "No card data")."""
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    ignorable = regex.compile(r"\p{Default_Ignorable_Code_Point}")

    def members(predicate: Callable[[str], bool]) -> tuple[str, ...]:
        return tuple(c for c in chars if predicate(c) and not any(
            n.isalnum() for n in unicodedata.normalize("NFKC", c)))

    category = unicodedata.category
    return {
        "adjacent": ("",),
        "ASCII punctuation": tuple(" -._/,'*|:+()#~"),
        "white space": members(str.isspace),
        "format (Cf)": members(lambda c: category(c) == "Cf"),
        "marks (Mn, Me: variation selectors, combining)": members(
            lambda c: category(c) in ("Mn", "Me")),
        "default-ignorable letters (Hangul fillers)": tuple(
            c for c in chars if c.isalnum() and ignorable.match(c)),
        "controls (Cc)": members(lambda c: category(c) == "Cc" and not c.isspace()),
        "punctuation and symbols": members(
            lambda c: category(c)[0] in "PS" and ord(c) > 0x7F),
    }


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(ISSUER_PREFIXES))
    size = draw(st.integers(13, 19)) - len(prefix) - 1
    return with_check_digit(prefix + draw(st.text("0123456789", min_size=size, max_size=size)))


@st.composite
def hidden(draw: st.DrawFn, pan: str, ascii_only: bool = False) -> str:
    """``pan`` in groups joined by separators of one class, in one digit script."""
    classes = separator_classes()
    kind = "ASCII punctuation" if ascii_only else draw(st.sampled_from(sorted(classes)))
    separators = classes[kind]
    cuts = sorted(draw(st.sets(st.integers(1, len(pan) - 1), max_size=4)))
    groups = [pan[a:b] for a, b in zip([0, *cuts], [*cuts, len(pan)], strict=True)]
    style = "ascii" if ascii_only else draw(st.sampled_from(STYLES))
    text = restyle(groups[0], style) + "".join(
        draw(st.sampled_from(separators)) + restyle(g, style) for g in groups[1:])
    return draw(st.sampled_from(["", "ref ", "card:", "x"])) + text + draw(
        st.sampled_from(["", " 12/27 123", " thanks", "z"]))


Event = dict[str, Any]
Place = Callable[[Event, dict[str, Any], str, str], None]


def _body(path: tuple[str, ...]) -> Place:
    def place(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
        target = body
        for step in path[:-1]:
            target = target.setdefault(step, {})
        target[path[-1]] = text
    return place


def _header(name: str) -> Place:
    def place(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
        event["headers"][name] = text
    return place


def _header_name(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
    event["headers"][f"x-{pan}"] = "1"


def _key(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
    body.setdefault("metadata", {})[text] = "x"


def _array_item(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
    body["lines"] = ["first", text]


def _number(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
    body["pan"] = int(pan)


def _content_type(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
    event["headers"]["content-type"] = f"application/json; note={text}"


def _path(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
    event["path"] = f"/process/{text}"


def _query(as_name: bool) -> Place:
    def place(event: Event, body: dict[str, Any], text: str, pan: str) -> None:
        name, value = (text, "1") if as_name else ("ref", text)
        event["queryStringParameters"] = {name: value}
        event["multiValueQueryStringParameters"] = {name: [value]}
    return place


# position -> (how to put the text there, whether the handler reads it: scanned and refused)
POSITIONS: dict[str, tuple[Place, bool]] = {
    "body.description": (_body(("description",)), True),
    "body.merchant_id": (_body(("merchant_id",)), True),
    "body.source.token": (_body(("source", "token")), True),
    "body.source.type": (_body(("source", "type")), True),
    "body.amount": (_body(("amount",)), True),
    "body.currency": (_body(("currency",)), True),
    "body unknown field": (_body(("note",)), True),
    "body nested value": (_body(("metadata", "lines", "text")), True),
    "body object key": (_key, True),
    "body array item": (_array_item, True),
    "body JSON number": (_number, True),
    "header Idempotency-Key": (_header("idempotency-key"), True),
    "header Content-Type parameter": (_content_type, True),
    "path": (_path, True),
    "query value": (_query(as_name=False), True),
    "query name": (_query(as_name=True), True),
    "header User-Agent (never read)": (_header("user-agent"), False),
    "header traceparent (never read)": (_header("traceparent"), False),
    "header X-Forwarded-For (never read)": (_header("x-forwarded-for"), False),
    "header Authorization (never read)": (_header("authorization"), False),
    "a header's name (never read)": (_header_name, False),
}


def assert_clean(text: str, pans: tuple[str, ...], where: str) -> None:
    """No Luhn-valid run after the scanner's normalisation (the stores, the response and the
    log lines hold the payment's ids, UUIDs that may be all digits), and no generated
    number."""
    assert not cardnumbers.contains_card_number_outside_uuids(text), f"{where}: {text[:300]}"
    assert_no_pan(text, pans)


DIGESTS = ("request_hash", "source_fingerprint")
"""SHA-256 digests in hex (of the request, of the vault token), left out of the stored scan:
digests of data that passed the scan, so no card data; yet about 1 hex digest in 64 holds a
Luhn-valid 13-19 digit run by chance (docs/payment-api.md, "No card data")."""
LEDGER_TEXT = ("payment_id::text", "idempotency_key", "merchant_id", "currency", "description",
               "source_type", "status", "correlation_id", "region")


def stored_text(api: Api, key: str) -> list[tuple[str, str]]:
    """Everything stored for the payment of ``key`` but digests, each store's record as one
    JSON text: the ledger row's text columns (its number and time columns are typed values,
    not text), the idempotency record, the status item and the receipt."""
    rows = api.sql(f"SELECT payment_id::text, json_build_array({', '.join(LEDGER_TEXT)})::text "
                   "FROM payments WHERE idempotency_key = :k", k=key)
    stored = [("ledger", text) for _, text in rows]
    for payment_id, _ in rows:
        status = api.status_item(payment_id) or {}
        stored.append(("status item", json.dumps(status)))
        stored.append(("receipt", json.dumps(api.receipt(status["receipt_key"]["S"]))))
    record = api.idempotency_item(key, payment_body()["merchant_id"]) or {}
    stored.append(("idempotency record",
                   json.dumps({k: v for k, v in record.items() if k not in DIGESTS})))
    return stored


def records(api: Api) -> tuple[int, int]:
    """Ledger rows and table items: unchanged means the request stored nothing (a receipt and
    a status item follow a ledger row; the hostile corpus in test_card_data.py counts the
    bucket's object versions too, which is slower)."""
    ((rows,),) = api.sql("SELECT count(*) FROM payments")
    return rows, api.dynamodb.describe_table(TableName=TABLE)["Table"]["ItemCount"]


def run(api: Api, capsys: pytest.CaptureFixture[str],
        placed: list[tuple[str, str, str]]) -> None:
    """One request with each ``(position, text, card number)`` of ``placed`` in it; then the
    checks of the module docstring."""
    key = f"fuzz-{uuid.uuid4()}"
    body = payment_body()
    event = http_event("POST", "/process", body="",
                       headers={"content-type": "application/json", "idempotency-key": key})
    for position, text, pan in placed:
        place, scanned = POSITIONS[position]
        if scanned:
            assert cardnumbers.contains_card_number(text), repr(text)  # the generator is sound
        place(event, body, text, pan)
    event["body"] = json.dumps(body)
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    refused = any(POSITIONS[position][1] for position, _, _ in placed)
    before = records(api) if refused else None
    capsys.readouterr()

    response = api.invoke_process(event)

    captured = capsys.readouterr()
    pans = tuple(pan for _, _, pan in placed)
    if refused:
        assert 400 <= response["statusCode"] < 500, response["body"][:300]
        assert records(api) == before
    else:
        assert response["statusCode"] == 201, response["body"][:300]
        for where, text in stored_text(api, key):
            assert_clean(text, pans, where)
    assert_clean(response["body"], pans, "response")
    for line in (captured.out + captured.err).splitlines():
        assert_clean(line, pans, "log line")
        if line.startswith("{"):
            assert_clean(decoded(line), pans, "log line, decoded")


def grouped(pan: str, separator: str, style: str) -> str:
    """``pan`` as 4-digit groups joined by ``separator``, in ``style`` digits."""
    groups = [restyle(pan[i:i + 4], style) for i in range(0, len(pan), 4)]
    return separator.join(groups)


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_every_position_with_every_separator_class(
    api: Api, capsys: pytest.CaptureFixture[str], position: str
) -> None:
    """The full table: each position with a number grouped by each class of separator (a
    different member of the class and digit script each time), one request each."""
    for number, (kind, separators) in enumerate(sorted(separator_classes().items())):
        pan = FIXED_PANS[number % len(FIXED_PANS)]
        ascii_only = position == "body JSON number"
        separator = " " if ascii_only else separators[(number * 7919) % len(separators)]
        style = "ascii" if ascii_only else STYLES[number % len(STYLES)]
        run(api, capsys, [(position, f"ref {grouped(pan, separator, style)}", pan)])


READ = sorted(p for p, (_, scanned) in POSITIONS.items() if scanned)
UNREAD = sorted(p for p, (_, scanned) in POSITIONS.items() if not scanned)


@st.composite
def placements(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """Numbers in one to five positions at once; about a third of the requests put them only
    where the handler never reads (those are accepted, and their stores are scanned)."""
    read = draw(st.lists(st.sampled_from(READ), max_size=2, unique=True)
                if draw(st.integers(0, 2)) else st.just([]))
    unread = draw(st.lists(st.sampled_from(UNREAD), min_size=0 if read else 1, max_size=3,
                           unique=True))
    placed = []
    for position in read + unread:
        pan = draw(card_numbers())
        placed.append((position, draw(hidden(pan, ascii_only=position == "body JSON number")),
                       pan))
    note_case("accepted: unread positions only" if not read else "refused")
    return placed


@settings(max_examples=CASES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(placed=placements())
def test_no_card_number_in_any_positions_is_stored_logged_or_answered(
    api: Api, capsys: pytest.CaptureFixture[str], placed: list[tuple[str, str, str]]
) -> None:
    run(api, capsys, placed)


def test_the_fuzz_covers_every_position_and_separator_class() -> None:
    """The counts docs/payment-api.md ("No card data") quotes, and every class is populated."""
    assert (len(POSITIONS), len(separator_classes()), len(STYLES), CASES) == (21, 8, 5, 120)
    assert all(separator_classes().values())
