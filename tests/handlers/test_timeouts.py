"""Timeouts are a budget: no step may outlive the function, and a request that runs out of
time ends in a 503 with Retry-After and leaves nothing half-done."""

from __future__ import annotations

import json

from payments import aws, wiring
from payments.deadline import MARGIN_SECONDS

from templates.service import PROCESSOR

from .conftest import Api, FakeContext, http_event, new_key, payment_body


def test_the_largest_step_fits_in_the_processor_timeout() -> None:
    aws_call = aws.worst_case_seconds(aws.PAYMENT_PATH)
    database = wiring.PAYMENT_DB.worst_case_seconds()
    assert aws_call == 2 * (1 + 2) + 2  # two attempts of connect + read, one back-off
    assert max(aws_call, database) + MARGIN_SECONDS < PROCESSOR.timeout
    # The server gives up on a statement before the client's socket timeout would matter.
    limits = wiring.PAYMENT_DB.limits
    assert limits.lock_ms < limits.statement_ms < limits.idle_in_transaction_ms


def test_the_health_path_answers_within_route_53s_two_seconds() -> None:
    assert aws.worst_case_seconds(aws.HEALTH_PATH) <= 2
    assert wiring.HEALTH_DB.limits.statement_ms / 1000 + wiring.HEALTH_DB.timeout_seconds < 2


def test_a_request_without_time_for_the_ledger_gets_503_and_records_nothing(api: Api) -> None:
    key, body = new_key(), payment_body()
    before = api.counts()
    event = http_event("POST", "/process", body=json.dumps(body),
                       headers={"content-type": "application/json", "idempotency-key": key})
    # Enough for the idempotency claim, not for the ledger's worst case.
    remaining = aws.worst_case_seconds(aws.PAYMENT_PATH) + MARGIN_SECONDS + 0.5
    assert remaining < wiring.PAYMENT_DB.worst_case_seconds() + MARGIN_SECONDS
    context = FakeContext(event["requestContext"]["requestId"], int(remaining * 1000))
    from payments import handlers

    response = handlers.process(event, context)
    assert response["statusCode"] == 503, response["body"]
    assert response["headers"]["retry-after"] == "1"
    assert api.counts() == before  # the claim was released; no row, no receipt
    assert api.post(body, key)["statusCode"] == 201  # the retry with time to spare succeeds
