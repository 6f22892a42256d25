"""Zero-loss acknowledgements: a 201 means the payment is stored in both regions.

Aurora global replication is asynchronous, so a commit the writer acknowledged can be lost in
an unplanned failover. With the mode on (``ZERO_LOSS=on``), the processor answers 201 only
once the other region's storage has the commit: right after the commit it reads
``replication_progress()`` (migration 005) once for ``written_lsn``, then polls until
``confirmed_lsn`` reaches it. Each poll is one statement on the payment connection that just
committed; the wait ends at ``ZERO_LOSS_WAIT_MS`` or when the request's time budget
(``payments.deadline``) leaves no room for another poll. Past it the payment is recorded but
not yet durable off-region: the answer is 503 with ``Retry-After``, and the retry with the same
key waits again (its own commit, a no-op ``ON CONFLICT`` update, is at or after the row's).

**A DR feature must never take the home region down.** When the recovery region is lost or
far behind, every wait would end in a 503. After ``ZERO_LOSS_DEGRADE_AFTER_SECONDS`` of
consecutive unconfirmed waits this container degrades to regional durability. A streak starts
with an unconfirmed wait, a confirmation ends it, and it starts again when its last unconfirmed
wait is older than that time: a container idle for longer does not carry one slow
confirmation into its next payment. Degraded, it answers 201 right after the commit, with the
response header ``x-payments-durability: regional``, and its request log lines carry
``durability_mode: regional`` (a metric filter counts them; the alarm aggregates every
container). While degraded, one payment per ``ZERO_LOSS_DEGRADE_AFTER_SECONDS`` is a probe: it
waits as in zero-loss mode, and a confirmed probe returns the container to zero-loss. The same
time decides both directions, so a container neither flaps on one slow confirmation nor keeps
regional durability long after replication is back.

A poll that fails in any way (the database unreachable, an error, a position it cannot read)
is no confirmation: the wait ends unconfirmed, as if the budget had run out. The commit stands;
a failed poll never turns a recorded payment into a 500.

Each Lambda container decides on its own (module state, :class:`payments.wiring.Container`; a
container serves one request at a time). A container starts in zero-loss mode: during an
outage of the recovery region a new container answers 503 for its first
``ZERO_LOSS_DEGRADE_AFTER_SECONDS`` (clients retry the same key after ``Retry-After``, which
keeps the streak going), then regional. Every container that receives payments converges
within that time plus one wait, in both directions; one whose payments (retries included) come
further apart than that time answers each of them 503 until one is confirmed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pg8000.exceptions import DatabaseError

from . import logs
from .database import sqlstate
from .deadline import Deadline
from .errors import DependencyUnavailable
from .ledger import ReplicationProgress, UnreadablePosition

log = logs.get_logger("durability")

HEADER = "x-payments-durability"
CROSS_REGION = "cross-region"  # the other region's storage has the commit
REGIONAL = "regional"  # degraded: stored in the writer's region only
OFF = "off"  # the mode is off: acknowledged at the commit, as Aurora replicates asynchronously
NOT_YET = "not-yet"  # recorded, not confirmed within the wait: a 503, never a header value

# Polls back off from 1 ms to 20 ms. Locally a standby flushes within a millisecond; Aurora's
# cross-region storage lag is typically hundreds of milliseconds ("Aurora global databases",
# AWS Prescriptive Guidance: typically under one second). A 20 ms cap adds at most 20 ms to
# that lag and keeps one waiting request at no more than 50 reads a second on the writer.
FIRST_POLL_SECONDS = 0.001
MAX_POLL_SECONDS = 0.020


@dataclass(frozen=True)
class DurabilitySettings:
    zero_loss: bool
    wait_seconds: float
    degrade_after_seconds: float
    poll_worst_case_seconds: float  # one statement on the payment connection, no retry


class Durability:
    """The zero-loss wait and this container's mode (cross-region, regional or off)."""

    def __init__(self, settings: DurabilitySettings, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._settings = settings
        self._clock, self._sleep = clock, sleep
        self._degraded = False
        self._unconfirmed_since: float | None = None  # the streak's first unconfirmed wait
        self._last_unconfirmed = 0.0  # when the streak's last unconfirmed wait ended
        self._last_probe = 0.0

    @property
    def mode(self) -> str:
        """What a 201 from this container means now (the header on every other response)."""
        if not self._settings.zero_loss:
            return OFF
        return REGIONAL if self._degraded else CROSS_REGION

    def after_commit(self, progress: Callable[[], ReplicationProgress],
                     deadline: Deadline) -> str:
        """The durability of a payment just committed: CROSS_REGION, REGIONAL, OFF, or NOT_YET
        (recorded, not confirmed: answer 503). ``progress`` reads ``replication_progress()``
        once on the payment connection."""
        if not self._settings.zero_loss:
            return OFF
        now = self._clock()
        if self._degraded:
            if now - self._last_probe < self._settings.degrade_after_seconds:
                return REGIONAL
            self._last_probe = now
            if self._wait(progress, deadline):
                self._recover()
                return CROSS_REGION
            return REGIONAL
        if self._wait(progress, deadline):
            self._unconfirmed_since = None
            return CROSS_REGION
        degrade_after = self._settings.degrade_after_seconds
        if self._unconfirmed_since is None or now - self._last_unconfirmed > degrade_after:
            self._unconfirmed_since = now  # a new streak of unconfirmed waits
        self._last_unconfirmed = self._clock()
        if self._last_unconfirmed - self._unconfirmed_since >= degrade_after:
            self._degrade()
            return REGIONAL
        return NOT_YET

    def _wait(self, progress: Callable[[], ReplicationProgress], deadline: Deadline) -> bool:
        """Poll until the other region confirms the position written at the commit, or the
        budget ends. A poll that fails in any way is no confirmation: the wait ends there (the
        commit itself stands)."""
        started = self._clock()
        budget = min(self._settings.wait_seconds,
                     deadline.remaining() - self._settings.poll_worst_case_seconds)
        written: str | None = None
        delay = FIRST_POLL_SECONDS
        while budget > 0:
            try:
                seen = progress()
                written = written or seen.written_lsn
                if seen.covers(written):
                    return True
            except Exception as error:  # any failure of a poll is no confirmation, never a 500
                _log_failed_poll(error)
                return False
            elapsed = self._clock() - started
            if elapsed + delay >= budget:
                return False
            self._sleep(delay)
            delay = min(2 * delay, MAX_POLL_SECONDS)
        return False  # not even one poll fits in what is left of the request

    def _degrade(self) -> None:
        assert self._unconfirmed_since is not None
        unconfirmed = self._clock() - self._unconfirmed_since
        self._degraded, self._last_probe = True, self._clock()
        log.warning(
            "zero-loss: the recovery region confirmed no commit for "
            f"{unconfirmed:.1f} s; this container now acknowledges with regional durability",
            extra={"fields": {"durability_transition": "degraded",
                              "unconfirmed_seconds": round(unconfirmed, 1)}})

    def _recover(self) -> None:
        self._degraded, self._unconfirmed_since = False, None
        log.warning(
            "zero-loss: the recovery region confirmed a commit again; this container "
            "acknowledges with cross-region durability",
            extra={"fields": {"durability_transition": "recovered"}})


def _log_failed_poll(error: Exception) -> None:
    """What failed, without the database's message text: the poll sends no parameters, but an
    error's text is not this module's to vouch for. The SQLSTATE, the dependency's reason or a
    position the wait could not read (``lsn_position``'s refusal quotes only that) say enough."""
    fields: dict[str, str] = {"error": type(error).__name__}
    if isinstance(error, DependencyUnavailable):
        fields["reason"] = error.reason
    elif isinstance(error, DatabaseError):
        fields["sqlstate"] = sqlstate(error)
    elif isinstance(error, UnreadablePosition):
        fields["reason"] = str(error)
    log.warning("zero-loss: a replication_progress() poll failed; the wait ends unconfirmed",
                extra={"fields": fields})
