"""The drill's merchants: many clients, each with its own DNS cache, timeout and retry policy,
paying orders at a configured rate. Pure bookkeeping on the simulated clock (AWS seconds);
the drill's loop sends the attempts this decides on real threads and reports their answers.

A client's life with one order:
- each attempt goes where the client's own DNS cache says (`resolver.ClientResolver`);
- an attempt without an answer after the client's `timeout` is abandoned (the request may
  still complete in the API: the client no longer listens);
- 503, 409 "in progress", 429, 5xx, a refused connection or a timeout: retry with the same key
  and body, after an exponential back-off with jitter and never before `Retry-After`;
- once a key has been retried for the client's `patience`, the client gives up on it: some
  clients retry the order with a new key (`new_key_share`), the others abandon the order. A
  new key double-charges only if an attempt with an earlier key was recorded, which is why the
  API asks for the same key after a 503 and why merchants must keep a key for at least the RTO
  (README, "Game day");
- a 201 pays the order; another 4xx refuses it.
Every draw comes from one seeded `random.Random`, so a run's decisions are reproducible.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from rehearsal.gameday.local_world import DRILL_MERCHANT

RETRYABLE = frozenset({0, 429, 500, 502, 503, 504})
IN_PROGRESS = "request_in_progress"
NO_CONNECTION, NO_ANSWER = 0, -1      # status codes the client makes up: refused, timed out


@dataclass(frozen=True)
class Range:
    """Uniform between `low` and `high` (AWS seconds)."""
    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> Range:
        """`30` or `5-30`."""
        low, _, high = text.partition("-")
        value = cls(float(low), float(high or low))
        if not 0 <= value.low <= value.high:
            raise ValueError(f"{text!r}: a number of seconds, or LOW-HIGH with LOW <= HIGH")
        return value

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def __str__(self) -> str:
        return f"{self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class Behaviour:
    """The population's distributions; each client draws its own policy from them."""
    timeout: Range = Range(5, 15)
    patience: Range = Range(300, 900)
    new_key_share: float = 0.5
    max_keys: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 20.0

    def to_json(self) -> dict[str, Any]:
        return {"timeout_seconds": str(self.timeout), "patience_seconds": str(self.patience),
                "new_key_share": self.new_key_share, "max_keys": self.max_keys,
                "backoff_seconds": f"{self.backoff_base:g} doubling to {self.backoff_cap:g}"}


@dataclass(frozen=True)
class Policy:
    timeout: float
    patience: float
    new_key: bool
    max_keys: int
    backoff_base: float
    backoff_cap: float


@dataclass
class Attempt:
    order: int
    key: str
    region: str
    sent: float                            # AWS seconds
    sent_wall: float                       # time.perf_counter()
    finished_wall: float | None = None     # when the API finished it (set by the sender)
    answered: float | None = None
    status: int | None = None              # NO_CONNECTION, NO_ANSWER (timed out) or HTTP
    error_code: str | None = None
    durability: str | None = None          # the x-payments-durability header
    payment_id: str | None = None
    amount: str | None = None
    late_status: int | None = None         # what the API answered after the client gave up


@dataclass
class Key:
    """One idempotency key of an order, and why the client stopped using it."""
    key: str
    first_sent: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    gave_up: float | None = None


@dataclass
class Order:
    number: int
    client: int
    body: dict[str, Any]
    keys: list[Key]
    next_at: float
    state: str = "pending"                 # pending | paid | refused | abandoned
    in_flight: Attempt | None = None
    failures: int = 0                      # retries of the current key so far
    paid: Attempt | None = None

    @property
    def key(self) -> Key:
        return self.keys[-1]

    @property
    def attempts(self) -> list[Attempt]:
        return [a for key in self.keys for a in key.attempts]


@dataclass
class Client:
    number: int
    policy: Policy
    resolve: Callable[[float], str]        # its own DNS cache


class Clients:
    def __init__(self, rng: random.Random, behaviour: Behaviour, count: int, rate: float,
                 resolver: Callable[[], Callable[[float], str]]):
        self.rng, self.behaviour, self.rate = rng, behaviour, rate
        self.clients = [Client(n, self._policy(), resolver()) for n in range(count)]
        self.orders: list[Order] = []
        self.pending: dict[int, Order] = {}
        self.arriving = True

    def _policy(self) -> Policy:
        b = self.behaviour
        return Policy(b.timeout.draw(self.rng), b.patience.draw(self.rng),
                      self.rng.random() < b.new_key_share, b.max_keys, b.backoff_base,
                      b.backoff_cap)

    # --- what happens in one AWS second ----------------------------------------------------
    def due(self, second: int) -> list[tuple[float, Order]]:
        """New orders arriving in [second, second + 1) (a Poisson process at `rate`) and the
        orders whose next attempt falls in it, each with its offset in the second."""
        due = [(max(0.0, order.next_at - second), order) for order in self.pending.values()
               if order.in_flight is None and order.next_at < second + 1]
        if self.arriving:
            for _ in range(_poisson(self.rng, self.rate)):
                offset = self.rng.random()
                due.append((offset, self._new_order(second + offset)))
        return sorted(due, key=lambda pair: pair[0])

    def _new_order(self, now: float) -> Order:
        number = len(self.orders) + 1
        body = {"amount": f"{10 + number % 90}.{number % 100:02d}", "currency": "EUR",
                "merchant_id": DRILL_MERCHANT,
                "source": {"type": "card_token", "token": _token(number)},
                "description": order_reference(number)}
        order = Order(number, self.rng.randrange(len(self.clients)), body,
                      [Key(_key(number, 1))], now)
        self.orders.append(order)
        self.pending[number] = order
        return order

    def send(self, order: Order, now: float, wall: float) -> Attempt:
        """The attempt the client makes now: its key, where its DNS cache points."""
        client = self.clients[order.client]
        key = order.key
        if key.first_sent is None:
            key.first_sent = now
        attempt = Attempt(order.number, key.key, client.resolve(now), now, wall)
        key.attempts.append(attempt)
        order.in_flight = attempt
        return attempt

    def answered(self, order: Order, attempt: Attempt, status: int,
                 headers: dict[str, str], text: str, now: float) -> None:
        """The API's answer reached the client (unless the client had stopped listening)."""
        if attempt is not order.in_flight:
            attempt.late_status = status
            return
        order.in_flight = None
        attempt.answered, attempt.status = now, status
        attempt.durability = headers.get("x-payments-durability")
        body = _json(text)
        if status == 201:
            attempt.payment_id, attempt.amount = body.get("payment_id"), body.get("amount")
            order.paid = attempt
            self._settle(order, "paid")
            return
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        attempt.error_code = error.get("code")
        if status in RETRYABLE or (status == 409 and attempt.error_code == IN_PROGRESS):
            self._retry(order, now, _retry_after(headers))
        else:
            self._settle(order, "refused")

    def expire(self, now: float) -> None:
        """Attempts without an answer after the client's timeout: it stops listening."""
        for order in list(self.pending.values()):
            attempt = order.in_flight
            if attempt is not None and now - attempt.sent >= self.clients[order.client] \
                    .policy.timeout:
                order.in_flight = None
                attempt.answered, attempt.status = now, NO_ANSWER
                self._retry(order, now, 0.0)

    def _retry(self, order: Order, now: float, retry_after: float) -> None:
        policy = self.clients[order.client].policy
        key = order.key
        if key.first_sent is not None and now - key.first_sent >= policy.patience:
            key.gave_up = now
            if policy.new_key and len(order.keys) < policy.max_keys:
                order.keys.append(Key(_key(order.number, len(order.keys) + 1)))
                order.failures, order.next_at = 0, now + policy.backoff_base
            else:
                self._settle(order, "abandoned")
            return
        order.failures += 1
        backoff = min(policy.backoff_cap, policy.backoff_base * 2 ** (order.failures - 1))
        wait = backoff / 2 + self.rng.random() * backoff / 2  # "equal jitter"
        order.next_at = now + max(wait, retry_after)

    def _settle(self, order: Order, state: str) -> None:
        order.state = state
        self.pending.pop(order.number, None)

    @property
    def settled(self) -> bool:
        return not self.arriving and not self.pending


def order_reference(number: int) -> str:
    """What the client puts in the payment's description: its own order reference. The audit
    finds an order's charges by it, whatever key each was made with."""
    return f"drill order {number}"


def order_of(description: str | None) -> int | None:
    prefix = order_reference(0)[:-1]
    if description and description.startswith(prefix) and description[len(prefix):].isdigit():
        return int(description[len(prefix):])
    return None


def _key(order: int, number: int) -> str:
    return f"drill-{order:06d}-k{number}"


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method: fine for the small rates of one second."""
    limit, count, product = pow(2.718281828459045, -rate), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _retry_after(headers: dict[str, str]) -> float:
    try:
        return max(0.0, float(headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _token(number: int) -> str:
    """A card-vault token with no digits (a digit run could look like a card number)."""
    letters = "abcdefghij"
    return "tok_drill_" + "".join(letters[int(d)] for d in f"{number:08d}")
