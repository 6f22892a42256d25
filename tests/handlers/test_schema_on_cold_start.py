"""A new container brings the ledger schema up to date before its first payment, on whichever
server is the writer; against a read-only server it runs no DDL and takes no payment."""

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


def test_cold_start_on_the_writer_applies_the_schema_then_takes_the_payment(
    api: Api, postgres: PostgresServer, reconfigure, empty_database: str
) -> None:
    reconfigure(DB_NAME=empty_database)
    response = api.post(payment_body(), new_key())
    assert response["statusCode"] == 201, response["body"]
    assert has_migrations_table(postgres, empty_database)


def test_cold_start_on_a_read_only_server_runs_no_ddl_and_answers_503(
    api: Api, postgres: PostgresServer, reconfigure, empty_database: str
) -> None:
    admin = admin_connection(postgres, "postgres")
    admin.run(f"ALTER DATABASE {empty_database} SET default_transaction_read_only = on")
    admin.close()
    reconfigure(DB_NAME=empty_database)
    response = api.post(payment_body(), new_key())
    assert response["statusCode"] == 503, response["body"]
    assert response["headers"]["retry-after"] == "1"
    assert not has_migrations_table(postgres, empty_database)
