"""The drill's Route 53 failover model (numbers read from the built global template) and its
clients: each with its own DNS cache, timeout, retry policy and patience, all drawn from one
seeded random generator."""

from __future__ import annotations

import json
import random

import pytest

from rehearsal.gameday.clients import (NO_ANSWER, NO_CONNECTION, Behaviour, Clients, Range,
                                       order_of, order_reference)
from rehearsal.gameday.resolver import ClientResolver, FailoverRecords, HealthCheck, Settings


def test_settings_come_from_the_built_global_template(bundle):
    settings = Settings.from_template(bundle.global_.document)
    assert (settings.interval, settings.failure_threshold, settings.alarm_seconds) == (10, 3, 60)
    assert Settings.from_template(bundle.global_.document, threshold=5).failure_threshold == 5


def run_check(settings, up_until, until):
    t = {"now": 0}
    check = HealthCheck(settings, probe=lambda: t["now"] < up_until)
    states = {}
    for now in range(until):
        t["now"] = now
        check.tick(now)
        states[now] = check.healthy
    return check, states


def test_a_check_turns_unhealthy_after_threshold_failures_and_alarms_at_period_end():
    settings = Settings(interval=10, failure_threshold=3, alarm_seconds=60)
    check, states = run_check(settings, up_until=15, until=100)
    # probes at 20, 30, 40 fail: unhealthy from the third
    assert states[39] is True and states[40] is False
    assert check.unhealthy_since == 40 and check.alarm_at() == 60


def test_a_check_recovers_after_threshold_successes():
    settings = Settings(interval=10, failure_threshold=2, alarm_seconds=60)
    results = iter([True, False, False, True, True])
    check = HealthCheck(settings, probe=lambda: next(results))
    seen = []
    for now in range(0, 50, 10):
        check.tick(now)
        seen.append(check.healthy)
    assert seen == [True, True, False, False, True]


def test_failover_records_answer_like_route53():
    settings = Settings(10, 3, 60)
    checks = {"a": HealthCheck(settings, lambda: True), "b": HealthCheck(settings, lambda: True)}
    records = FailoverRecords("a", "b", checks)
    assert records.answer() == "a"
    checks["a"].healthy = False
    assert records.answer() == "b"
    checks["b"].healthy = False
    assert records.answer() == "a"  # both unhealthy: PRIMARY
    records.prefer("b")
    checks["b"].healthy = True
    assert records.answer() == "b"


def test_clients_keep_an_answer_for_the_ttl():
    settings = Settings(10, 3, 60)
    checks = {"a": HealthCheck(settings, lambda: True), "b": HealthCheck(settings, lambda: True)}
    records = FailoverRecords("a", "b", checks)
    client = ClientResolver(records, ttl=60)
    assert client.resolve(0) == "a"
    checks["a"].healthy = False
    assert client.resolve(59) == "a" and client.resolve(60) == "b"


def population(behaviour: Behaviour = Behaviour(), count: int = 1, rate: float = 1.0,
               regions=None, seed: int = 7) -> Clients:
    """Clients whose DNS answers come from `regions` (a list popped per resolution) or "r1"."""
    answers = regions if regions is not None else []
    return Clients(random.Random(seed), behaviour, count, rate,
                   lambda: (lambda now: answers.pop(0) if answers else "r1"))


def one_order(clients: Clients):
    order = clients._new_order(0.0)
    clients.arriving = False
    return order


def answer(clients, order, status, now, headers=None, body=None):
    attempt = clients.send(order, now, now)
    clients.answered(order, attempt, status, headers or {}, json.dumps(body or {}), now)
    return attempt


def test_a_client_retries_the_same_key_and_body_and_honours_retry_after():
    clients = population(Behaviour(backoff_base=1, backoff_cap=4))
    order = one_order(clients)
    first = answer(clients, order, NO_CONNECTION, 0.0)
    assert order.state == "pending" and 0.5 <= order.next_at <= 1.0  # equal jitter of 1 s
    second = answer(clients, order, 503, order.next_at, {"retry-after": "7"})
    assert order.next_at >= second.sent + 7  # never before Retry-After
    third = answer(clients, order, 409, order.next_at, body={
        "error": {"code": "request_in_progress"}})
    assert order.state == "pending"  # in progress: the same key again
    paid = answer(clients, order, 201, order.next_at,
                  body={"payment_id": "p-1", "amount": "10.00"})
    assert order.state == "paid" and order.paid is paid and paid.payment_id == "p-1"
    assert {a.key for a in (first, second, third, paid)} == {order.keys[0].key}
    assert len(order.keys) == 1 and clients.settled


@pytest.mark.parametrize("status,code", [(400, "invalid_amount"),
                                         (409, "idempotency_key_reused")])
def test_a_refusal_ends_the_order(status, code):
    clients = population()
    order = one_order(clients)
    answer(clients, order, status, 0.0, body={"error": {"code": code}})
    assert order.state == "refused" and clients.settled


def test_an_unanswered_attempt_is_abandoned_at_the_clients_timeout_and_a_late_201_is_not_heard():
    clients = population(Behaviour(timeout=Range(5, 5)))
    order = one_order(clients)
    attempt = clients.send(order, 0.0, 0.0)
    clients.expire(4.9)
    assert order.in_flight is attempt
    clients.expire(5.0)
    assert attempt.status == NO_ANSWER and order.in_flight is None and order.state == "pending"
    clients.answered(order, attempt, 201, {}, json.dumps({"payment_id": "p"}), 6.0)
    assert attempt.late_status == 201 and order.state == "pending" and order.paid is None


def test_patience_ends_a_key_with_a_new_key_or_the_order():
    patient_then_new = population(Behaviour(patience=Range(10, 10), new_key_share=1.0))
    order = one_order(patient_then_new)
    now = 0.0
    while len(order.keys) == 1:
        answer(patient_then_new, order, 503, now)
        now = order.next_at
    first, second = order.keys
    assert first.gave_up is not None and first.gave_up - first.first_sent >= 10
    assert second.key != first.key and second.attempts == []
    giving_up = population(Behaviour(patience=Range(10, 10), new_key_share=0.0))
    order = one_order(giving_up)
    now = 0.0
    while order.state == "pending":
        answer(giving_up, order, 503, now)
        now = order.next_at
    assert order.state == "abandoned" and len(order.keys) == 1


def test_a_client_keeps_its_dns_answer_for_its_ttl_and_each_client_has_its_own():
    settings = Settings(10, 3, 60)
    checks = {"a": HealthCheck(settings, lambda: True), "b": HealthCheck(settings, lambda: True)}
    records = FailoverRecords("a", "b", checks)
    early, late = (ClientResolver(records, 60, records.answer(), expires)
                   for expires in (5.0, 50.0))
    checks["a"].healthy = False
    assert early.resolve(10) == "b" and late.resolve(10) == "a"
    assert late.resolve(50) == "b"


def test_the_same_seed_draws_the_same_clients_orders_and_arrivals():
    def run(seed):
        clients = population(count=20, rate=5.0, seed=seed)
        arrivals = [(round(offset, 6), order.number, order.client)
                    for second in range(30) for offset, order in clients.due(second)
                    if not order.attempts]
        return arrivals, [c.policy for c in clients.clients]
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_arrivals_follow_the_rate_and_policies_their_distributions():
    behaviour = Behaviour(timeout=Range(5, 15), patience=Range(300, 900), new_key_share=0.5)
    clients = population(behaviour, count=400, rate=20.0)
    for second in range(500):
        clients.due(second)
    assert 0.95 * 20 * 500 < len(clients.orders) < 1.05 * 20 * 500
    policies = [c.policy for c in clients.clients]
    assert all(5 <= p.timeout <= 15 and 300 <= p.patience <= 900 for p in policies)
    assert 0.4 < sum(p.new_key for p in policies) / len(policies) < 0.6


def test_an_order_is_found_by_its_reference_whatever_its_key():
    assert order_of(order_reference(42)) == 42
    assert order_of("another description") is None and order_of(None) is None


def test_ranges_parse_and_refuse_what_is_not_one():
    assert Range.parse("30") == Range(30, 30) and Range.parse("5-15") == Range(5, 15)
    with pytest.raises(ValueError, match="LOW-HIGH"):
        Range.parse("15-5")
