"""No card data enters the system: hostile requests through the deployed handler.

Every request here goes through ``payments.handlers.process`` against the real
PostgreSQL and moto, and must get a clear 4xx, write nothing to the ledger,
the table or the bucket, and leave no card number in any log line (stdout and
stderr captured) or in the response. "No card number in a log line" is checked
on the decoded line, NFKC-normalised, with every non-digit dropped: a PAN
logged with separators or in fullwidth digits counts as logged.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payments.cardnumbers import luhn_valid
from payments.http import MAX_BODY_BYTES
from payments.validation import MAX_FIELD_ERRORS

from .conftest import Api, http_event, new_key, payment_body


def with_check_digit(partial: str) -> str:
    """``partial`` plus the Luhn check digit."""
    return next(partial + d for d in "0123456789" if luhn_valid(partial + d))


VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
VISA_13 = with_check_digit("422222222222")
MASTERCARD_2 = "2221000000000009"
PAN_19 = with_check_digit("621234567890123456")
GENERATED_PANS = tuple(with_check_digit(f"4{n:014d}") for n in range(600))
PANS = (VISA, MASTERCARD, AMEX, VISA_13, MASTERCARD_2, PAN_19, *GENERATED_PANS)


def digits_of(text: str) -> str:
    """Every digit of ``text`` after NFKC (any character with a Unicode digit value), as
    ASCII, in order."""
    normal = unicodedata.normalize("NFKC", text)
    values = (unicodedata.digit(c, None) for c in normal)
    return "".join(str(value) for value in values if value is not None)


def assert_no_pan(text: str, pans: tuple[str, ...] = PANS) -> None:
    for line in text.splitlines():
        try:
            line = json.dumps(json.loads(line), ensure_ascii=False)
        except ValueError:
            pass
        digits = digits_of(line)
        for pan in pans:
            assert pan not in digits, f"card number in: {line[:300]}"


DIGIT_ZEROS = {"fullwidth": 0xFF10, "arabic": 0x0660, "devanagari": 0x0966, "bold": 0x1D7CE}


def restyle(digits: str, style: str) -> str:
    """ASCII digits in another script ("ascii" keeps them)."""
    if style == "ascii":
        return digits
    return "".join(chr(DIGIT_ZEROS[style] + int(d)) for d in digits)


def grouped(pan: str, sizes: tuple[int, ...], separator: str) -> str:
    groups, start = [], 0
    for size in sizes:
        groups.append(pan[start : start + size])
        start += size
    groups.append(pan[start:])
    return separator.join(g for g in groups if g)


SPACED = grouped(VISA, (4, 4, 4), "{}")


ETHIOPIC = "0፩፪፫፬፭፮፯፰፱"  # U+1369..U+1371 (Ethiopic has no digit zero)


def styled(digits: str, alphabet: str) -> str:
    """``digits`` written with ``alphabet[d]`` for each digit d, in groups of four."""
    written = "".join(alphabet[int(d)] for d in digits)
    return " ".join(written[i:i + 4] for i in range(0, len(written), 4))


def body_event(body: Any, *, key: str | None = None, **headers: str) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return http_event(
        "POST",
        "/process",
        body=text,
        headers={
            "content-type": "application/json",
            "idempotency-key": key or new_key(),
            **headers,
        },
    )


def with_description(text: str) -> Callable[[], dict[str, Any]]:
    return lambda: body_event(payment_body(description=text))


def with_fields(**fields: Any) -> Callable[[], dict[str, Any]]:
    return lambda: body_event(payment_body(**fields))


def with_key(key: str) -> Callable[[], dict[str, Any]]:
    return lambda: body_event(payment_body(), key=key)


def with_path(path: str, query: str = "") -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        event = body_event(payment_body())
        event["rawPath"], event["rawQueryString"] = path, query
        return event

    return make


def unknown_keys(count: int, make_key: Callable[[int], str]) -> Callable[[], dict[str, Any]]:
    return lambda: body_event(compact(body_with_keys(count, make_key)))


def body_with_keys(count: int, make_key: Callable[[int], str]) -> dict[str, Any]:
    body = payment_body()
    body.update({make_key(n): 1 for n in range(count)})
    return body


def compact(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def base64_body(body: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        return http_event(
            "POST",
            "/process",
            body=json.dumps(body).encode(),
            headers={"content-type": "application/json", "idempotency-key": new_key()},
            base64_encoded=True,
        )

    return make


def with_json_member(member: str) -> Callable[[], dict[str, Any]]:
    """A valid body with ``member`` (raw JSON text) added at the end."""
    return lambda: body_event(json.dumps(payment_body())[:-1] + ", " + member + "}")


def invalid(rule: str) -> tuple[int, str, str]:
    return 422, "validation_failed", rule


CARD_IN_BODY = invalid("card_number")
CARD_IN_HEADER = (400, "card_number_in_header", "card_number")
SURROGATE = invalid("unpaired_surrogate")
BIDI = invalid("bidi_control")
MAXIMUM = invalid("maximum")
ESCAPED_VISA = "".join(f"\\u{ord(c):04x}" for c in VISA)
SOURCE = {"type": "card_token", "token": "tok_abcdefgh"}

# (case id, event factory, (status, error code, rule of some listed field or None))
HOSTILE: list[tuple[str, Callable[[], dict[str, Any]], tuple[int, str, str | None]]] = [
    # Issue 9, as reported: each of these got a 201 and was stored and logged.
    ("PAN, expiry and CVV", with_description(f"{VISA} 12/27 123"), CARD_IN_BODY),
    ("PAN after other digits", with_description(f"order 987654 {VISA}"), CARD_IN_BODY),
    ("PAN glued to other digits", with_description(f"9876543{VISA}"), CARD_IN_BODY),
    ("dots", with_description(SPACED.format(".", ".", ".")), CARD_IN_BODY),
    ("double spaces", with_description(SPACED.format("  ", "  ", "  ")), CARD_IN_BODY),
    ("no-break spaces", with_description(SPACED.format(*["\u00a0"] * 3)), CARD_IN_BODY),
    ("fullwidth digits", with_description(restyle(VISA, "fullwidth")), CARD_IN_BODY),
    ("underscores", with_description(SPACED.format("_", "_", "_")), CARD_IN_BODY),
    ("Idempotency-Key is a PAN", with_key(VISA), CARD_IN_HEADER),
    (
        "lone surrogate in description",
        with_description("caf\ud800e"),
        (422, "validation_failed", "unpaired_surrogate"),
    ),
    (
        "14 KB body of 1,500 unknown keys",
        unknown_keys(1500, lambda n: f"k{n:04x}"),
        (422, "validation_failed", "unknown_field"),
    ),
    ("JPY above its cap", with_fields(amount="2000001", currency="JPY"), MAXIMUM),
    # More separators.
    ("narrow no-break spaces", with_description(SPACED.format(*["\u202f"] * 3)), CARD_IN_BODY),
    ("figure spaces", with_description(SPACED.format(*["\u2007"] * 3)), CARD_IN_BODY),
    ("ideographic spaces", with_description(SPACED.format(*["\u3000"] * 3)), CARD_IN_BODY),
    ("zero-width spaces", with_description(SPACED.format(*["\u200b"] * 3)), CARD_IN_BODY),
    ("soft hyphens", with_description(SPACED.format(*["\u00ad"] * 3)), CARD_IN_BODY),
    ("tabs", with_description(SPACED.format("\t", "\t", "\t")), CARD_IN_BODY),
    ("line breaks", with_description(SPACED.format("\n", "\r\n", "\n")), CARD_IN_BODY),
    ("slashes", with_description(SPACED.format("/", "/", "/")), CARD_IN_BODY),
    ("spaced dashes", with_description(SPACED.format(" - ", " - ", " - ")), CARD_IN_BODY),
    ("en dashes", with_description(SPACED.format(*["\u2013"] * 3)), CARD_IN_BODY),
    ("minus signs", with_description(SPACED.format(*["\u2212"] * 3)), CARD_IN_BODY),
    ("commas", with_description("4,111,111,111,111,111"), CARD_IN_BODY),
    ("quotes", with_description(SPACED.format("'", "'", "'")), CARD_IN_BODY),
    ("mixed separators", with_description(SPACED.format(" ", "-", ".")), CARD_IN_BODY),
    ("parentheses", with_description("(4111) 1111 1111 1111"), CARD_IN_BODY),
    ("combining marks", with_description(SPACED.format(*["\u0301"] * 3)), CARD_IN_BODY),
    # Issue 18: letters that render as nothing (Default_Ignorable_Code_Point).
    ("Hangul fillers", with_description(SPACED.format(*["\u3164"] * 3)), CARD_IN_BODY),
    ("halfwidth Hangul fillers", with_description(SPACED.format(*["\uffa0"] * 3)), CARD_IN_BODY),
    ("Hangul choseong fillers", with_key(grouped(VISA, (4, 4, 4), "\u115f")), CARD_IN_HEADER),
    # Other digits.
    ("Arabic-Indic digits", with_description(restyle(VISA, "arabic")), CARD_IN_BODY),
    ("Devanagari digits", with_description(restyle(VISA, "devanagari")), CARD_IN_BODY),
    ("mathematical bold digits", with_description(restyle(VISA, "bold")), CARD_IN_BODY),
    (
        "fullwidth, spaced",
        with_description(grouped(restyle(VISA, "fullwidth"), (4, 4, 4), "\u3000")),
        CARD_IN_BODY,
    ),
    # Review 18 (F1): digits with a Unicode digit value that NFKC leaves alone.
    ("dingbat circled digits", with_description(styled(VISA, "🄋➀➁➂➃➄➅➆➇➈")), CARD_IN_BODY),
    ("double circled digits", with_description(styled(VISA, "0⓵⓶⓷⓸⓹⓺⓻⓼⓽")), CARD_IN_BODY),
    ("negative circled digits", with_description(styled(VISA, "⓿❶❷❸❹❺❻❼❽❾")), CARD_IN_BODY),
    ("one digit swapped", with_description("card 4111 \u2780111 1111 1111"), CARD_IN_BODY),
    ("Ethiopic digits", with_description(f"card {VISA_13[0]}{styled(VISA_13[1:], ETHIOPIC)}"),
     CARD_IN_BODY),
    # Review 18 (F2): letters that write no word between the groups.
    ("Lisu tone letter dots", with_description(SPACED.format(*["\ua4f8"] * 3)), CARD_IN_BODY),
    ("Lisu tone letter commas", with_description(SPACED.format(*["\ua4f9"] * 3)),
     CARD_IN_BODY),
    ("tatweel", with_description(SPACED.format(*["\u0640"] * 3)), CARD_IN_BODY),
    ("prolonged sound marks", with_description(SPACED.format(*["\u30fc"] * 3)), CARD_IN_BODY),
    ("modifier apostrophes", with_description(SPACED.format(*["\u02bc"] * 3)), CARD_IN_BODY),
    ("NKo low lines", with_description(SPACED.format(*["\u07fa"] * 3)), CARD_IN_BODY),
    ("dental clicks", with_description(SPACED.format(*["\u01c0"] * 3)), CARD_IN_BODY),
    ("syllabics middle dots", with_key(grouped(VISA, (4, 4, 4), "\u1427")), CARD_IN_HEADER),
    # Review 18 (F10): free text is free text, UUID-shaped or not.
    ("UUID-shaped description", with_description("ref 41111111-1111-1111-8000-000000000000"),
     CARD_IN_BODY),
    ("UUID-shaped merchant_id", with_fields(merchant_id="41111111-1111-1111-8000-000000000000"),
     CARD_IN_BODY),
    # Other lengths and brands.
    ("Amex 4-6-5", with_description(grouped(AMEX, (4, 6), " ")), CARD_IN_BODY),
    ("13-digit Visa", with_description(f"card {VISA_13}"), CARD_IN_BODY),
    ("19-digit PAN", with_description(PAN_19), CARD_IN_BODY),
    ("Mastercard 2-series", with_description(grouped(MASTERCARD_2, (4, 4, 4), " ")), CARD_IN_BODY),
    # Other places in the body.
    ("merchant_id", with_fields(merchant_id=f"m-{VISA}"), CARD_IN_BODY),
    ("source.token", with_fields(source={**SOURCE, "token": f"tok_{VISA}"}), CARD_IN_BODY),
    ("source.type", with_fields(source={**SOURCE, "type": f"visa_{VISA}"}), CARD_IN_BODY),
    ("amount", with_fields(amount=VISA), CARD_IN_BODY),
    ("currency", with_fields(currency=grouped(VISA, (4, 4, 4), " ")), CARD_IN_BODY),
    ("unknown field", with_fields(card_number=grouped(MASTERCARD, (4, 4, 4), "-")), CARD_IN_BODY),
    ("JSON number", with_fields(pan=int(VISA)), CARD_IN_BODY),
    ("JSON number with exponent", with_json_member('"pan": 4.111111111111111e15'), CARD_IN_BODY),
    ("object key", with_fields(metadata={VISA: "x"}), CARD_IN_BODY),
    ("key in source", with_fields(source={**SOURCE, f"pan_{AMEX}": "x"}), CARD_IN_BODY),
    (
        "deeply nested",
        with_fields(metadata={"a": {"b": ["x", {"c": SPACED.format(" ", " ", " ")}]}}),
        CARD_IN_BODY,
    ),
    ("JSON escapes", with_json_member(f'"note": "{ESCAPED_VISA}"'), CARD_IN_BODY),
    ("base64 body", base64_body(payment_body(description=f"pan {VISA}")), CARD_IN_BODY),
    ("600 PAN keys", unknown_keys(600, GENERATED_PANS.__getitem__), CARD_IN_BODY),
    (
        "PAN split over array items",  # not found as a PAN, refused as an unknown field
        with_fields(metadata=["4111", "1111", "1111", "1111"]),
        invalid("unknown_field"),
    ),
    # Headers and the path.
    ("Idempotency-Key with a prefix", with_key(f"key-{VISA}"), CARD_IN_HEADER),
    ("Idempotency-Key with dashes", with_key(grouped(VISA, (4, 4, 4), "-")), CARD_IN_HEADER),
    ("Idempotency-Key with dots", with_key(grouped(AMEX, (4, 6), ".")), CARD_IN_HEADER),
    ("Idempotency-Key fullwidth", with_key(restyle(VISA, "fullwidth")), CARD_IN_HEADER),
    (
        "Idempotency-Key UUID-shaped, wrong variant",
        with_key(f"00000000-{grouped(VISA, (4, 4, 4), '-')}0000"),
        CARD_IN_HEADER,
    ),
    (
        "Content-Type parameter",
        lambda: body_event(payment_body(), **{"content-type": f"application/json; card={VISA}"}),
        CARD_IN_HEADER,
    ),
    ("path", with_path(f"/process/{VISA}"), CARD_IN_HEADER),
    ("query string", with_path("/process", "pan=" + grouped(VISA, (4, 4, 4), "+")), CARD_IN_HEADER),
    # Characters no field may hold.
    ("lone low surrogate", with_description("\udc00"), SURROGATE),
    ("lone surrogate in a key", with_fields(**{"x\ud83d": "y"}), SURROGATE),
    ("lone surrogate in a token", with_fields(source={**SOURCE, "token": "t\ud800"}), SURROGATE),
    ("right-to-left override", with_description("pay \u202eevil"), BIDI),
    ("right-to-left isolate", with_description("\u2067abc\u2069"), BIDI),
    ("left-to-right mark in merchant_id", with_fields(merchant_id="m\u200e-1"), BIDI),
    ("Arabic letter mark", with_description("\u061c"), BIDI),
    # Amount caps and sizes.
    ("EUR above its cap", with_fields(amount="10000.01"), MAXIMUM),
    ("KWD above its cap", with_fields(amount="5000.001", currency="KWD"), MAXIMUM),
    ("KRW above its cap", with_fields(amount="20000001", currency="KRW"), MAXIMUM),
    ("PAN in an invalid JSON body", lambda: body_event("{" + VISA), (400, "malformed_json", None)),
    (
        "PAN in a duplicate key body",
        lambda: body_event(f'{{"d": "{VISA}", "d": "{VISA}"}}'),
        (400, "malformed_json", None),
    ),
    (
        "PAN in an oversized body",
        with_description(VISA + " " * MAX_BODY_BYTES),
        (413, "payload_too_large", None),
    ),
]


def test_there_are_at_least_forty_distinct_hostile_inputs() -> None:
    assert len({case[0] for case in HOSTILE}) == len(HOSTILE) >= 40


@pytest.mark.parametrize(
    ("make_event", "expected"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_hostile_input_is_refused_stored_nowhere_and_logged_without_card_data(
    api: Api,
    capsys: pytest.CaptureFixture[str],
    make_event: Callable[[], dict[str, Any]],
    expected: tuple[int, str, str | None],
) -> None:
    status, code, rule = expected
    event = make_event()
    before = api.counts()
    capsys.readouterr()

    response = api.invoke_process(event)

    captured = capsys.readouterr()
    assert response["statusCode"] == status, response["body"][:500]
    error = json.loads(response["body"])["error"]
    assert error["code"] == code and error["message"]
    if rule is not None:
        assert rule in {f["rule"] for f in error["fields"]}, error
    assert len(error.get("fields", ())) <= MAX_FIELD_ERRORS
    assert len(response["body"]) < 8 * 1024
    assert api.counts() == before
    assert "request completed" in captured.out
    assert_no_pan(captured.out + captured.err + response["body"])


def test_hostile_body_of_unknown_keys_gets_a_small_answer(api: Api) -> None:
    """Issue 9: a 14 KB body of 1,500 unknown keys produced a 205 KB error."""
    text = compact(body_with_keys(1500, lambda n: f"k{n:04x}"))
    assert 14_000 < len(text) <= MAX_BODY_BYTES

    response = api.post(None, new_key(), raw=text)

    error = json.loads(response["body"])["error"]
    assert response["statusCode"] == 422
    assert len(error["fields"]) == MAX_FIELD_ERRORS
    assert "1500 fields are invalid" in error["message"]
    assert len(response["body"]) < 4 * 1024


@pytest.mark.parametrize(
    "key",
    [
        str(uuid.uuid4()),
        "11111111-1111-4111-8111-111111111111",
        f"order-{uuid.uuid4()}",
        "01JDQ6Z8B5KX3M9W2R4T7V0YHE",
    ],
    ids=["uuid4", "all-digit uuid", "prefixed uuid", "ulid"],
)
def test_uuid_and_ulid_idempotency_keys_pass(api: Api, key: str) -> None:
    """The key is where the API asks for a UUID: one is an id, its groups never joined, even
    when they are all digits (review 18, F10: decided so, docs/payment-api.md)."""
    response = api.post(payment_body(), key)
    assert response["statusCode"] == 201, response["body"]


def test_a_uuid_vault_token_passes_and_the_same_text_as_a_description_does_not(api: Api) -> None:
    """Where a UUID is expected (the token, never stored or logged, only hashed) it is an id;
    in free text the same characters are the digits they show (review 18, F10)."""
    all_digits = "11111111-1111-4111-8111-111111111111"
    token = api.post(payment_body(source={"type": "card_token", "token": all_digits}), new_key())
    assert token["statusCode"] == 201, token["body"]
    before = api.counts()
    described = api.post(payment_body(description=f"ref {all_digits}"), new_key())
    assert described["statusCode"] == 422
    assert json.loads(described["body"])["error"]["fields"][0] == {
        "field": "description", "rule": "card_number",
        "message": "must not contain a card number; send a vault token in source.token"}
    assert api.counts() == before


@pytest.mark.parametrize(
    "description",
    [
        "order 1001, 2 items",
        "call +44 20 7946 0958",
        "ref 550e8400-e29b-41d4-a716-446655440000",
        "\uff14\uff12 units",
    ],
)
def test_ordinary_descriptions_with_digits_pass(api: Api, description: str) -> None:
    response = api.post(payment_body(description=description), new_key())
    assert response["statusCode"] == 201, response["body"]


def test_ten_thousand_yen_is_accepted(api: Api) -> None:
    """Issue 9: the one cap of 10000 for every currency made about 65 USD the limit in JPY."""
    response = api.post(payment_body(amount="10000", currency="JPY"), new_key())
    assert response["statusCode"] == 201, response["body"]


def test_multiplier_scales_the_caps(api: Api, reconfigure: Callable[..., None]) -> None:
    reconfigure(PAYMENT_LIMIT_MULTIPLIER="0.5")
    refused = api.post(payment_body(amount="5000.01"), new_key())
    accepted = api.post(payment_body(amount="5000.00"), new_key())
    assert refused["statusCode"] == 422 and "5000.00" in refused["body"]
    assert accepted["statusCode"] == 201, accepted["body"]


# ---- property: valid PANs embedded in generated text, in many formats ----

ISSUER_PREFIXES = ("4", "51", "55", "2221", "2720", "34", "37", "6011", "65", "35", "62", "36")
SEPARATORS = (
    " ", "  ", "-", "--", ".", "_", "/", ",", "'", "*", "|", ":", " - ", "\t", "\n",
    "\u00a0", "\u2007", "\u2009", "\u202f", "\u3000", "\u200b", "\u00ad", "\u2013", "\u2212",
    "\u0301", "\u30fb", "\u3164", "\uffa0", "\u115f", "\u1160", "\ufe0f", "\u2060",
)
STYLES = ("ascii", "fullwidth", "arabic", "devanagari", "bold")


@st.composite
def pans(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(ISSUER_PREFIXES))
    length = draw(st.integers(13, 19))
    size = length - len(prefix) - 1
    middle = draw(st.text("0123456789", min_size=size, max_size=size))
    return with_check_digit(prefix + middle)


@st.composite
def formatted(draw: st.DrawFn, pan: str) -> str:
    """``pan`` grouped, separated, restyled and wrapped in text."""
    if draw(st.booleans()):
        sizes = draw(st.sampled_from([(4, 4, 4, 4), (4, 6, 5), (4, 4, 4), (2, 3, 4, 5)]))
    else:
        sizes = tuple(draw(st.lists(st.integers(1, 6), max_size=5)))
    separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=3))
    groups, start = [], 0
    for size in sizes:
        groups.append(pan[start : start + size])
        start += size
    groups.append(pan[start:])
    groups = [g for g in groups if g]
    text = groups[0] + "".join(draw(st.sampled_from(separators)) + g for g in groups[1:])
    if draw(st.booleans()):  # some digits, or all, in other scripts
        styles = st.sampled_from(STYLES)
        text = "".join(restyle(c, draw(styles)) if c.isdigit() else c for c in text)
    before = draw(st.sampled_from(["", "card ", "tok_", "order 987654 ", "9876", "ref:", "(", "x"]))
    after = draw(st.sampled_from(["", " 12/27 123", " exp 12/27", "0", "123", ")", " thanks"]))
    words = st.text(st.characters(categories=["L", "Zs"]), max_size=12)
    return draw(words) + before + text + after + draw(words)


PLACES = (
    "description", "merchant_id", "source.token", "source.type", "amount", "unknown field",
    "nested", "object key", "idempotency key", "json number",
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), pan=pans(), place=st.sampled_from(PLACES))
def test_embedded_card_numbers_are_refused_stored_nowhere_and_never_logged(
    api: Api, capsys: pytest.CaptureFixture[str], data: st.DataObject, pan: str, place: str
) -> None:
    text = data.draw(formatted(pan))
    body, key = payment_body(), new_key()
    if place == "description":
        body["description"] = text
    elif place == "merchant_id":
        body["merchant_id"] = text
    elif place == "source.token":
        body["source"]["token"] = text
    elif place == "source.type":
        body["source"]["type"] = text
    elif place == "amount":
        body["amount"] = text
    elif place == "unknown field":
        body["note"] = text
    elif place == "nested":
        body["metadata"] = {"lines": [{"text": text}]}
    elif place == "object key":
        body["metadata"] = {text: "x"}
    elif place == "idempotency key":
        key = text
    else:
        body["pan"] = int(pan)
    before = api.counts()
    capsys.readouterr()

    response = api.invoke_process(body_event(body, key=key))

    captured = capsys.readouterr()
    assert 400 <= response["statusCode"] < 500, response["body"][:500]
    error = json.loads(response["body"])["error"]
    if place == "idempotency key":
        assert (response["statusCode"], error["code"]) == (400, "card_number_in_header")
    else:
        assert response["statusCode"] == 422
        assert "card_number" in {f["rule"] for f in error["fields"]}, error
    assert api.counts() == before
    assert_no_pan(captured.out + captured.err + response["body"], (pan,))


def test_headers_the_handler_never_reads_are_not_scanned(api: Api) -> None:
    """Platform headers routinely hold long digit runs: scanning them would refuse payments
    at random. The handler neither stores nor logs them."""
    event = body_event(
        payment_body(),
        traceparent=f"00-{VISA}{VISA}-{VISA[:16]}-01",
        **{"x-forwarded-for": "203.0.113.195, 198.51.100.178, 192.0.2.143"},
    )
    response = api.invoke_process(event)
    assert response["statusCode"] == 201, response["body"]
