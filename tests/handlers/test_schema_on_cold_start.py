"""The functions never change the schema: on a database the migrate function has not prepared
they answer 503 and create nothing; once it ran (roles, then migrations as the migrator), the
same container takes the payment. Against a read-only server nothing runs at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .conftest import (
    REGION, SECRET_ARNS, Api, admin_connection, deploy_schema, new_key, payment_body,
)
from rehearsal.localpg import PostgresServer


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


def test_functions_wait_for_the_migrate_function_then_take_the_payment(
    api: Api, postgres: PostgresServer, reconfigure, empty_database: str
) -> None:
    admin = admin_connection(postgres, "postgres")
    admin.run(f"GRANT CONNECT ON DATABASE {empty_database} TO payments_app")
    admin.close()
    reconfigure(DB_NAME=empty_database)
    body, key = payment_body(), new_key()
    refused = api.post(body, key)
    assert refused["statusCode"] == 503, refused["body"]
    assert refused["headers"]["retry-after"] == "1"
    assert not has_migrations_table(postgres, empty_database)  # the app role ran no DDL
    assert api.health()["statusCode"] == 503

    outcome = deploy_schema(REGION, empty_database, SECRET_ARNS)
    assert outcome["applied"][0] == "001_create_payments.sql"
    response = api.post(body, key)  # the same warm container
    assert response["statusCode"] == 201, response["body"]
    assert api.health()["statusCode"] == 200
    again = deploy_schema(REGION, empty_database, SECRET_ARNS)
    assert (again["roles_created"], again["applied"]) == ([], [])


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
