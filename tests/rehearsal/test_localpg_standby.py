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
