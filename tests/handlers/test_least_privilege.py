"""The functions connect as payments_app, which can record payments and nothing else; the
migrate function creates the roles without a password ever reaching the server's log.

Issue 18: the role could move a payment's idempotency key (the column grant for ON CONFLICT
... DO UPDATE), create temporary tables and functions, connect to other databases, write
another region's heartbeat, and keep settings it gave itself. Every refusal is checked with
its SQLSTATE, and the whole of what the role may still do is read from the catalogs.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pg8000.exceptions
import pg8000.native
import pytest
from payments import roles, wiring
from payments.database import Database, SecretCredentials, SessionLimits
from payments.errors import DependencyUnavailable
from payments.ledger import Ledger
from payments.tls import tls_context

from rehearsal.localpg import DATABASE, SERVER_HOSTNAME, PostgresServer
from templates import database_role_alarm as role_alarm

from .conftest import (
    OTHER_REGION, REGION, SECRET_ARNS, Api, deploy_schema, new_key, payment_body,
)


def connect_as(postgres: PostgresServer, kind: str,
               database: str = DATABASE) -> pg8000.native.Connection:
    secret = json.loads(boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=SECRET_ARNS[kind])["SecretString"])
    return pg8000.native.Connection(
        user=secret["username"], password=secret["password"], host=SERVER_HOSTNAME,
        port=postgres.port, database=database, ssl_context=tls_context(str(postgres.ca_file)),
        timeout=5,
    )


def database_as(postgres: PostgresServer, kind: str, database: str = DATABASE) -> Database:
    """The functions' database adapter, logged in with the ``kind`` secret."""
    return Database(
        host=SERVER_HOSTNAME, port=postgres.port, database=database,
        credentials=SecretCredentials(boto3.client("secretsmanager", region_name=REGION),
                                      SECRET_ARNS[kind]),
        tls=tls_context(str(postgres.ca_file)), timeout_seconds=5, application_name="roles",
        limits=SessionLimits(5000, 1000, 5000), require_writer=True,
    )


@contextlib.contextmanager
def as_app(postgres: PostgresServer) -> Iterator[pg8000.native.Connection]:
    connection = connect_as(postgres, "app")
    try:
        yield connection
    finally:
        connection.close()


def refused(connection: pg8000.native.Connection, statement: str) -> str:
    """The SQLSTATE the server refuses ``statement`` with."""
    with pytest.raises(pg8000.exceptions.DatabaseError) as error:
        connection.run(statement)
    return str(error.value.args[0]["C"])


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
    # Issue 18: a key moved away lets a retry record the payment again once DynamoDB forgets.
    "UPDATE payments SET idempotency_key = 'moved-' || idempotency_key",
    "SELECT * FROM payments",
    "INSERT INTO payments (payment_id) VALUES (gen_random_uuid())",
    "INSERT INTO heartbeats (region, written_at) VALUES ('eu-central-1', now())",
    "UPDATE heartbeats SET written_at = now()",
    "SELECT * FROM heartbeats",
    "SELECT * FROM schema_migrations",
    "SELECT * FROM region_networks",
    "DELETE FROM region_networks",
    "DROP TABLE payments",
    "ALTER TABLE payments ADD COLUMN x int",
    "CREATE TABLE t (x int)",
    "DELETE FROM schema_migrations",
    "CREATE ROLE intruder",
    "CREATE TEMP TABLE t (x int)",
    "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA intruder",
    # A heartbeat for the region whose network (10.1.0.0/16) this connection is not in.
    "SELECT write_heartbeat('eu-central-1')",
    "SELECT write_heartbeat('eu-west-2')",  # a region the deployment does not know
], ids=lambda s: s.split(" (")[0])
def test_the_app_role_cannot_erase_rewrite_or_reshape_the_ledger(
    api: Api, postgres: PostgresServer, statement: str
) -> None:
    with as_app(postgres) as connection:
        assert refused(connection, statement) == "42501", statement  # insufficient_privilege


@pytest.mark.parametrize("database", ["postgres", "template1"])
def test_the_app_role_cannot_connect_to_any_other_database(
    api: Api, postgres: PostgresServer, database: str
) -> None:
    with pytest.raises(pg8000.exceptions.DatabaseError) as error:
        connect_as(postgres, "app", database)
    assert error.value.args[0]["C"] == "42501"  # permission denied for database


def test_what_the_app_role_may_do_is_exactly_six_functions(api: Api) -> None:
    """From the catalogs: no privilege on any table, view or sequence of the schema; EXECUTE
    on exactly the migrator's six functions; CONNECT on the payments database and nothing
    else on it; USAGE on schema public, no CREATE."""
    tables = api.sql(
        "SELECT c.relname, p.privilege FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', "
        "'REFERENCES', 'TRIGGER']) AS p(privilege) "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        "AND has_table_privilege('payments_app', c.oid, p.privilege)")
    columns = api.sql(
        "SELECT c.relname, a.attname FROM pg_attribute AS a JOIN pg_class AS c "
        "ON c.oid = a.attrelid JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 "
        "AND has_column_privilege('payments_app', c.oid, a.attnum, 'SELECT, INSERT, UPDATE')")
    functions = api.sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc AS p "
        "JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
        "AND has_function_privilege('payments_app', p.oid, 'EXECUTE') ORDER BY 1")
    definers = api.sql(
        "SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner), p.proconfig "
        "FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' ORDER BY 1")
    database = api.sql(
        "SELECT has_database_privilege('payments_app', current_database(), 'CONNECT'), "
        "has_database_privilege('payments_app', current_database(), 'TEMPORARY'), "
        "has_database_privilege('payments_app', current_database(), 'CREATE'), "
        "has_schema_privilege('payments_app', 'public', 'USAGE'), "
        "has_schema_privilege('payments_app', 'public', 'CREATE')")
    assert tables == [] and columns == []
    assert [name for (name,) in functions] == [
        "applied_migrations()",
        "find_payment(text,text)",
        "payments_created_between(timestamp with time zone,timestamp with time zone,"
        "timestamp with time zone,uuid,integer)",
        "record_payment(uuid,text,text,text,numeric,text,smallint,text,text,text,text,text)",
        "replication_progress()",
        "write_heartbeat(text)",
    ]
    for name, security_definer, owner, config in definers:
        assert (security_definer, owner, config) == (
            True, roles.MIGRATOR_ROLE, ["search_path=public, pg_temp"]), name
    assert database == [[True, False, False, True, False]]


def test_the_app_role_records_and_reads_payments_through_the_functions(
    api: Api, postgres: PostgresServer
) -> None:
    key, body = new_key(), payment_body()
    created = json.loads(api.post(body, key)["body"])
    app = database_as(postgres, "app")
    try:
        found = Ledger(app).find(body["merchant_id"], key)
        assert found is not None and found.payment_id == created["payment_id"]
        assert Ledger(app).find(body["merchant_id"], new_key()) is None
        with pytest.raises(DependencyUnavailable, match="heartbeat refused.*42501"):
            Ledger(app).heartbeat(OTHER_REGION)
        Ledger(app).heartbeat(REGION)  # its own region: the loopback network
    finally:
        app.close()


def counted_by_the_role_alarm(line: dict[str, Any]) -> bool:
    """What the DatabaseRoleRefused metric filter (templates/database_role_alarm.py) counts,
    evaluated on one log line: a reason that matches one of its patterns, or a health check
    that found a primary handing out read-only sessions."""
    database = (line.get("checks") or {}).get("database") or {}
    reasons = [r for r in (line.get("reason"), database.get("error")) if isinstance(r, str)]
    return (any(fnmatch.fnmatchcase(r, p) for r in reasons for p in role_alarm.REFUSED_REASONS)
            or (database.get("read_only") is True and database.get("in_recovery") is False))


def request_lines(api: Api, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    """A payment and a health check from fresh containers: their "request completed" lines
    by path (the health check asked twice: a cold one may run out of its 1.5 s)."""
    wiring.reset()
    capsys.readouterr()
    api.post(payment_body(), new_key())
    api.health()
    api.health()
    lines = [json.loads(t) for t in capsys.readouterr().out.splitlines() if t.startswith("{")]
    return {line["path"]: line for line in lines if line["message"] == "request completed"}


def test_a_role_that_changed_its_own_settings_and_password_is_restored_by_the_migrate_step(
    api: Api, postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL lets a role set its own defaults and password (ALTER ROLE): each change
    outlasts the session and breaks every new connection, and the alarm says so. The migrate
    step, run on every deploy, undoes both."""
    try:
        with as_app(postgres) as connection:
            connection.run("ALTER ROLE payments_app SET default_transaction_read_only = on")
            connection.run(f"ALTER ROLE payments_app IN DATABASE {DATABASE} "
                           "SET statement_timeout = 1")
        with as_app(postgres) as connection:
            assert connection.run("SHOW default_transaction_read_only") == [["on"]]
            assert connection.run("SHOW statement_timeout") == [["1ms"]]
        read_only = request_lines(api, capsys)
        assert [line["status_code"] for line in read_only.values()] == [503, 503]
        assert all(counted_by_the_role_alarm(line) for line in read_only.values()), read_only

        with as_app(postgres) as connection:
            connection.run("SET default_transaction_read_only = off")
            connection.run("ALTER ROLE payments_app PASSWORD 'chosen-by-an-intruder'")
        with pytest.raises(pg8000.exceptions.DatabaseError) as error:
            connect_as(postgres, "app")
        assert error.value.args[0]["C"] == "28P01"  # the secret no longer logs in
        locked_out = request_lines(api, capsys)
        assert [line["status_code"] for line in locked_out.values()] == [503, 503]
        assert all(counted_by_the_role_alarm(line) for line in locked_out.values()), locked_out
    finally:
        deploy_schema(REGION, DATABASE, SECRET_ARNS)
        wiring.reset()

    restored = request_lines(api, capsys)
    assert restored["/process"]["status_code"] == 201
    assert not any(counted_by_the_role_alarm(line) for line in restored.values())

    with as_app(postgres) as connection:
        assert connection.run("SHOW default_transaction_read_only") == [["off"]]
        assert connection.run("SHOW statement_timeout") == [["0"]]
    assert api.sql("SELECT count(*) FROM pg_db_role_setting AS s JOIN pg_roles AS r "
                   "ON r.oid = s.setrole WHERE r.rolname LIKE 'payments_%'") == [[0]]
    assert api.post(payment_body(), new_key())["statusCode"] == 201


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
    master = database_as(postgres, "master", probe_db)
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
