"""Review of issue 18: hardening gaps (each test is a defect, marked xfail)."""

from __future__ import annotations

import uuid

import pg8000.exceptions
import pytest

from rehearsal.localpg import PostgresServer

from .conftest import OTHER_REGION, Api
from .test_least_privilege import as_app


@pytest.mark.xfail(strict=True, reason="review18 F9: record_payment trusts the region (and "
                   "every other column) the caller names; write_heartbeat checks the region "
                   "against inet_client_addr(), record_payment does not")
def test_record_payment_refuses_a_region_the_connection_does_not_come_from(
    api: Api, postgres: PostgresServer
) -> None:
    key = f"key-{uuid.uuid4()}"
    try:
        with as_app(postgres) as connection, pytest.raises(
                pg8000.exceptions.DatabaseError) as error:
            connection.run(
                "SELECT * FROM record_payment(CAST(:id AS uuid), :key, repeat('a', 64), "
                "'merchant-42', 1, 'EUR', CAST(2 AS smallint), NULL, 'card_token', "
                "'not a sha-256 digest', 'forged', :region)",
                id=str(uuid.uuid4()), key=key, region=OTHER_REGION)
        assert error.value.args[0]["C"] == "42501"
    finally:
        api.sql("DELETE FROM payments WHERE idempotency_key = :key", key=key)
