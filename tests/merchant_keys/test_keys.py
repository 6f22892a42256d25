"""`python -m stacksets keys`: create shows the key once and stores only its hash; the key then
passes the real authorizer code (same moto table) until it is revoked."""

import hashlib
import json

import boto3
import pytest
from moto import mock_aws


from payments_dr import cli
from tests.conftest import EXAMPLE

TABLE = "payments-example-payments"  # name_prefix payments, environment example
PRIMARY, SECONDARY = "us-east-1", "us-west-2"

from payments import authorizer, merchant_keys

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/live/POST/process"


@pytest.fixture
def table():
    with mock_aws():
        for region in (PRIMARY, SECONDARY):
            boto3.client("dynamodb", region_name=region).create_table(
                TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        yield boto3.client("dynamodb", region_name=PRIMARY)


def keys(build_dir, capsys, *arguments) -> tuple[int, dict]:
    capsys.readouterr()  # drop what came before (e.g. the authorizer's log lines)
    status = cli.main(["keys", *arguments, "--config", str(EXAMPLE), "--build-dir",
                       str(build_dir), "--output", "json"])
    captured = capsys.readouterr()
    return status, json.loads(captured.out)


def authorize(client, key: str | None) -> dict:
    settings = authorizer.Settings(TABLE, "example", PRIMARY, "INFO")
    event = {"type": "REQUEST", "methodArn": METHOD_ARN,
             "headers": {} if key is None else {"Authorization": f"Bearer {key}"},
             "requestContext": {"requestId": "r-1"}}
    return authorizer.authorize(event, settings, authorizer.table_lookup(client, TABLE))


def effect(response: dict) -> str:
    return response["policyDocument"]["Statement"][0]["Effect"]


def test_create_shows_the_key_once_and_stores_only_its_hash(table, build_dir, capsys):
    status, out = keys(build_dir, capsys, "create", "--merchant", "merchant-42",
                       "--label", "checkout backend")
    assert status == 0 and out["result"] == "created"
    secret = out["secret_key"]
    assert merchant_keys.KEY_PATTERN.fullmatch(secret)
    assert secret.startswith(f"sk_example_{out['key_id']}_")
    (item,) = table.scan(TableName=TABLE)["Items"]
    assert item["pk"] == {"S": f"merchant-key#{out['key_id']}"}
    assert item["key_hash"] == {"S": hashlib.sha256(secret.encode()).hexdigest()}
    assert item["merchant_id"] == {"S": "merchant-42"} and item["key_status"] == {"S": "active"}
    assert secret not in json.dumps(item)  # only the hash is stored
    assert merchant_keys.KEY_PATTERN.fullmatch(secret)["secret"] not in json.dumps(item)


def test_a_created_key_is_accepted_by_the_authorizer_until_revoked(table, build_dir, capsys):
    _, created = keys(build_dir, capsys, "create", "--merchant", "merchant-42")
    allowed = authorize(table, created["secret_key"])
    assert effect(allowed) == "Allow"
    assert allowed["context"] == {"merchant_id": "merchant-42", "key_id": created["key_id"]}
    assert allowed["policyDocument"]["Statement"][0]["Resource"] == (
        "arn:aws:execute-api:us-east-1:123456789012:abc123/live/POST/process")

    status, listed = keys(build_dir, capsys, "list", "--merchant", "merchant-42")
    assert status == 0
    assert [(k["key_id"], k["key_status"]) for k in listed["keys"]] == [
        (created["key_id"], "active")]
    assert "key_hash" not in json.dumps(listed) and "secret_key" not in listed

    status, revoked = keys(build_dir, capsys, "revoke", "--key-id", created["key_id"])
    assert status == 0 and revoked["result"] == "revoked"
    denied = authorize(table, created["secret_key"])
    assert effect(denied) == "Deny" and "context" not in denied
    _, listed = keys(build_dir, capsys, "list")
    assert listed["keys"][0]["key_status"] == "revoked" and "revoked_at" in listed["keys"][0]

    status, again = keys(build_dir, capsys, "revoke", "--key-id", created["key_id"])
    assert status == 0 and again["result"] == "already_revoked"


def test_list_filters_by_merchant_and_never_shows_payments(table, build_dir, capsys):
    table.put_item(TableName=TABLE, Item={"pk": {"S": "idem#abc"}, "merchant_id": {"S": "m-1"}})
    for merchant in ("m-1", "m-2", "m-1"):
        keys(build_dir, capsys, "create", "--merchant", merchant)
    _, every = keys(build_dir, capsys, "list")
    _, only = keys(build_dir, capsys, "list", "--merchant", "m-1")
    assert len(every["keys"]) == 3
    assert [k["merchant_id"] for k in only["keys"]] == ["m-1", "m-1"]


def test_keys_can_be_written_in_the_recovery_region(table, build_dir, capsys):
    status, out = keys(build_dir, capsys, "create", "--merchant", "m-9", "--region", SECONDARY)
    assert status == 0 and out["region"] == SECONDARY
    secondary = boto3.client("dynamodb", region_name=SECONDARY)
    assert secondary.scan(TableName=TABLE)["Count"] == 1


@pytest.mark.parametrize("arguments, message", [
    (["create"], "--merchant is required"),
    (["create", "--merchant", "bad id"], "merchant id must be"),
    (["create", "--merchant", "4111111111111111"], "merchant id looks like a card number"),
    (["create", "--merchant", "m", "--label", "x" * 65], "label must be"),
    (["revoke"], "--key-id must be"),
    (["revoke", "--key-id", "NOTHEX"], "--key-id must be"),
    (["list", "--region", "eu-west-1"], "is not one of this environment's regions"),
])
def test_usage_errors_exit_2_and_write_nothing(table, build_dir, capsys, monkeypatch,
                                               arguments, message):
    """Refused before the STS call, in the one error shape."""
    from toolkit.aws import Aws

    monkeypatch.setattr(Aws, "identity", lambda *a, **k: pytest.fail("STS was called"))
    status = cli.main(["keys", *arguments, "--config", str(EXAMPLE), "--build-dir",
                       str(build_dir)])
    assert status == 2
    assert message in capsys.readouterr().err
    status, document = keys(build_dir, capsys, *arguments)
    assert (status, document["result"]) == (2, "error") and message in \
        document["error"]["message"] and document["error"]["details"] == []
    assert table.scan(TableName=TABLE)["Count"] == 0


def test_revoking_an_unknown_key_fails(table, build_dir, capsys):
    status, out = keys(build_dir, capsys, "revoke", "--key-id", "0123456789abcdef")
    assert status == 1 and out["result"] == "failed"
    assert out["error"]["message"].startswith("keys revoke: no key 0123456789abcdef in "
                                              f"{TABLE} (us-east-1)")


def test_keys_work_in_the_rehearsed_account_across_invocations(build_dir, capsys, tmp_path):
    """`keys --local` works against the account `deploy --local` left (its journal): a key
    created by one command is listed and revoked by the next ones, as in AWS."""
    state = str(tmp_path / "example.jsonl")
    local = ["--local", "--local-state", state]
    assert cli.main(["deploy", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                     *local]) == 0
    status, created = keys(build_dir, capsys, "create", "--merchant", "m-1001", *local)
    assert (status, created["result"]) == (0, "created")
    status, listed = keys(build_dir, capsys, "list", *local)
    assert [k["key_id"] for k in listed["keys"]] == [created["key_id"]]
    status, revoked = keys(build_dir, capsys, "revoke", "--key-id", created["key_id"], *local)
    assert (status, revoked["result"]) == (0, "revoked")
    status, listed = keys(build_dir, capsys, "list", *local)
    assert [k["key_status"] for k in listed["keys"]] == ["revoked"]
