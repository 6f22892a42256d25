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
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pg8000.exceptions
import pg8000.native
import pytest
from payments import large_objects, roles, session_settings, validation, wiring
from payments.database import Database, SecretCredentials, SessionLimits
from payments.errors import DependencyUnavailable
from payments.ledger import Ledger
from payments.models import NewPayment
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


def test_record_payment_refuses_a_region_the_connection_does_not_come_from(
    api: Api, postgres: PostgresServer
) -> None:
    """Review 18 (F9): record_payment believed the region (and every other column) it was
    told; now the region must be the one whose network the connection comes from, as for
    write_heartbeat (migration 007), and the columns carry the API's rules."""
    key = f"key-{uuid.uuid4()}"
    record = ("SELECT * FROM record_payment(CAST(:id AS uuid), :key, repeat('a', 64), "
              "'merchant-42', 1, 'EUR', CAST(2 AS smallint), NULL, 'card_token', "
              ":fingerprint, :correlation_id, :region)")
    try:
        with as_app(postgres) as connection:
            with pytest.raises(pg8000.exceptions.DatabaseError) as forged_region:
                connection.run(record, id=str(uuid.uuid4()), key=key, region=OTHER_REGION,
                               fingerprint="b" * 64, correlation_id=str(uuid.uuid4()))
            with pytest.raises(pg8000.exceptions.DatabaseError) as forged_fingerprint:
                connection.run(record, id=str(uuid.uuid4()), key=key, region=REGION,
                               fingerprint="not a sha-256 digest", correlation_id="forged")
            ((payment_id, *_),) = connection.run(
                record, id=str(uuid.uuid4()), key=key, region=REGION, fingerprint="b" * 64,
                correlation_id=str(uuid.uuid4()))  # its own region, the API's rules: recorded
    finally:
        api.sql("DELETE FROM payments WHERE idempotency_key = :key", key=key)
    assert forged_region.value.args[0]["C"] == "42501"
    assert "network of the region it names" in forged_region.value.args[0]["M"]
    assert forged_fingerprint.value.args[0]["C"] == "23514"  # check_violation
    assert forged_fingerprint.value.args[0]["n"] == "payments_source_fingerprint_sha256"
    assert payment_id


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
        # A payment for a region the connection does not come from: 503, not a 500
        request = validation.payment_request(payment_body())
        with pytest.raises(DependencyUnavailable, match="payment refused.*42501"):
            Ledger(app).record(NewPayment(str(uuid.uuid4()), new_key(), request.fingerprint(),
                                          request, str(uuid.uuid4()), OTHER_REGION))
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


# --- review 18 (F4): settings the role gives itself ------------------------------------------
def lines_after(api: Api, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """A payment (with non-ASCII text) and two health checks from a fresh container: their
    "request completed" lines."""
    wiring.reset()
    capsys.readouterr()
    api.post(payment_body(description="café 1001"), new_key())
    api.health()
    api.health()
    lines = [json.loads(t) for t in capsys.readouterr().out.splitlines() if t.startswith("{")]
    return [line for line in lines if line["message"] == "request completed"]


@pytest.mark.parametrize("setting", [
    "search_path = ''",  # was: every payment 503 "schema not migrated", unalarmed
    "idle_session_timeout = 1",  # was: "connection failed", unalarmed
    "client_encoding = 'SQL_ASCII'",  # was: a 500 with /health 200
    "synchronous_commit = off",  # was: every payment acknowledged before its flush, silently
])
def test_every_connection_refuses_a_role_with_settings_of_its_own_and_the_alarm_counts_it(
    api: Api, postgres: PostgresServer, capsys: pytest.CaptureFixture[str], setting: str
) -> None:
    try:
        with as_app(postgres) as connection:
            connection.run(f"ALTER ROLE payments_app SET {setting}")
        lines = lines_after(api, capsys)
    finally:
        deploy_schema(REGION, DATABASE, SECRET_ARNS)
        wiring.reset()
    assert [line["status_code"] for line in lines] == [503, 503, 503], lines
    assert all(counted_by_the_role_alarm(line) for line in lines), lines
    assert not any("redacted_fields" in line for line in lines), lines
    assert api.post(payment_body(description="café 1001"), new_key())["statusCode"] == 201


class _RoleSettingsRow:
    def __init__(self, managed: bool, names: list[str]) -> None:
        self.row = [[managed, names]]

    def run(self, _sql: str, **_params: Any) -> list[list[Any]]:
        return self.row


def test_a_custom_setting_is_counted_not_named() -> None:
    """A custom parameter's name (``ext.anything``, which a superuser or an extension may set) can
    hold digits the log line's scan would redact, and the alarm would then miss the reason."""
    names = ["search_path", "x.card4111111111111111"]
    with pytest.raises(DependencyUnavailable) as refused:
        session_settings.check(_RoleSettingsRow(True, names))
    assert refused.value.reason.startswith(f"{session_settings.ROLE_SETTINGS_REFUSED} "
                                           "(search_path, 1 custom)")
    assert fnmatch.fnmatchcase(refused.value.reason, role_alarm.REFUSED_REASONS[-1])
    session_settings.check(_RoleSettingsRow(False, names))  # the master: its own business
    session_settings.check(_RoleSettingsRow(True, []))


@pytest.mark.parametrize(("name", "role_default"), [
    ("synchronous_commit", "off"),
    ("search_path", "''"),
    ("client_encoding", "'SQL_ASCII'"),
    ("idle_session_timeout", "1"),
    ("default_transaction_isolation", "serializable"),
    ("TimeZone", "'Asia/Kolkata'"),
    ("DateStyle", "'SQL, DMY'"),
    ("IntervalStyle", "'iso_8601'"),
])
def test_a_setting_in_the_startup_message_wins_over_the_role_default(
    api: Api, postgres: PostgresServer, name: str, role_default: str
) -> None:
    """What makes the pin hold on a real server: a startup-message parameter is the session's
    default whatever ALTER ROLE ... SET says (PostgreSQL, "Frontend/Backend Protocol",
    StartupMessage). Every pinned setting, against a role default that differs."""
    assert name in session_settings.STARTUP_PARAMETERS
    secret = json.loads(boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=SECRET_ARNS["app"])["SecretString"])
    try:
        with as_app(postgres) as connection:
            connection.run(f"ALTER ROLE payments_app SET {name} = {role_default}")
        pinned = pg8000.native.Connection(
            user=secret["username"], password=secret["password"], host=SERVER_HOSTNAME,
            port=postgres.port, database=DATABASE,
            ssl_context=tls_context(str(postgres.ca_file)), timeout=5,
            startup_params=session_settings.STARTUP_PARAMETERS)
        try:
            ((shown,),) = pinned.run(f"SHOW {name}")
        finally:
            pinned.close()
    finally:
        api.sql("ALTER ROLE payments_app RESET ALL")
    assert shown == session_settings.STARTUP_PARAMETERS[name]


def test_a_payment_is_never_committed_with_synchronous_commit_off(
    api: Api, postgres: PostgresServer
) -> None:
    """Review 18 (F4b): the role default reached every container of both regions until the
    next deploy. Now it is refused (503, alarmed) and, were it not, it would be overridden."""
    try:
        with as_app(postgres) as connection:
            connection.run("ALTER ROLE payments_app SET synchronous_commit = off")
        wiring.reset()
        refused = api.post(payment_body(), new_key())
    finally:
        deploy_schema(REGION, DATABASE, SECRET_ARNS)
        wiring.reset()
    assert refused["statusCode"] == 503
    assert api.post(payment_body(), new_key())["statusCode"] == 201
    assert wiring.database("payments").run("SHOW synchronous_commit") == [["on"]]


def test_the_master_user_keeps_its_own_settings_and_the_migrate_step_runs(
    api: Api, postgres: PostgresServer
) -> None:
    """The check is for the roles the migrate step manages: the master's settings are the
    operator's, and the migrate function, which repairs the others, logs in as the master."""
    ((master,),) = api.sql("SELECT current_user")
    try:
        api.sql(f"ALTER ROLE {master} SET work_mem = '8MB'")
        assert "databases_open_to_every_role" in deploy_schema(REGION, DATABASE, SECRET_ARNS)
    finally:
        api.sql(f"ALTER ROLE {master} RESET work_mem")


# --- review 18 (F5): large objects -------------------------------------------------------------
LARGE_OBJECT_CREATORS = ("lo_creat(integer)", "lo_create(oid)", "lo_from_bytea(oid,bytea)")


def app_large_objects(api: Api) -> int:
    ((count,),) = api.sql("SELECT count(*) FROM pg_largeobject_metadata "
                          "WHERE lomowner = 'payments_app'::regrole")
    return int(count)


def test_on_plain_postgresql_the_app_role_cannot_create_large_objects(
    api: Api, postgres: PostgresServer
) -> None:
    """The local model's master is a superuser and owns nothing less than the catalog's
    functions' owner does: its REVOKE takes effect, and the migrate step reports nothing open."""
    outcome = deploy_schema(REGION, DATABASE, SECRET_ARNS)
    assert outcome["large_object_functions_open"] == []
    with as_app(postgres) as connection:
        for statement in ("SELECT lo_from_bytea(0, '\\x00')", "SELECT lo_create(0)",
                          "SELECT lo_creat(-1)"):
            assert refused(connection, statement) == "42501", statement


def test_large_objects_of_the_app_role_do_not_outlive_the_migrate_step(
    api: Api, postgres: PostgresServer
) -> None:
    """Review 18 (F5), as on Aurora, where the master cannot revoke EXECUTE on the catalog's
    functions (below): the role creates a large object (1 MiB; a loop makes it any size), and
    the next migrate step removes it and says how many it removed."""
    try:
        api.sql("GRANT EXECUTE ON FUNCTION lo_from_bytea(oid, bytea) TO PUBLIC")  # Aurora's state
        with as_app(postgres) as connection:
            ((oid,),) = connection.run("SELECT lo_from_bytea(0, decode(repeat('00', 1048576), "
                                       "'hex'))")
        assert oid and app_large_objects(api) == 1
        outcome = deploy_schema(REGION, DATABASE, SECRET_ARNS)
        left = app_large_objects(api)
    finally:
        api.sql("SELECT lo_unlink(oid) FROM pg_largeobject_metadata "
                "WHERE lomowner = 'payments_app'::regrole")
        deploy_schema(REGION, DATABASE, SECRET_ARNS)
    assert (outcome["large_objects_removed"], left) == (1, 0)
    assert deploy_schema(REGION, DATABASE, SECRET_ARNS)["large_objects_removed"] == 0


def test_a_master_that_is_not_a_superuser_cannot_revoke_but_still_removes_large_objects(
    api: Api, postgres: PostgresServer
) -> None:
    """Aurora's master is `NOSUPERUSER CREATEROLE` with rds_superuser ("Understanding the
    rds_superuser role", Amazon RDS User Guide) and does not own pg_catalog's functions. Modelled
    by such a role here: its REVOKE is a warning that changes nothing ("REVOKE", PostgreSQL), so
    the step reports the functions open; and, a member of the app role, it unlinks the app
    role's large objects."""
    password = secrets.token_urlsafe(24)
    model = "aurora_like_master"
    secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=f"model-master-{uuid.uuid4().hex[:8]}",
        SecretString=json.dumps({"username": model, "password": password}))["ARN"]
    api.sql(f"CREATE ROLE {model} LOGIN NOSUPERUSER CREATEROLE PASSWORD '{password}'")
    api.sql(f"GRANT CONNECT ON DATABASE {DATABASE} TO {model}")
    master = Database(
        host=SERVER_HOSTNAME, port=postgres.port, database=DATABASE,
        credentials=SecretCredentials(boto3.client("secretsmanager", region_name=REGION),
                                      secret_arn),
        tls=tls_context(str(postgres.ca_file)), timeout_seconds=5, application_name="model",
        limits=SessionLimits(5000, 1000, 5000), require_writer=True)
    try:
        api.sql("GRANT EXECUTE ON FUNCTION lo_creat(integer), lo_create(oid), "
                "lo_from_bytea(oid, bytea) TO PUBLIC")  # PostgreSQL's default
        with as_app(postgres) as connection:
            connection.run("SELECT lo_create(0)")
        tidied = large_objects.tidy(master, roles.APP_ROLE)
        after = app_large_objects(api)
    finally:
        master.close()
        api.sql(f"REVOKE {roles.APP_ROLE} FROM {model}")
        api.sql(f"REVOKE CONNECT ON DATABASE {DATABASE} FROM {model}")
        api.sql(f"DROP ROLE {model}")
        deploy_schema(REGION, DATABASE, SECRET_ARNS)
    assert tidied.open_functions == LARGE_OBJECT_CREATORS
    assert (tidied.removed, after) == (1, 0)
