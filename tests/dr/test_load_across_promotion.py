"""A client keeps paying while the home region's database stops and the standby is promoted.

The client sends each payment with its own Idempotency-Key to the home region until it is
lost, then to the recovery region (where DNS sends it once health checks fail the home
region; which answer DNS gives in each state is asserted in test_dr_states), and retries the
same key after a 503, as the API reference tells merchants to. Afterwards: 0 false successes (every 201 is one ledger row with
the payment id the client was given), 0 duplicate rows, every key eventually 201. The time
from promotion to the first 201 in the promoted region and the 503s seen meanwhile are
printed (the issue note quotes them).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from tests.handlers.conftest import payment_body

from .conftest import TwoRegions

PAYMENTS = 30
LOSS_AT = 10  # the home database stops after this many payments
PROMOTION_DELAY_SECONDS = 1.0  # detection and the operator's `dr failover`, compressed
CLIENT_BACKOFF_SECONDS = 0.05  # Retry-After is 1 s; scaled down for the test
GIVE_UP_SECONDS = 30


def test_payments_keep_their_promise_across_a_promotion(two_regions: TwoRegions) -> None:
    world = two_regions
    acknowledged: dict[str, str] = {}
    unavailable = 0
    promoted_at: list[float] = []
    first_201_after_promotion: list[float] = []

    def fail_over() -> None:
        time.sleep(PROMOTION_DELAY_SECONDS)
        world.promote(world.recovery_db)
        promoted_at.append(time.monotonic())

    promoter = None
    started = time.monotonic()
    for number in range(PAYMENTS):
        if number == LOSS_AT:
            world.lose_home(clean=True)  # every committed payment streamed before the stop
            promoter = threading.Thread(target=fail_over)
            promoter.start()
        key, body = f"load-{uuid.uuid4()}", payment_body()
        while True:
            assert time.monotonic() - started < GIVE_UP_SECONDS, "a key never got its 201"
            region = world.recovery if world.home.api_down else world.home
            response = region.post(body, key)
            if response["statusCode"] == 201:
                acknowledged[key] = json.loads(response["body"])["payment_id"]
                if promoted_at and not first_201_after_promotion:
                    first_201_after_promotion.append(time.monotonic() - promoted_at[0])
                break
            assert response["statusCode"] == 503, response["body"]  # never another answer
            assert response["headers"]["retry-after"] == "1"
            unavailable += 1
            time.sleep(CLIENT_BACKOFF_SECONDS)
    assert promoter is not None
    promoter.join()

    rows = world.ledger("SELECT idempotency_key, payment_id::text FROM payments")
    by_key: dict[str, list[str]] = {}
    for key, payment_id in rows:
        by_key.setdefault(key, []).append(payment_id)
    duplicates = {k: ids for k, ids in by_key.items() if len(ids) > 1}
    false_successes = {k for k, pid in acknowledged.items() if by_key.get(k) != [pid]}
    assert (len(acknowledged), duplicates, false_successes) == (PAYMENTS, {}, set())
    assert first_201_after_promotion, "no payment succeeded after the promotion"
    assert unavailable > 0  # the window before promotion was really exercised
    print(f"\npromotion -> first 201: {first_201_after_promotion[0] * 1000:.0f} ms; "
          f"503s before it: {unavailable}")
