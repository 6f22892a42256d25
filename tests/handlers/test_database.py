"""The database adapter against the real server: TLS modes, credentials, reconnects, migrations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import boto3
import pg8000.exceptions
import pg8000.native
import pytest
from payments import migrations, wiring
from payments.database import Database, SecretCredentials, tls_context
from payments.errors import DependencyUnavailable
from payments.ledger import Ledger

from .conftest import REGION, Api
from stacksets.localpg import ADMIN_USER, DATABASE, PostgresServer


def database(
    postgres: PostgresServer,
    *,
    host: str,
    ca_file: str | None,
    secret_arn: str | None = None,
    db: str = DATABASE,
) -> Database:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secret_arn or wiring.config().db_secret_arn
    return Database(
        host=host,
        port=postgres.port,
        database=db,
        credentials=SecretCredentials(secrets, arn),
        tls=tls_context(ca_file),
        timeout_seconds=5,
        application_name="payments-test",
    )


@pytest.mark.parametrize(
    ("host", "ca", "connects"),
    [
        ("localhost", "ca", True),  # verify-full: chain and host name check out
        ("127.0.0.1", "ca", False),  # the certificate does not name 127.0.0.1
        ("localhost", "other", False),  # signed by a CA we do not trust
        ("127.0.0.1", None, True),  # require: encrypted, not verified
    ],
    ids=["verify-full", "host-mismatch", "untrusted-ca", "require"],
)
def test_tls_modes(
    api: Api, postgres: PostgresServer, host: str, ca: str | None, connects: bool
) -> None:
    ca_file = {"ca": str(postgres.ca_file), "other": str(postgres.other_ca_file), None: None}[ca]
    db = database(postgres, host=host, ca_file=ca_file)
    try:
        if connects:
            assert db.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [[True]]
        else:
            with pytest.raises(DependencyUnavailable) as raised:
                db.run("SELECT 1")
            assert raised.value.dependency == "database"
    finally:
        db.close()


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


def test_probe_reports_a_writable_primary(api: Api, postgres: PostgresServer) -> None:
    db = database(postgres, host="localhost", ca_file=str(postgres.ca_file))
    try:
        assert Ledger(db).probe() is True
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
    assert migrations.apply(empty_database) == ["001_create_payments.sql"]
    assert migrations.apply(empty_database) == []
    versions = empty_database.run("SELECT version, name FROM schema_migrations ORDER BY version")
    assert versions == [["001", "001_create_payments.sql"]]


def test_edited_migration_is_refused(empty_database: Database) -> None:
    migrations.apply(empty_database)
    (original,) = migrations.load()
    edited = migrations.Migration(original.version, original.name, original.sql + "\n-- edited\n")
    with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
        migrations.apply(empty_database, [edited])


def test_failing_migration_leaves_no_trace(empty_database: Database) -> None:
    (first,) = migrations.load()
    broken = migrations.Migration(
        "002", "002_broken.sql", "ALTER TABLE payments ADD COLUMN x nonexistent_type"
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
        ({"idempotency_key": "'dup-key-constraint'"}, "payments_idempotency_key_unique"),
        (
            {"amount": "1.5", "currency": "'JPY'", "currency_exponent": "0"},
            "payments_amount_precision",
        ),
        ({"amount": "0"}, "payments_amount_check"),
    ],
    ids=["unique-key", "precision", "positive"],
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
