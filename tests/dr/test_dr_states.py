"""Every row of the "Write path in every DR state" table (docs/architecture.md) table, against the local model.

Each test starts from a fresh two-region deployment (home writer, recovery hot standby) and
drives it into one state; it then asserts what DNS answers, what each region's /health
reports, and what a client's POST /process gets: a 201, or a 503 with Retry-After. Never a
false success: every 201 is a row in the surviving ledger, and no key has two rows.

Zero-loss acknowledgements are on (tests/dr/conftest.py): each 201 says in
`x-payments-durability` whether the other region's storage has the payment (`cross-region`)
or, with no standby to confirm it (after a failover, until the old writer rejoins), that the
container degraded to `regional` after its 503s "recorded, not yet durable".
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.handlers.conftest import payment_body

from .conftest import DEGRADE_AFTER_SECONDS, HOME, RECOVERY, TwoRegions, route53_status


def key() -> str:
    return f"dr-{uuid.uuid4()}"


def status(response: dict[str, Any]) -> int:
    return int(response["statusCode"])


def assert_unavailable(response: dict[str, Any]) -> None:
    assert status(response) == 503, response["body"]
    assert response["headers"]["retry-after"] == "1"
    assert json.loads(response["body"])["error"]["code"] == "service_unavailable"


def rows_for(world: TwoRegions, k: str) -> list[list[Any]]:
    return world.ledger("SELECT payment_id::text, region FROM payments "
                        "WHERE idempotency_key = :k", k=k)


def assert_recorded_once(world: TwoRegions, k: str, response: dict[str, Any],
                         durability: str = "cross-region") -> None:
    assert status(response) == 201, response["body"]
    ((payment_id, _),) = rows_for(world, k)
    assert json.loads(response["body"])["payment_id"] == payment_id
    assert response["headers"]["x-payments-durability"] == durability


def test_normal_both_regions_healthy_dns_home_both_write_through_the_writer_endpoint(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    assert route53_status(world.home) == route53_status(world.recovery) == 200
    assert world.dns_answer() is world.home
    for region in (world.home, world.recovery):
        k = key()
        assert_recorded_once(world, k, region.post(payment_body(), k))
    # The recovery region's payment was written on the home writer (across the peering).
    regions = {r for (_, r) in world.ledger("SELECT payment_id, region FROM payments")}
    assert regions == {HOME, RECOVERY}


def test_api_only_failure_in_home_dns_moves_and_the_recovery_region_takes_payments(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    world.home.api_down = True  # Lambda or API Gateway fails in home; its database is fine
    assert route53_status(world.home) != 200
    assert route53_status(world.recovery) == 200
    assert world.dns_answer() is world.recovery
    k = key()
    assert_recorded_once(world, k, world.recovery.post(payment_body(), k))
    ((region,),) = world.ledger("SELECT region FROM payments WHERE idempotency_key = :k", k=k)
    assert region == RECOVERY


def test_home_lost_before_promotion_no_region_takes_payments_and_nothing_is_recorded(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    warm = key()
    assert status(world.recovery.post(payment_body(), warm)) == 201  # a warm recovery container
    world.wait_replicated()
    world.lose_home(clean=False)

    assert route53_status(world.home) != 200
    assert route53_status(world.recovery) == 503  # the writer endpoint leads nowhere yet
    # Both unhealthy: Route 53 answers PRIMARY, whose endpoint is gone (clients time out).
    assert world.dns_answer() is world.home
    k = key()
    assert_unavailable(world.recovery.post(payment_body(), k))
    assert_unavailable(world.recovery.post(payment_body(), k))
    # Nothing half-recorded on the standby, which still holds the replicated history.
    standby_rows = world.recovery_db  # read through the admin helper on the standby
    from tests.handlers.conftest import admin_connection
    connection = admin_connection(standby_rows)
    try:
        assert connection.run("SELECT count(*) FROM payments WHERE idempotency_key = :k",
                              k=k) == [[0]]
        assert connection.run("SELECT count(*) FROM payments WHERE idempotency_key = :k",
                              k=warm) == [[1]]
    finally:
        connection.close()


def test_after_failover_the_recovery_region_is_healthy_and_takes_payments_and_retries(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    before = key()
    body = payment_body()
    assert status(world.home.post(body, before)) == 201
    world.wait_replicated()
    world.lose_home(clean=False)
    pending, pending_body = key(), payment_body()
    assert_unavailable(world.recovery.post(pending_body, pending))  # warm container, no writer

    promoted = time.monotonic()
    world.promote(world.recovery_db)
    first_201, not_yet_durable = None, 0
    while first_201 is None and time.monotonic() - promoted < 10:
        response = world.recovery.post(pending_body, pending)
        if status(response) == 201:
            first_201 = time.monotonic() - promoted
        elif json.loads(response["body"])["error"]["code"] == "recorded_not_yet_durable":
            not_yet_durable += 1
    assert first_201 is not None, "the promoted region never took the payment"
    # No standby confirms the new writer's commits: recorded, 503 until the container degrades
    # (DEGRADE_AFTER_SECONDS), then 201 with regional durability, said in the header.
    assert not_yet_durable >= 1
    assert_recorded_once(world, pending, world.recovery.post(pending_body, pending), "regional")
    assert route53_status(world.recovery) == 200
    assert world.dns_answer() is world.recovery  # home unhealthy, recovery healthy
    assert len(rows_for(world, pending)) == 1
    # A client retrying a payment acknowledged before the loss gets the same payment back.
    replay = world.recovery.post(body, before)
    assert_recorded_once(world, before, replay, "regional")
    assert replay["headers"]["idempotent-replayed"] == "true"


def test_after_switchover_both_regions_take_payments_through_the_new_writer(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    k0 = key()
    assert status(world.home.post(payment_body(), k0)) == 201  # warm home container
    # SwitchoverGlobalCluster: the old writer stops only after the standby has everything.
    world.home_db.stop("fast")
    world.promote(world.recovery_db)
    world.rejoin_as_standby(world.home_db, of=world.recovery_db)

    assert route53_status(world.home) == route53_status(world.recovery) == 200
    assert world.dns_answer() is world.home  # until `dr switchover` changes the preference
    for region in (world.home, world.recovery):  # the home container is still warm
        k = key()
        assert_recorded_once(world, k, region.post(payment_body(), k))
    assert len(rows_for(world, k0)) == 1  # nothing lost: a planned switchover loses nothing
    assert world.ledger("SELECT pg_is_in_recovery()") == [[False]]


def test_after_failback_home_writes_again_and_every_payment_of_every_state_is_there(
    two_regions: TwoRegions,
) -> None:
    world = two_regions
    keys = [key()]
    assert status(world.home.post(payment_body(), keys[0])) == 201
    world.wait_replicated()
    world.lose_home(clean=False)
    world.promote(world.recovery_db)
    keys.append(key())
    assert_recorded_once(world, keys[1], world.recovery.post_until_201(payment_body(), keys[1]),
                         "regional")  # no standby until home rejoins

    # Home returns and rejoins as a secondary; then the planned switchover back home.
    world.rejoin_as_standby(world.home_db, of=world.recovery_db)
    world.home.api_down = False
    world.wait_replicated()
    world.recovery_db.stop("fast")
    world.promote(world.home_db)
    world.rejoin_as_standby(world.recovery_db, of=world.home_db)

    assert world.writer is world.home_db
    assert route53_status(world.home) == route53_status(world.recovery) == 200
    assert world.dns_answer() is world.home
    for region in (world.home, world.recovery):
        keys.append(key())
        # A container that degraded while it had no standby probes again after
        # DEGRADE_AFTER_SECONDS and is back to cross-region once a probe is confirmed.
        time.sleep(DEGRADE_AFTER_SECONDS)
        assert_recorded_once(world, keys[-1], region.post(payment_body(), keys[-1]))
    for k in keys:
        assert len(rows_for(world, k)) == 1, k
