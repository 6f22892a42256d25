"""GET /health, and what POST /process does while a dependency is down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from payments import aws, health, wiring
from payments.health import CheckResult, evaluate

from rehearsal.localpg import PostgresServer

from .conftest import BUCKET, TABLE, Api, http_event, new_key, payment_body


def report(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["content-type"] == "application/json"
    body = json.loads(response["body"])
    assert body["correlation_id"] == response["headers"]["x-correlation-id"]
    return body


def failing(body: dict[str, Any]) -> list[str]:
    return sorted(name for name, state in body["checks"].items() if state == "failing")


def test_healthy_writer_reports_every_dependency_and_writes_a_heartbeat(api: Api) -> None:
    api.health()  # a cold container: secret, TLS handshake
    started = time.perf_counter()
    response = api.health()
    elapsed = time.perf_counter() - started

    body = report(response)
    assert response["statusCode"] == 200, body
    assert body == {"status": "healthy", "region": "eu-west-1", "correlation_id": ANY_ID,
                    "checks": {"database": "ok", "dynamodb": "ok", "s3": "ok"}}
    ((written,),) = api.sql("SELECT written_at FROM heartbeats WHERE region = 'eu-west-1'")
    ((now,),) = api.sql("SELECT now()")
    assert abs((now - written).total_seconds()) < 5  # the write that proved "writable"
    assert elapsed < 2.0  # a warm check answers within the 2 s Route 53 waits


class _AnyId(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


ANY_ID = _AnyId()


def test_health_body_carries_no_internals(api: Api, reconfigure: Any, capsys) -> None:
    reconfigure(DB_SECRET_ARN="arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope")
    response = api.health()
    body = report(response)
    assert response["statusCode"] == 503
    assert failing(body) == ["database"]
    assert set(body) == {"status", "region", "checks", "correlation_id"}
    assert "ResourceNotFound" not in response["body"] and "secret" not in response["body"]
    assert "secret unavailable" in capsys.readouterr().out  # the reason is in the log line


def test_missing_bucket_fails_health_naming_s3(api: Api, reconfigure: Any) -> None:
    reconfigure(RECEIPTS_BUCKET_NAME="no-such-bucket-anywhere")
    response = api.health()
    body = report(response)
    assert response["statusCode"] == 503
    assert failing(body) == ["s3"]
    assert body["checks"]["database"] == "ok"


def test_missing_table_fails_health_naming_dynamodb(api: Api, reconfigure: Any) -> None:
    reconfigure(PAYMENTS_TABLE_NAME="no-such-table")
    response = api.health()
    assert response["statusCode"] == 503
    assert failing(report(response)) == ["dynamodb"]


def test_broken_environment_is_a_json_500_not_a_crash(api: Api, reconfigure: Any) -> None:
    reconfigure(DB_PORT="tertiary")
    for response in (api.health(), api.post(payment_body(), new_key())):
        assert response["statusCode"] == 500
        assert json.loads(response["body"])["error"]["code"] == "internal_error"
        assert "tertiary" not in response["body"]


def check(name: str, ok: bool = True, **details: Any) -> CheckResult:
    return CheckResult(name, ok, 1.0, details)


@pytest.mark.parametrize(
    ("checks", "healthy", "failing"),
    [
        ((check("database", writable=True), check("dynamodb"), check("s3")), True, ()),
        ((check("database", writable=False), check("dynamodb"), check("s3")), False,
         ("database",)),
        ((check("database", writable=True), check("dynamodb", ok=False), check("s3")), False,
         ("dynamodb",)),
        ((check("database", ok=False), check("dynamodb"), check("s3", ok=False)), False,
         ("database", "s3")),
    ],
    ids=["writable", "read-only", "dynamodb-down", "two-down"],
)
def test_verdict_is_healthy_only_when_everything_answers_and_the_database_writes(
    checks: tuple[CheckResult, ...], healthy: bool, failing: tuple[str, ...]
) -> None:
    verdict = evaluate("eu-west-1", checks)
    assert (verdict.healthy, verdict.failing, verdict.status_code) == (
        healthy,
        failing,
        200 if healthy else 503,
    )


@pytest.fixture
def database_down(api: Api, postgres: PostgresServer) -> Iterator[None]:
    postgres.stop()
    try:
        yield
    finally:
        postgres.start()


def test_database_outage_fails_health_and_records_nothing(api: Api, database_down: None) -> None:
    key, body = new_key(), payment_body()
    statuses_before = len(api.table_items("payment#"))
    receipts_before = api.s3.list_objects_v2(Bucket="payments-test-receipts-eu-west-1",
                                             Prefix="receipts/").get("KeyCount", 0)

    health = api.health()
    response = api.post(body, key)

    assert health["statusCode"] == 503
    assert failing(report(health)) == ["database"]
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"]["code"] == "service_unavailable"
    assert response["headers"]["retry-after"] == "1"
    record = api.idempotency_item(key)
    assert record is None or record["status"]["S"] != "COMPLETED"
    assert len(api.table_items("payment#")) == statuses_before
    assert api.s3.list_objects_v2(Bucket="payments-test-receipts-eu-west-1",
                                  Prefix="receipts/").get("KeyCount", 0) == receipts_before


def test_service_recovers_when_the_database_returns(api: Api, postgres: PostgresServer) -> None:
    key, body = new_key(), payment_body()
    assert api.post(body, key)["statusCode"] == 201  # both paths hold a live connection now
    assert api.health()["statusCode"] == 200

    postgres.stop()
    try:
        assert api.post(body, new_key())["statusCode"] == 503
    finally:
        postgres.start()

    # The cached connections are dead; the next call reconnects on its own.
    assert api.health()["statusCode"] == 200
    retry_key = new_key()
    assert api.post(body | {"amount": "1.00"}, retry_key)["statusCode"] == 201
    assert len(api.ledger_rows(retry_key)) == 1


# --- issue 18: the public check is no write amplifier -------------------------------------
def warm(api: Api) -> None:
    """A fresh container's first check (secret, TLS handshake, schema check) can outlast the
    probes' 1.5 s deadline on a loaded machine; the checks after it are what is measured."""
    for _ in range(5):
        if api.health()["statusCode"] == 200:
            return
    raise AssertionError("the health check never turned healthy")


def heartbeat_version(api: Api) -> tuple[int, Any]:
    """The heartbeat row's version (xmin changes with every committed write) and time."""
    ((xmin, written),) = api.sql("SELECT xmin::text::bigint, written_at FROM heartbeats "
                                 "WHERE region = 'eu-west-1'")
    return xmin, written


def test_post_health_is_refused_with_405_and_writes_nothing(api: Api, reconfigure: Any) -> None:
    reconfigure()  # a fresh container: its first GET would write
    before = heartbeat_version(api)
    event = http_event("POST", "/health", body="{}")
    response = api.invoke_health(event)
    assert response["statusCode"] == 405, response["body"]
    assert response["headers"]["allow"] == "GET"
    assert json.loads(response["body"])["error"]["code"] == "method_not_allowed"
    assert heartbeat_version(api) == before


def test_a_container_commits_at_most_one_heartbeat_per_interval(
    api: Api, reconfigure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reconfigure()
    warm(api)
    versions = set()
    for _ in range(10):
        assert api.health()["statusCode"] == 200
        versions.add(heartbeat_version(api))
    assert len(versions) == 1  # ten anonymous checks, one write

    monkeypatch.setattr(health, "HEARTBEAT_INTERVAL_SECONDS", 0.0)  # the interval has passed
    assert api.health()["statusCode"] == 200
    assert heartbeat_version(api) not in versions


def test_a_lost_writer_is_reported_at_once_inside_the_interval(
    api: Api, reconfigure: Any, postgres: PostgresServer
) -> None:
    """Only the write is spared: every check still reaches the server, so the check never
    says healthy about a writer it cannot reach, and the next healthy answer writes again."""
    reconfigure()
    warm(api)
    before = heartbeat_version(api)
    postgres.stop()
    try:
        assert api.health()["statusCode"] == 503
    finally:
        postgres.start()
    warm(api)
    assert heartbeat_version(api) != before


# --- review 18 (F6): /health proves the writes a payment makes ------------------------------
@pytest.fixture
def refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[set[tuple[str, str]]]:
    """Add ``("s3", "PutObject")`` to the set: every client the functions use gets an
    AccessDenied for that call, as every caller does when the store itself refuses it (the
    bucket's KMS key disabled, a bucket policy that denies PutObject); other calls (HeadBucket,
    GetItem) still answer. Remove it: the store takes the call again. The clients are made
    afresh (a new container) when the fixture starts."""
    calls: set[tuple[str, str]] = set()
    made = aws.client

    def client(name: str, region: str, config: Any) -> Any:
        created = made(name, region, config)

        def deny(model: Any, **_kwargs: Any) -> None:
            if (name, model.name) in calls:
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "refused"}},
                                  model.name)

        created.meta.events.register(f"before-call.{name}", deny)
        return created

    monkeypatch.setattr(aws, "client", client)
    wiring.reset()
    yield calls
    wiring.reset()


def health_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [json.loads(t) for t in capsys.readouterr().out.splitlines() if t.startswith("{")]
    (line,) = [line for line in lines
               if line["message"] == "request completed" and line["path"] == "/health"]
    return line


@pytest.mark.parametrize(("service", "operation", "dependency", "payment_status"), [
    # receipts cannot be written (HeadBucket still answers): the payment is recorded (its
    # receipt is a projection the reconcile step rebuilds), but this region cannot do its
    # whole job, and the other region's bucket can
    ("s3", "PutObject", "s3", 201),
    # items cannot be written (GetItem still answers): the idempotency claim fails, 503
    ("dynamodb", "PutItem", "dynamodb", 503),
])
def test_health_fails_while_a_store_refuses_the_writes_a_payment_makes(
    api: Api, refused: set[tuple[str, str]], capsys: pytest.CaptureFixture[str], service: str,
    operation: str, dependency: str, payment_status: int,
) -> None:
    """Review 18 (F6): /health read S3 and DynamoDB (HeadBucket, GetItem) and stayed 200 while
    a store refused every write a payment makes, so Route 53 never moved traffic. It now writes
    the region's health object and item, as a payment writes its receipt and items."""
    refused.add((service, operation))
    payment = api.post(payment_body(), new_key())
    capsys.readouterr()
    health_response = api.health()
    line = health_line(capsys)
    assert payment["statusCode"] == payment_status, payment["body"]
    assert health_response["statusCode"] == 503, health_response["body"]
    assert failing(report(health_response)) == [dependency]
    assert line["checks"][dependency]["error"] == "AccessDenied"


def health_object(api: Api) -> bytes | None:
    """The region's health object as last written (its body is the time of the write), or
    None."""
    try:
        return bytes(api.s3.get_object(Bucket=BUCKET, Key="health/eu-west-1")["Body"].read())
    except ClientError:
        return None


def health_item(api: Api) -> dict[str, Any]:
    return api.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "health#eu-west-1"}})["Item"]


def test_the_writes_are_proven_at_the_heartbeat_cadence(
    api: Api, reconfigure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is public: ten anonymous checks write nothing after the first; once the
    interval has passed the next check writes the object and the item again (a conditional
    PutItem that only moves the item's time forward)."""
    reconfigure()
    warm(api)
    written, item = health_object(api), health_item(api)
    assert written is not None
    for _ in range(10):
        assert api.health()["statusCode"] == 200
    assert (health_object(api), health_item(api)) == (written, item)

    monkeypatch.setattr(health, "HEARTBEAT_INTERVAL_SECONDS", 0.0)  # the interval has passed
    time.sleep(0.002)  # the times written have millisecond precision
    assert api.health()["statusCode"] == 200
    assert health_object(api) > written
    assert health_item(api)["written_at"]["S"] > item["written_at"]["S"]
    assert int(health_item(api)["expires_at"]["N"]) > time.time()  # the table's TTL attribute


def test_a_refused_write_is_proven_again_as_soon_as_the_store_takes_writes(
    api: Api, refused: set[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any failure forgets the last write: in one container, a write proven, then refused at
    the next due check, then, the moment the store takes writes again and well inside the
    interval, written again before the check says healthy."""
    warm(api)
    monkeypatch.setattr(health, "HEARTBEAT_INTERVAL_SECONDS", 0.0)  # the next check writes
    refused.add(("s3", "PutObject"))
    assert failing(report(api.health())) == ["s3"]
    monkeypatch.setattr(health, "HEARTBEAT_INTERVAL_SECONDS", 3600.0)  # no write is due...
    refused.clear()
    before = health_object(api)
    time.sleep(0.002)  # the times written have millisecond precision
    assert api.health()["statusCode"] == 200
    assert health_object(api) > before  # ...but the failure was not forgotten


def test_a_replay_while_the_database_is_down_is_503_not_an_unchecked_201(
    api: Api, postgres: PostgresServer
) -> None:
    """A replay checks that the ledger still has the row (a failover can lose it): with the
    database unreachable that cannot be known, so the answer is 503 and the same key is
    answered 201 once it is back."""
    key, body = new_key(), payment_body()
    first = api.post(body, key)
    postgres.stop()
    try:
        during = api.post(body, key)
    finally:
        postgres.start()
    after = api.post(body, key)

    assert during["statusCode"] == 503 and during["headers"]["retry-after"] == "1"
    assert (after["statusCode"], after["body"]) == (201, first["body"])
