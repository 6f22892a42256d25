"""The zero-loss wait and the degrade rule (payments.durability) on a simulated clock: what is
read, when the wait stops, when a container degrades and when it returns. The same rules
against a real standby: tests/dr/test_zero_loss.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from payments.deadline import Deadline
from payments.durability import (
    CROSS_REGION, MAX_POLL_SECONDS, NOT_YET, OFF, REGIONAL, Durability, DurabilitySettings,
)
from payments.errors import DependencyUnavailable
from payments.ledger import ReplicationProgress
from pg8000.exceptions import DatabaseError

WAIT, DEGRADE_AFTER, POLL_WORST = 1.0, 10.0, 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Standby:
    """What replication_progress() answers: the writer's position, and what the other region
    confirmed (None: nothing streams). Each read costs `read_seconds` of the clock."""

    def __init__(self, clock: Clock, *, lag_seconds: float | None, read_seconds: float = 0.0):
        self.clock, self.lag, self.read_seconds = clock, lag_seconds, read_seconds
        self.reads = 0
        self.written = 0x1_0000_0000
        self.committed_at = clock.now

    def commit(self) -> None:
        self.written += 0x100
        self.committed_at = self.clock.now

    def __call__(self) -> ReplicationProgress:
        self.reads += 1
        self.clock.now += self.read_seconds
        confirmed = None
        if self.lag is not None:
            caught_up = self.clock.now - self.committed_at >= self.lag
            confirmed = self.written if caught_up else self.written - 0x100
        return ReplicationProgress(lsn(self.written),
                                   None if confirmed is None else lsn(confirmed))


def lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def durability(clock: Clock, zero_loss: bool = True) -> Durability:
    return Durability(DurabilitySettings(zero_loss, WAIT, DEGRADE_AFTER, POLL_WORST),
                      clock=clock, sleep=clock.sleep)


def plenty(clock: Clock) -> Deadline:
    return Deadline(lambda: 14.0)


def pay(state: Durability, standby: Standby, deadline: Deadline | None = None) -> str:
    standby.commit()
    return state.after_commit(standby, deadline or plenty(standby.clock))


def test_mode_off_reads_nothing_and_says_off() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=0.0)
    state = durability(clock, zero_loss=False)
    assert (pay(state, standby), state.mode, standby.reads) == (OFF, OFF, 0)


def test_a_commit_already_confirmed_costs_one_read() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=0.0)
    state = durability(clock)
    assert (pay(state, standby), state.mode, standby.reads, clock.sleeps) == (
        CROSS_REGION, CROSS_REGION, 1, [])


def test_polls_back_off_to_20_ms_and_stop_with_the_budget() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)  # nothing streams: never confirmed
    state = durability(clock)
    assert pay(state, standby) == NOT_YET
    assert clock.sleeps[:6] == pytest.approx([0.001, 0.002, 0.004, 0.008, 0.016, 0.020])
    assert max(clock.sleeps) == MAX_POLL_SECONDS
    assert sum(clock.sleeps) <= WAIT
    assert WAIT - sum(clock.sleeps) < MAX_POLL_SECONDS  # it used its budget
    assert standby.reads == len(clock.sleeps) + 1


def test_the_wait_ends_when_the_standby_confirms() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=0.1)
    state = durability(clock)
    assert pay(state, standby) == CROSS_REGION
    assert 0.1 <= sum(clock.sleeps) < 0.1 + MAX_POLL_SECONDS


def test_the_wait_leaves_room_for_its_last_poll_in_the_request_budget() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)
    state = durability(clock)
    left = 5.3  # a slow request: 0.3 s above one poll's worst case
    assert pay(state, standby, Deadline(lambda: left + 0.5)) == NOT_YET  # + the margin
    assert sum(clock.sleeps) <= 0.3
    standby.reads = 0
    assert pay(state, standby, Deadline(lambda: POLL_WORST)) == NOT_YET
    assert standby.reads == 0, "no poll may start without time for its worst case"


@pytest.mark.parametrize("failure", ["unavailable", "sqlstate", "no_primary_row", "malformed"])
def test_a_poll_that_fails_in_any_way_is_no_confirmation(
    failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only an unreachable database: an error with any SQLSTATE, a NULL written position
    (no primary row) or one the wait cannot read. Escaping, each would turn a committed payment
    into a 500 and release its claim."""
    clock = Clock()
    state = durability(clock)

    def progress() -> ReplicationProgress:
        if failure == "unavailable":
            raise DependencyUnavailable("database", "connection failed: OSError")
        if failure == "sqlstate":
            raise DatabaseError({"C": "XX000", "M": "internal error at 4111111111111111"})
        if failure == "no_primary_row":
            return ReplicationProgress(None, "0/5")  # type: ignore[arg-type]
        return ReplicationProgress("0/5", "five")

    assert state.after_commit(progress, plenty(clock)) == NOT_YET
    assert state.mode == CROSS_REGION
    (line,) = [r for r in caplog.records if "poll failed" in r.getMessage()]
    assert "4111111111111111" not in line.getMessage() + str(line.fields)  # type: ignore
    expected = {"unavailable": "reason", "sqlstate": "sqlstate", "no_primary_row": "reason",
                "malformed": "reason"}[failure]
    assert expected in line.fields  # type: ignore[attr-defined]


def test_a_poll_failing_on_and_on_degrades_like_a_lost_region() -> None:
    clock = Clock()
    state = durability(clock)

    def failing() -> ReplicationProgress:
        raise DatabaseError({"C": "XX000", "M": "internal error"})

    verdicts = []
    while not verdicts or verdicts[-1] != REGIONAL:
        verdicts.append(state.after_commit(failing, plenty(clock)))
        clock.now += 1.0
        assert len(verdicts) < 100
    assert set(verdicts[:-1]) == {NOT_YET} and clock.now - 100.0 >= DEGRADE_AFTER


def degrade(state: Durability, standby: Standby, clock: Clock) -> list[tuple[float, str]]:
    """Payments every 0.5 s until the state answers REGIONAL: (time since the first, verdict)."""
    started, seen = clock.now, []
    while not seen or seen[-1][1] != REGIONAL:
        seen.append((clock.now - started, pay(state, standby)))
        clock.now += 0.5
        assert len(seen) < 100
    return seen


def transitions(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [record.fields for record in caplog.records  # type: ignore[attr-defined]
            if "durability_transition" in getattr(record, "fields", {})]


def test_a_container_degrades_after_the_configured_time_without_any_confirmation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=0.0)
    state = durability(clock)
    assert pay(state, standby) == CROSS_REGION
    standby.lag = None  # the recovery region is lost
    seen = degrade(state, standby, clock)
    *before, (at, last) = seen
    assert {verdict for _, verdict in before} == {NOT_YET}
    # Degraded only once DEGRADE_AFTER has passed since the first unconfirmed wait began.
    assert before[-1][0] + WAIT < DEGRADE_AFTER <= at + WAIT + MAX_POLL_SECONDS
    assert state.mode == REGIONAL
    reads = standby.reads
    assert pay(state, standby) == REGIONAL  # between probes: no read, no wait
    assert standby.reads == reads
    (transition,) = transitions(caplog)
    assert transition["durability_transition"] == "degraded"
    assert transition["unconfirmed_seconds"] >= DEGRADE_AFTER


def test_one_confirmation_resets_the_degrade_clock() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)
    state = durability(clock)
    assert pay(state, standby) == NOT_YET
    clock.now += DEGRADE_AFTER - 2
    standby.lag = 0.0
    assert pay(state, standby) == CROSS_REGION
    standby.lag = None
    clock.now += 3
    assert pay(state, standby) == NOT_YET, "the earlier unconfirmed wait no longer counts"


def test_a_degraded_container_probes_and_returns_to_zero_loss_on_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)
    state = durability(clock)
    degrade(state, standby, clock)
    caplog.clear()
    clock.now += DEGRADE_AFTER  # the next payment is a probe: it waits, unconfirmed
    reads = standby.reads
    assert pay(state, standby) == REGIONAL and standby.reads > reads
    standby.lag = 0.05  # replication is back
    assert pay(state, standby) == REGIONAL  # probes only once per DEGRADE_AFTER
    clock.now += DEGRADE_AFTER
    assert pay(state, standby) == CROSS_REGION
    assert state.mode == CROSS_REGION
    (transition,) = transitions(caplog)
    assert transition["durability_transition"] == "recovered"


def test_two_isolated_slow_confirmations_far_apart_do_not_degrade() -> None:
    """Unconfirmed waits count towards the degrade time only while consecutive: a streak
    whose last unconfirmed wait is older than the degrade time starts again."""
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)
    state = durability(clock)
    assert pay(state, standby) == NOT_YET      # one blip
    clock.now += 20 * DEGRADE_AFTER            # a quiet container: no payment at all
    assert pay(state, standby) == NOT_YET      # a second blip, 1 s of non-confirmation
    assert state.mode == CROSS_REGION


def test_unconfirmed_waits_closer_than_the_degrade_time_are_one_streak() -> None:
    """The other direction: gaps just under the degrade time keep the streak, so a container
    whose payments are sparse still degrades once the streak is long enough."""
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)
    state = durability(clock)
    started = clock.now
    assert pay(state, standby) == NOT_YET
    clock.now += DEGRADE_AFTER - 0.5           # just within the streak
    assert pay(state, standby) == REGIONAL
    assert clock.now - started >= DEGRADE_AFTER


def test_a_gap_longer_than_the_degrade_time_starts_a_new_streak() -> None:
    clock = Clock()
    standby = Standby(clock, lag_seconds=None)
    state = durability(clock)
    assert pay(state, standby) == NOT_YET      # waits 1 s
    clock.now += DEGRADE_AFTER + 0.5           # just over: the first wait no longer counts
    assert pay(state, standby) == NOT_YET      # a new streak: 1 s long
    clock.now += DEGRADE_AFTER - 1             # within it: 10 s + this wait
    assert pay(state, standby) == REGIONAL


@pytest.mark.parametrize("confirmed, expected", [
    (None, False), ("0/FF", False), ("1/0", True), ("1/1", True), ("2/0", True),
])
def test_a_position_is_covered_only_by_a_confirmed_one_at_or_after_it(
    confirmed: str | None, expected: bool,
) -> None:
    assert ReplicationProgress("9/0", confirmed).covers("1/0") is expected


def test_positions_compare_as_numbers_not_text() -> None:
    # "A/0" > "9/FFFFFFFF" numerically; as text "A" > "9" too, but "10/0" < "9/0" as text.
    assert ReplicationProgress("10/0", "10/0").covers("9/FFFFFFFF")


Reader = Callable[[], ReplicationProgress]
