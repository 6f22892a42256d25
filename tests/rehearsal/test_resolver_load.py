"""The drill's Route 53 failover model (numbers read from the built global template) and its
bounded client load."""

from __future__ import annotations

import json

from rehearsal.gameday.load import Load
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


def test_load_retries_after_retry_after_with_the_same_key_and_body():
    sent = []
    answers = iter([(0, {}, ""), (503, {"retry-after": "3"}, ""),
                    (201, {}, json.dumps({"payment_id": "p-1"}))])

    def send(region, key, body):
        sent.append((region, key, json.dumps(body)))
        return next(answers)

    load = Load(send, resolver=lambda: (lambda now: "r1"), total=1)
    for now in range(10):
        load.tick(now)
    payment = load.payments[0]
    assert payment.state == "acked" and payment.payment_id == "p-1"
    assert [r.t for r in load.requests] == [0, 1, 4]  # 1 s after no connection, 3 s after 503
    assert len({(k, b) for _, k, b in sent}) == 1 and load.done


def test_load_is_bounded_and_stops():
    load = Load(lambda r, k, b: (503, {"retry-after": "1"}, ""), resolver=lambda: (lambda now: "r"),
                total=3, deadline=5)
    for now in range(20):
        load.tick(now)
    assert load.done and {p.state for p in load.payments} == {"gave_up"}
    assert len({p.key for p in load.payments}) == 3
    refused = Load(lambda r, k, b: (400, {}, ""), resolver=lambda: (lambda now: "r"), total=1)
    refused.tick(0)
    assert refused.payments[0].state == "refused"


def test_audit_lists_every_lost_payment_with_its_cause_and_the_false_successes():
    from rehearsal.gameday.audit import audit

    def ack(key, t, region, committed=True, payment_id=None):
        return {"key": key, "t": t, "region": region, "committed": committed,
                "payment_id": payment_id or f"p-{key}"}

    acks = [ack("a", 10, "home"), ack("b", 18, "home"), ack("c", 19, "home"),
            ack("d", 95, "recovery"), ack("e", 96, "recovery", committed=False),
            ack("f", 97, "recovery", payment_id="other"), ack("g", 150, "recovery")]
    ledger = {k: (f"p-{k}", "10.00") for k in ("a", "d", "e", "f")}
    verdict = audit(acks, ledger, loss_t=20, lost_region="home", other_region="recovery")
    assert [item["key"] for item in verdict["lost"]] == ["b", "c", "g"]
    assert "asynchronous replication" in verdict["lost"][0]["cause"]
    assert "a defect" in verdict["lost"][2]["cause"]
    assert verdict["false_success_keys"] == ["e", "f"]
    assert verdict["rto_seconds"] == 75 and verdict["rpo_seconds"] == 2
    clean = audit(acks[:1], {"a": ("p-a", "10.00")}, 20, "home", "recovery")
    assert clean["lost"] == [] and clean["rpo_seconds"] == 0.0 and clean["rto_seconds"] is None
