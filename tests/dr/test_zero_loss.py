"""Zero-loss acknowledgements against a real primary and a real streaming standby.

A 201 with `x-payments-durability: cross-region` must survive a crash of the writer right
after it: the standby (the recovery region's storage), promoted, has the payment. The same
crash with the mode off loses a 201 the standby never had: the measurement can fail. When
the standby stops, the home region never stops taking payments: a container answers 503
("recorded, not yet durable") for ZERO_LOSS_DEGRADE_AFTER_SECONDS, then 201 with `regional`,
and returns to `cross-region` on its own once the standby streams again.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from templates import durability_alarm

from tests.handlers.conftest import admin_connection, payment_body

from .conftest import HOME, RECOVERY, TABLE, TwoRegions

HEADER = "x-payments-durability"


def key() -> str:
    return f"zl-{uuid.uuid4()}"


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


def code_of(response: dict[str, Any]) -> str | None:
    return body_of(response).get("error", {}).get("code")


def rows_on(server: Any, keys: list[str]) -> dict[str, str]:
    connection = admin_connection(server)
    try:
        return dict(connection.run("SELECT idempotency_key, payment_id::text FROM payments "
                                   "WHERE idempotency_key = ANY(:keys)", keys=keys))
    finally:
        connection.close()


def test_every_cross_region_201_survives_a_crash_of_the_writer_right_after_it(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    acknowledged = {}
    for _ in range(25):
        k = key()
        response = world.home.post(payment_body(), k)
        assert response["statusCode"] == 201, response["body"]
        assert response["headers"][HEADER] == "cross-region"
        acknowledged[k] = body_of(response)["payment_id"]
    world.home_db.stop("immediate")  # no checkpoint, no last WAL sent: a lost region
    world.promote(world.recovery_db)
    assert rows_on(world.recovery_db, list(acknowledged)) == acknowledged


def test_with_the_mode_off_the_same_crash_loses_a_201_the_standby_never_had(
    two_regions: TwoRegions,
) -> None:
    """The control: without the wait, an acknowledged payment that had not replicated is gone
    after the failover (the standby is held back here, as a lagging region would be)."""
    world = two_regions
    world.home.configure(ZERO_LOSS="off")
    world.recovery_db.stop("fast")
    k = key()
    response = world.home.post(payment_body(), k)
    assert (response["statusCode"], response["headers"][HEADER]) == (201, "off")
    world.home_db.stop("immediate")
    world.recovery_db.start()
    world.promote(world.recovery_db)
    assert rows_on(world.recovery_db, [k]) == {}, "the acknowledged payment was lost"


def test_a_retry_in_recovery_of_a_201_the_failover_lost_records_it_again_under_its_id(
    two_regions: TwoRegions,
) -> None:
    """The control's loss, seen by the client's retry: the idempotency record replicated (the
    global table; copied here, each region has its own table in this model), the commit did
    not. The retry in the promoted region must not replay that 201 for a payment the ledger
    does not have: it records the payment again, under the payment id the 201 named."""
    world = two_regions
    world.home.configure(ZERO_LOSS="off")
    world.recovery.configure(ZERO_LOSS="off")
    world.recovery_db.stop("fast")
    k, body = key(), payment_body()
    first = world.home.post(body, k)
    assert first["statusCode"] == 201
    record_key = {"pk": {"S": f"idem#{body['merchant_id']}#{k}"}}
    record = boto3.client("dynamodb", region_name=HOME).get_item(
        TableName=TABLE, Key=record_key, ConsistentRead=True)["Item"]
    assert record["status"]["S"] == "COMPLETED"
    boto3.client("dynamodb", region_name=RECOVERY).put_item(TableName=TABLE, Item=record)
    world.lose_home(clean=False)
    world.recovery_db.start()
    world.promote(world.recovery_db)
    assert rows_on(world.recovery_db, [k]) == {}, "the acknowledged payment was lost"

    retry = world.recovery.post(body, k)
    again = world.recovery.post(body, k)

    assert retry["statusCode"] == 201, retry["body"]
    assert body_of(retry)["payment_id"] == body_of(first)["payment_id"]
    assert body_of(retry)["region"] == RECOVERY
    assert rows_on(world.recovery_db, [k]) == {k: body_of(first)["payment_id"]}
    assert (again["statusCode"], again["body"]) == (201, retry["body"])
    assert again["headers"]["idempotent-replayed"] == "true"


def request_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "request completed"]


def counted(line: dict[str, Any]) -> bool:
    """What the RegionalDurability metric filter counts (templates/durability_alarm.py)."""
    return line.get(durability_alarm.MODE_FIELD) == durability_alarm.REGIONAL


def test_cross_region_to_regional_after_the_degrade_time_and_back_when_the_standby_returns(
    two_regions: TwoRegions, capsys: pytest.CaptureFixture[str],
) -> None:
    world = two_regions
    degrade_after = 2
    world.home.configure(ZERO_LOSS_DEGRADE_AFTER_SECONDS=str(degrade_after), LOG_LEVEL="INFO")
    assert world.home.post(payment_body(), key())["headers"][HEADER] == "cross-region"
    capsys.readouterr()

    world.recovery_db.stop("immediate")  # the recovery region's storage is lost
    lost_at = time.monotonic()
    answers: list[tuple[float, dict[str, Any], str, dict[str, Any]]] = []
    while not answers or answers[-1][1]["statusCode"] != 201:
        k, body = key(), payment_body()
        response = world.home.post(body, k)
        answers.append((time.monotonic() - lost_at, response, k, body))
        assert time.monotonic() - lost_at < 30, "the home region never took a payment again"
    *refused, (degraded_at, first, _, _) = answers
    # Never stopped: every answer meanwhile was "recorded, not yet durable", with Retry-After,
    # and the header said what a 201 would have meant.
    assert refused, "the first wait after the loss cannot have been confirmed"
    for _, response, _, _ in refused:
        assert (response["statusCode"], code_of(response)) == (503, "recorded_not_yet_durable")
        assert response["headers"]["retry-after"] == "1"
        assert response["headers"][HEADER] == "cross-region"
    assert degraded_at >= degrade_after
    assert first["headers"][HEADER] == "regional"
    # Each refused payment was recorded; its retry now gets its 201, with regional durability.
    for _, response, k, body in refused:
        retry = world.home.post(body, k)
        assert (retry["statusCode"], retry["headers"][HEADER]) == (201, "regional")
        assert retry["headers"]["idempotent-replayed"] == "true"
        ((payment_id,),) = world.ledger("SELECT payment_id::text FROM payments "
                                        "WHERE idempotency_key = :k", k=k)
        assert body_of(retry)["payment_id"] == payment_id
    degraded_lines = request_lines(capsys.readouterr().out)
    assert degraded_lines and all(counted(line) for line in degraded_lines[-len(refused):])

    world.recovery_db.start()  # the standby catches up from the primary's kept WAL
    back_at = time.monotonic()
    while (response := world.home.post(payment_body(), key()))["headers"][HEADER] != \
            "cross-region":
        assert response["statusCode"] == 201 and response["headers"][HEADER] == "regional"
        assert time.monotonic() - back_at < 30, "zero-loss never came back"
        time.sleep(0.1)
    assert response["statusCode"] == 201
    output = capsys.readouterr().out
    transitions = [json.loads(line).get("durability_transition")
                   for line in output.splitlines() if line.startswith("{")]
    assert [t for t in transitions if t] == ["recovered"]
    last = request_lines(output)[-1]
    assert (last["durability"], counted(last)) == ("cross-region", False)


def test_a_retry_after_a_503_gets_the_201_once_the_standby_has_the_payment(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    world.home.configure(ZERO_LOSS_DEGRADE_AFTER_SECONDS="60")  # no degrading in this test
    assert world.home.post(payment_body(), key())["statusCode"] == 201
    world.recovery_db.stop("fast")
    k, body = key(), payment_body()
    for _ in range(2):  # each retry waits again
        response = world.home.post(body, k)
        assert (response["statusCode"], code_of(response)) == (503, "recorded_not_yet_durable")
    ((payment_id,),) = world.ledger("SELECT payment_id::text FROM payments "
                                    "WHERE idempotency_key = :k", k=k)  # recorded once
    world.recovery_db.start()
    retry = world.home.post_until_201(body, k)
    assert (retry["statusCode"], retry["headers"][HEADER]) == (201, "cross-region")
    assert retry["headers"]["idempotent-replayed"] == "true"
    assert body_of(retry)["payment_id"] == payment_id
    # The completed record replays with what the payment was acknowledged with.
    replay = world.home.post(body, k)
    assert (replay["body"], replay["headers"][HEADER]) == (retry["body"], "cross-region")
