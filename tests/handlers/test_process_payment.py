"""POST /process: the happy path, replays, conflicts, and what each store holds."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from payments import validation, wiring
from payments.errors import DependencyUnavailable
from payments.idempotency import ExistingRecord, IdempotencyStore
from payments.models import RecordedPayment
from payments.service import scoped_key
from payments.status import StatusStore

from .conftest import TABLE, Api, new_key, payment_body


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


@pytest.mark.parametrize(
    ("amount", "currency", "stored", "shown"),
    [
        ("12.3", "EUR", Decimal("12.300"), "12.30"),
        ("500", "JPY", Decimal("500.000"), "500"),
        ("1.234", "BHD", Decimal("1.234"), "1.234"),
        ("10000.00", "USD", Decimal("10000.000"), "10000.00"),  # the USD cap
        ("2000000", "JPY", Decimal("2000000.000"), "2000000"),  # the JPY cap
        ("0.01", "GBP", Decimal("0.010"), "0.01"),
    ],
)
def test_valid_payment_is_recorded_once_in_every_store(
    api: Api, amount: str, currency: str, stored: Decimal, shown: str
) -> None:
    key = new_key()

    response = api.post(payment_body(amount=amount, currency=currency), key)

    assert response["statusCode"] == 201, response["body"]
    payment = body_of(response)
    assert (payment["amount"], payment["currency"], payment["status"]) == (
        shown,
        currency,
        "accepted",
    )
    assert payment["correlation_id"] == response["headers"]["x-correlation-id"]
    assert "idempotent-replayed" not in response["headers"]
    assert api.ledger_rows(key) == [[payment["payment_id"], stored, currency, "accepted"]]
    status = api.status_item(payment["payment_id"])
    assert status is not None
    assert (status["amount"]["S"], status["idempotency_key"]["S"]) == (shown, key)
    assert "expires_at" not in status
    (receipt_key,) = api.receipt_keys(payment["payment_id"])
    assert receipt_key.startswith("receipts/") and status["receipt_key"]["S"] == receipt_key
    assert api.receipt(receipt_key) == {"receipt_version": 1, "payment": payment}
    record = api.idempotency_item(key)
    assert record is not None and record["status"]["S"] == "COMPLETED"
    assert record["response_body"]["S"] == response["body"]


def test_replay_returns_the_original_response_and_writes_nothing(api: Api) -> None:
    key, body = new_key(), payment_body(amount="12.30")
    first = api.post(body, key)
    before = api.counts()

    # The same request in other bytes: key order, whitespace, "12.3" for "12.30".
    reordered = json.dumps(dict(reversed(list({**body, "amount": "12.3"}.items()))), indent=2)
    replays = [api.post(body, key), api.post(None, key, raw=reordered)]

    for replay in replays:
        assert replay["statusCode"] == 201
        assert replay["body"] == first["body"]
        assert replay["headers"]["idempotent-replayed"] == "true"
        assert replay["headers"]["x-correlation-id"] != first["headers"]["x-correlation-id"]
    assert api.counts() == before


def test_same_key_with_a_different_body_is_a_conflict(api: Api) -> None:
    key, body = new_key(), payment_body()
    original = api.post(body, key)
    before = api.counts()

    for change in (
        {"amount": "12.35"},
        {"description": None},
        {"source": {**body["source"], "token": body["source"]["token"] + "x"}},
    ):
        response = api.post({**body, **change}, key)
        assert response["statusCode"] == 409, change
        assert body_of(response)["error"]["code"] == "idempotency_key_reused"

    assert api.counts() == before
    assert api.post(body, key)["body"] == original["body"]


def test_idempotency_keys_are_scoped_per_merchant(api: Api) -> None:
    """Two merchants using the same key get two payments, and neither learns anything about
    the other's (no 409 across tenants: that would be an oracle)."""
    key = new_key()
    body_b = payment_body(merchant_id="merchant-b", amount="99.00")
    first = api.post(payment_body(merchant_id="merchant-a"), key)
    second = api.post(body_b, key)
    assert (first["statusCode"], second["statusCode"]) == (201, 201), second["body"]
    assert body_of(first)["payment_id"] != body_of(second)["payment_id"]
    rows = api.sql("SELECT merchant_id, amount FROM payments WHERE idempotency_key = :k "
                   "ORDER BY merchant_id", k=key)
    assert [(m, str(a)) for m, a in rows] == [("merchant-a", "12.340"), ("merchant-b", "99.000")]
    assert api.idempotency_item(key, "merchant-a") and api.idempotency_item(key, "merchant-b")
    # Each replays its own response.
    assert api.post(body_b, key)["body"] == second["body"]


def claim_directly(body: dict[str, Any], key: str, lease_seconds: int) -> None:
    """Hold the key as another, still running (or dead) invocation would."""
    request = validation.payment_request(body)
    store = IdempotencyStore(api_client(), TABLE, ttl_seconds=3600)
    store.claim(scoped_key(request.merchant_id, key), request.fingerprint(), lease_seconds)


def api_client() -> Any:
    import boto3

    return boto3.client("dynamodb", region_name="eu-west-1")


def test_concurrent_duplicate_in_flight_gets_409_and_writes_nothing(api: Api) -> None:
    key, body = new_key(), payment_body()
    claim_directly(body, key, lease_seconds=60)
    before = api.counts()

    response = api.post(body, key)

    assert response["statusCode"] == 409
    assert body_of(response)["error"]["code"] == "request_in_progress"
    assert response["headers"]["retry-after"] == "1"
    assert api.post(payment_body(), key)["statusCode"] == 409
    assert api.counts() == before
    assert api.ledger_rows(key) == []


def test_claim_of_a_dead_invocation_is_taken_over_after_its_lease(api: Api) -> None:
    key, body = new_key(), payment_body()
    claim_directly(body, key, lease_seconds=-1)

    response = api.post(body, key)

    assert response["statusCode"] == 201
    assert len(api.ledger_rows(key)) == 1


def test_ledger_recognises_a_retry_whose_idempotency_record_is_gone(api: Api) -> None:
    """E.g. the retry lands in the other region before the record replicated,
    or after its TTL: the ledger's unique key still yields the same payment."""
    key, body = new_key(), payment_body()
    first = api.post(body, key)
    api.dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": f"idem#merchant-42#{key}"}})
    before = api.counts()

    retry = api.post(body, key)
    reused = api.post(payment_body(amount="99.00"), key)

    assert (retry["statusCode"], retry["body"]) == (201, first["body"])
    assert retry["headers"]["idempotent-replayed"] == "true"
    assert reused["statusCode"] == 409
    rows, items, receipts = api.counts()
    assert (rows, items, receipts) == (before[0], before[1] + 1, before[2])  # + the new record
    assert len(api.ledger_rows(key)) == 1


def test_a_projection_that_fails_after_the_commit_is_rebuilt_and_the_201_stands(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committed row is the payment: a receipt that S3 refuses does not turn the answer
    into a failure (the client would retry a payment that exists); the reconcile step rebuilds
    it from the row, byte for byte what the processor would have written."""
    key, body = new_key(), payment_body()
    receipts = wiring.payment_service()._receipts

    def s3_down(_payment: Any) -> str:
        raise DependencyUnavailable("s3", "InternalError")

    with monkeypatch.context() as patch:
        patch.setattr(receipts, "put", s3_down)
        paid = api.post(body, key)

    assert paid["statusCode"] == 201, paid["body"]
    payment = body_of(paid)
    ((payment_id, *_),) = api.ledger_rows(key)
    assert payment["payment_id"] == payment_id
    assert api.receipt_keys(payment_id) == []
    assert api.status_item(payment_id) is not None
    assert api.idempotency_item(key)["status"]["S"] == "COMPLETED"

    report = reconcile_now(since_minutes=5)
    # (Other tests of this package may have left projections missing in the same minutes.)
    assert report.repaired_receipts == report.missing_receipts >= 1
    (receipt_key,) = api.receipt_keys(payment_id)
    assert api.receipt(receipt_key) == {"receipt_version": 1, "payment": payment}
    again = reconcile_now(since_minutes=5)
    assert (again.missing_receipts, again.missing_status_items) == (0, 0)
    replay = api.post(body, key)
    assert (replay["statusCode"], replay["body"]) == (201, paid["body"])


def reconcile_now(**event: Any) -> Any:
    """The reconcile function's work, measured from two minutes from now: the payments just
    made are then past the minute it leaves to processors still writing."""
    from datetime import UTC, datetime, timedelta

    from payments.deadline import Deadline
    from payments.reconcile import ReconcileRequest

    return wiring.reconciler().run(ReconcileRequest.from_event(event), Deadline(lambda: 300.0),
                                   now=datetime.now(UTC) + timedelta(minutes=2))


def test_unexpected_error_is_a_plain_500_and_leaves_no_claim(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = new_key()
    ledger = wiring.payment_service()._ledger

    def bug(_payment: Any) -> Any:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(ledger, "record", bug)
    response = api.post(payment_body(), key)

    assert response["statusCode"] == 500
    assert body_of(response)["error"]["code"] == "internal_error"
    assert "internal detail" not in response["body"] and "Traceback" not in response["body"]
    assert api.idempotency_item(key) is None
    assert "Traceback" in capsys.readouterr().out, "the stack belongs in the log"


def test_logs_are_json_lines_without_card_source_or_secrets(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    body = payment_body(description="gift")
    capsys.readouterr()

    response = api.post(body, new_key())
    api.post(payment_body(source={"type": "card_token", "token": "4111111111111111"}), new_key())
    output = capsys.readouterr().out

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert lines and all(line["correlation_id"] for line in lines)
    assert response["headers"]["x-correlation-id"] in {line["correlation_id"] for line in lines}
    for forbidden in (body["source"]["token"], "4111111111111111", api.postgres.password):
        assert forbidden not in output


def test_every_processor_response_says_its_durability(
    api: Api, reconfigure: Any,
) -> None:
    """On a 201 what the payment has; on every other answer what a 201 from this container
    would mean now (`off` in this package: one server, nothing replicates)."""
    key, body = new_key(), payment_body()
    answers = [
        api.post(body, key),  # 201
        api.post(body, key),  # 201 replayed
        api.post({**body, "amount": "1.00"}, key),  # 409
        api.post(payment_body(amount="-1"), new_key()),  # 422
        api.post(body, None),  # 400
        api.post(None, new_key(), raw="{}", headers={"content-type": "text/plain"}),  # 415
    ]
    assert [a["statusCode"] for a in answers] == [201, 201, 409, 422, 400, 415]
    assert {a["headers"]["x-payments-durability"] for a in answers} == {"off"}
    reconfigure(ZERO_LOSS="on")  # a container in zero-loss mode says so before any payment
    assert api.post(payment_body(amount="-1"), new_key())["headers"][
        "x-payments-durability"] == "cross-region"
    reconfigure(DB_PORT="tertiary", ZERO_LOSS="on")  # no configuration: no promise
    broken = api.post(payment_body(), new_key())
    assert (broken["statusCode"], broken["headers"]["x-payments-durability"]) == (500, "off")


def test_a_payment_not_yet_durable_has_no_projection_yet(api: Api, reconfigure: Any) -> None:
    """A 503 recorded_not_yet_durable writes no status item and no receipt: a failover could
    still lose the row, and they would describe a payment the ledger does not have. The retry
    that gets the 201 writes them."""
    reconfigure(ZERO_LOSS="on", ZERO_LOSS_WAIT_MS="10")  # no standby here: never confirmed
    key, body = new_key(), payment_body()
    response = api.post(body, key)
    assert body_of(response)["error"]["code"] == "recorded_not_yet_durable"
    ((payment_id, *_),) = api.ledger_rows(key)
    assert api.status_item(str(payment_id)) is None
    assert api.receipt_keys(str(payment_id)) == []
    assert api.idempotency_item(key) is None  # released: the retry may claim at once

    reconfigure(ZERO_LOSS="off")  # replication confirmed, as far as this test goes
    retry = api.post(body, key)
    assert retry["statusCode"] == 201
    assert api.status_item(str(payment_id)) is not None
    assert len(api.receipt_keys(str(payment_id))) == 1


# --- a completed record whose ledger row a failover lost ------------------------------------
def lose_the_ledger_row(api: Api, key: str) -> None:
    """What an unplanned failover leaves when the idempotency record replicated and the
    commit did not: the global table and Aurora replicate separately, both asynchronously."""
    api.sql("DELETE FROM payments WHERE idempotency_key = :key", key=key)


def test_a_completed_record_whose_ledger_row_is_lost_records_the_payment_again(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Replaying the stored 201 would be a false success: a payment the ledger does not have.
    The retry records it again, under the payment id the first 201 named."""
    key, body = new_key(), payment_body(amount="12.30")
    first = body_of(api.post(body, key))
    lose_the_ledger_row(api, key)

    retry = api.post(body, key)
    replay = api.post(body, key)

    assert retry["statusCode"] == 201, retry["body"]
    assert body_of(retry)["payment_id"] == first["payment_id"]
    assert "idempotent-replayed" not in retry["headers"]  # recorded now, not replayed
    assert api.ledger_rows(key) == [[first["payment_id"], Decimal("12.300"), "EUR",
                                     "accepted"]]
    record = api.idempotency_item(key)
    assert record is not None and record["status"]["S"] == "COMPLETED"
    assert record["response_body"]["S"] == retry["body"]
    assert (replay["statusCode"], replay["body"]) == (201, retry["body"])
    assert replay["headers"]["idempotent-replayed"] == "true"
    assert any("ledger row is missing" in r.getMessage() for r in caplog.records)


def test_after_a_reclaim_the_projections_describe_the_ledger_row(api: Api) -> None:
    """The status item and the receipt of the lost row (its created_at, its correlation id)
    are replaced by those of the row recorded again, which the new 201 names."""
    key, body = new_key(), payment_body(amount="12.30")
    first = body_of(api.post(body, key))
    lose_the_ledger_row(api, key)
    retry = body_of(api.post(body, key))
    assert retry["payment_id"] == first["payment_id"]
    assert (retry["created_at"], retry["correlation_id"]) != (first["created_at"],
                                                              first["correlation_id"])
    status = api.status_item(retry["payment_id"])
    assert status is not None
    assert (status["created_at"]["S"], status["correlation_id"]["S"]) == (
        retry["created_at"], retry["correlation_id"])
    receipts = [api.receipt(k)["payment"] for k in api.receipt_keys(retry["payment_id"])]
    assert retry in receipts  # a reclaim on another UTC day leaves the lost row's at its date
    assert status["receipt_key"]["S"] in api.receipt_keys(retry["payment_id"])


def test_after_a_reclaim_answered_503_the_retry_rewrites_the_projections(
    api: Api, reconfigure: Any
) -> None:
    """Right after a failover nothing confirms the new writer's commits: the request that
    records the payment again answers 503 and writes no projection; the retry that gets the
    201 (a fresh claim, its row already there) replaces the lost row's."""
    key, body = new_key(), payment_body(amount="3.10")
    first = body_of(api.post(body, key))
    lose_the_ledger_row(api, key)
    reconfigure(ZERO_LOSS="on", ZERO_LOSS_WAIT_MS="10")  # no standby here: never confirmed
    assert body_of(api.post(body, key))["error"]["code"] == "recorded_not_yet_durable"
    reconfigure(ZERO_LOSS="off")
    retry = api.post(body, key)
    assert retry["statusCode"] == 201 and body_of(retry)["payment_id"] == first["payment_id"]
    assert body_of(retry)["created_at"] != first["created_at"]
    status = api.status_item(first["payment_id"])
    assert status is not None and status["created_at"]["S"] == body_of(retry)["created_at"]
    assert api.receipt(status["receipt_key"]["S"])["payment"] == body_of(retry)


def test_a_status_item_is_never_replaced_by_an_earlier_row(api: Api) -> None:
    """The other direction: a late write of the lost row's item (a process still running)
    cannot replace the item of the row recorded again, and a replay of one row writes
    nothing new."""
    lost = RecordedPayment(
        payment_id="6f1c1f3e-0000-4000-8000-0000000000f6", idempotency_key="key-f6-0001",
        request_hash="a" * 64, merchant_id="merchant-42", amount=Decimal("7.00"),
        currency="EUR", exponent=2, description=None, status="accepted",
        correlation_id="req-lost", region="eu-west-1",
        created_at=datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC))
    again = dataclasses.replace(lost, correlation_id="req-again",
                                created_at=datetime(2026, 2, 1, 0, 1, 2, tzinfo=UTC))
    statuses = StatusStore(api.dynamodb, TABLE)

    def described() -> tuple[str, str]:
        item = api.status_item(lost.payment_id)
        assert item is not None
        return item["correlation_id"]["S"], item["receipt_key"]["S"]

    statuses.put(lost, "receipts/2026/01/31/lost.json")
    statuses.put(again, "receipts/2026/02/01/again.json")
    assert described() == ("req-again", "receipts/2026/02/01/again.json")
    statuses.put(lost, "receipts/2026/01/31/lost.json")
    statuses.put(again, "receipts/2026/02/01/other.json")
    assert described() == ("req-again", "receipts/2026/02/01/again.json")


def test_a_replay_whose_ledger_row_exists_is_answered_from_the_record(api: Api) -> None:
    """The check reads the ledger; it writes nothing when the row is there."""
    key, body = new_key(), payment_body()
    first = api.post(body, key)
    before = api.counts()
    rows = api.ledger_rows(key)

    replay = api.post(body, key)

    assert (replay["statusCode"], replay["body"]) == (201, first["body"])
    assert api.counts() == before and api.ledger_rows(key) == rows


def test_a_lost_row_another_invocation_is_recording_again_gets_409(api: Api) -> None:
    key, body = new_key(), payment_body()
    api.post(body, key)
    lose_the_ledger_row(api, key)
    request = validation.payment_request(body)
    store = IdempotencyStore(api_client(), TABLE, ttl_seconds=3600)
    taken = store.reclaim(scoped_key(request.merchant_id, key), request.fingerprint(), 60)
    assert not isinstance(taken, ExistingRecord) and taken is not None

    response = api.post(body, key)

    assert response["statusCode"] == 409
    assert body_of(response)["error"]["code"] == "request_in_progress"
    assert api.ledger_rows(key) == []


def test_reclaim_takes_only_a_completed_record_of_the_same_request(api: Api) -> None:
    key, body = new_key(), payment_body()
    request = validation.payment_request(body)
    store = IdempotencyStore(api_client(), TABLE, ttl_seconds=3600)
    record_key = scoped_key(request.merchant_id, key)

    assert store.reclaim(record_key, request.fingerprint(), 60) is None  # no record
    api.post(body, key)
    other = store.reclaim(record_key, "f" * 64, 60)  # another request's fingerprint
    assert isinstance(other, ExistingRecord) and other.status == "COMPLETED"
    mine = store.reclaim(record_key, request.fingerprint(), 60)
    assert mine is not None and not isinstance(mine, ExistingRecord)
    again = store.reclaim(record_key, request.fingerprint(), 60)  # now IN_PROGRESS: not taken
    assert isinstance(again, ExistingRecord) and again.status == "IN_PROGRESS"
