"""replication_progress() (migration 005) is chosen when the migration is applied: Aurora's
aurora_global_db_status() where it exists, pg_stat_replication otherwise. Its local
implementation is tested against a real streaming standby in tests/dr; here the Aurora one,
against a stand-in with the documented columns ("aurora_global_db_status", Aurora User Guide).
What this cannot show: the real function's column types (highest_lsn_written is taken to be
pg_lsn; a different type would fail the migration loudly at apply time, not the payment)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from payments.ledger import Ledger, ReplicationProgress, lsn_position

from rehearsal.localpg import PostgresServer

from .conftest import REGION, SECRET_ARNS, Api, admin_connection, deploy_schema
from .test_least_privilege import database_as

# Two regions: the primary (durability_lag_in_msec = -1) and a secondary behind it.
AURORA_STAND_IN = """
CREATE FUNCTION public.aurora_global_db_status()
RETURNS TABLE (aws_region text, highest_lsn_written pg_lsn, durability_lag_in_msec bigint,
               rpo_lag_in_msec bigint, last_lag_calculation_time timestamptz,
               feedback_epoch integer, feedback_xmin integer)
LANGUAGE sql AS $$
    VALUES ('eu-west-1', '0/3000148'::pg_lsn, -1::bigint, -1::bigint,
            '1970-01-01 00:00:00+00'::timestamptz, 0, 0),
           ('eu-central-1', '0/3000100'::pg_lsn, 12::bigint, 15::bigint, now(), 0, 0)
$$
"""


@pytest.fixture
def aurora_database(api: Api, postgres: PostgresServer) -> Iterator[str]:
    name = f"aurora_{uuid.uuid4().hex[:10]}"
    admin = admin_connection(postgres, "postgres")
    admin.run(f"CREATE DATABASE {name}")
    try:
        connection = admin_connection(postgres, name)
        connection.run(AURORA_STAND_IN)
        connection.run("GRANT EXECUTE ON FUNCTION public.aurora_global_db_status() TO PUBLIC")
        connection.close()
        deploy_schema(REGION, name, SECRET_ARNS)
        yield name
    finally:
        admin.run(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def test_on_aurora_the_other_regions_highest_lsn_written_is_the_confirmed_position(
    postgres: PostgresServer, aurora_database: str
) -> None:
    app = database_as(postgres, "app", aurora_database)
    try:
        progress = Ledger(app).replication_progress()
    finally:
        app.close()
    assert progress == ReplicationProgress("0/3000148", "0/3000100")
    assert progress.covers("0/3000100") and not progress.covers(progress.written_lsn)


def test_without_aurora_the_local_implementation_reads_pg_stat_replication(api: Api) -> None:
    ((source,),) = api.sql("SELECT prosrc FROM pg_proc WHERE proname = 'replication_progress'")
    assert "pg_stat_replication" in source and "aurora" not in source


@pytest.mark.parametrize(("lsn", "position"), [
    ("0/0", 0), ("0/3000148", 0x3000148), ("16/B374D848", (0x16 << 32) + 0xB374D848)])
def test_lsn_positions_compare_as_numbers(lsn: str, position: int) -> None:
    assert lsn_position(lsn) == position
    assert ReplicationProgress("0/0", lsn).covers("0/0")
    assert not ReplicationProgress("0/0", None).covers("0/0")
