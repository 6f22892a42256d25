"""Every log line passes the card-number scan that guards the stores, as a whole.

Issue 18: a body with the unknown keys ``_41111111`` and ``_50000001`` got its 422, and the
request's log line listed both names side by side: ``["_41111111","_50000001"]`` is one
digit run (quotes and commas are separators) and passes Luhn.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payments import cardnumbers, logs

from .conftest import Api, new_key, payment_body

# Two keys that are harmless alone and a card number together (4111111150000001 passes Luhn).
JOINING_KEYS = ("_41111111", "_50000001")


def decoded(line: str) -> str:
    """The line as a log reader shows it: non-ASCII characters and controls as themselves
    (json.dumps escapes controls as \\u00XX even with ensure_ascii=False)."""
    text = json.dumps(json.loads(line), ensure_ascii=False)
    return re.sub(r"\\u00[0-9a-f]{2}", lambda escape: chr(int(escape.group()[2:], 16)), text)


def assert_line_passes_the_scan(line: str) -> None:
    """As written, and decoded; a UUID is an id only in the fields that hold ids
    (``logs.UUID_FIELDS``): every other field passes the scan for free text on its own."""
    assert not cardnumbers.contains_card_number_outside_uuids(line), line
    assert not cardnumbers.contains_card_number_outside_uuids(decoded(line)), decoded(line)
    for name, value in json.loads(line).items():
        if name not in logs.UUID_FIELDS:
            assert not cardnumbers.contains_card_number(json.dumps(value)), (name, value)


def test_the_keys_of_the_issue_join_into_a_card_number() -> None:
    assert not any(cardnumbers.contains_card_number(key) for key in JOINING_KEYS)
    assert cardnumbers.contains_card_number(json.dumps(list(JOINING_KEYS), separators=(",", ":")))


def test_names_of_refused_fields_never_join_into_a_card_number_in_the_log_line(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    body = payment_body()
    body.update(dict.fromkeys(JOINING_KEYS, 1))
    capsys.readouterr()

    response = api.post(body, new_key())

    assert response["statusCode"] == 422
    fields = [f["field"] for f in json.loads(response["body"])["error"]["fields"]]
    assert set(JOINING_KEYS) <= set(fields)  # the response still names them, one per entry
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (completed,) = [json.loads(line) for line in lines if "request completed" in line]
    for line in lines:
        assert_line_passes_the_scan(line)
    assert completed["invalid_fields"] == cardnumbers.REDACTED_KEY
    assert completed["redacted_fields"] == ["invalid_fields"]
    assert (completed["status_code"], completed["error_code"]) == (422, "validation_failed")


def record(message: str = "request completed", created: float | None = None,
           **fields: object) -> logging.LogRecord:
    entry = logging.LogRecord("payments.api", logging.INFO, __file__, 1, message, None, None)
    entry.fields = fields
    if created is not None:
        entry.created = created
    return entry


FORMATTER = logs.JsonFormatter()


def test_fields_without_card_numbers_are_logged_as_given() -> None:
    line = json.loads(FORMATTER.format(record(status_code=201, invalid_fields=["amount"])))
    assert line["invalid_fields"] == ["amount"] and "redacted_fields" not in line


def test_a_field_holding_a_card_number_is_redacted_and_named() -> None:
    line = FORMATTER.format(record(path="/process/4111-1111-1111-1111", status_code=400))
    assert_line_passes_the_scan(line)
    entry = json.loads(line)
    assert (entry["path"], entry["redacted_fields"], entry["status_code"]) == (
        cardnumbers.REDACTED_KEY, ["path"], 400)


def test_a_uuid_is_an_id_only_in_the_fields_that_hold_ids() -> None:
    """Review 18 (F10): an all-digit UUID as the payment id or correlation id is logged as
    is; the same characters in a free-text field are the card number they show."""
    uuid_shaped = "41111111-1111-1111-8000-000000000000"
    line = FORMATTER.format(record(payment_id=uuid_shaped, idempotency_key=f"key-{uuid_shaped}",
                                   path=f"/process/{uuid_shaped}", status_code=400))
    assert_line_passes_the_scan(line)
    entry = json.loads(line)
    assert (entry["payment_id"], entry["idempotency_key"]) == (uuid_shaped, f"key-{uuid_shaped}")
    assert (entry["path"], entry["redacted_fields"]) == (cardnumbers.REDACTED_KEY, ["path"])


@pytest.mark.parametrize("value", [
    "4111\u00011111\u00011111\u00011111",  # controls: escaped as \u0001 in the written line
    "\U0001d7d2111111111111111",  # a digit outside the BMP: a surrogate pair when escaped
    "4111\u31641111\u31641111\u31641111",  # Hangul fillers
], ids=["control-separators", "astral-digit", "hangul-fillers"])
def test_an_escape_neither_hides_nor_makes_a_card_number(value: str) -> None:
    entry = json.loads(FORMATTER.format(record(note=value)))
    assert entry["note"] == cardnumbers.REDACTED_KEY


def test_an_escape_that_makes_digits_is_not_mistaken_for_text() -> None:
    """``\\u3164`` written before digits puts 3164 in the written line: the scan of the
    written line flags 13 digits made that way too (a false positive is a redaction)."""
    line = FORMATTER.format(record(note="\u3164" + "4111111111"))
    assert_line_passes_the_scan(line)


def test_a_number_joined_across_fields_withholds_the_line() -> None:
    """Field names without letters let two values join across the line: no single field can
    be blamed, so only the formatter's own fields are kept."""
    line = FORMATTER.format(record(**{"4111": "1111 1111 1111"}))
    assert_line_passes_the_scan(line)
    entry = json.loads(line)
    assert entry["message"] == logs.WITHHELD_MESSAGE
    assert entry["redacted_fields"] == ["4111", "correlation_id", "message"]
    assert set(entry) == {"timestamp", "level", "logger", "message", "redacted_fields"}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(0, 4_102_444_800_000))
def test_the_timestamp_never_holds_a_digit_run_long_enough_for_a_card_number(ms: int) -> None:
    """With microseconds the time part alone was a 16-digit run (10:11:12.345678+00:00)."""
    created = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).timestamp()
    entry = json.loads(FORMATTER.format(record(created=created)))
    assert not any(len(run) >= cardnumbers.MIN_PAN_DIGITS
                   for run in cardnumbers.digit_runs(entry["timestamp"]))
    assert entry["timestamp"].endswith("Z") and len(entry["timestamp"]) == 24


PIECES = st.text("0123456789", min_size=1, max_size=10)
JOINERS = st.sampled_from(["", "_", "-", " ", ".", "\u3164", "\u200b", "\u0001", "\t"])


@st.composite
def fields(draw: st.DrawFn) -> dict[str, object]:
    """Values made of digit pieces: alone or together they may form card numbers."""
    def value() -> object:
        piece = draw(JOINERS) + draw(PIECES) + draw(JOINERS)
        return draw(st.sampled_from([piece, [piece, draw(JOINERS) + draw(PIECES)],
                                     {"k": piece}, int(draw(PIECES))]))

    names = draw(st.lists(st.sampled_from(["a", "b_c", "invalid_fields", "path", "reason"]),
                          min_size=1, max_size=5, unique=True))
    return {name: value() for name in names}


@settings(max_examples=400, deadline=None, derandomize=True)
@given(fields(), PIECES)
def test_no_log_line_ever_holds_a_card_number(values: dict[str, object], message: str) -> None:
    assert_line_passes_the_scan(FORMATTER.format(record(message, **values)))
