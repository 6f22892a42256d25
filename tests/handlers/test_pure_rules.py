"""The pure parts: configuration, the currency table, card-number detection, fingerprints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payments import cardnumbers, validation
from payments.config import ENV_VARS, RUNTIME_ENV_VARS, Config, ConfigError
from payments.currencies import (
    MAX_AMOUNT_MINOR_UNITS,
    MINOR_UNITS,
    max_amount_minor_units,
    minor_units,
)
from payments.models import format_amount

GOOD_ENV = {
    "PAYMENTS_TABLE_NAME": "t",
    "RECEIPTS_BUCKET_NAME": "b",
    "DB_SECRET_ARN": "arn:secret",
    "DB_HOST": "db.example",
    "DB_PORT": "5432",
    "DB_NAME": "payments",
    "DB_TLS_CA_FILE": "/var/task/certs/rds-ca-bundle.pem",
    "DB_CLUSTER_IDENTIFIERS": "payments-prod-us-east-1,Payments-Prod-US-West-2",
    "PAYMENT_LIMIT_MULTIPLIER": "0.5",
    "IDEMPOTENCY_TTL_SECONDS": "86400",
    "LOG_LEVEL": "",
    "ZERO_LOSS": "on",
    "ZERO_LOSS_WAIT_MS": "1000",
    "ZERO_LOSS_DEGRADE_AFTER_SECONDS": "10",
    "AWS_REGION": "us-west-2",
}


def test_env_vars_are_exactly_the_template_contract() -> None:
    assert {
        "PAYMENTS_TABLE_NAME",
        "RECEIPTS_BUCKET_NAME",
        "DB_SECRET_ARN",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_TLS_CA_FILE",
        "DB_CLUSTER_IDENTIFIERS",
        "PAYMENT_LIMIT_MULTIPLIER",
        "IDEMPOTENCY_TTL_SECONDS",
        "LOG_LEVEL",
        "ZERO_LOSS",
        "ZERO_LOSS_WAIT_MS",
        "ZERO_LOSS_DEGRADE_AFTER_SECONDS",
    } == ENV_VARS
    assert {"AWS_REGION"} == RUNTIME_ENV_VARS
    assert set(GOOD_ENV) == ENV_VARS | RUNTIME_ENV_VARS


def test_config_reads_and_types_every_variable() -> None:
    config = Config.from_environ(GOOD_ENV)
    assert config.region == "us-west-2"
    assert config.payment_limit_multiplier == Decimal("0.5")
    assert (config.db_port, config.idempotency_ttl_seconds) == (5432, 86400)
    assert config.db_tls_ca_file == "/var/task/certs/rds-ca-bundle.pem"
    assert config.db_cluster_identifiers == ("payments-prod-us-east-1", "payments-prod-us-west-2")
    assert config.log_level == "INFO"
    assert (config.zero_loss, config.zero_loss_wait_ms, config.zero_loss_degrade_after_seconds) \
        == (True, 1000, 10)


def test_config_reports_every_problem_at_once() -> None:
    broken = {
        **GOOD_ENV,
        "DB_PORT": "http",
        "PAYMENT_LIMIT_MULTIPLIER": "NaN",
        "IDEMPOTENCY_TTL_SECONDS": "5",
        "LOG_LEVEL": "chatty",
        "DB_TLS_CA_FILE": " ",
        "DB_CLUSTER_IDENTIFIERS": "payments-prod-us-east-1,9lives,a--b,ok-",
        "ZERO_LOSS": "yes",
        "ZERO_LOSS_WAIT_MS": "0",
        "ZERO_LOSS_DEGRADE_AFTER_SECONDS": "601",
    }
    del broken["DB_HOST"]
    with pytest.raises(ConfigError) as raised:
        Config.from_environ(broken)
    for name in (
        "DB_HOST",
        "DB_PORT",
        "PAYMENT_LIMIT_MULTIPLIER",
        "IDEMPOTENCY_TTL_SECONDS",
        "LOG_LEVEL",
        "DB_TLS_CA_FILE is required",
        "DB_CLUSTER_IDENTIFIERS has ['9lives', 'a--b', 'ok-']",
        "ZERO_LOSS='yes' must be one of: on, off",
        "ZERO_LOSS_WAIT_MS='0' must be an integer in [10, 5000]",
        "ZERO_LOSS_DEGRADE_AFTER_SECONDS='601' must be an integer in [1, 600]",
    ):
        assert name in str(raised.value)


def test_cluster_identifiers_may_be_empty_and_must_be_rds_identifiers() -> None:
    """Empty: only a certificate naming DB_HOST itself is accepted (a local server); the
    template always sets both regions' identifiers."""

    def identifiers(value: str) -> tuple[str, ...]:
        environ = {**GOOD_ENV, "DB_CLUSTER_IDENTIFIERS": value}
        return Config.from_environ(environ).db_cluster_identifiers

    assert identifiers("") == identifiers(" , ") == ()
    assert identifiers("a" * 63) == ("a" * 63,)
    with pytest.raises(ConfigError, match="DB_CLUSTER_IDENTIFIERS"):
        identifiers("a" * 64)


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("JPY", 0),
        ("KRW", 0),
        ("EUR", 2),
        ("USD", 2),
        ("BHD", 3),
        ("KWD", 3),
        ("TND", 3),
        ("ZWG", 2),
        ("CLP", 0),
    ],
)
def test_currency_minor_units(code: str, exponent: int) -> None:
    assert minor_units(code) == exponent


def test_currency_table_holds_only_payable_codes() -> None:
    assert 150 <= len(MINOR_UNITS) <= 170
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) == {0, 2, 3}
    not_money = {
        "XXX",
        "XTS",
        "XAU",
        "XAG",
        "XPT",
        "XPD",
        "XDR",
        "CLF",
        "UYW",
        "BOV",
        "USN",
        "HRK",
        "ZWL",
    }
    assert not_money.isdisjoint(MINOR_UNITS)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("4111111111111111", True),  # Visa test number
        ("4111 1111 1111 1111", True),
        ("5555-5555-5555-4444", True),  # Mastercard
        ("378282246310005", True),  # Amex, 15 digits
        ("3782 822463 10005", True),  # Amex grouping 4-6-5
        ("6011111111111117", True),  # Discover
        ("4111111111111113", False),  # no 13-19 digit window passes Luhn
        ("411111111111", False),  # 12 digits: too short
        ("order 12345", False),
        ("+44 20 7946 0958", False),  # 12 digits
        ("tok_4111111111111111", True),
        ("4111111111111111 12/27 123", True),  # expiry and CVV joined on
        ("order 987654 4111111111111111", True),  # after other digits
        ("98765434111111111111111", True),  # glued to other digits
        ("41111111111111111111", True),  # a PAN followed by a digit
        ("4111.1111.1111.1111", True),
        ("4111  1111  1111  1111", True),  # double spaces
        ("4111\u00a01111\u00a01111\u00a01111", True),  # no-break spaces
        ("4111\u200b1111\u200b1111\u200b1111", True),  # zero-width spaces
        ("4111\u30001111\u30001111\u30001111", True),  # ideographic spaces
        ("4111_1111_1111_1111", True),
        ("4111/1111/1111/1111", True),
        ("4111 - 1111 - 1111 - 1111", True),
        ("\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11"
         "\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11", True),  # fullwidth
        ("\u0664\u0661\u0661\u0661111111111111", True),  # Arabic-Indic digits mixed in
        ("4111 1111 O111 1111", False),  # a letter ends the run
        ("550e8400-e29b-41d4-a716-446655440000", False),  # no 13-digit run
        # Free text: a UUID-shaped string shows its digits (review 18, F10).
        ("11111111-1111-4111-8111-111111111111", True),
        ("ref 41111111-1111-1111-8000-000000000000", True),
        # Digits that NFKC leaves alone but a reader reads (review 18, F1).
        ("\u2783\u2780\u2780\u2780 \u2780\u2780\u2780\u2780 \u2780\u2780\u2780\u2780 "
         "\u2780\u2780\u2780\u2780", True),  # dingbat circled sans-serif digits
        ("4111 1111 1111 111\u2780", True),  # one digit swapped
        ("\u3007\u3007\u3007\u3007 \u3007\u3007\u3007\u3007 \u3007\u3007\u3007\u3007 "
         "\u3007\u3007\u3007\u3007", True),  # ideographic zeros: 16 zeros pass Luhn
        # Letters that write no word join groups (review 18, F2).
        ("4111\ua4f81111\ua4f81111\ua4f81111", True),  # Lisu tone letter, renders as "."
        ("4111\u02bc1111\u02bc1111\u02bc1111", True),  # modifier letter apostrophe
        ("4111\u01c01111\u01c01111\u01c01111", True),  # dental click, renders as "|"
        ("4111\u14271111\u14271111\u14271111", True),  # syllabics final middle dot
        ("4111\u02b01111\u02b01111\u02b01111", False),  # superscript h: NFKC "h", a letter
        ("2026-11-30 16:52:40.123456", True),  # the price: a timestamp with fraction
        ("DE89 3704 0044 0532 0130 00", True),  # ... and an IBAN
    ],
)
def test_card_number_detection(text: str, found: bool) -> None:
    assert cardnumbers.contains_card_number(text) is found


def test_every_window_of_a_digit_run_is_luhn_checked() -> None:
    """The prefix-sum scan agrees with checking each window one by one."""
    import random

    generator = random.Random(9)
    for _ in range(3000):
        digits = "".join(generator.choice("0123456789") for _ in range(generator.randint(12, 30)))
        naive = any(
            cardnumbers.luhn_valid(digits[start : start + length])
            for length in range(13, 20)
            for start in range(len(digits) - length + 1)
        )
        assert cardnumbers.contains_card_number(digits) is naive, digits


@pytest.mark.parametrize(("text", "in_free_text", "where_a_uuid_is_expected"), [
    ("11111111-1111-4111-8111-111111111111", True, False),  # an all-digit UUID: an id
    ("key-11111111-1111-4111-8111-111111111111", True, False),  # ... inside an id too
    ("00000000-4111-1111-1111-111111111111", True, True),  # not RFC 9562 (variant): joined
    ("4111111111111111 11111111-1111-4111-8111-111111111111", True, True),  # a PAN beside it
])
def test_uuids_are_ids_only_where_a_uuid_is_expected(
    text: str, in_free_text: bool, where_a_uuid_is_expected: bool
) -> None:
    assert cardnumbers.contains_card_number(text) is in_free_text
    assert cardnumbers.contains_card_number_outside_uuids(text) is where_a_uuid_is_expected


def test_uuid_idempotency_keys_never_look_like_card_numbers() -> None:
    import uuid

    keys = [str(uuid.uuid4()) for _ in range(20000)]
    assert not any(cardnumbers.contains_card_number_outside_uuids(key) for key in keys)
    # What the exception is for: scanned as free text, about 1 in 135 would be.
    assert 20 < sum(cardnumbers.contains_card_number(key) for key in keys) < 400


def test_a_receipt_key_never_looks_like_a_card_number() -> None:
    """Issue 18's fuzz: the date before the payment id joined an all-digit first group
    (about 1 receipt key in 35, stored in the status item) into a Luhn-valid run."""
    import uuid

    scan = cardnumbers.contains_card_number_outside_uuids  # a system-generated id
    assert scan("receipts/2026/12/04/20261204")  # digits still join
    assert not scan("receipts/2026/12/04/86945012-572c-4101-9508-cc38b28fca8b.json")
    assert not any(scan(f"receipts/2026/12/04/{uuid.uuid4()}.json") for _ in range(5000))


def test_card_number_paths_cover_nested_values_keys_and_numbers() -> None:
    document = {"a": {"b": ["x", "4111111111111111"]}, "4242424242424242": 1, "n": 378282246310005}
    assert sorted(cardnumbers.paths_with_card_numbers(document)) == ["<redacted>", "a.b[1]", "n"]


def request(**fields: object) -> validation.PaymentRequest:
    body = {
        "amount": "10.00",
        "currency": "EUR",
        "merchant_id": "m-1",
        "source": {"type": "card_token", "token": "tok_12345678"},
        "description": None,
        **fields,
    }
    return validation.payment_request(body)


def test_fingerprint_is_about_meaning_not_bytes() -> None:
    assert request(amount="10").fingerprint() == request(amount="10.00").fingerprint()
    assert request().fingerprint() == request(description=None).fingerprint()
    assert request(amount="10.01").fingerprint() != request().fingerprint()
    assert request(description="x").fingerprint() != request().fingerprint()


def test_source_token_is_never_in_a_repr() -> None:
    assert "tok_12345678" not in repr(request())


@pytest.mark.parametrize(
    ("amount", "exponent", "text"), [("12.3", 2, "12.30"), ("5", 0, "5"), ("1", 3, "1.000")]
)
def test_amount_is_formatted_with_the_currency_exponent(
    amount: str, exponent: int, text: str
) -> None:
    assert format_amount(Decimal(amount), exponent) == text


# Indicative units per US dollar, late 2025, for a few currencies of every size.
INDICATIVE_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.87"),
    "GBP": Decimal("0.76"),
    "CHF": Decimal("0.80"),
    "BHD": Decimal("0.376"),
    "KWD": Decimal("0.307"),
    "JPY": Decimal("155"),
    "KRW": Decimal("1470"),
    "INR": Decimal("88.5"),
    "BRL": Decimal("5.35"),
    "MXN": Decimal("18.4"),
    "CNY": Decimal("7.1"),
    "IDR": Decimal("16700"),
    "VND": Decimal("26300"),
    "CLP": Decimal("940"),
}


def test_every_payable_currency_has_a_cap_of_one_two_or_five_times_a_power_of_ten() -> None:
    assert set(MAX_AMOUNT_MINOR_UNITS) == set(MINOR_UNITS)
    for code, cap in MAX_AMOUNT_MINOR_UNITS.items():
        major = Decimal(cap).scaleb(-MINOR_UNITS[code])
        mantissa = major.normalize().as_tuple().digits
        assert mantissa in {(1,), (2,), (5,)}, (code, major)


@pytest.mark.parametrize("code", sorted(INDICATIVE_RATES))
def test_caps_are_worth_about_ten_thousand_dollars(code: str) -> None:
    major = Decimal(MAX_AMOUNT_MINOR_UNITS[code]).scaleb(-MINOR_UNITS[code])
    assert 10_000 <= major / INDICATIVE_RATES[code] <= 25_000


def test_jpy_cap_is_no_longer_the_euro_number() -> None:
    """Issue 9: one cap of 10000 for every currency made 10000 JPY (about 65 USD) the limit."""
    assert MAX_AMOUNT_MINOR_UNITS["JPY"] == 2_000_000
    assert MAX_AMOUNT_MINOR_UNITS["EUR"] == 1_000_000  # 10000.00 EUR in cents
    assert MAX_AMOUNT_MINOR_UNITS["BHD"] == 5_000_000  # 5000.000 BHD in fils


def test_largest_cap_at_the_largest_multiplier_fits_the_ledger_column() -> None:
    """numeric(18, 3): 15 integer digits."""
    for code, exponent in MINOR_UNITS.items():
        largest = Decimal(max_amount_minor_units(code, Decimal(100))).scaleb(-exponent)
        assert largest < Decimal("1e15"), code


@pytest.mark.parametrize(
    ("multiplier", "currency", "cap"),
    [("1", "EUR", 1_000_000), ("0.5", "JPY", 1_000_000), ("2.5", "BHD", 12_500_000),
     ("0.001", "JPY", 2_000), ("0.0000001", "JPY", 1)],
)
def test_multiplier_scales_caps_rounding_down_to_at_least_one_minor_unit(
    multiplier: str, currency: str, cap: int
) -> None:
    assert max_amount_minor_units(currency, Decimal(multiplier)) == cap


@pytest.mark.parametrize(
    ("amount", "currency", "multiplier", "accepted"),
    [
        ("10000.00", "EUR", "1", True),
        ("10000.01", "EUR", "1", False),
        ("10000", "JPY", "1", True),  # refused before issue 9
        ("2000000", "JPY", "1", True),
        ("2000001", "JPY", "1", False),
        ("5000.000", "BHD", "1", True),
        ("5000.001", "BHD", "1", False),
        ("5000.01", "EUR", "0.5", False),
        ("5000.00", "EUR", "0.5", True),
    ],
)
def test_amount_cap_is_per_currency_in_minor_units(
    amount: str, currency: str, multiplier: str, accepted: bool
) -> None:
    body = {
        "amount": amount,
        "currency": currency,
        "merchant_id": "m-1",
        "source": {"type": "card_token", "token": "tok_abcdefgh"},
    }
    try:
        validation.payment_request(body, Decimal(multiplier))
    except validation.ApiError as error:
        assert not accepted
        assert [(f.field, f.rule) for f in error.fields] == [("amount", "maximum")]
        assert currency in error.fields[0].message
    else:
        assert accepted


@pytest.mark.parametrize("value", ["0", "0.000", "-1", "100.001", "1e3", "NaN", "Infinity", "x"])
def test_config_refuses_a_multiplier_outside_0_to_100(value: str) -> None:
    with pytest.raises(ConfigError, match="PAYMENT_LIMIT_MULTIPLIER"):
        Config.from_environ({**GOOD_ENV, "PAYMENT_LIMIT_MULTIPLIER": value})


def test_error_list_is_capped_with_unknown_fields_last() -> None:
    document = {f"extra_{n:04d}": "x" for n in range(1500)}
    document.update(amount="1.001", currency="EUR", source="tok")
    with pytest.raises(validation.ApiError) as raised:
        validation.payment_request(document)
    fields = raised.value.fields
    assert len(fields) == validation.MAX_FIELD_ERRORS
    assert [(f.field, f.rule) for f in fields[:3]] == [
        ("amount", "precision"),
        ("merchant_id", "required"),
        ("source", "type"),
    ]
    assert all(f.rule == "unknown_field" for f in fields[3:])
    assert "1503 fields are invalid" in raised.value.message


def test_long_and_card_like_paths_are_cut_or_redacted() -> None:
    deep: object = "x\ud800"
    for _ in range(60):
        deep = {"level": deep}
    indexed: object = "y\u202e"
    for index in (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4):  # path: indexed[4][1]...[1]
        indexed = [0] * index + [indexed]
    with pytest.raises(validation.ApiError) as raised:
        validation.payment_request({"deep": deep, "indexed": indexed})
    found = {f.rule: f.field for f in raised.value.fields}
    assert len(found["unpaired_surrogate"]) == validation.MAX_FIELD_PATH_CHARS
    assert found["unpaired_surrogate"].startswith("deep.level.level")
    assert found["bidi_control"] == cardnumbers.REDACTED_KEY


_HOSTILE_VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=60)),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=120), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=300), _HOSTILE_VALUES, max_size=200))
def test_any_refusal_is_small_whatever_the_body(document: dict[str, object]) -> None:
    try:
        validation.payment_request(document)
    except validation.ApiError as error:
        assert 0 < len(error.fields) <= validation.MAX_FIELD_ERRORS
        assert all(len(f.field) <= validation.MAX_FIELD_PATH_CHARS for f in error.fields)
        assert len(error.to_response("c" * 36).body.encode()) <= 6 * 1024
