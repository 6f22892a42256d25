"""The local model of the Aurora global database: a primary, a hot standby, a writer endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pg8000.exceptions
import pg8000.native
import pytest

from rehearsal.localpg import (
    ADMIN_USER, SERVER_HOSTNAME, PostgresServer, PostgresUnavailable, WriterEndpoint,
    create_server, create_standby,
)


def connect(server: PostgresServer, port: int | None = None) -> pg8000.native.Connection:
    import ssl

    context = ssl.create_default_context(cafile=str(server.ca_file))
    return pg8000.native.Connection(
        user=ADMIN_USER, password=server.password, host=SERVER_HOSTNAME,
        port=port or server.port, database="postgres", ssl_context=context, timeout=5,
    )


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except pg8000.exceptions.DatabaseError:
            pass  # not replicated yet
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    try:
        primary = create_server()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    standby = None
    try:
        standby = create_standby(primary)
        yield primary, standby
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


def test_standby_replicates_refuses_writes_and_promotes(pair) -> None:
    primary, standby = pair
    writer = connect(primary)
    writer.run("CREATE TABLE IF NOT EXISTS t (v int)")
    writer.run("INSERT INTO t VALUES (1)")
    reader = connect(standby)
    assert reader.run("SELECT pg_is_in_recovery()") == [[True]]
    wait_for(lambda: reader.run("SELECT count(*) FROM t") == [[1]])
    with pytest.raises(pg8000.exceptions.DatabaseError) as refused:
        reader.run("INSERT INTO t VALUES (2)")
    assert refused.value.args[0]["C"] == "25006"

    with WriterEndpoint(primary.port) as endpoint:
        via_endpoint = connect(primary, endpoint.port)  # verify-full through the forwarder
        assert via_endpoint.run("SELECT pg_is_in_recovery()") == [[False]]
        primary.stop("immediate")  # the home region is lost
        standby.promote()
        endpoint.point_to(standby.port)
        with pytest.raises((pg8000.exceptions.InterfaceError, OSError)):
            via_endpoint.run("SELECT 1")  # open sessions end when the endpoint moves
        after = connect(standby, endpoint.port)
        assert after.run("SELECT pg_is_in_recovery()") == [[False]]
        after.run("INSERT INTO t VALUES (3)")

        # Failback's first half: the old primary is rebuilt as a standby of the new writer.
        create_standby(standby, reuse=primary)
        rejoined = connect(primary)
        wait_for(lambda: rejoined.run("SELECT count(*) FROM t WHERE v = 3") == [[1]])
        assert rejoined.run("SELECT pg_is_in_recovery()") == [[True]]


@pytest.fixture
def delayed_pair() -> Iterator[tuple[PostgresServer, PostgresServer, object]]:
    """A primary and a standby whose WAL stream passes through a 300 ms replication link."""
    from rehearsal.localpg import replication_link

    primary = create_server()
    link = standby = None
    try:
        link = replication_link(primary.port, DELAY)
        standby = create_standby(primary, stream_port=link.port)
        yield primary, standby, link
    finally:
        if standby is not None:
            standby.destroy()
        if link is not None:
            link.close()
        primary.destroy()


DELAY = 0.3


def test_the_replication_link_delays_what_the_standby_receives(delayed_pair) -> None:
    primary, standby, _ = delayed_pair
    writer, reader = connect(primary), connect(standby)
    writer.run("CREATE TABLE t (v int)")
    wait_for(lambda: reader.run("SELECT count(*) FROM t") == [[0]])
    committed = time.perf_counter()
    writer.run("INSERT INTO t VALUES (1)")
    wait_for(lambda: reader.run("SELECT count(*) FROM t") == [[1]], timeout=10)
    seen_after = time.perf_counter() - committed
    assert DELAY <= seen_after < DELAY + 2.0
    # The primary learns of the standby's flush only once the WAL got there.
    ((lsn,),) = writer.run("SELECT pg_current_wal_lsn()::text")
    ((flushed,),) = writer.run(
        "SELECT flush_lsn >= CAST(:lsn AS pg_lsn) FROM pg_stat_replication", lsn=lsn)
    assert flushed is True


def test_a_severed_link_loses_the_commits_still_in_transit(delayed_pair) -> None:
    primary, standby, link = delayed_pair
    writer, reader = connect(primary), connect(standby)
    writer.run("CREATE TABLE t (v int)")
    writer.run("INSERT INTO t VALUES (1)")
    wait_for(lambda: reader.run("SELECT count(*) FROM t") == [[1]], timeout=10)
    writer.run("INSERT INTO t VALUES (2)")  # acknowledged by the primary, still in transit
    link.sever()  # the region is lost: its link delivers nothing more
    primary.stop("immediate")
    time.sleep(DELAY * 2)
    standby.promote()
    after = connect(standby)
    assert after.run("SELECT v FROM t ORDER BY v") == [[1]]


def test_the_writer_endpoint_adds_its_round_trip(pair) -> None:
    primary, _ = pair
    with WriterEndpoint(primary.port, round_trip=0.05) as endpoint:
        client = connect(primary, endpoint.port)
        client.run("SELECT 1")
        started = time.perf_counter()
        for _ in range(3):
            client.run("SELECT 1")
        assert time.perf_counter() - started >= 3 * 0.05
