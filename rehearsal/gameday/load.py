"""The drill's client: distinct payments, each with its own idempotency key, sent through DNS
and retried with the same key and body until a 201 (or a final refusal), at most until a
deadline. A 503 or 409 "in progress" is retried after its Retry-After; a connection failure
after a short backoff. Bounded in count and in AWS time; it stops by itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

RETRYABLE = frozenset({0, 409, 429, 500, 502, 503, 504})
CONNECTION_BACKOFF = (1, 2, 4, 5)


@dataclass
class Payment:
    number: int
    key: str
    body: dict[str, Any]
    issued: float
    next_at: float
    state: str = "pending"           # pending | acked | refused | gave_up
    attempts: int = 0
    acked_at: float | None = None
    acked_region: str | None = None
    payment_id: str | None = None
    acked_body: dict[str, Any] | None = None
    last_status: int | None = None
    failures: int = 0
    resolve: Callable[[float], str] = field(default=lambda now: "", repr=False)


@dataclass
class Request:
    t: float
    region: str
    status: int                      # 0: no connection


Resolver = Callable[[float], str]

Send = Callable[[str, str, dict[str, Any]], tuple[int, dict[str, str], str]]
"""(region, idempotency key, body) -> (status, headers, body text); status 0 = no connection."""


@dataclass
class Load:
    send: Send
    resolver: Callable[[], Resolver]  # a new client's DNS resolver (each keeps its own cache)
    total: int
    every: int = 1                   # a new payment every `every` AWS seconds
    deadline: float = 600.0          # AWS seconds a payment is retried before giving up
    payments: list[Payment] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    on_ack: Callable[[Payment], None] = lambda p: None

    def new_payment(self, number: int, now: float) -> Payment:
        body = {"amount": f"{10 + number % 90}.{number % 100:02d}", "currency": "EUR",
                "merchant_id": "merchant-drill",
                "source": {"type": "card_token", "token": _token(number)},
                "description": f"drill order {number}"}
        return Payment(number, f"drill-{number:05d}", body, now, now)

    def tick(self, now: float) -> None:
        if len(self.payments) < self.total and int(now) % self.every == 0:
            payment = self.new_payment(len(self.payments) + 1, now)
            payment.resolve = self.resolver()
            self.payments.append(payment)
        for payment in self.payments:
            if payment.state == "pending" and payment.next_at <= now:
                self._attempt(payment, now)

    @property
    def done(self) -> bool:
        return len(self.payments) >= self.total and all(
            p.state != "pending" for p in self.payments)

    def _attempt(self, payment: Payment, now: float) -> None:
        region = payment.resolve(now)
        status, headers, text = self.send(region, payment.key, payment.body)
        payment.attempts += 1
        payment.last_status = status
        self.requests.append(Request(now, region, status))
        if status == 201:
            payment.state, payment.acked_at, payment.acked_region = "acked", now, region
            payment.acked_body = json.loads(text)
            payment.payment_id = payment.acked_body.get("payment_id")
            self.on_ack(payment)
        elif status in RETRYABLE and now - payment.issued < self.deadline:
            if status == 0:
                payment.failures += 1
                wait = CONNECTION_BACKOFF[min(payment.failures, len(CONNECTION_BACKOFF)) - 1]
            else:
                wait = _retry_after(headers)
            payment.next_at = now + wait
        else:
            payment.state = "gave_up" if status in RETRYABLE else "refused"


def _retry_after(headers: dict[str, str]) -> float:
    try:
        return max(1.0, float(headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def _token(number: int) -> str:
    """A card-vault token with no digits (a digit run could look like a card number)."""
    letters = "abcdefghij"
    return "tok_drill_" + "".join(letters[int(d)] for d in f"{number:08d}")
