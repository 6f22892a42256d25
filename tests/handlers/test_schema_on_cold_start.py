"""A new container in the primary brings the ledger schema up to date before its first payment;
the secondary never runs DDL (Aurora does not forward it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .conftest import Api, admin_connection, new_key, payment_body
from stacksets.localpg import PostgresServer


@pytest.fixture
def empty_database(postgres: PostgresServer) -> Iterator[str]:
    name = f"cold_{uuid.uuid4().hex[:12]}"
    admin = admin_connection(postgres, "postgres")
    admin.run(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        admin.run(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def has_migrations_table(postgres: PostgresServer, database: str) -> bool:
    connection = admin_connection(postgres, database)
    try:
        return connection.run("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0]
    finally:
        connection.close()


def test_primary_cold_start_applies_the_schema_then_takes_the_payment(
    api: Api, postgres: PostgresServer, reconfigure, empty_database: str
) -> None:
    reconfigure(DB_NAME=empty_database, REGION_ROLE="primary")
    response = api.post(payment_body(), new_key())
    assert response["statusCode"] == 201, response["body"]
    assert has_migrations_table(postgres, empty_database)


def test_secondary_cold_start_runs_no_ddl(
    api: Api, postgres: PostgresServer, reconfigure, empty_database: str
) -> None:
    reconfigure(DB_NAME=empty_database, REGION_ROLE="secondary")
    response = api.post(payment_body(), new_key())
    assert response["statusCode"] >= 500  # no ledger table: refused, never half-recorded
    assert "Traceback" not in response["body"]
    assert not has_migrations_table(postgres, empty_database)
