"""replication_progress() (migration 005) is chosen when the migration is applied: Aurora's
aurora_global_db_status() where it exists, pg_stat_replication otherwise. Its local
implementation is tested against a real streaming standby in tests/dr; here the Aurora one,
against stand-ins with the documented columns ("aurora_global_db_status", Aurora User Guide).
The page names no column types and shows highest_lsn_written as a plain number (131031557):
the migration applies and positions compare whether the column is a bigint (as shown) or a
pg_lsn. What this cannot show: the real function's types and values."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from payments.ledger import Ledger, ReplicationProgress, UnreadablePosition, lsn_position

from rehearsal.localpg import PostgresServer

from .conftest import REGION, SECRET_ARNS, Api, admin_connection, deploy_schema
from .test_least_privilege import database_as


def aurora_stand_in(lsn_type: str, primary: str, secondary: str) -> str:
    """aurora_global_db_status() with the documented columns, for two regions: the primary
    (durability_lag_in_msec = -1) and a secondary behind it; highest_lsn_written of
    ``lsn_type``."""
    return f"""
CREATE FUNCTION public.aurora_global_db_status()
RETURNS TABLE (aws_region text, highest_lsn_written {lsn_type}, durability_lag_in_msec bigint,
               rpo_lag_in_msec bigint, last_lag_calculation_time timestamptz,
               feedback_epoch integer, feedback_xmin bigint)
LANGUAGE sql AS $$
    VALUES ('eu-west-1', '{primary}'::{lsn_type}, -1::bigint, -1::bigint,
            '1970-01-01 00:00:00+00'::timestamptz, 0, 0::bigint),
           ('eu-west-2', '{secondary}'::{lsn_type}, 410::bigint, 0::bigint, now(), 0,
            12640::bigint)
$$
"""


# Per stand-in: the (written_lsn, confirmed_lsn) replication_progress() answers with it. What
# the Aurora User Guide shows aurora_global_db_status() return ("aurora_global_db_status",
# Examples; "Monitoring Aurora PostgreSQL-based global databases"): highest_lsn_written is a
# plain number (131031557, 93763984222), not a pg_lsn ('0/3000148').
STAND_INS = {
    "pg_lsn": ("pg_lsn", "0/3000148", "0/3000100"),
    "bigint_as_documented": ("bigint", "131031557", "131031554"),
}


@pytest.fixture(params=sorted(STAND_INS))
def aurora_database(request: pytest.FixtureRequest, api: Api,
                    postgres: PostgresServer) -> Iterator[tuple[str, tuple[str, str]]]:
    """A database with an aurora_global_db_status() stand-in, the schema deployed on it."""
    lsn_type, written, confirmed = STAND_INS[request.param]
    name = f"aurora_{uuid.uuid4().hex[:10]}"
    admin = admin_connection(postgres, "postgres")
    admin.run(f"CREATE DATABASE {name}")
    try:
        connection = admin_connection(postgres, name)
        connection.run(aurora_stand_in(lsn_type, written, confirmed))
        connection.run("GRANT EXECUTE ON FUNCTION public.aurora_global_db_status() TO PUBLIC")
        connection.close()
        deploy_schema(REGION, name, SECRET_ARNS)
        yield name, (written, confirmed)
    finally:
        admin.run(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def test_on_aurora_the_other_regions_highest_lsn_written_is_the_confirmed_position(
    postgres: PostgresServer, aurora_database: tuple[str, tuple[str, str]]
) -> None:
    """Migration 005 applies whether highest_lsn_written is a pg_lsn or a bigint (as the
    Aurora User Guide shows it), and the positions compare: the secondary is behind."""
    name, (written, confirmed) = aurora_database
    app = database_as(postgres, "app", name)
    try:
        progress = Ledger(app).replication_progress()
    finally:
        app.close()
    assert progress == ReplicationProgress(written, confirmed)
    assert progress.covers(confirmed) and not progress.covers(progress.written_lsn)


def test_without_aurora_the_local_implementation_reads_pg_stat_replication(api: Api) -> None:
    ((source,),) = api.sql("SELECT prosrc FROM pg_proc WHERE proname = 'replication_progress'")
    assert "pg_stat_replication" in source and "aurora" not in source


@pytest.mark.parametrize(("lsn", "position"), [
    ("0/0", 0), ("0/3000148", 0x3000148), ("16/B374D848", (0x16 << 32) + 0xB374D848),
    ("16/b374d848", (0x16 << 32) + 0xB374D848), ("131031557", 131031557), ("0", 0),
    ("93763984222", 93763984222)])
def test_lsn_positions_compare_as_numbers(lsn: str, position: int) -> None:
    assert lsn_position(lsn) == position
    assert ReplicationProgress("0/0", lsn).covers("0/0")
    assert not ReplicationProgress("0/0", None).covers("0/0")


def test_both_forms_are_one_number_space() -> None:
    """pg_lsn - '0/0' is the number Aurora shows: the same position in either form."""
    assert lsn_position("1/0") == lsn_position(str(1 << 32))
    assert ReplicationProgress("1/0", str((1 << 32) - 1)).covers("0/FFFFFFFF")
    assert not ReplicationProgress("1/0", "4294967295").covers("1/0")


@pytest.mark.parametrize("unreadable", [
    None, "", "-5", "1.5", "0x10", "1/2/3", "G/0", "123456789/0", " 12", "12 ", "1e9",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() would say yes
])
def test_a_position_in_neither_form_is_refused_by_name(unreadable: str | None) -> None:
    with pytest.raises(UnreadablePosition, match="PostgreSQL LSN .* or a decimal number"):
        lsn_position(unreadable)  # type: ignore[arg-type]
    with pytest.raises(UnreadablePosition):
        ReplicationProgress("0/0", "0/0").covers(unreadable)  # type: ignore[arg-type]


def test_the_local_implementation_answers_text_positions_pg_lsn_can_read(api: Api) -> None:
    ((written, confirmed),) = api.sql(
        "SELECT written_lsn, confirmed_lsn FROM replication_progress()")
    assert confirmed is None  # no standby streams from the handlers' server
    assert api.sql("SELECT CAST(:w AS pg_lsn) - '0/0'", w=written) == [[lsn_position(written)]]
