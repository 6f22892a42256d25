"""The drill's audit, fed each kind of defect: it must find every one, with its cause, and
nothing in a clean run. It groups the ledger by order, not by key, so it does not depend on
the database's own unique constraint."""

from __future__ import annotations

from rehearsal.gameday.audit import LossFacts, audit, rto_seconds
from rehearsal.gameday.clients import (NO_ANSWER, Attempt, Key, Order, order_reference)

HOME, RECOVERY = "home", "recovery"
LOSS = LossFacts(HOME, t=20.0, wall=1000.0, replication_ms=200.0,
                 in_flight=frozenset({"o3-k1"}))


def order(number: int, *keys: Key, paid: Attempt | None = None,
          state: str | None = None) -> Order:
    made = Order(number, 0, {"description": order_reference(number)}, list(keys), 0.0,
                 state=state or ("paid" if paid else "pending"), paid=paid)
    return made


def attempt(key: str, region: str, t: float, status: int = 201, payment: str | None = None,
            wall: float | None = None, sent: float | None = None) -> Attempt:
    made = Attempt(0, key, region, sent if sent is not None else t - 0.1, 0.0,
                   finished_wall=wall if wall is not None else 1000.0 - (20.0 - t),
                   answered=t, status=status)
    if status == 201:
        made.payment_id, made.amount = payment or f"p-{key}", "10.00"
    return made


def row(key: str, number: int, payment: str | None = None, amount: str = "10.000"):
    return (key, payment or f"p-{key}", amount, order_reference(number))


def paid_order(number: int, region: str, t: float, **kwargs) -> Order:
    key = f"o{number}-k1"
    ack = attempt(key, region, t, **kwargs)
    return order(number, Key(key, ack.sent, [ack]), paid=ack)


def test_a_clean_run_has_no_finding():
    orders = [paid_order(1, HOME, 10.0), paid_order(2, RECOVERY, 150.0)]
    ledger = [row("o1-k1", 1), row("o2-k1", 2)]
    verdict = audit(orders, ledger, verified={"o1-k1": True, "o2-k1": True}, loss=LOSS)
    assert (verdict["lost"], verdict["false_successes"], verdict["duplicate_charges"],
            verdict["unresolved"]) == ([], [], [], [])
    assert rto_seconds(orders, LOSS, RECOVERY) == 130.0


def test_an_acknowledged_payment_committed_in_the_lost_region_and_not_replicated_is_lost():
    lost = paid_order(1, HOME, 19.95, wall=999.95)  # 50 ms before the loss
    kept = paid_order(2, HOME, 18.0)
    ledger = [row("o2-k1", 2)]
    snapshot = [row("o1-k1", 1), row("o2-k1", 2)]
    verdict = audit([lost, kept], ledger, verified={"o1-k1": None, "o2-k1": True},
                    snapshot=snapshot, loss=LOSS)
    assert [item["key"] for item in verdict["lost"]] == ["o1-k1"]
    item = verdict["lost"][0]
    assert item["ms_before_loss"] == 50.0
    assert "asynchronous replication" in item["cause"] and "crash snapshot" in item["cause"]
    assert verdict["false_successes"] == []


def test_a_201_without_a_row_is_a_false_success():
    nowhere = paid_order(1, HOME, 19.0)             # not verifiable, not in the snapshot
    not_on_writer = paid_order(2, RECOVERY, 150.0)  # the writer did not have it after the 201
    other_payment = paid_order(3, RECOVERY, 151.0)  # the ledger holds another payment
    ledger = [row("o3-k1", 3, payment="p-other")]
    verdict = audit([nowhere, not_on_writer, other_payment], ledger,
                    verified={"o1-k1": None, "o2-k1": False, "o3-k1": True}, snapshot=[],
                    loss=LOSS)
    causes = {item["key"]: item["cause"] for item in verdict["false_successes"]}
    assert set(causes) == {"o1-k1", "o2-k1", "o3-k1"}
    assert "crash snapshot" in causes["o1-k1"] and "writer" in causes["o2-k1"]
    assert "p-other" in causes["o3-k1"]
    assert verdict["lost"] == []


def test_a_replayed_201_whose_row_was_lost_with_the_region_is_a_false_success_with_its_cause():
    """The stored response (global table) outlives the ledger row (lost region): the retry
    after the failover is told 201 for a payment that is nowhere."""
    replayed = paid_order(1, RECOVERY, 300.0, sent=299.0)
    verdict = audit([replayed], [], verified={"o1-k1": False}, snapshot=[row("o1-k1", 1)],
                    loss=LOSS)
    (item,) = verdict["false_successes"]
    assert "outlived its ledger row" in item["cause"]


def test_an_order_charged_under_two_keys_is_a_duplicate_charge_with_its_cause():
    given_up = Key("o3-k1", 19.8, [attempt("o3-k1", HOME, 19.8, status=NO_ANSWER)],
                   gave_up=200.0)
    ack = attempt("o3-k2", RECOVERY, 210.0)
    doubled = order(3, given_up, Key("o3-k2", 200.0, [ack]), paid=ack)
    single = paid_order(4, RECOVERY, 211.0)
    ledger = [row("o3-k1", 3), row("o3-k2", 3), row("o4-k1", 4)]
    verdict = audit([doubled, single], ledger,
                    verified={"o3-k2": True, "o4-k1": True}, loss=LOSS)
    (duplicate,) = verdict["duplicate_charges"]
    assert duplicate["order"] == 3 and duplicate["charges"] == 2
    assert duplicate["keys"] == ["o3-k1", "o3-k2"] and duplicate["told"] == "o3-k2"
    assert "o3-k1" in duplicate["cause"] and "in flight in home" in duplicate["cause"]
    assert "no answer before the client's timeout" in duplicate["cause"]
    assert "gave up" in duplicate["cause"] and "new key" in duplicate["cause"]


def test_orders_never_paid_are_unresolved_and_say_whether_they_were_charged():
    abandoned = order(5, Key("o5-k1", 30.0, [attempt("o5-k1", HOME, 30.0, status=503)]),
                      state="abandoned")
    pending = order(6, Key("o6-k1", 40.0, [attempt("o6-k1", HOME, 40.0, status=0)]))
    charged = order(7, Key("o7-k1", 41.0, [attempt("o7-k1", HOME, 41.0, status=NO_ANSWER)]),
                    state="abandoned")
    verdict = audit([abandoned, pending, charged], [row("o7-k1", 7)], verified={}, loss=LOSS)
    by_order = {item["order"]: item for item in verdict["unresolved"]}
    assert by_order[5]["state"] == "abandoned" and by_order[5]["charged"] is False
    assert by_order[6]["state"] == "pending" and by_order[6]["last_status"] == 0
    assert by_order[7]["charged"] is True


def test_commits_lost_with_the_region_that_no_client_was_told_of_are_listed():
    in_flight = order(8, Key("o8-k1", 19.9, [attempt("o8-k1", HOME, 19.9, status=NO_ANSWER)]))
    verdict = audit([in_flight], [], verified={}, snapshot=[row("o8-k1", 8)], loss=LOSS)
    assert verdict["lost_unacknowledged"] == ["o8-k1"] and verdict["lost"] == []


def test_two_rows_under_one_key_are_a_duplicate_charge():
    """The audit trusts no constraint of the ledger, not even one row per key (review 17)."""
    paid = paid_order(1, HOME, 10.0)
    ledger = [row("o1-k1", 1), row("o1-k1", 1, payment="p-second-charge")]
    verdict = audit([paid], ledger, verified={"o1-k1": True}, loss=LOSS)
    (duplicate,) = verdict["duplicate_charges"]
    assert duplicate["charges"] == 2 and "unique constraint did not hold" in duplicate["cause"]
    assert verdict["false_successes"] == [] and verdict["lost"] == []
