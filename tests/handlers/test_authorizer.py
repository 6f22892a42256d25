"""The merchant key authorizer through its Lambda entry point, against moto's DynamoDB, and
the merchant binding of POST /process (the merchant comes from the authorizer context)."""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from payments import authorizer, cardnumbers, handlers, merchant_keys

from .conftest import REGION, TABLE, Api, new_key, payment_body

ENVIRONMENT = "test"
METHOD_ARN = f"arn:aws:execute-api:{REGION}:123456789012:api1234567/live/POST/process"


@pytest.fixture(scope="module")
def key_env(aws: None):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEY_ENVIRONMENT", ENVIRONMENT)
        authorizer.reset()
        yield
        authorizer.reset()


def issue(merchant: str, *, status: str = "active", environment: str = ENVIRONMENT) -> str:
    new = merchant_keys.new_key(environment)
    item = merchant_keys.new_record(new.key_id, merchant_keys.key_hash(new.value), merchant,
                                    "2026-01-01T00:00:00Z")
    item["key_status"] = {"S": status}
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=TABLE, Item=item)
    return new.value


def call(header: str | None, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    event = {"type": "REQUEST", "methodArn": METHOD_ARN,
             "headers": headers if headers is not None else
             ({} if header is None else {"Authorization": header}),
             "requestContext": {"requestId": "req-1"}}
    if headers is not None:
        event["multiValueHeaders"] = {k: v if isinstance(v, list) else [v]
                                      for k, v in headers.items()}
        event["headers"] = {k: (v[-1] if isinstance(v, list) else v) for k, v in headers.items()}
    return handlers.authorizer(event, None)


def effect(response: dict[str, Any]) -> str:
    (statement,) = response["policyDocument"]["Statement"]
    return statement["Effect"]


def test_a_valid_key_is_allowed_for_post_process_only_with_the_merchant_in_context(key_env):
    key = issue("merchant-42")
    response = call(f"Bearer {key}")
    assert effect(response) == "Allow"
    assert response["principalId"] == "merchant-42"
    assert response["context"]["merchant_id"] == "merchant-42"
    (statement,) = response["policyDocument"]["Statement"]
    assert statement["Resource"] == METHOD_ARN  # not the whole stage: results are cached
    assert statement["Action"] == "execute-api:Invoke"


def revoked_key() -> str:
    return issue("merchant-42", status="revoked")


def unknown_key() -> str:
    return merchant_keys.new_key(ENVIRONMENT).value


def wrong_secret() -> str:
    key = issue("merchant-42")
    return key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")


def other_environment() -> str:
    return issue("merchant-42", environment="prod")


@pytest.mark.parametrize("make_header, reason", [
    (lambda: None, "missing"),
    (lambda: "", "empty"),
    (lambda: "Bearer", "no key"),
    (lambda: "Basic dXNlcjpwYXNz", "another scheme"),
    (lambda: "Bearer sk_test_nothex_" + "a" * 43, "malformed key id"),
    (lambda: "Bearer " + "sk_test_" + "0" * 16 + "_" + "a" * 42, "short secret"),
    (lambda: "Bearer sk_test_" + "0" * 16 + "_" + "a" * 43 + "'; DROP TABLE", "trailing junk"),
    (lambda: "Bearer " + "x" * 10_000, "huge header"),
    (lambda: "Bearer 4111111111111111", "a card number"),
    (lambda: f"Bearer {revoked_key()}", "revoked"),
    (lambda: f"Bearer {unknown_key()}", "unknown"),
    (lambda: f"Bearer {wrong_secret()}", "right id, wrong secret"),
    (lambda: f"Bearer {other_environment()}", "a prod key in test"),
])
def test_anything_else_is_denied_for_the_whole_stage(key_env, make_header, reason):
    response = call(make_header())
    assert effect(response) == "Deny", reason
    assert response["policyDocument"]["Statement"][0]["Resource"].endswith("/live/*")
    assert "context" not in response


def test_a_repeated_authorization_header_is_denied(key_env):
    key = issue("merchant-42")
    response = call(None, headers={"Authorization": [f"Bearer {key}", f"Bearer {key}"]})
    assert effect(response) == "Deny"


def test_the_bare_key_is_accepted_too(key_env):
    assert effect(call(issue("merchant-7"))) == "Allow"


def test_the_key_is_never_logged(key_env, capsys):
    key = issue("merchant-42")
    call(f"Bearer {key}")
    call(f"Bearer {key[:-1]}x")
    call("Bearer 4111111111111111")
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["decision"] for line in lines] == ["allow", "deny", "deny"]
    secret = merchant_keys.KEY_PATTERN.fullmatch(key)["secret"]
    assert secret not in out and secret[:-1] not in out and "4111111111111111" not in out


def luhn_key_id(first: str = "4") -> str:
    """16 decimal digits that pass Luhn: a key id that is a card number."""
    partial = first + "1" * 14
    return next(partial + d for d in "0123456789"
                if cardnumbers.contains_card_number(partial + d))


@pytest.mark.parametrize("key_environment, reason", [
    (ENVIRONMENT, "unknown_key"), ("prod", "other_environment")])
def test_a_key_that_did_not_authenticate_is_logged_by_its_shape_only(
        key_env, capsys, key_environment, reason):
    """Issue 18: the key id of an unknown key (or another environment's) was logged before it
    was checked; 16 digits that pass Luhn are a card number in the log."""
    key_id = luhn_key_id()
    response = call(f"Bearer sk_{key_environment}_{key_id}_{'a' * 43}")
    assert effect(response) == "Deny"
    out = capsys.readouterr().out
    (line,) = [json.loads(text) for text in out.splitlines() if text.startswith("{")]
    assert (line["decision"], line["reason"]) == ("deny", reason)
    assert "key_id" not in line
    assert key_id not in out and not cardnumbers.contains_card_number_outside_uuids(out)


def test_a_wrong_secret_for_a_real_key_id_logs_no_key_id(key_env, capsys):
    call(f"Bearer {wrong_secret()}")
    (line,) = [json.loads(t) for t in capsys.readouterr().out.splitlines() if t.startswith("{")]
    assert line["reason"] == "wrong_secret" and "key_id" not in line


def test_an_authenticated_key_is_logged_with_its_key_id(key_env, capsys):
    for make, reason in ((lambda: issue("merchant-42"), "valid"), (revoked_key, "revoked")):
        key = make()
        call(f"Bearer {key}")
        (line,) = [json.loads(t) for t in capsys.readouterr().out.splitlines()
                   if t.startswith("{")]
        assert (line["reason"], line["key_id"]) == (
            reason, merchant_keys.parse_authorization(key).key_id)


class BrokenTable:
    def get_item(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}},
                          "GetItem")


def test_a_table_outage_is_an_error_not_a_decision(key_env, monkeypatch):
    """API Gateway turns an authorizer error into AUTHORIZER_FAILURE (503 by our gateway
    response): the request is neither allowed nor denied, and no denial is cached."""
    key = issue("merchant-42")
    call(f"Bearer {unknown_key()}")  # builds the container state
    monkeypatch.setitem(authorizer._runtime, "lookup",
                        authorizer.table_lookup(BrokenTable(), TABLE))
    with pytest.raises(authorizer.KeyStoreUnavailable):
        call(f"Bearer {key}")
    assert effect(call("Bearer not-a-key")) == "Deny"  # no lookup needed: still answered


def test_only_the_hash_is_stored(key_env):
    key = issue("merchant-3")
    key_id = merchant_keys.parse_authorization(key).key_id
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"pk": {"S": f"merchant-key#{key_id}"}})["Item"]
    assert item["key_hash"]["S"] == hashlib.sha256(key.encode()).hexdigest()
    assert merchant_keys.KEY_PATTERN.fullmatch(key)["secret"] not in json.dumps(item)


@pytest.mark.latency
def test_authorizer_cost_per_call(key_env):
    """p50/p99 of one authorizer invocation (parse, GetItem on moto, compare, policy), warm."""
    keys = [issue(f"merchant-{n}") for n in range(20)]
    for key in keys:
        call(f"Bearer {key}")
    samples = []
    for n in range(400):
        started = time.perf_counter()
        assert effect(call(f"Bearer {keys[n % len(keys)]}")) == "Allow"
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    rejected = []
    for _ in range(200):
        started = time.perf_counter()
        call("Bearer not-a-key")
        rejected.append((time.perf_counter() - started) * 1000)
    print(f"\nauthorizer (moto DynamoDB, in-process): allow p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
          f"malformed-key deny p50 {statistics.median(rejected):.3f} ms")
    assert p99 < 250  # generous: a shared CI machine; real GetItem adds a few ms


# --- the merchant of POST /process ----------------------------------------------------------
@pytest.fixture
def api(deployed: None, postgres) -> Api:
    return Api(postgres)


def test_the_merchant_comes_from_the_key(api: Api):
    key = new_key()
    body = payment_body()
    del body["merchant_id"]
    response = api.post(body, key, merchant="merchant-42")
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["merchant_id"] == "merchant-42"
    assert api.ledger_rows(key)


def test_a_body_merchant_equal_to_the_key_merchant_is_accepted(api: Api):
    response = api.post(payment_body(merchant_id="merchant-42"), new_key(), merchant="merchant-42")
    assert response["statusCode"] == 201


@pytest.mark.parametrize("claimed", ["merchant-43", "MERCHANT-42", "merchant-42 ", 42, None,
                                     {"id": "merchant-42"}, "4111111111111111"])
def test_a_body_merchant_that_disagrees_is_refused_and_nothing_is_stored(api: Api, capsys,
                                                                         claimed):
    key = new_key()
    response = api.post(payment_body(merchant_id=claimed), key, merchant="merchant-42")
    assert response["statusCode"] == 403
    error = json.loads(response["body"])["error"]
    assert error["code"] == "merchant_mismatch"
    assert "merchant-43" not in response["body"] and "4111" not in response["body"]
    assert api.ledger_rows(key) == []
    assert api.idempotency_item(key) is None
    assert "4111111111111111" not in capsys.readouterr().out


def test_a_request_without_any_authenticated_caller_is_refused(api: Api):
    from .conftest import http_event

    event = http_event("POST", "/process", body=json.dumps(payment_body()),
                       headers={"content-type": "application/json",
                                "idempotency-key": new_key()})
    event["requestContext"]["identity"]["userArn"] = None
    response = api.invoke_process(event)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "unauthorized"


def jwt_event(claims: dict[str, str], body: dict[str, Any], key: str) -> dict[str, Any]:
    from .conftest import http_event

    event = http_event("POST", "/process", body=json.dumps(body),
                       headers={"content-type": "application/json", "idempotency-key": key})
    event["requestContext"]["identity"]["userArn"] = None
    event["requestContext"]["authorizer"] = {"claims": claims}
    return event


def test_jwt_mode_takes_the_merchant_from_the_token_claim(api: Api):
    body = payment_body()
    del body["merchant_id"]
    key = new_key()
    response = api.invoke_process(jwt_event({"sub": "u-1", "custom:merchant_id": "m-jwt"},
                                            body, key))
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["merchant_id"] == "m-jwt"
    mismatch = api.invoke_process(jwt_event({"sub": "u-1", "custom:merchant_id": "m-jwt"},
                                            payment_body(merchant_id="m-other"), new_key()))
    assert mismatch["statusCode"] == 403


def test_a_token_without_a_merchant_claim_is_refused(api: Api):
    key = new_key()
    response = api.invoke_process(jwt_event({"sub": "u-1"}, payment_body(), key))
    assert response["statusCode"] == 403
    assert api.ledger_rows(key) == []


def test_an_iam_caller_names_the_merchant_in_the_body(api: Api):
    response = api.post(payment_body(merchant_id="m-internal"), new_key())
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["merchant_id"] == "m-internal"


def test_a_repeated_idempotency_key_header_is_refused_not_last_wins(api: Api):
    """REST APIs put the last value of a repeated header in `headers`; the handler reads them
    all (joined with commas, as HTTP APIs do), which no valid key can contain."""
    from .conftest import http_event

    first, second = new_key(), new_key()
    event = http_event("POST", "/process", body=json.dumps(payment_body()),
                       headers={"content-type": "application/json", "idempotency-key": second},
                       merchant="merchant-42")
    event["multiValueHeaders"]["idempotency-key"] = [first, second]
    response = api.invoke_process(event)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_idempotency_key"
    assert api.ledger_rows(first) == api.ledger_rows(second) == []
