"""A processor killed between its ledger commit and the writes after it.

The processor runs in a subprocess (`crash_child.py`) that exits at once right after its
commit (and the zero-loss wait), where it would write the receipt, the status item and the
idempotency record's completion. Both processes use one moto server for DynamoDB, S3 and
Secrets Manager, as two Lambda containers share the region's services, and a real primary
with a real standby. Afterwards: the payment exists (in both regions' storage) and nothing
after the commit does; a retry meanwhile is told the request is in progress; the reconcile
step rebuilds the receipt and the status item from the ledger; once the dead invocation's
lease has passed, the retry gets the 201 the killed process would have sent, replayed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from payments import handlers, wiring
from payments.deadline import Deadline
from payments.models import canonical_json
from payments.receipts import receipt_document, receipt_key
from payments.reconcile import ReconcileRequest

from rehearsal.localpg import (
    DATABASE, SERVER_HOSTNAME, PostgresServer, PostgresUnavailable, create_server,
    create_standby,
)
from rehearsal.localpg.server import free_port
from tests.handlers.conftest import (
    FakeContext, admin_connection, create_database_secrets, deploy_schema, http_event,
    payment_body,
)

from .crash_child import KILLED

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
TABLE, BUCKET = "payments-crash-test", "payments-crash-test-receipts"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from moto.server import ThreadedMotoServer

    try:
        primary = create_server()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    standby: PostgresServer | None = None
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    moto.start()
    try:
        admin = admin_connection(primary, "postgres")
        admin.run(f"CREATE DATABASE {DATABASE}")
        admin.close()
        standby = create_standby(primary)
        environment = {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto._server.port}",  # both processes
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "PAYMENTS_TABLE_NAME": TABLE, "RECEIPTS_BUCKET_NAME": BUCKET,
            "DB_HOST": SERVER_HOSTNAME, "DB_PORT": str(primary.port), "DB_NAME": DATABASE,
            "DB_TLS_CA_FILE": str(primary.ca_file), "DB_CLUSTER_IDENTIFIERS": "",
            "PAYMENT_LIMIT_MULTIPLIER": "1", "IDEMPOTENCY_TTL_SECONDS": "86400",
            "LOG_LEVEL": "INFO", "ZERO_LOSS": "on", "ZERO_LOSS_WAIT_MS": "1000",
            "ZERO_LOSS_DEGRADE_AFTER_SECONDS": "10",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        boto3.client("dynamodb").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        boto3.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        arns = create_database_secrets(REGION, "payments-crash-test/db", primary.password)
        monkeypatch.setenv("DB_SECRET_ARN", arns["app"])
        deploy_schema(REGION, DATABASE, arns)
        wiring.reset()
        yield {"env": {**os.environ}, "primary": primary, "standby": standby}
    finally:
        wiring.reset()
        moto.stop()
        if standby is not None:
            standby.destroy()
        primary.destroy()


def rows(server: PostgresServer, key: str) -> list[list[Any]]:
    connection = admin_connection(server)
    try:
        return connection.run("SELECT payment_id::text FROM payments "
                              "WHERE idempotency_key = :k", k=key)
    finally:
        connection.close()


def test_a_process_killed_after_its_commit_leaves_a_payment_that_reconcile_completes(
    world: dict[str, Any],
) -> None:
    key, body = f"crash-{uuid.uuid4()}", payment_body()
    event = http_event("POST", "/process", body=json.dumps(body),
                       headers={"content-type": "application/json", "idempotency-key": key})
    killed = subprocess.run([sys.executable, "-m", "tests.dr.crash_child"], cwd=ROOT,
                            input=json.dumps(event), env=world["env"], capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == KILLED, killed.stderr[-2000:]
    assert "killed after the commit" in killed.stdout

    # The commit happened, and the standby had it before the process died (zero-loss).
    ((payment_id,),) = rows(world["primary"], key)
    deadline = time.monotonic() + 10
    while rows(world["standby"], key) != [[payment_id]]:
        assert time.monotonic() < deadline, "the standby never showed the committed payment"
        time.sleep(0.05)
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    status_key = {"pk": {"S": f"payment#{payment_id}"}}
    idempotency_key = {"pk": {"S": f"idem#{body['merchant_id']}#{key}"}}
    assert "Item" not in dynamodb.get_item(TableName=TABLE, Key=status_key)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="receipts/").get("KeyCount") == 0
    claim = dynamodb.get_item(TableName=TABLE, Key=idempotency_key)["Item"]
    assert claim["status"]["S"] == "IN_PROGRESS"  # the dead invocation's, until its lease

    def post() -> dict[str, Any]:
        retry = http_event("POST", "/process", body=json.dumps(body),
                           headers={"content-type": "application/json", "idempotency-key": key})
        return handlers.process(retry, FakeContext(retry["requestContext"]["requestId"]))

    busy = post()
    assert (busy["statusCode"], json.loads(busy["body"])["error"]["code"]) == (
        409, "request_in_progress")

    # The reconcile step (as `dr failover` or the schedule runs it) rebuilds both projections.
    report = wiring.reconciler().run(
        ReconcileRequest.from_event({"since_minutes": 10}), Deadline(lambda: 300.0),
        now=datetime.now(UTC) + timedelta(minutes=2))
    assert (report.missing_status_items, report.missing_receipts) == (1, 1)
    assert (report.repaired_status_items, report.repaired_receipts) == (1, 1)
    recorded = wiring.payment_service()._ledger.find(body["merchant_id"], key)
    assert recorded is not None
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=receipt_key(recorded))["Body"].read())
    assert stored == receipt_document(recorded)
    status = dynamodb.get_item(TableName=TABLE, Key=status_key)["Item"]
    assert status["receipt_key"]["S"] == receipt_key(recorded)

    # The dead invocation's lease passes (set in the past here rather than waited for).
    dynamodb.update_item(TableName=TABLE, Key=idempotency_key,
                         UpdateExpression="SET lease_expires_at = :past",
                         ExpressionAttributeValues={":past": {"N": "0"}})
    replay = post()
    assert replay["statusCode"] == 201, replay["body"]
    assert replay["headers"]["idempotent-replayed"] == "true"
    assert replay["headers"]["x-payments-durability"] == "cross-region"
    # The 201 the killed process would have sent: derived from the row, its correlation id.
    assert replay["body"] == canonical_json(recorded.to_json())
    assert json.loads(replay["body"])["correlation_id"] == event["requestContext"]["requestId"]
    assert post()["body"] == replay["body"]
    assert len(rows(world["primary"], key)) == 1
