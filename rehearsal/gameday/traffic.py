"""The drill's clock and its traffic: real requests on real threads, paced by a simulated
clock.

Time has two scales, and each number says which:
- AWS seconds, simulated (`Clock.now()`): the scenario, Route 53's probes and TTLs, AWS's
  stated durations, the clients' timeouts, back-off and patience. One simulated second takes
  at least `wall_per_second` of wall time, and does not end while a request has been running
  for more than `STALLED` wall seconds: every execution environment runs on this machine's two
  cores, where in Lambda each has its own, so a burst of cold starts takes seconds here; the
  simulation waits for it rather than counting this machine's slowness as the system's.
  Requests of one second still overlap the next, as real traffic does, so a region lost
  mid-second loses requests in flight and answers just given.
- wall time, real: everything the real components do. The handlers, PostgreSQL, the writer
  endpoint's round trip, the replication link's delay and the injected AWS latencies run in
  real milliseconds, and the latencies reported (`ack_p50_ms`) are wall milliseconds.
Because a simulated second is shorter than a real one, payments arrive faster in wall time
than their simulated rate says (20 per simulated second at 200 ms each is 100 per wall second),
so more of them fit in the replication delay than at the same rate on AWS: the drill is
harsher than reality there, never kinder.

`Traffic` sends each attempt the clients decide on (clients.py) on a thread of its own, through
the API of the region the client's DNS cache names (the region's real handler, see
functions.py), and hands the answers back to the clients on the simulation's own thread, so the
clients' bookkeeping stays single-threaded.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from rehearsal.gameday.clients import NO_CONNECTION, Attempt, Clients, Order
from rehearsal.gameday.functions import Function
from rehearsal.gameday.local_world import AnswerLost, RegionDown, World, http_event

WORKERS = 400
STALLED = 0.5       # wall seconds: a request running longer holds the simulated clock


class Clock:
    def __init__(self, wall_per_second: float):
        self.wall_per_second = wall_per_second
        self.t = 0
        self._tick_wall = time.perf_counter()

    def start_second(self) -> None:
        self.t += 1
        self._tick_wall = time.perf_counter()

    def now(self) -> float:
        """AWS seconds: the current second plus the part of its wall time already spent."""
        spent = (time.perf_counter() - self._tick_wall) / self.wall_per_second
        return self.t + min(0.999, spent)

    def wall_at(self, offset: float) -> float:
        """The wall time at `offset` (0-1) into the current second."""
        return self._tick_wall + offset * self.wall_per_second


class Traffic:
    def __init__(self, world: World, clients: Clients, clock: Clock,
                 writer: Callable[[], str]):
        self.world, self.clients, self.clock, self._writer = world, clients, clock, writer
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="client")
        self._answers: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self.running: set[int] = set()            # id() of attempts the API is working on
        self._attempts: dict[int, Attempt] = {}
        self.to_verify: list[Attempt] = []
        self.verified: dict[str, bool | None] = {}

    def send(self, order: Order) -> Attempt:
        """The client's next attempt: refused at once by a region that is down (no thread for
        an answer that needs no work), else run by the region's function on a thread of its
        own."""
        attempt = self.clients.send(order, self.clock.now(), time.perf_counter())
        function = self.world.regions[attempt.region].functions["process"]
        if not function.up:
            return self._answer_now(order, attempt, NO_CONNECTION)
        with self._lock:
            self.running.add(id(attempt))
            self._attempts[id(attempt)] = attempt
        self._pool.submit(self._post, order, attempt, function)
        return attempt

    def _answer_now(self, order: Order, attempt: Attempt, status: int) -> Attempt:
        attempt.finished_wall = time.perf_counter()
        self._deliver(order, attempt, status, {}, "")
        return attempt

    def in_flight(self, region: str) -> list[Attempt]:
        """Attempts the API of `region` has started and not finished, now."""
        with self._lock:
            return [self._attempts[i] for i in self.running
                    if self._attempts[i].region == region]

    def wait_until(self, wall: float) -> None:
        """Hand the answers that arrive until `wall` to their clients."""
        while True:
            left = wall - time.perf_counter()
            try:
                answer = self._answers.get(timeout=left) if left > 0 else \
                    self._answers.get_nowait()
            except queue.Empty:
                return
            self._deliver(*answer)

    def settle(self, timeout: float) -> None:
        """Wait (at most `timeout` wall seconds) until no request has been running for more
        than `STALLED`, delivering answers meanwhile."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and self._stalled(time.perf_counter() - STALLED):
            self.wait_until(min(deadline, time.perf_counter() + 0.005))

    def _stalled(self, before: float) -> bool:
        with self._lock:
            return any(self._attempts[i].sent_wall < before for i in self.running)

    def drain(self, timeout: float) -> None:
        """Wait for every request still running (at most `timeout` wall seconds), and deliver
        the answers."""
        deadline = time.perf_counter() + timeout
        while self.running and time.perf_counter() < deadline:
            self.wait_until(min(deadline, time.perf_counter() + 0.005))
        self.wait_until(time.perf_counter())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def verify(self) -> None:
        """The 201s of the last simulated second, looked up on the writer (one query): a 201
        whose row is not there is a false success."""
        batch, self.to_verify = self.to_verify, []
        if not batch:
            return
        keys = [a.key for a in batch]
        try:
            rows = self.world.sql(self._writer(),
                                  "SELECT idempotency_key, payment_id::text FROM payments "
                                  "WHERE idempotency_key = ANY(:keys)", keys=keys)
        except Exception:  # noqa: BLE001: the writer is down or moving: not verifiable now
            self.verified.update({key: None for key in keys})
            return
        found = dict(rows)
        for attempt in batch:
            self.verified[attempt.key] = found.get(attempt.key) == attempt.payment_id

    # --- on the senders' threads -----------------------------------------------------------
    def _post(self, order: Order, attempt: Attempt, function: Function) -> None:
        event = http_event("POST", "/process", json.dumps(order.body),
                           {"content-type": "application/json", "idempotency-key": attempt.key})
        answer: tuple[int, dict[str, str], str] | None
        try:
            response = function.invoke(event)
            answer = (response["statusCode"], _lower(response.get("headers") or {}),
                      response.get("body") or "")
        except AnswerLost:
            answer = None  # the client hears nothing: its timeout will tell it
        except RegionDown:
            answer = (NO_CONNECTION, {}, "")
        except Exception as error:  # noqa: BLE001: a crash of the API is a 5xx, reported
            answer = (500, {}, json.dumps({"error": {"code": type(error).__name__}}))
        attempt.finished_wall = time.perf_counter()
        with self._lock:
            self.running.discard(id(attempt))
            self._attempts.pop(id(attempt), None)
        if answer is not None:
            self._answers.put((order, attempt, *answer))

    def _deliver(self, order: Order, attempt: Attempt, status: int,
                 headers: dict[str, str], text: str) -> None:
        self.clients.answered(order, attempt, status, headers, text, self.clock.now())
        if status == 201 and order.paid is attempt:
            self.to_verify.append(attempt)


def _lower(headers: dict[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}
