"""Fixtures for the Lambda handler tests: a real PostgreSQL, moto for AWS.

The handlers run exactly as deployed, through ``payments.handlers.process`` and
``payments.handlers.health`` with environment variables, against a real
PostgreSQL server over verified TLS (see ``postgres.py``) and moto's
DynamoDB, S3 and Secrets Manager. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pg8000.exceptions
import pg8000.native
import pytest

from payments import roles, schema_deploy, wiring  # noqa: E402
from payments.probe_keys import HEALTH_ITEM_PREFIX  # noqa: E402
from payments.tls import tls_context  # noqa: E402

from rehearsal.localpg import (  # noqa: E402
    ADMIN_USER,
    DATABASE,
    SERVER_HOSTNAME,
    PostgresServer,
    PostgresUnavailable,
    create_server,
)

REGION = "eu-west-1"
TABLE = "payments-test"
BUCKET = "payments-test-receipts-eu-west-1"
SECRET_NAME = "payments-test/db"
LIMIT_MULTIPLIER = "1"


BULK_WRITERS = ("test_properties.py", "test_latency.py")
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Within this package, run the tests that write hundreds of payments last:
    moto's scans and listings slow down with every item, and the other tests
    count items. The package's tests stay contiguous, so its package-scoped
    fixtures (the server, the moto mock) are set up once and torn down before
    any other package runs."""
    positions = [i for i, item in enumerate(items) if item.path.parent == HERE]
    ordered = sorted((items[i] for i in positions), key=lambda item: item.path.name in BULK_WRITERS)
    for position, item in zip(positions, ordered, strict=True):
        items[position] = item


@pytest.fixture(scope="package")
def postgres() -> Iterator[PostgresServer]:
    try:
        server = create_server()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        admin = admin_connection(server, "postgres")
        admin.run(f"CREATE DATABASE {DATABASE}")
        admin.close()
        yield server
    finally:
        server.destroy()


def admin_connection(server: PostgresServer, database: str = DATABASE) -> pg8000.native.Connection:
    return pg8000.native.Connection(
        user=ADMIN_USER,
        password=server.password,
        host=SERVER_HOSTNAME,
        port=server.port,
        database=database,
        ssl_context=tls_context(str(server.ca_file)),
        timeout=10,
    )


@pytest.fixture(scope="package")
def environment(postgres: PostgresServer) -> Iterator[dict[str, str]]:
    """Fake AWS credentials and the functions' environment, as the template sets it."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "PAYMENTS_TABLE_NAME": TABLE,
        "RECEIPTS_BUCKET_NAME": BUCKET,
        "DB_SECRET_ARN": "",  # filled in by the `aws` fixture
        "DB_HOST": SERVER_HOSTNAME,
        "DB_PORT": str(postgres.port),
        "DB_NAME": DATABASE,
        "DB_TLS_CA_FILE": str(postgres.ca_file),
        "PAYMENT_LIMIT_MULTIPLIER": LIMIT_MULTIPLIER,
        "IDEMPOTENCY_TTL_SECONDS": "86400",
        "LOG_LEVEL": "INFO",
        # One server here, nothing replicates: zero-loss acknowledgements are tested against a
        # real standby in tests/dr.
        "ZERO_LOSS": "off",
        "ZERO_LOSS_WAIT_MS": "1000",
        "ZERO_LOSS_DEGRADE_AFTER_SECONDS": "10",
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_PROFILE", raising=False)
        for name, value in values.items():
            patch.setenv(name, value)
        yield values


@pytest.fixture(scope="package")
def aws(environment: dict[str, str], postgres: PostgresServer) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        arns = create_database_secrets(REGION, SECRET_NAME, postgres.password)
        SECRET_ARNS.update(arns)
        patch.setenv("DB_SECRET_ARN", arns["app"])
        wiring.reset()
        yield
        wiring.reset()


SECRET_ARNS: dict[str, str] = {}
"""master / migrator / app secret ARNs of the package's moto account."""


def create_database_secrets(region: str, prefix: str, master_password: str) -> dict[str, str]:
    """The three secrets the template creates: master (the server's admin here), migrator and
    app (their passwords random, as Secrets Manager would generate them)."""
    client = boto3.client("secretsmanager", region_name=region)
    users = {"master": (ADMIN_USER, master_password),
             "migrator": (roles.MIGRATOR_ROLE, secrets.token_urlsafe(30)),
             "app": (roles.APP_ROLE, secrets.token_urlsafe(30))}
    return {
        kind: client.create_secret(
            Name=f"{prefix}/{kind}",
            SecretString=json.dumps({"username": user, "password": password}),
        )["ARN"]
        for kind, (user, password) in users.items()
    }


LOOPBACK = "127.0.0.0/8"
OTHER_REGION, OTHER_REGION_CIDR = "eu-central-1", "10.1.0.0/16"
"""The recovery region of the handler tests: no function here connects from its network."""


def deploy_schema(region: str, database: str, arns: dict[str, str],
                  port: int | None = None,
                  recovery: tuple[str, str] = (OTHER_REGION, OTHER_REGION_CIDR)) -> dict[str, Any]:
    """What the migrate function does after a deploy: roles, then migrations and the
    regions' networks. ``region``'s functions connect from the loopback network here;
    ``recovery`` is the other region and its network."""
    environ = {**os.environ, "DB_NAME": database, "AWS_REGION": region,
               "DB_MASTER_SECRET_ARN": arns["master"],
               "DB_MIGRATOR_SECRET_ARN": arns["migrator"], "DB_SECRET_ARN": arns["app"],
               "HOME_REGION": region, "HOME_VPC_CIDR": LOOPBACK,
               "RECOVERY_REGION": recovery[0], "RECOVERY_VPC_CIDR": recovery[1]}
    if port is not None:
        environ["DB_PORT"] = str(port)
    return schema_deploy.run(schema_deploy.MigrateConfig.from_environ(environ))


@pytest.fixture(scope="package")
def deployed(aws: None) -> None:
    """Roles and schema, as the migrate function does after a deploy."""
    deploy_schema(REGION, DATABASE, SECRET_ARNS)


@dataclass
class FakeContext:
    aws_request_id: str
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


INTERNAL_CALLER_ARN = "arn:aws:sts::123456789012:assumed-role/platform-payments/session"
"""An IAM caller (AuthMode=iam): a trusted internal service that names the merchant in the
body. The request-validation tests run as this caller; merchant-bound callers (API keys, the
default) pass ``merchant=``."""


def http_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    base64_encoded: bool = False,
    merchant: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload format 1.0). With ``merchant`` the request
    carries the merchant key authorizer's context; without, it is an IAM caller's."""
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode() if base64_encoded else body.decode()
    request_id = f"req-{uuid.uuid4()}"
    headers = dict(headers or {})
    identity: dict[str, Any] = {"sourceIp": "192.0.2.1", "userArn": None}
    context: dict[str, Any] = {
        "requestId": request_id,
        "httpMethod": method,
        "resourcePath": path,
        "path": path,
        "stage": "live",
        "protocol": "HTTP/1.1",
        "identity": identity,
    }
    if merchant is not None:
        context["authorizer"] = {"merchant_id": merchant, "key_id": "0123456789abcdef",
                                 "principalId": merchant, "integrationLatency": 3}
    elif path != "/health":
        identity["userArn"] = INTERNAL_CALLER_ARN
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": base64_encoded,
    }


def vault_token() -> str:
    """A random token with no digits: a random hex string may hold a run of
    13+ digits that passes Luhn, which the API rightly refuses as a card number."""
    return "tok_" + uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))


def payment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": "12.34",
        "currency": "EUR",
        "merchant_id": "merchant-42",
        "source": {"type": "card_token", "token": vault_token()},
        "description": "order 1001",
    }
    for name, value in overrides.items():
        if value is _DELETE:
            body.pop(name, None)
        else:
            body[name] = value
    return body


_DELETE = object()
DELETE = _DELETE
"""Pass as a payment_body override to drop the field."""


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


class Api:
    """Calls the deployed handlers and inspects every store they write."""

    def __init__(self, postgres: PostgresServer) -> None:
        from payments import handlers

        self._process = handlers.process
        self._health = handlers.health
        self.postgres = postgres
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self._admin: pg8000.native.Connection | None = None

    def post(
        self,
        body: Any,
        key: str | None,
        *,
        headers: dict[str, str] | None = None,
        raw: str | bytes | None = None,
        merchant: str | None = None,
    ) -> dict[str, Any]:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["idempotency-key"] = key
        text = raw if raw is not None else json.dumps(body)
        event = http_event("POST", "/process", body=text, headers=all_headers, merchant=merchant)
        return self.invoke_process(event)

    def invoke_process(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._process(event, FakeContext(event["requestContext"]["requestId"]))

    def health(self) -> dict[str, Any]:
        return self.invoke_health(http_event("GET", "/health"))

    def invoke_health(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._health(event, FakeContext(event["requestContext"]["requestId"]))

    def sql(self, query: str, **params: Any) -> list[list[Any]]:
        """Run a query as the admin, on a connection kept across tests (re-opened
        once if a test restarted the server)."""
        for attempt in (1, 2):
            try:
                if self._admin is None:
                    self._admin = admin_connection(self.postgres)
                return self._admin.run(query, **params)
            except (pg8000.exceptions.InterfaceError, pg8000.exceptions.DatabaseError) as error:
                connection_lost = isinstance(error, pg8000.exceptions.InterfaceError) or str(
                    error.args[0].get("C", "")
                    if error.args and isinstance(error.args[0], dict)
                    else ""
                ).startswith(("08", "57"))
                if not connection_lost or attempt == 2:
                    raise
                self._admin = None
        raise AssertionError("unreachable")

    def ledger_rows(self, key: str) -> list[list[Any]]:
        return self.sql(
            "SELECT payment_id::text, amount, currency, status FROM payments "
            "WHERE idempotency_key = :k",
            k=key,
        )

    def table_items(self, prefix: str) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [
            item for page in pages for item in page["Items"] if item["pk"]["S"].startswith(prefix)
        ]

    def idempotency_item(self, key: str, merchant: str = "merchant-42") -> dict[str, Any] | None:
        return self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": f"idem#{merchant}#{key}"}}
        ).get("Item")

    def status_item(self, payment_id: str) -> dict[str, Any] | None:
        return self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": f"payment#{payment_id}"}}
        ).get("Item")

    def receipt_keys(self, payment_id: str) -> list[str]:
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=BUCKET, Prefix="receipts/"
        )
        return [
            version["Key"]
            for page in pages
            for version in page.get("Versions", [])
            if version["Key"].endswith(f"/{payment_id}.json")
        ]

    def receipt(self, key: str) -> dict[str, Any]:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def counts(self) -> tuple[int, int, int]:
        """(ledger rows, table items, receipt object versions) in total: equal
        before and after a request means the request wrote nothing. The health check's own
        item and object (``payments.probe_keys``) are not a request's writes."""
        ((rows,),) = self.sql("SELECT count(*) FROM payments")
        items = self.dynamodb.scan(  # moto: one page
            TableName=TABLE, Select="COUNT", FilterExpression="NOT begins_with(pk, :health)",
            ExpressionAttributeValues={":health": {"S": HEALTH_ITEM_PREFIX}})["Count"]
        versions = sum(
            len(page.get("Versions", []))
            for page in self.s3.get_paginator("list_object_versions").paginate(
                Bucket=BUCKET, Prefix="receipts/")
        )
        return rows, items, versions


@pytest.fixture(scope="package")
def api(deployed: None, postgres: PostgresServer) -> Api:
    return Api(postgres)


@pytest.fixture
def reconfigure(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Change the functions' environment for one test (a fresh container, in effect)."""

    def apply(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        wiring.reset()

    yield apply
    wiring.reset()
