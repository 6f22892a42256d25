"""The database adapter against the real server: TLS modes, credentials, reconnects, migrations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pg8000.exceptions
import pg8000.native
import pytest
from payments import constraint_validation, migrations
from payments.database import Database, SecretCredentials, SessionLimits
from payments.errors import DependencyUnavailable
from payments.ledger import Ledger
from payments.tls import tls_context

from .conftest import REGION, SECRET_ARNS, Api
from rehearsal.localpg import ADMIN_USER, DATABASE, PostgresServer


def database(
    postgres: PostgresServer,
    *,
    host: str,
    ca_file: str,
    secret_arn: str | None = None,
    db: str = DATABASE,
    require_writer: bool = True,
) -> Database:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secret_arn or SECRET_ARNS["master"]  # the adapter's behaviour, whatever the role
    return Database(
        host=host,
        port=postgres.port,
        database=db,
        credentials=SecretCredentials(secrets, arn),
        tls=tls_context(ca_file),
        timeout_seconds=5,
        application_name="payments-test",
        limits=SessionLimits(statement_ms=2000, lock_ms=1000, idle_in_transaction_ms=5000),
        require_writer=require_writer,
    )


@pytest.mark.parametrize(
    ("host", "ca", "connects"),
    [
        ("localhost", "ca", True),  # verify-full: chain and host name check out
        ("127.0.0.1", "ca", False),  # the certificate does not name 127.0.0.1
        ("localhost", "other", False),  # signed by a CA we do not trust
    ],
    ids=["verify-full", "host-mismatch", "untrusted-ca"],
)
def test_tls_modes(
    api: Api, postgres: PostgresServer, host: str, ca: str, connects: bool
) -> None:
    ca_file = {"ca": str(postgres.ca_file), "other": str(postgres.other_ca_file)}[ca]
    db = database(postgres, host=host, ca_file=ca_file)
    try:
        if connects:
            assert db.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [[True]]
        else:
            with pytest.raises(DependencyUnavailable) as raised:
                db.run("SELECT 1")
            assert raised.value.dependency == "database"
            assert "server certificate refused" in raised.value.reason
    finally:
        db.close()


def test_there_is_no_unverified_mode() -> None:
    """The encrypt-only mode an empty DB_TLS_CA_FILE used to select is gone."""
    with pytest.raises(ValueError, match="DB_TLS_CA_FILE"):
        tls_context("")


def test_server_refuses_plaintext(api: Api, postgres: PostgresServer) -> None:
    with pytest.raises(pg8000.exceptions.DatabaseError) as raised:
        pg8000.native.Connection(
            user=ADMIN_USER,
            password=postgres.password,
            host="127.0.0.1",
            port=postgres.port,
            database=DATABASE,
            ssl_context=False,
        )
    assert raised.value.args[0]["C"] == "28000"  # no pg_hba.conf entry ... no encryption


def test_rotated_password_is_fetched_again_once(api: Api, postgres: PostgresServer) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(
        Name=f"rotation-{uuid.uuid4()}",
        SecretString=json.dumps({"username": ADMIN_USER, "password": "stale"}),
    )["ARN"]
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file), secret_arn=arn)
    try:
        with pytest.raises(DependencyUnavailable, match="authentication failed"):
            db.run("SELECT 1")
        secrets.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({"username": ADMIN_USER, "password": postgres.password}),
        )
        assert db.run("SELECT 1") == [[1]]
    finally:
        db.close()


@pytest.mark.parametrize(
    "secret", ["not json", json.dumps({"user": "x"}), json.dumps({"username": "", "password": 1})]
)
def test_malformed_secret_is_unavailable_without_echoing_it(
    api: Api, postgres: PostgresServer, secret: str
) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name=f"bad-{uuid.uuid4()}", SecretString=secret)["ARN"]
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file), secret_arn=arn)
    with pytest.raises(DependencyUnavailable) as raised:
        db.run("SELECT 1")
    assert secret not in str(raised.value) and "not json" not in str(raised.value)


def test_killed_connection_is_replaced_transparently(api: Api, postgres: PostgresServer) -> None:
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file))
    try:
        ((pid,),) = db.run("SELECT pg_backend_pid()")
        api.sql("SELECT pg_terminate_backend(:pid)", pid=pid)
        ((new_pid,),) = db.run("SELECT pg_backend_pid()")
        assert new_pid != pid
    finally:
        db.close()


def test_server_role_reports_a_writable_primary(api: Api, postgres: PostgresServer) -> None:
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file))
    try:
        assert Ledger(db).server_role().writable is True
    finally:
        db.close()


def test_session_limits_are_set_on_every_connection(api: Api, postgres: PostgresServer) -> None:
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file))
    try:
        settings = db.run(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
            "current_setting('idle_in_transaction_session_timeout')"
        )
        assert settings == [["2s", "1s", "5s"]]
        with pytest.raises(DependencyUnavailable, match="timed out"):
            db.run("SELECT pg_sleep(3)")  # the server cancels it: 57014, a 503 not a hang
        assert db.run("SELECT 1") == [[1]]  # and the session is still usable
    finally:
        db.close()


@pytest.fixture
def read_only_database(api: Api, postgres: PostgresServer) -> Iterator[str]:
    name = f"ro_{uuid.uuid4().hex[:12]}"
    api.sql(f"CREATE DATABASE {name}")
    api.sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    try:
        yield name
    finally:
        api.sql(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_writer_connection_refuses_a_read_only_server_at_connect(
    api: Api, postgres: PostgresServer, read_only_database: str
) -> None:
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file), db=read_only_database)
    with pytest.raises(DependencyUnavailable, match="read only"):
        db.run("SELECT 1")
    reader = database(postgres, host="localhost", ca_file=str(postgres.ca_file),
                      db=read_only_database, require_writer=False)
    try:
        assert reader.run("SELECT 1") == [[1]]
        assert reader.role is not None and reader.role.read_only and not reader.role.writable
    finally:
        reader.close()


def test_a_read_only_error_discards_the_connection(api: Api, postgres: PostgresServer) -> None:
    """SQLSTATE 25006 mid-session (the server was demoted) closes the connection, so the next
    statement reconnects instead of failing for the life of the container."""
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file))
    try:
        ((pid,),) = db.run("SELECT pg_backend_pid()")
        db.run("SET default_transaction_read_only = on")  # what a demotion looks like here
        with pytest.raises(DependencyUnavailable, match="read only"):
            db.run("CREATE TEMP TABLE t (x int)")
        ((new_pid,),) = db.run("SELECT pg_backend_pid()")
        assert new_pid != pid
        db.run("CREATE TEMP TABLE t (x int)")  # writable again on the fresh connection
    finally:
        db.close()


@pytest.fixture
def empty_database(api: Api, postgres: PostgresServer) -> Iterator[Database]:
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    api.sql(f"CREATE DATABASE {name}")
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file), db=name)
    try:
        yield db
    finally:
        db.close()
        api.sql(f"DROP DATABASE {name}")


def test_migrations_apply_once_and_are_idempotent(empty_database: Database) -> None:
    every = [m.name for m in migrations.load()]
    assert every[0] == "001_create_payments.sql" and len(every) >= 2
    assert migrations.apply(empty_database) == every
    assert migrations.apply(empty_database) == []
    versions = empty_database.run("SELECT name FROM schema_migrations ORDER BY version")
    assert [name for (name,) in versions] == every


def test_edited_migration_is_refused(empty_database: Database) -> None:
    migrations.apply(empty_database)
    original = migrations.load()[0]
    edited = migrations.Migration(original.version, original.name, original.sql + "\n-- edited\n")
    with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
        migrations.apply(empty_database, [edited])


def test_failing_migration_leaves_no_trace(empty_database: Database) -> None:
    first = migrations.load()[0]
    broken = migrations.Migration(
        "099", "099_broken.sql", "ALTER TABLE payments ADD COLUMN x nonexistent_type"
    )
    with pytest.raises(pg8000.exceptions.DatabaseError):
        migrations.apply(empty_database, [first, broken])
    assert empty_database.run(
        "SELECT to_regclass('payments'), to_regclass('schema_migrations')"
    ) == [[None, None]]
    assert migrations.apply(empty_database, [first]) == ["001_create_payments.sql"]


@pytest.mark.parametrize(
    ("column_values", "constraint"),
    [
        ({"idempotency_key": "'dup-key-constraint'"}, "payments_merchant_idempotency_key_unique"),
        (
            {"amount": "1.5", "currency": "'JPY'", "currency_exponent": "0"},
            "payments_amount_precision",
        ),
        ({"amount": "0"}, "payments_amount_check"),
        # Review 18 (F9): the rules the API validates (migration 007).
        ({"idempotency_key": "'has a space in it'"}, "payments_idempotency_key_format"),
        ({"idempotency_key": "'short'"}, "payments_idempotency_key_format"),
        ({"merchant_id": "'-m'"}, "payments_merchant_id_format"),
        ({"source_type": "'Card'"}, "payments_source_type_format"),
        ({"source_fingerprint": "'not a sha-256 digest'"}, "payments_source_fingerprint_sha256"),
        ({"correlation_id": "''"}, "payments_correlation_id_length"),
        ({"correlation_id": "repeat('c', 129)"}, "payments_correlation_id_length"),
        ({"region": "'forged'"}, "payments_region_name"),
    ],
    ids=["unique-key", "precision", "positive", "key-format", "key-length", "merchant-format",
         "source-type", "fingerprint", "empty-correlation-id", "long-correlation-id", "region"],
)
def test_ledger_constraints_hold_even_against_direct_sql(
    api: Api, column_values: dict[str, str], constraint: str
) -> None:
    """The schema itself refuses what validation refuses, as a last line of defence."""

    def insert(**overrides: str) -> None:
        values = {
            "payment_id": f"'{uuid.uuid4()}'",
            "idempotency_key": f"'{uuid.uuid4()}'",
            "request_hash": f"'{'a' * 64}'",
            "merchant_id": "'m'",
            "amount": "1.00",
            "currency": "'EUR'",
            "currency_exponent": "2",
            "source_type": "'card_token'",
            "source_fingerprint": f"'{'b' * 64}'",
            "status": "'accepted'",
            "correlation_id": "'c'",
            "region": "'eu-west-1'",
            **overrides,
        }
        api.sql(f"INSERT INTO payments ({', '.join(values)}) VALUES ({', '.join(values.values())})")

    if constraint.endswith("_unique"):
        insert(**column_values)
    with pytest.raises(pg8000.exceptions.DatabaseError) as raised:
        insert(**column_values)
    assert raised.value.args[0].get("n") == constraint


def test_the_ledger_checks_apply_to_an_existing_ledger_and_are_validated_after_the_commit(
    empty_database: Database,
) -> None:
    """Migration 007 on a ledger that already holds payments: it adds its checks NOT VALID (no
    scan under the migration's lock), the migrate step validates them afterwards one by one,
    and a rule that an existing row breaks stays NOT VALID (still guarding new rows) and is
    reported, not a failed deploy. Idempotent."""
    shipped = migrations.load()
    migrations.apply(empty_database, [m for m in shipped if m.version < "007"])

    def insert(key: str, correlation_id: str) -> None:
        empty_database.run(
            "INSERT INTO payments (payment_id, idempotency_key, request_hash, merchant_id, "
            "amount, currency, currency_exponent, source_type, source_fingerprint, status, "
            "correlation_id, region) VALUES (CAST(:id AS uuid), :key, repeat('a', 64), "
            "'merchant-42', 1, 'EUR', 2, 'card_token', repeat('b', 64), 'accepted', :cid, "
            "'eu-west-1')", id=str(uuid.uuid4()), key=key, cid=correlation_id)

    insert(f"key-{uuid.uuid4()}", str(uuid.uuid4()))  # what the API writes
    insert(f"key-{uuid.uuid4()}", "")  # a row that breaks one of the new rules

    assert "007_caller_region_and_ledger_checks.sql" in migrations.apply(empty_database)
    checked = constraint_validation.validate(empty_database)
    assert set(checked.validated) == {
        "payments_idempotency_key_format", "payments_merchant_id_format",
        "payments_source_type_format", "payments_source_fingerprint_sha256",
        "payments_region_name"}
    assert checked.not_validated == (
        "payments_correlation_id_length: existing rows break it",)
    assert constraint_validation.validate(empty_database) == constraint_validation.Validation(
        (), checked.not_validated)
    with pytest.raises(pg8000.exceptions.DatabaseError) as raised:
        insert(f"key-{uuid.uuid4()}", "")  # NOT VALID still guards every new row
    assert raised.value.args[0].get("n") == "payments_correlation_id_length"
