"""The pure parts: configuration, the currency table, card-number detection, fingerprints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from payments import cardnumbers, validation
from payments.config import ENV_VARS, RUNTIME_ENV_VARS, Config, ConfigError
from payments.currencies import MINOR_UNITS, minor_units
from payments.models import format_amount

GOOD_ENV = {
    "PAYMENTS_TABLE_NAME": "t",
    "RECEIPTS_BUCKET_NAME": "b",
    "DB_SECRET_ARN": "arn:secret",
    "DB_HOST": "db.example",
    "DB_PORT": "5432",
    "DB_NAME": "payments",
    "DB_TLS_CA_FILE": "",
    "MAX_PAYMENT_AMOUNT": "5000.00",
    "IDEMPOTENCY_TTL_SECONDS": "86400",
    "LOG_LEVEL": "",
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
        "MAX_PAYMENT_AMOUNT",
        "IDEMPOTENCY_TTL_SECONDS",
        "LOG_LEVEL",
    } == ENV_VARS
    assert {"AWS_REGION"} == RUNTIME_ENV_VARS
    assert set(GOOD_ENV) == ENV_VARS | RUNTIME_ENV_VARS


def test_config_reads_and_types_every_variable() -> None:
    config = Config.from_environ(GOOD_ENV)
    assert config.region == "us-west-2"
    assert config.max_payment_amount == Decimal("5000.00")
    assert (config.db_port, config.idempotency_ttl_seconds) == (5432, 86400)
    assert config.db_tls_ca_file is None and config.log_level == "INFO"


def test_config_reports_every_problem_at_once() -> None:
    broken = {
        **GOOD_ENV,
        "DB_PORT": "http",
        "MAX_PAYMENT_AMOUNT": "NaN",
        "IDEMPOTENCY_TTL_SECONDS": "5",
        "LOG_LEVEL": "chatty",
    }
    del broken["DB_HOST"]
    with pytest.raises(ConfigError) as raised:
        Config.from_environ(broken)
    for name in (
        "DB_HOST",
        "DB_PORT",
        "MAX_PAYMENT_AMOUNT",
        "IDEMPOTENCY_TTL_SECONDS",
        "LOG_LEVEL",
    ):
        assert name in str(raised.value)


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
        ("6011111111111117", True),  # Discover
        ("4111111111111112", False),  # Luhn fails
        ("411111111111", False),  # 12 digits: too short
        ("41111111111111111111", False),  # 20 digits: too long
        ("order 12345", False),
        ("tok_4111111111111111", True),
    ],
)
def test_card_number_detection(text: str, found: bool) -> None:
    assert cardnumbers.contains_card_number(text) is found


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
    return validation.payment_request(body, Decimal("100"))


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
