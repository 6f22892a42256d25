"""replication_progress() (migration 005), the seam of the zero-loss wait, against the local
model: a real primary and a real hot standby streaming from it (`pg_basebackup -R`), called
as payments_app through the writer endpoint, as a processor would after its commit."""

from __future__ import annotations

import time

from payments import wiring
from payments.ledger import Ledger, ReplicationProgress

from tests.handlers.conftest import admin_connection, payment_body

from .conftest import TwoRegions


def progress(world: TwoRegions) -> ReplicationProgress:
    with world.home.active():
        return Ledger(wiring.database("payments")).replication_progress()


def test_a_commit_is_confirmed_once_the_standby_has_it_and_never_without_one(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    key = "progress-1"
    assert world.home.post(payment_body(), key)["statusCode"] == 201
    after_commit = progress(world).written_lsn  # read right after the commit, as the wait will
    deadline = time.monotonic() + 10
    while not progress(world).covers(after_commit):
        assert time.monotonic() < deadline, f"the standby never confirmed {after_commit}"
        time.sleep(0.01)
    # What the confirmed position covers is really on the standby.
    standby = admin_connection(world.recovery_db)
    try:
        assert standby.run("SELECT count(*) FROM payments WHERE idempotency_key = :k",
                           k=key) == [[1]]
    finally:
        standby.close()

    # The recovery region's storage is lost: the writer must say so (no confirmed position),
    # so a processor runs with regional durability only instead of waiting for ever.
    world.recovery_db.stop("immediate")
    deadline = time.monotonic() + 10
    while progress(world).confirmed_lsn is not None:  # until the walsender notices
        assert time.monotonic() < deadline, "the primary still reports a streaming standby"
        time.sleep(0.05)
    assert not progress(world).covers(progress(world).written_lsn)
