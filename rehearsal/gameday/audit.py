"""The drill's verdict on the money: every order the clients sent, against the final ledger.

Pure. It does not trust the database's own constraint (one row per merchant and key): rows are
grouped by the order they charge (the order reference each client puts in the description),
whatever key they were made with, and every 201 a client received is looked up.

- duplicate charge: an order with more than one row in the final ledger (under any keys): a
  client that gave up on a key whose attempt had in fact been recorded, then paid with a new
  key;
- false success: a 201 whose row was not on the writer right after it (or, for a 201 given
  just before the loss, when the writer could no longer be asked, is not in the lost region's
  crash snapshot either), or whose row says something else than the client was told (another
  payment id or amount);
- lost: a 201 whose row was committed (on the writer right after the 201, or in the lost
  region's crash snapshot) and is absent from the final ledger;
- unresolved: an order never paid (still retrying at the end, abandoned, or refused), with
  whether it was charged anyway (the merchant must reconcile it).
Each finding carries its cause, from the order's own history.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping, Sequence

from rehearsal.gameday.clients import NO_ANSWER, NO_CONNECTION, Attempt, Order, order_of

Row = Sequence[Any]
"""A ledger row: (idempotency key, payment id, amount, description)."""


@dataclass(frozen=True)
class LossFacts:
    """What the audit needs to know about the region loss (None when there was none)."""
    region: str
    t: float                   # AWS seconds
    wall: float                # time.perf_counter() at the crash
    replication_ms: float      # the replication link's delay
    in_flight: frozenset[str]  # keys whose request the lost region was running at the crash


def audit(orders: Sequence[Order], ledger: Iterable[Row], *,
          verified: Mapping[str, bool | None], snapshot: Iterable[Row] | None = None,
          loss: LossFacts | None = None) -> dict[str, Any]:
    rows = list(ledger)
    final: dict[str, list[Row]] = {}  # every row under each key: none is assumed unique
    for row in rows:
        final.setdefault(row[0], []).append(row)
    crashed = {row[0]: row for row in snapshot or ()}
    lost, false_successes = [], []
    for order in orders:
        ack = order.paid
        if ack is None:
            continue
        under_key = final.get(ack.key, [])
        if under_key:
            if not any(_same(row, ack) for row in under_key):
                row = under_key[0]
                false_successes.append(_finding(order, ack, (
                    f"told payment {ack.payment_id} ({ack.amount}); the ledger has "
                    f"{row[1]} ({row[2]})")))
            continue
        seen = verified.get(ack.key)
        in_snapshot = ack.key in crashed and _same(crashed[ack.key], ack)
        if seen is True or (seen is None and in_snapshot):
            lost.append({**_finding(order, ack, _lost_cause(ack, loss)),
                         "ms_before_loss": _ms_before(ack, loss)})
        else:
            false_successes.append(_finding(order, ack, _false_cause(seen, in_snapshot,
                                                                     loss)))
    by_order: dict[int | None, list[Row]] = {}
    for row in rows:
        by_order.setdefault(order_of(row[3]), []).append(row)
    duplicates = [_duplicate(order, by_order[order.number], loss) for order in orders
                  if len(by_order.get(order.number, ())) > 1]
    unresolved = [{"order": order.number, "state": order.state,
                   "keys": [k.key for k in order.keys],
                   "last_status": _last_status(order),
                   "charged": order.number in by_order}
                  for order in orders if order.state != "paid"]
    return {"lost": lost, "false_successes": false_successes,
            "duplicate_charges": duplicates, "unresolved": unresolved,
            "unknown_rows": len(by_order.get(None, ())),
            "lost_unacknowledged": sorted(set(crashed) - set(final)
                                          - {o.paid.key for o in orders if o.paid})}


def rto_seconds(orders: Sequence[Order], loss: LossFacts | None, recovery: str) -> float | None:
    """From the loss to the first 201 a client got from the recovery region."""
    if loss is None:
        return None
    firsts = [o.paid.answered for o in orders if o.paid and o.paid.region == recovery
              and o.paid.answered is not None and o.paid.answered >= loss.t]
    return round(min(firsts) - loss.t, 1) if firsts else None


def _finding(order: Order, ack: Attempt, cause: str) -> dict[str, Any]:
    return {"order": order.number, "key": ack.key, "payment_id": ack.payment_id,
            "region": ack.region, "acknowledged_t": _round(ack.answered), "cause": cause}


def _lost_cause(ack: Attempt, loss: LossFacts | None) -> str:
    if loss is not None and ack.region == loss.region and ack.sent <= loss.t:
        return (f"201 from {loss.region} {_ms_before(ack, loss):.0f} ms before it was lost; "
                f"committed there (in its crash snapshot) but still in the replication link "
                f"({loss.replication_ms:.0f} ms behind) when the link was cut: asynchronous "
                "replication, the RPO of an Aurora global database")
    return (f"201 from {ack.region} at t={_round(ack.answered)}, committed on the writer, "
            "absent from the final ledger: lost after the failover (a defect: a switchover "
            "must lose nothing)")


def _false_cause(seen: bool | None, in_snapshot: bool, loss: LossFacts | None) -> str:
    where = ("not on the writer right after it" if seen is False
             else "not in the final ledger, nor in the lost region's crash snapshot")
    if in_snapshot and loss is not None:
        where += (f"; it names a payment committed only in {loss.region} (its crash "
                  "snapshot) and lost with it: a stored response outlived its ledger row")
    return f"a 201 without a row: {where}"


def _duplicate(order: Order, rows: list[Row], loss: LossFacts | None) -> dict[str, Any]:
    told = order.paid.key if order.paid else None
    keys = {k.key: k for k in order.keys}
    causes = []
    under_told = [row for row in rows if row[0] == told]
    if len(under_told) > 1:
        causes.append(f"key {told} has {len(under_told)} rows (payments "
                      f"{', '.join(str(row[1]) for row in under_told)}): the ledger's own "
                      "unique constraint did not hold")
    for row in rows:
        if row[0] == told or row[0] not in keys:
            continue
        key = keys[row[0]]
        last = key.attempts[-1] if key.attempts else None
        seen = f"its last attempt {_outcome(last)}" if last else "no attempt recorded"
        if loss is not None and row[0] in loss.in_flight:
            seen = (f"its request in flight in {loss.region} when the region was lost never "
                    f"answered, and {seen}")
        gave_up = (f"gave up on it at t={key.gave_up:.0f} after "
                   f"{key.gave_up - (key.first_sent or key.gave_up):.0f} s of retries"
                   if key.gave_up is not None else "stopped using it")
        causes.append(f"key {row[0]} was recorded (payment {row[1]}) but the client never "
                      f"learnt it: {seen}; the client {gave_up} and paid the order again with "
                      "a new key")
    return {"order": order.number, "charges": len(rows),
            "keys": sorted(row[0] for row in rows), "told": told, "cause": "; ".join(causes)}


def _outcome(attempt: Attempt) -> str:
    if attempt.status == NO_ANSWER:
        late = f"; the API answered {attempt.late_status} later" if attempt.late_status else ""
        return f"got no answer before the client's timeout{late}"
    if attempt.status == NO_CONNECTION:
        return "found no connection"
    return f"got {attempt.status}" + (f" {attempt.error_code}" if attempt.error_code else "")


def _last_status(order: Order) -> int | None:
    attempts = order.attempts
    return attempts[-1].status if attempts else None


def _same(row: Row, ack: Attempt) -> bool:
    return row[1] == ack.payment_id and _amount(row[2]) == _amount(ack.amount)


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _ms_before(ack: Attempt, loss: LossFacts | None) -> float | None:
    if loss is None or ack.finished_wall is None:
        return None
    return round((loss.wall - ack.finished_wall) * 1000, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
