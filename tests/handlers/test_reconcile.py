"""The reconcile step (payments.reconcile) against the real PostgreSQL and moto: which rows it
reads, which projections it expects in this region, what it rebuilds, and its watermark.
The crash it exists for, with a real standby and a killed process: tests/dr/test_crash_*.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from payments import cardnumbers, handlers, wiring
from payments.deadline import Deadline
from payments.ledger import Ledger
from payments.reconcile import (
    MAX_SINCE_MINUTES, WATERMARK_KEY_PREFIX, ReconcileFailed, ReconcileInputError,
    ReconcileRequest, ReconcileReport,
)
from payments.errors import DependencyUnavailable

from .conftest import OTHER_REGION, REGION, TABLE, Api
from .test_least_privilege import database_as


@pytest.mark.parametrize("event, problem", [
    ([], "must be a JSON object"),
    ({"mode": "scheduled", "since_minutes": 5}, "takes no other key"),
    ({"mode": "nightly"}, "allowed are \"scheduled\" and \"window\""),
    ({"since_minutes": 0}, "since_minutes=0: an integer from 1 to 10080"),
    ({"since_minutes": MAX_SINCE_MINUTES + 1}, "an integer from 1 to 10080"),
    ({"since_minutes": "60"}, "since_minutes='60'"),
    ({"since_minutes": True}, "since_minutes=True"),
    ({"repair": "yes"}, "repair='yes': true or false"),
    ({"peer_region_lost": 1}, "peer_region_lost=1: true or false"),
    ({"since": 60}, "unknown keys ['since']: allowed are mode, since_minutes"),
])
def test_a_bad_event_is_refused_naming_what_is_allowed(event: Any, problem: str) -> None:
    with pytest.raises(ReconcileInputError, match=problem.replace("[", r"\[").replace(
            "]", r"\]")):
        ReconcileRequest.from_event(event)


def test_every_problem_of_an_event_is_listed_at_once() -> None:
    with pytest.raises(ReconcileInputError) as raised:
        ReconcileRequest.from_event({"since_minutes": -1, "repair": None, "x": 1})
    assert all(part in str(raised.value) for part in ("unknown keys", "since_minutes", "repair"))


def test_the_events_the_schedule_and_the_runbook_send() -> None:
    assert ReconcileRequest.from_event({"mode": "scheduled"}) == ReconcileRequest(scheduled=True)
    assert ReconcileRequest.from_event({}) == ReconcileRequest(scheduled=False)
    assert ReconcileRequest.from_event(
        {"since_minutes": 60, "peer_region_lost": True, "repair": False}) == ReconcileRequest(
        scheduled=False, since_minutes=60, peer_region_lost=True, repair=False)


def test_the_command_line_refuses_what_the_function_refuses() -> None:
    with pytest.raises(SystemExit, match="the event is not JSON"):
        handlers._main(["reconcile", "{since_minutes: 5}"])
    with pytest.raises(SystemExit, match="reconcile: mode='nightly'"):
        handlers._main(["reconcile", '{"mode": "nightly"}'])
    with pytest.raises(SystemExit, match="usage"):
        handlers._main(["reconcile", "{}", "extra"])


def insert_row(api: Api, *, created_at: datetime, region: str = REGION) -> str:
    """A committed payment, as a processor that died before its projections left it."""
    payment_id = str(uuid.uuid4())
    api.sql(
        "INSERT INTO payments (payment_id, idempotency_key, request_hash, merchant_id, amount, "
        "currency, currency_exponent, description, source_type, source_fingerprint, status, "
        "correlation_id, region, created_at) VALUES (CAST(:id AS uuid), :key, :hash, "
        "'merchant-42', 10, 'EUR', 2, 'reconcile test', 'card_token', :hash, 'accepted', "
        ":correlation, :region, :created)",
        id=payment_id, key=f"rc-{uuid.uuid4()}", hash="ab" * 32,
        correlation=f"req-{uuid.uuid4()}", region=region, created=created_at)
    return payment_id


def run(event: dict[str, Any], now: datetime) -> ReconcileReport:
    return wiring.reconciler().run(ReconcileRequest.from_event(event), Deadline(lambda: 300.0),
                                   now=now)


def projections(api: Api, payment_id: str) -> tuple[bool, bool]:
    return api.status_item(payment_id) is not None, bool(api.receipt_keys(payment_id))


def test_a_payment_the_other_region_handled_waits_for_replication_unless_that_region_is_lost(
    api: Api,
) -> None:
    now = datetime.now(UTC)
    peer = insert_row(api, created_at=now - timedelta(minutes=2), region=OTHER_REGION)
    own = insert_row(api, created_at=now - timedelta(minutes=2))
    checked = run({"since_minutes": 10, "repair": False}, now)
    assert checked.receipts_left_to_replication >= 1 and checked.missing_status_items >= 2
    assert checked.repaired_payment_ids == []
    assert projections(api, peer) == projections(api, own) == (False, False)  # only counted

    report = run({"since_minutes": 10}, now)
    # Status items go to the global table in any case; the receipt of the other region's
    # payment is still within its S3 replication window: not rebuilt here yet.
    assert projections(api, own) == (True, True)
    assert projections(api, peer) == (True, False)
    assert {own, peer} <= set(report.repaired_payment_ids)

    lost = run({"since_minutes": 10, "peer_region_lost": True}, now)
    assert projections(api, peer) == (True, True)
    assert lost.repaired_receipts >= 1 and peer in lost.repaired_payment_ids
    assert own not in lost.repaired_payment_ids  # written once, never again


def test_after_the_replication_window_every_receipt_is_expected_here(api: Api) -> None:
    now = datetime.now(UTC)
    peer = insert_row(api, created_at=now - timedelta(minutes=20), region=OTHER_REGION)
    report = run({"since_minutes": 30}, now)
    assert peer in report.repaired_payment_ids
    assert projections(api, peer) == (True, True)


def test_the_schedule_moves_its_watermark_and_rereads_only_an_overlap(api: Api) -> None:
    now = datetime.now(UTC)
    old = insert_row(api, created_at=now - timedelta(minutes=30))
    recent = insert_row(api, created_at=now - timedelta(minutes=5))  # inside 15 min: later
    first = run({"mode": "scheduled"}, now)
    assert old in first.repaired_payment_ids and recent not in first.repaired_payment_ids
    assert first.complete and first.window_end == f"{now - timedelta(minutes=15):%Y-%m-%dT%H:%M:%S.%fZ}"
    item = api.dynamodb.get_item(TableName=TABLE,
                                 Key={"pk": {"S": WATERMARK_KEY_PREFIX + REGION}})["Item"]
    assert item["checked_through"]["S"] == first.window_end
    assert not cardnumbers.contains_card_number(json.dumps(item))

    later = now + timedelta(minutes=12)
    second = run({"mode": "scheduled"}, later)
    # From the watermark less the 5-minute overlap, up to 15 minutes before `later`.
    assert second.window_start == f"{now - timedelta(minutes=20):%Y-%m-%dT%H:%M:%S.%fZ}"
    assert recent in second.repaired_payment_ids and old not in second.repaired_payment_ids
    assert projections(api, recent) == (True, True)


def test_check_mode_counts_and_writes_nothing(api: Api) -> None:
    now = datetime.now(UTC)
    missing = insert_row(api, created_at=now - timedelta(minutes=3))
    before = api.counts()
    report = run({"since_minutes": 5, "repair": False}, now)
    assert (report.missing_status_items, report.missing_receipts) >= (1, 1)
    assert (report.repaired_status_items, report.repaired_receipts) == (0, 0)
    assert api.counts() == before
    run({"since_minutes": 5}, now)
    assert projections(api, missing) == (True, True)


def test_a_store_that_fails_stops_the_run_and_fails_the_invocation(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    insert_row(api, created_at=datetime.now(UTC) - timedelta(minutes=3))
    receipts = wiring.reconciler()._receipts

    def s3_down(_payment: Any) -> bool:
        raise DependencyUnavailable("s3", "SlowDown")

    monkeypatch.setattr(receipts, "exists", s3_down)
    # The function's own clock: the row is past its in-flight minute.
    with pytest.raises(ReconcileFailed, match="stopped after .* rows: s3: SlowDown"):
        handlers.reconcile({"since_minutes": 10}, None)
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (line["level"], line["error"], line["complete"]) == ("ERROR", "s3: SlowDown", False)
    monkeypatch.undo()
    report = handlers.reconcile({"since_minutes": 10}, None)
    assert report["complete"] and report["error"] is None
    # Its log line passes the card-number scan whole with nothing withheld or redacted: the
    # window's timestamps and the payment ids (UUIDs) never join into a digit run.
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert "redacted_fields" not in line
    assert (line["window_start"], line["rows_checked"]) == (report["window_start"],
                                                           report["rows_checked"])


def test_the_app_role_reads_at_most_1000_rows_and_nothing_older_than_seven_days(
    api: Api, postgres: Any,
) -> None:
    now = datetime.now(UTC)
    ancient = insert_row(api, created_at=now - timedelta(days=8))
    app = database_as(postgres, "app")
    try:
        ledger = Ledger(app)
        seen = ledger.created_between(now - timedelta(days=30), now, limit=1000)
        assert ancient not in {p.payment_id for p in seen}
        api.sql("BEGIN")  # 1001 rows more, rolled back afterwards
        try:
            api.sql("INSERT INTO payments (payment_id, idempotency_key, request_hash, "
                    "merchant_id, amount, currency, currency_exponent, source_type, "
                    "source_fingerprint, status, correlation_id, region) SELECT "
                    "gen_random_uuid(), 'bulk-key-' || lpad(n::text, 4, '0'), repeat('ab', 32), 'merchant-42', 1, "
                    "'EUR', 2, 'card_token', repeat('ab', 32), 'accepted', 'req-bulk', "
                    ":region FROM generate_series(1, 1001) AS n", region=REGION)
            ((capped,),) = api.sql("SELECT count(*) FROM payments_created_between("
                                   "now() - interval '30 days', now() + interval '1 minute', "
                                   "NULL, NULL, 5000)")
        finally:
            api.sql("ROLLBACK")
        assert capped == 1000
        first = ledger.created_between(now - timedelta(days=1), now, limit=2)
        after = ledger.created_between(now - timedelta(days=1), now,
                                       after=(first[-1].created_at, first[-1].payment_id),
                                       limit=2)
        assert first and not {p.payment_id for p in first} & {p.payment_id for p in after}
    finally:
        app.close()
