"""Pure rules of merchant secret keys: format, hash, decision, policy."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments import merchant_keys

ARN = "arn:aws:execute-api:eu-west-1:123456789012:api1234567/live/POST/process"


def test_a_new_key_parses_back_to_its_id_and_environment():
    for _ in range(200):
        new = merchant_keys.new_key("prod")
        presented = merchant_keys.parse_authorization(f"Bearer {new.value}")
        assert presented is not None
        assert (presented.environment, presented.key_id) == ("prod", new.key_id)
        assert presented.digest == hashlib.sha256(new.value.encode()).hexdigest()


def test_a_new_key_id_never_holds_thirteen_decimal_digits_in_a_row(monkeypatch):
    """The first ids drawn here are all digits (a card number would be among them): every
    one is drawn again until one has a letter within each 13 digits."""
    drawn = iter(["4111111111111111", "a411111111111111", "0123456789012a45",
                  "0123456789ab0123"])
    monkeypatch.setattr(merchant_keys.secrets, "token_hex", lambda _: next(drawn))
    assert merchant_keys.new_key("prod").key_id == "0123456789ab0123"


def test_keys_are_unique_and_their_repr_hides_the_secret():
    keys = {merchant_keys.new_key("prod").value for _ in range(500)}
    assert len(keys) == 500
    new = merchant_keys.new_key("prod")
    assert new.value not in repr(new)
    assert new.value not in repr(merchant_keys.parse_authorization(new.value))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_arbitrary_header_is_ever_allowed(header):
    """Whatever the header, with a store that knows no key, the answer is a Deny."""
    decision = merchant_keys.decide(header, "prod", lambda key_id: None)
    assert not decision.allowed
    response = merchant_keys.authorizer_response(decision, ARN, "POST/process")
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in response


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefABCDEF0123456789_-", min_size=43, max_size=43))
def test_a_known_key_id_with_any_other_secret_is_denied(secret):
    real = merchant_keys.new_key("prod")
    key_id = real.key_id
    record = {"key_hash": merchant_keys.key_hash(real.value), "key_status": "active",
              "merchant_id": "m-1"}
    forged = f"sk_prod_{key_id}_{secret}"
    decision = merchant_keys.decide(forged, "prod", lambda _: record)
    assert decision.allowed == (forged == real.value)


def test_the_allow_policy_names_one_route_and_the_deny_the_whole_stage():
    allow = merchant_keys.Decision("m-1", "0123456789abcdef", "valid")
    deny = merchant_keys.Decision(None, None, "malformed")
    stage = "arn:aws:execute-api:eu-west-1:123456789012:api1234567/live"
    assert merchant_keys.authorizer_response(allow, ARN, "POST/process")[
        "policyDocument"]["Statement"][0]["Resource"] == f"{stage}/POST/process"
    assert merchant_keys.authorizer_response(deny, ARN, "POST/process")[
        "policyDocument"]["Statement"][0]["Resource"] == f"{stage}/*"


def test_records_refuse_bad_merchants_and_labels():
    for merchant in ("", "bad id", "m" * 65, "-leading"):
        try:
            merchant_keys.new_record("0123456789abcdef", "0" * 64, merchant, "t")
        except ValueError:
            continue
        raise AssertionError(f"accepted merchant {merchant!r}")
    item = merchant_keys.new_record("0123456789abcdef", "0" * 64, "m-1", "t", "checkout")
    assert item["key_status"] == {"S": "active"} and "label" in item


# --- review 18 (F11): no key for a merchant id that looks like a card number ---------------
@pytest.mark.parametrize("merchant_id, label", [
    ("4111111111111111", ""),  # a 16-digit acquirer MID that passes Luhn
    ("mid-4111111111111111", ""),  # a prefix does not break the run
    ("4111.1111.1111.1111", ""),
    ("merchant-42", "card 4111 1111 1111 1111"),  # the label is stored and listed too
], ids=["16-digit-mid", "prefixed", "dotted", "label"])
def test_a_key_is_refused_for_a_merchant_id_or_label_that_looks_like_a_card_number(
    merchant_id, label
):
    with pytest.raises(ValueError, match="looks like a card number") as error:
        merchant_keys.new_record("0123456789abcdef", "0" * 64, merchant_id,
                                 "2026-01-01T00:00:00Z", label)
    assert "4111" not in str(error.value)  # the message never echoes the number


def test_a_merchant_id_with_letters_between_its_digits_gets_a_key():
    item = merchant_keys.new_record("0123456789abcdef", "0" * 64, "mid-4111m1111m1111m1111",
                                    "2026-01-01T00:00:00Z")
    assert item["merchant_id"] == {"S": "mid-4111m1111m1111m1111"}


def test_a_stored_record_whose_merchant_id_looks_like_a_card_number_is_denied():
    """A record created before the check: denied, so API Gateway's access log never records
    the number as the request's merchant id (a Deny carries no context)."""
    new = merchant_keys.new_key("prod")
    record = {"key_hash": new_digest(new.value), "key_status": "active",
              "merchant_id": "4111111111111111"}
    decision = merchant_keys.decide(new.value, "prod", lambda _key_id: record)
    assert (decision.allowed, decision.reason) == (False, "invalid_record")
    assert "context" not in merchant_keys.authorizer_response(decision, ARN, "POST/process")


def new_digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
