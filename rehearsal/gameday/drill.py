"""`payments-dr dr drill --local`: a game day on this machine, measured, that can fail.

Scenario (AWS seconds on the simulated clock; traffic.py says how it relates to wall time):
  1. steady state: `rate` new orders per second (Poisson) from many clients (clients.py), each
     through its own DNS cache to home; home's standby in recovery receives WAL through a link
     that holds it for the replication delay;
  2. at `loss_at` (mid-second, requests in flight) home is lost: the link is cut (WAL in
     transit never arrives), its database crashes (`pg_ctl stop -m immediate`), its functions
     answer nothing and its AWS calls fail;
  3. the health checks (the global template's interval and threshold) detect it; the
     health-check alarm pages the on-call engineer at the end of its period;
  4. after `operator_delay` the engineer runs `dr failover --to <recovery>` (the real runbook,
     through the local adapter); the global cluster is `failing-over` for AWS's stated
     duration, then `pg_ctl promote` and the writer endpoint follows;
  5. load continues; DNS moves once the recovery region's check passes;
  6. `home_back_after` seconds after the failover, home returns: its crashed database is read
     once (Aurora's snapshot of the old primary), then rebuilt as a standby of the new writer
     (`pg_basebackup`, through a new link), its functions start cold; once home's check
     passes the engineer runs `dr failback` (a switchover of AWS's duration, under load);
  7. `tail` more seconds of orders, then the clients finish their retries.
Then every order is audited against the final ledger (audit.py).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from rehearsal.gameday.audit import LossFacts
from rehearsal.gameday.clients import Clients
from rehearsal.gameday.drill_report import human_report, report
from rehearsal.gameday.local_adapter import LocalAdapter, Topology, health
from rehearsal.gameday.local_world import World, WorldSettings, ZeroLossUnavailable
from rehearsal.gameday.resolver import ClientResolver, FailoverRecords, HealthCheck, Settings
from rehearsal.gameday.scenario import Scenario
from rehearsal.gameday.traffic import Clock, Traffic
from rehearsal.localpg import PostgresUnavailable
from runbook import decide as runbook
from runbook import loop
from runbook.timeline import Timeline
from templates import names as template_names
from toolkit import exit_codes
from toolkit import resource_names as names
from toolkit.errors import UsageError

POLL = 10           # the runbook observes every 10 AWS seconds
RUNBOOK_TIMEOUT = 600
DRAIN_SECONDS = 30  # wall seconds to wait, at the end, for requests still running
SECOND_AT_MOST = 30  # wall seconds a simulated second waits for its requests (> any timeout)
STREAMING_SECONDS = 20  # wall seconds for the rebuilt standby to stream again, at the end


@dataclass
class Sim:
    """The simulated world's loop: one AWS second at a time, probes, scheduled events, and
    the clients' sends at their offsets in the second."""
    clock: Clock
    checks: dict[str, HealthCheck]
    records: FailoverRecords
    clients: Clients
    traffic: Traffic
    events: list[tuple[float, str]] = field(default_factory=list)
    lag_samples: list[tuple[float, float | None]] = field(default_factory=list)
    _scheduled: list[tuple[float, int, str, Callable[[], None]]] = field(default_factory=list)
    _order: Any = field(default_factory=itertools.count)
    _answer: str = ""
    after_send: Callable[[], None] | None = None   # runs once right after the next send

    @property
    def t(self) -> float:
        return self.clock.now()

    def schedule(self, seconds: float, what: str, action: Callable[[], None]) -> None:
        self.schedule_at(self.clock.now() + seconds, what, action)

    def schedule_at(self, t: float, what: str, action: Callable[[], None]) -> None:
        heapq.heappush(self._scheduled, (t, next(self._order), what, action))

    def advance(self, seconds: float) -> None:
        for _ in range(max(1, int(round(seconds)))):
            self.tick()

    def tick(self) -> None:
        self.clock.start_second()
        second = self.clock.t
        for check in self.checks.values():
            check.tick(second)
        answer = self.records.answer()
        if answer != self._answer:
            self.event(f"Route 53 answers {answer}")
            self._answer = answer
        self.traffic.verify()
        happenings: list[tuple[float, int, Callable[[], None]]] = [
            (offset, next(self._order), lambda order=order: self._send(order))
            for offset, order in self.clients.due(second)]
        while self._scheduled and self._scheduled[0][0] < second + 1:
            due, number, what, action = heapq.heappop(self._scheduled)
            happenings.append((max(0.0, due - second), number, self._logged(what, action)))
        for offset, _, happen in sorted(happenings, key=lambda h: (h[0], h[1])):
            self.traffic.wait_until(self.clock.wall_at(offset))
            happen()
        self.traffic.wait_until(self.clock.wall_at(1.0))
        self.traffic.settle(SECOND_AT_MOST)
        self.clients.expire(self.clock.now())

    def _send(self, order) -> None:
        self.traffic.send(order)
        if self.after_send is not None:
            self.after_send()

    def _logged(self, what: str, action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            action()
            if what:
                self.event(what)
        return run

    def event(self, text: str) -> None:
        self.events.append((round(self.clock.now(), 1), text))


def main(args, config, built, reporter) -> int:
    from moto import mock_aws  # the rehearsal extra

    try:
        scenario = scenario_from(args)
    except ValueError as error:
        raise UsageError(f"dr drill: {error}") from None
    started = time.perf_counter()
    settings = Settings.from_template(built.global_.document,
                                      config.domain.health_check_failure_threshold
                                      if config.domain else None)
    home, recovery = names.home(config), names.recovery(config)
    saved_logging = _logging_state()
    with mock_aws(), contextlib.redirect_stdout(sys.stderr):
        try:
            world = World(home, recovery, WorldSettings(
                scenario.latencies, scenario.zero_loss, scenario.zero_loss_wait_ms,
                scenario.zero_loss_degrade_after_seconds, reserved_concurrency(built)))
        except PostgresUnavailable as error:
            raise UsageError(f"dr drill --local needs the PostgreSQL server binaries: "
                             f"{error}") from None
        try:
            world.deploy()
            result = run_scenario(world, settings, scenario, names.global_cluster(config))
        except ZeroLossUnavailable as error:
            raise UsageError(str(error)) from None
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
    reporter.record("result", "ok" if result["ok"] else "failed")
    if args.plot:
        try:
            from rehearsal.gameday import plot
        except ModuleNotFoundError as error:
            reporter.error(f"--plot needs the plot extra ({error.name} is missing): "
                           "pip install -e '.[plot]'")
            return exit_codes.USAGE
        plot.draw(result, args.plot)
        reporter.info(f"plot: {args.plot}")
    return exit_codes.OK if result["ok"] else exit_codes.FAILED


def scenario_from(args) -> Scenario:
    """The scenario the command line asks for (an option not given keeps its default)."""
    wall = getattr(args, "wall_ms_per_second", None)
    return Scenario.given(
        rate=args.rate, clients=args.clients, timeout=args.timeout, patience=args.patience,
        new_key_share=args.new_key_share, max_keys=args.max_keys,
        replication_ms=args.replication_ms,
        db_round_trip_ms=args.db_round_trip_ms, dynamodb_ms=args.dynamodb_ms,
        s3_ms=args.s3_ms, zero_loss=args.zero_loss, zero_loss_wait_ms=args.zero_loss_wait_ms,
        zero_loss_degrade_after_seconds=args.zero_loss_degrade_after,
        home_back_after=args.home_back_after, tail=args.tail,
        operator_delay=args.operator_delay, seed=args.seed,
        wall_per_second=None if wall is None else wall / 1000)


def reserved_concurrency(built) -> int:
    """The processor's reserved concurrency: the regional template's default."""
    parameter = built.regional.parameters[template_names.PROCESSOR_RESERVED_CONCURRENCY]
    return int(parameter["Default"])


def run_scenario(world: World, settings: Settings, scenario: Scenario,
                 global_cluster: str) -> dict[str, Any]:
    home, recovery = world.home, world.recovery
    topology = Topology(home, recovery)
    checks = {r: HealthCheck(settings, probe=lambda r=r: health(world, r)[0])
              for r in (home, recovery)}
    records = FailoverRecords(home, recovery, checks)
    rng = random.Random(scenario.seed)

    def resolver():
        """A client that has been running for a while: its cached answer expires at any
        moment of the TTL, not in step with every other client's."""
        return ClientResolver(records, settings.dns_ttl, records.answer(),
                              rng.uniform(0, settings.dns_ttl)).resolve
    clients = Clients(rng, scenario.behaviour, scenario.clients, scenario.rate, resolver)
    clock = Clock(scenario.wall_per_second)
    traffic = Traffic(world, clients, clock, lambda: topology.writer)
    sim = Sim(clock, checks, records, clients, traffic)
    moves: list[dict[str, Any]] = []

    def lag_sampler() -> float | None:
        return next((lag for _, lag in reversed(sim.lag_samples) if lag is not None), None)

    def schedule(seconds: float, what: str, action: Callable[[], None]) -> None:
        move = {"operation": what.split(" to ")[0], "called_t": round(sim.t, 1)}
        moves.append(move)

        def done() -> None:
            action()
            move["done_t"] = round(sim.t, 1)
        sim.schedule(seconds, what, done)

    def adapter(failed: str | None) -> LocalAdapter:
        return LocalAdapter(world, topology, records, global_cluster, sim.advance,
                            lambda: sim.t, schedule, failed=failed, last_lag=lag_sampler)

    crash: dict[str, Any] = {}

    def lose_home() -> None:
        """Home is lost under load: at this instant if a request runs there, else right after
        the next one starts (the loss must find writes in flight)."""
        running = traffic.in_flight(home)
        if not running:
            sim.after_send = lose_home
            return
        sim.after_send = None
        crash["in_flight"] = running
        crash["t"] = sim.t
        crash["loss"] = world.lose(home)
        sim.event(f"{home} lost: link cut, database crashed, functions down")

    try:
        # 1-2. steady state, then home is lost mid-second
        observer = adapter(None)
        sim.schedule_at(scenario.loss_at, "", lose_home)
        while "loss" not in crash:
            sim.tick()
            if int(sim.t) % settings.interval == 0 and "loss" not in crash:
                sim.lag_samples.append((sim.t, observer.observe().replication_lag_ms))
        # 3. detection and the page
        while checks[home].alarm_at() is None or sim.t < checks[home].alarm_at():
            sim.tick()
        sim.event(f"health check of {home} unhealthy since t={checks[home].unhealthy_since:.0f};"
                  " alarm pages on-call")
        if scenario.operator_delay:
            sim.advance(scenario.operator_delay)
        sim.event(f"on-call runs dr failover --to {recovery}")
        # 4. dr failover, never touching home
        failover_adapter = adapter(home)
        failover_line = Timeline("failover", None, lambda: sim.t)
        failover = loop.run(failover_adapter, lambda s: runbook.failover(s, recovery),
                            failover_line, poll=POLL, timeout=RUNBOOK_TIMEOUT)
        sim.event(f"dr failover: {failover.outcome}")
        # 5. load continues; 6. home back
        sim.advance(scenario.home_back_after)
        snapshot = world.snapshot_ledger(home)
        world.rebuild_as_standby(home, of=recovery)
        world.restore(home)
        topology.members[home] = "pending-resync"
        sim.event(f"{home} back: its crash snapshot read ({len(snapshot)} rows), database "
                  f"rebuilt as a standby of {recovery}; functions cold")
        back = sim.t
        while not checks[home].healthy and sim.t < back + 300:
            sim.tick()
        sim.event(f"health check of {home} healthy: on-call runs dr failback")
        failback_started = sim.t
        failback_line = Timeline("failback", None, lambda: sim.t)
        for attempt in (1, 2):  # a refused preflight (a transient blip) is re-run once
            failback = loop.run(adapter(None), runbook.failback, failback_line, poll=POLL,
                                timeout=RUNBOOK_TIMEOUT)
            if failback.outcome != "refused" or attempt == 2:
                break
            sim.event(f"dr failback refused ({failback.message}); on-call re-runs it")
            sim.advance(POLL)
        failback_done = sim.t
        sim.event(f"dr failback: {failback.outcome}")
        # 7. the tail, then the clients' last retries
        sim.advance(scenario.tail)
        clients.arriving = False
        end = sim.t + scenario.settle
        while not clients.settled and sim.t < end:
            sim.tick()
        traffic.drain(DRAIN_SECONDS)
        world.wait_streaming(home, STREAMING_SECONDS)
    finally:
        traffic.close()
    loss = crash["loss"]
    facts = LossFacts(home, crash["t"], loss.wall, scenario.latencies.replication_ms,
                      frozenset(a.key for a in crash["in_flight"]))
    return report(world=world, sim=sim, topology=topology, scenario=scenario, loss=loss,
                  facts=facts, snapshot=snapshot, moves=moves, failover=failover,
                  failover_line=failover_line, failover_adapter=failover_adapter,
                  failback=failback, failback_line=failback_line,
                  failback_window=(failback_started, failback_done))


def _logging_state():
    logger = logging.getLogger("payments")
    return logger, list(logger.handlers), logger.level, logger.propagate


def _restore_logging(state) -> None:
    """The handlers configure the shared `payments` logger: undo it."""
    logger, handlers, level, propagate = state
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate
