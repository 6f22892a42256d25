"""One decision kernel for every command that changes AWS: the rollout (`deploy`), the teardown
(`destroy`) and the DR runbook (`dr switchover|failover|failback`).

Each of them is a pure function `decide(observed) -> Decision` and this one loop:

    observe -> decide -> Done, Refuse, Blocked: stop
                         Wait:                  sleep one poll, observe again
                         Step:                  act, observe again

Nothing is remembered between iterations but the last step, so a re-run after any failure or
interruption resumes from what the world holds: a step whose effect is observed is not decided
again. `dry_run` observes and decides once.

One rule for a repeated step: a step decided again right after it ran (the same action with
the same arguments, idempotency tokens aside) gets `settle_polls` polls to show its effect (AWS
APIs are eventually consistent: a describe call may not show a write yet), then the loop stops
with an error naming the step. A step is never run twice in a row. The rule outlives the
process: a caller whose log shows a step started and never seen ending (an interrupted run)
passes it as `resumed`, and the loop treats it as the step that ran last. A step decided again
while the world reports that its last attempt failed (`Step.failure`, e.g. a stack update that
rolled back) stops the loop at once with that failure, instead of settling.

The world raises `StaleState` from `act` when what it was about to change moved since it was
observed (CloudFormation's StaleRequestException): the loop observes again and decides anew.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from toolkit.errors import StaleState

SETTLE_POLLS = 6
# Idempotency tokens (CloudFormation OperationId, ClientRequestToken) are derived from the last
# operation, so a step planned again after its own operation carries a new one: they are not
# part of what a step does.
TOKENS = ("OperationId", "ClientRequestToken")

DONE, REFUSED, BLOCKED, DRY_RUN = "done", "refused", "blocked", "dry-run"
TIMEOUT, STUCK, NO_CONVERGENCE, FAILED = "timeout", "stuck", "no-convergence", "failed"


# --- decisions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One action: `action` names what the world runs (a boto3 method for the rollout and the
    teardown, an adapter method for the runbook), `region` where its API is called, `targets`
    the regions it changes when that is not `region` alone."""
    name: str
    action: str
    region: str
    arguments: Mapping[str, Any]
    summary: str
    targets: tuple[str, ...] = ()
    # What the world shows of this very step's last attempt having failed ("" none seen): read
    # only when the step is decided again right after it ran (or was resumed).
    failure: str = ""

    @property
    def fingerprint(self) -> str:
        """What the step does, as a digest that survives a JSON log: name, action, region,
        targets and arguments (idempotency tokens aside); not its summary or failure."""
        arguments = {k: v for k, v in self.arguments.items() if k not in TOKENS}
        what = [self.name, self.action, self.region, list(self.targets), arguments]
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str)
                              .encode()).hexdigest()[:32]

    def same_as(self, other: Step) -> bool:
        return self.fingerprint == other.fingerprint


@dataclass(frozen=True)
class Ran:
    """A step that ran, as the rule for a repeated step compares it; also what a caller's log
    keeps of a step an interrupted run started and never saw end (`run(resumed=...)`)."""
    name: str
    summary: str
    fingerprint: str

    @classmethod
    def of(cls, step: Step) -> "Ran":
        return cls(step.name, step.summary, step.fingerprint)


@dataclass(frozen=True)
class Wait:
    """Nothing to do but wait for the world (an operation or a move in progress)."""
    reason: str


@dataclass(frozen=True)
class Blocked:
    """Cannot go further yet, for a reason that is not a failure and that waiting will not fix
    (a missing output, a missing config section): stop and say why."""
    name: str
    reason: str


@dataclass(frozen=True)
class Refuse:
    """It would not be safe: stop, change nothing, list every reason."""
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Done:
    summary: str


Decision = Step | Wait | Blocked | Refuse | Done


# --- the loop --------------------------------------------------------------------------------
class World(Protocol):
    def observe(self) -> Any: ...
    def act(self, step: Step) -> Any: ...       # returns a record of what was done
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> float: ...


class Log:
    """What the loop tells its caller as it goes; each method does nothing here."""

    def observed(self, state: Any) -> None: ...
    def waiting(self, reason: str) -> None: ...
    def started(self, step: Step) -> None: ...
    def finished(self, step: Step, record: Any) -> None: ...
    def failed(self, step: Step, error: Exception) -> None: ...
    def stale(self, step: Step, error: StaleState) -> None: ...
    def stopped(self, result: Result) -> None: ...


@dataclass
class Result:
    outcome: str              # one of DONE ... FAILED above
    message: str
    decision: Decision | None = None   # the last decision (dry run: the one that would run)
    reasons: tuple[str, ...] = ()      # a refusal's reasons
    first: Any = None                  # the first and the last observed state
    last: Any = None
    ran: list[tuple[Step, Any]] = field(default_factory=list)  # each step and its record
    error: Exception | None = None     # FAILED: what the step raised

    @property
    def ok(self) -> bool:
        return self.outcome in (DONE, DRY_RUN)

    @property
    def planned(self) -> Step | None:
        return self.decision if self.outcome == DRY_RUN and isinstance(self.decision,
                                                                       Step) else None


def run(world: World, decide: Callable[[Any], Decision], *, log: Log | None = None,
        dry_run: bool = False, timeout: float | None = None, poll: float = 10.0,
        settle_polls: int = SETTLE_POLLS, max_steps: int | None = None,
        resumed: Ran | None = None) -> Result:
    """Observe, decide, act until done, refused, blocked or out of time. `timeout` bounds the
    seconds since the start before another wait or step; `max_steps` the steps (a plan that
    keeps finding work does not converge); `resumed` is a step an interrupted run started.
    Exceptions other than those of `act` (and any KeyboardInterrupt) propagate: the caller's
    error path reports them."""
    log = log or Log()
    started = world.now()
    result = Result(FAILED, "")
    last: Ran | None = resumed   # the step that ran last
    settling = 0

    def stop(outcome: str, message: str, decision: Decision | None = None,
             reasons: tuple[str, ...] = ()) -> Result:
        result.outcome, result.message, result.reasons = outcome, message, reasons
        result.decision = decision if decision is not None else result.decision
        log.stopped(result)
        return result

    while True:
        state = world.observe()
        log.observed(state)
        result.first = state if result.first is None else result.first
        result.last = state
        decision = decide(state)
        result.decision = decision
        if isinstance(decision, Done):
            return stop(DONE, decision.summary)
        if isinstance(decision, Refuse):
            return stop(REFUSED, "refused: " + "; ".join(decision.reasons), reasons=decision.reasons)
        if isinstance(decision, Blocked):
            return stop(BLOCKED, f"{decision.name} blocked: {decision.reason}")
        if dry_run:
            result.outcome = DRY_RUN
            result.message = (f"would run: {decision.summary}" if isinstance(decision, Step)
                              else f"would wait: {decision.reason}")
            return result
        if isinstance(decision, Step) and last is not None and \
                decision.fingerprint == last.fingerprint:
            if decision.failure:
                return stop(FAILED, f"{last.name} failed: {decision.failure} ({last.summary})")
            if settling >= settle_polls:
                ran = "started by an interrupted run" if last is resumed else "ran"
                return stop(STUCK, f"{last.name}: {ran} but the world does not show its "
                            f"effect after {settle_polls} polls ({last.summary}); stopping "
                            "instead of running it again")
            settling += 1
            decision = Wait(f"waiting for {last.name} to show its effect")
        if timeout is not None and world.now() - started > timeout:
            what = decision.reason if isinstance(decision, Wait) else decision.summary
            return stop(TIMEOUT, f"timed out after {timeout:.0f}s; next: {what}")
        if isinstance(decision, Wait):
            log.waiting(decision.reason)
            world.sleep(poll)
            continue
        if max_steps is not None and len(result.ran) >= max_steps:
            return stop(NO_CONVERGENCE, f"no convergence after {max_steps} steps; next would "
                        f"be: {decision.summary}")
        log.started(decision)
        try:
            record = world.act(decision)
        except StaleState as stale:
            log.stale(decision, stale)
            last, settling = None, 0
            continue
        except Exception as error:  # noqa: BLE001 (reported with the step, then re-raised by
            log.failed(decision, error)  # a caller whose error path needs the exception)
            result.error = error
            return stop(FAILED, f"{decision.name} failed: {error}")
        log.finished(decision, record)
        result.ran.append((decision, record))
        last, settling = Ran.of(decision), 0
