"""observe -> decide -> act, until done, refused, or out of time.

The adapter (`Adapter`) is the only thing that touches the world; `decide` is one of the pure
runbook functions with its arguments bound. After an action the loop waits one poll before it
observes again; a step decided again right after it ran is given `SETTLE_POLLS` polls to show
its effect (AWS APIs are eventually consistent) before the loop gives up, so an action is never
fired twice in a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from runbook.state import Decision, Done, DrState, Refuse, Step, Wait
from runbook.timeline import Timeline

SETTLE_POLLS = 6


class Adapter(Protocol):
    def observe(self) -> DrState: ...
    def act(self, step: Step) -> None: ...
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> float: ...


@dataclass
class Result:
    outcome: str                  # done | refused | timeout | dry-run | failed
    message: str
    reasons: tuple[str, ...] = ()
    first: DrState | None = None
    last: DrState | None = None
    planned: Step | None = None   # dry run: the step that would run next
    seen: list[DrState] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("done", "dry-run")

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "message": self.message, "reasons": list(self.reasons),
                "next_step": None if self.planned is None else {
                    "name": self.planned.name, "action": self.planned.action,
                    "region": self.planned.region, "arguments": dict(self.planned.arguments),
                    "summary": self.planned.summary},
                "state": self.last.to_json() if self.last else None}


def run(adapter: Adapter, decide: Callable[[DrState], Decision], timeline: Timeline, *,
        dry_run: bool = False, timeout: float = 3600.0, poll: float = 10.0,
        on_state: Callable[[DrState], None] = lambda s: None) -> Result:
    started = adapter.now()
    last_step: Step | None = None
    settle = 0
    result = Result("failed", "")
    while True:
        state = adapter.observe()
        on_state(state)
        result.first = result.first or state
        result.last = state
        decision = decide(state)
        if isinstance(decision, Done):
            timeline.add("done", "-", decision.summary, "done")
            result.outcome, result.message = "done", decision.summary
            timeline.save("done")
            return result
        if isinstance(decision, Refuse):
            timeline.add("refused", "-", "; ".join(decision.reasons), "refused")
            result.outcome, result.reasons = "refused", decision.reasons
            result.message = "refused: " + "; ".join(decision.reasons)
            timeline.save("refused")
            return result
        if dry_run:
            result.outcome = "dry-run"
            if isinstance(decision, Step):
                result.planned, result.message = decision, f"would run: {decision.summary}"
            else:
                result.message = f"would wait: {decision.reason}"
            return result
        if adapter.now() - started > timeout:
            reason = decision.reason if isinstance(decision, Wait) else decision.summary
            timeline.add("timeout", "-", f"gave up after {timeout:.0f}s; last: {reason}",
                         "timeout")
            result.outcome, result.message = "timeout", f"timed out waiting: {reason}"
            timeline.save("timeout")
            return result
        if isinstance(decision, Step) and decision == last_step and settle < SETTLE_POLLS:
            settle += 1
            decision = Wait(f"waiting for {decision.name} to take effect")
        if isinstance(decision, Wait):
            timeline.waiting(decision.reason)
            adapter.sleep(poll)
            continue
        entry = timeline.start(decision.name, decision.region, decision.summary)
        try:
            adapter.act(decision)
        except Exception as error:
            timeline.end(entry, f"error: {type(error).__name__}")
            timeline.save("failed")
            result.outcome, result.message = "failed", f"{decision.name} failed: {error}"
            return result
        timeline.end(entry, "ok")
        last_step, settle = decision, 0
        adapter.sleep(poll)
