"""The functions connect as payments_app, which can record payments and nothing else; the
migrate function creates the roles without a password ever reaching the server's log."""

from __future__ import annotations

import json
import uuid

import boto3
import pg8000.exceptions
import pg8000.native
import pytest
from payments import roles, wiring
from payments.database import Database, SecretCredentials, SessionLimits
from payments.tls import tls_context

from rehearsal.localpg import DATABASE, SERVER_HOSTNAME, PostgresServer

from .conftest import REGION, SECRET_ARNS, Api, admin_connection, new_key, payment_body


def connect_as(postgres: PostgresServer, kind: str) -> pg8000.native.Connection:
    secret = json.loads(boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=SECRET_ARNS[kind])["SecretString"])
    return pg8000.native.Connection(
        user=secret["username"], password=secret["password"], host=SERVER_HOSTNAME,
        port=postgres.port, database=DATABASE, ssl_context=tls_context(str(postgres.ca_file)),
        timeout=5,
    )


def test_the_functions_use_the_app_role_never_the_master(api: Api) -> None:
    assert api.post(payment_body(), new_key())["statusCode"] == 201
    ((user, superuser),) = wiring.database().run(
        "SELECT current_user, usesuper FROM pg_user WHERE usename = current_user")
    assert (user, superuser) == (roles.APP_ROLE, False)
    assert wiring.config().db_secret_arn == SECRET_ARNS["app"]


@pytest.mark.parametrize("statement", [
    "DELETE FROM payments",
    "TRUNCATE payments",
    "UPDATE payments SET amount = 1",
    "DROP TABLE payments",
    "ALTER TABLE payments ADD COLUMN x int",
    "CREATE TABLE t (x int)",
    "DELETE FROM schema_migrations",
    "CREATE ROLE intruder",
], ids=lambda s: s.split(" (")[0])
def test_the_app_role_cannot_erase_rewrite_or_reshape_the_ledger(
    api: Api, postgres: PostgresServer, statement: str
) -> None:
    connection = connect_as(postgres, "app")
    try:
        with pytest.raises(pg8000.exceptions.DatabaseError) as refused:
            connection.run(statement)
        assert refused.value.args[0]["C"] == "42501", statement  # insufficient_privilege
    finally:
        connection.close()


def test_the_schema_belongs_to_the_migrator(api: Api) -> None:
    owners = api.sql("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert {owner for _, owner in owners} == {roles.MIGRATOR_ROLE}, owners


def test_roles_are_created_with_a_verifier_never_a_password_in_the_log(
    api: Api, postgres: PostgresServer
) -> None:
    probe_db = f"roles_{uuid.uuid4().hex[:10]}"
    api.sql(f"CREATE DATABASE {probe_db}")
    api.sql(f"ALTER DATABASE {probe_db} SET log_statement = 'ddl'")  # as the cluster does
    password = "Correct-Horse-Battery-Staple-42"
    master = Database(
        host=SERVER_HOSTNAME, port=postgres.port, database=probe_db,
        credentials=SecretCredentials(boto3.client("secretsmanager", region_name=REGION),
                                      SECRET_ARNS["master"]),
        tls=tls_context(str(postgres.ca_file)), timeout_seconds=5, application_name="roles",
        limits=SessionLimits(5000, 1000, 5000), require_writer=True,
    )
    probe = (roles.Role("probe_migrator", password), roles.Role("probe_app", password + "x"))
    try:
        assert roles.ensure_roles(master, probe_db, *probe) == ["probe_migrator", "probe_app"]
        assert roles.ensure_roles(master, probe_db, *probe) == []  # idempotent
        log = postgres.log_tail(400)
        assert "SCRAM-SHA-256$4096:" in log  # the statements were logged...
        assert password not in log  # ...with verifiers only
        # The verifier is one PostgreSQL accepts: the role logs in with the password.
        pg8000.native.Connection(
            user="probe_migrator", password=password, host=SERVER_HOSTNAME,
            port=postgres.port, database=probe_db,
            ssl_context=tls_context(str(postgres.ca_file)), timeout=5).close()
    finally:
        master.close()
        api.sql(f"DROP DATABASE {probe_db} WITH (FORCE)")
        for role in ("probe_migrator", "probe_app"):
            api.sql(f"DROP ROLE IF EXISTS {role}")


def test_role_names_are_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="plain lower-case identifier"):
        roles.Role("app; DROP TABLE payments", "x")
