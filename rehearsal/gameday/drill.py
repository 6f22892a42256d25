"""`payments-dr dr drill --local`: a game day on this machine, measured.

Scenario (times in AWS seconds on a simulated clock; one tick is one second in which the
client sends its due requests and the health checks probe when theirs are due):
  1. steady state: a payment every `EVERY` seconds, each from a new client (its own DNS
     cache), through DNS to home;
  2. at `LOSS_AT` home is lost: its database crashes (`pg_ctl stop -m immediate`) and its
     functions stop answering;
  3. the health checks (the global template's interval and threshold) detect it; the
     health-check alarm pages the on-call engineer at the end of its period;
  4. the engineer runs `dr failover --to <recovery>` (the real runbook, through the local
     adapter: `pg_ctl promote` where AWS runs FailoverGlobalCluster);
  5. load continues, and DNS moves once the recovery region reports healthy;
  6. at `HOME_BACK_AT` home returns: its database is rebuilt as a standby of the new writer
     (`pg_basebackup`), its functions start cold, and the engineer runs `dr failback`.
Then the ledger is audited against what the client was told.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from runbook import loop
from toolkit import exit_codes
from toolkit import resource_names as names
from runbook import decide as runbook
from rehearsal.gameday.drill_report import human_report, report
from rehearsal.gameday.load import Load, Payment
from rehearsal.gameday.local_adapter import LocalAdapter, Topology, health
from rehearsal.gameday.local_world import RegionDown, World, http_event
from rehearsal.gameday.resolver import ClientResolver, FailoverRecords, HealthCheck, Settings
from runbook.timeline import Timeline
from rehearsal.localpg import PostgresUnavailable

LOSS_AT = 20
HOME_BACK_AT = 200
EVERY = 3           # a new payment (a new client, with its own DNS cache) every 3 AWS seconds
TAIL = 40           # AWS seconds of load after the failback


def default_payments(operator_delay: int) -> int:
    """Enough payments to keep the load running until home is back (after the failback,
    `TAIL // EVERY` more are always sent: home must be seen taking payments again)."""
    return (HOME_BACK_AT + operator_delay) // EVERY
POLL = 10           # the runbook observes every 10 AWS seconds
END_BY = 1200       # hard stop of the simulation (AWS seconds)


@dataclass
class Sim:
    world: World
    checks: dict[str, HealthCheck]
    records: FailoverRecords
    load: Load
    t: float = 0.0
    events: list[tuple[float, str]] = field(default_factory=list)
    lag_samples: list[tuple[float, float | None]] = field(default_factory=list)
    writer: str = ""
    _answer: str = ""

    def advance(self, seconds: float) -> None:
        for _ in range(max(1, int(round(seconds)))):
            self.tick()

    def tick(self) -> None:
        self.t += 1
        for check in self.checks.values():
            check.tick(self.t)
        answer = self.records.answer()
        if answer != self._answer:
            self.event(f"Route 53 answers {answer}")
            self._answer = answer
        self.load.tick(self.t)

    def event(self, text: str) -> None:
        self.events.append((self.t, text))


def main(args, config, built, reporter) -> int:
    from moto import mock_aws  # the rehearsal extra

    started = time.perf_counter()
    settings = Settings.from_template(built.global_.document,
                                      config.domain.health_check_failure_threshold
                                      if config.domain else None)
    home, recovery = names.home(config), names.recovery(config)
    saved_logging = _logging_state()
    with mock_aws(), contextlib.redirect_stdout(sys.stderr):
        try:
            world = World(home, recovery)
        except PostgresUnavailable as error:
            reporter.error(f"dr drill --local needs the PostgreSQL server binaries: {error}")
            reporter.record("result", "error")
            return exit_codes.USAGE
        try:
            world.deploy()
            result = run_scenario(world, settings, home, recovery,
                                  args.payments or default_payments(args.operator_delay),
                                  names.global_cluster(config), args.operator_delay)
        finally:
            world.close()
            _restore_logging(saved_logging)
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["health_check"] = {"interval_seconds": settings.interval,
                              "failure_threshold": settings.failure_threshold,
                              "alarm_seconds": settings.alarm_seconds,
                              "dns_ttl_seconds": settings.dns_ttl}
    for key, value in result.items():
        reporter.record(key, value)
    for line in human_report(result):
        reporter.info(line)
    ok = (result["duplicates"] == 0 and result["false_successes"] == 0
          and result["failback_ok"] and not result["unresolved"])
    reporter.record("result", "ok" if ok else "failed")
    if args.plot:
        try:
            from rehearsal.gameday import plot
        except ModuleNotFoundError as error:
            reporter.error(f"--plot needs the plot extra ({error.name} is missing): "
                           "pip install -e '.[plot]'")
            return exit_codes.USAGE
        plot.draw(result, args.plot)
        reporter.info(f"plot: {args.plot}")
    return exit_codes.OK if ok else exit_codes.FAILED


def run_scenario(world: World, settings: Settings, home: str, recovery: str, total: int,
                 global_cluster: str, operator_delay: int = 0) -> dict[str, Any]:
    topology = Topology(home, recovery)
    checks = {r: HealthCheck(settings, probe=lambda r=r: health(world, r)[0])
              for r in (home, recovery)}
    records = FailoverRecords(home, recovery, checks)
    acks: list[dict[str, Any]] = []
    load = Load(send=lambda region, key, body: send(world, region, key, body),
                resolver=lambda: ClientResolver(records, settings.dns_ttl).resolve,
                total=total, every=EVERY)
    sim = Sim(world, checks, records, load)

    def audit_ack(payment: Payment) -> None:
        """At the moment of the 201: is the row in the writer's ledger, with what the client
        was told? A 201 without it is a false success."""
        rows = world.sql(topology.writer, "SELECT payment_id::text, amount::text FROM payments"
                                          " WHERE idempotency_key = :k", k=payment.key)
        told = payment.acked_body or {}
        acks.append({"key": payment.key, "t": sim.t, "region": payment.acked_region,
                     "payment_id": payment.payment_id,
                     "committed": bool(rows) and rows[0][0] == told.get("payment_id")
                     and _same_amount(rows[0][1], told.get("amount"))})
    load.on_ack = audit_ack

    def lag_sampler() -> float | None:
        return next((lag for _, lag in reversed(sim.lag_samples) if lag is not None), None)

    def adapter(failed: str | None) -> LocalAdapter:
        return LocalAdapter(world, topology, records, global_cluster, sim.advance,
                            lambda: sim.t, failed=failed, last_lag=lag_sampler)

    # 1. steady state
    observer = adapter(None)
    while sim.t < LOSS_AT:
        sim.tick()
        if sim.t % settings.interval == 0:
            sim.lag_samples.append((sim.t, observer.observe().replication_lag_ms))
    # 2. home lost
    unreplicated = _unreplicated_bytes(world, home)
    world.lose(home)
    sim.event(f"{home} lost: database crashed, functions down")
    loss_t = sim.t
    surviving_before_promotion = None
    # 3. detection and the page
    while checks[home].alarm_at() is None or sim.t < checks[home].alarm_at():
        sim.tick()
    sim.event(f"health check of {home} unhealthy since t={checks[home].unhealthy_since:.0f}; "
              "alarm pages on-call")
    paged = sim.t
    while sim.t < paged + operator_delay:
        sim.tick()
    sim.event(f"on-call runs dr failover --to {recovery}")
    # 4. dr failover, never touching home
    failover_adapter = adapter(home)
    failover_line = Timeline("failover", None, sim_now(sim))
    failover = loop.run(failover_adapter, lambda s: runbook.failover(s, recovery),
                        failover_line, poll=POLL, timeout=600)
    surviving_before_promotion = {k for (k,) in world.sql(
        recovery, "SELECT idempotency_key FROM payments")}
    sim.event(f"dr failover: {failover.outcome}")
    # 5. load continues
    while sim.t < HOME_BACK_AT + operator_delay:
        sim.tick()
    # 6. home back, rebuilt as a standby of the new writer, then dr failback
    world.rebuild_as_standby(home, of=recovery)
    topology.members[home] = "pending-resync"
    world.restore_functions(home)
    sim.event(f"{home} back: database rebuilt as a standby of {recovery}; functions cold")
    back = sim.t
    # the engineer runs dr failback once dr status shows home healthy again (Route 53's check)
    while not checks[home].healthy and sim.t < back + 300:
        sim.tick()
    sim.event(f"health check of {home} healthy: on-call runs dr failback")
    failback_line = Timeline("failback", None, sim_now(sim))
    for attempt in (1, 2):  # a refused preflight (a transient blip) is re-run once, as a person
        failback = loop.run(adapter(None), runbook.failback, failback_line, poll=POLL,
                            timeout=600)
        if failback.outcome != "refused" or attempt == 2:
            break
        sim.event(f"dr failback refused ({failback.message}); on-call re-runs it")
        sim.advance(POLL)
    failback_done = sim.t
    sim.event(f"dr failback: {failback.outcome}")
    load.total = max(load.total, len(load.payments)) + TAIL // EVERY  # home must serve again
    while not load.done and sim.t < END_BY:
        sim.tick()
    return report(world, sim, topology, acks, loss_t, failback_done, unreplicated,
                  surviving_before_promotion, failover, failover_line, failback,
                  failback_line, failover_adapter, home, recovery)


def sim_now(sim: Sim):
    return lambda: sim.t


def send(world: World, region: str, key: str, body: dict[str, Any]
         ) -> tuple[int, dict[str, str], str]:
    event = http_event("POST", "/process", json.dumps(body),
                       {"content-type": "application/json", "idempotency-key": key})
    try:
        response = world.regions[region].call("process", event)
    except RegionDown:
        return 0, {}, ""
    return response["statusCode"], response.get("headers", {}), response.get("body", "")


def _same_amount(stored: str, told: Any) -> bool:
    try:
        from decimal import Decimal
        return Decimal(stored) == Decimal(str(told))
    except Exception:  # an unparsable amount in a 201 is a false success
        return False


def _unreplicated_bytes(world: World, home: str) -> int | None:
    rows = world.sql(home, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
                           "FROM pg_stat_replication")
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def _logging_state():
    logger = logging.getLogger("payments")
    return logger, list(logger.handlers), logger.level, logger.propagate


def _restore_logging(state) -> None:
    """The drill's handler copies configure the shared `payments` logger: undo it."""
    logger, handlers, level, propagate = state
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate
