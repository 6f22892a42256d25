"""The runbook on the decision kernel (`toolkit/kernel.py`): observe -> decide -> act, until
done, refused or out of time, with the kernel's one rule for a repeated step. The runbook's
timeline is the kernel's log: each step's start, end and outcome, each wait, and how it ended.

The adapter (`AwsAdapter`, or the drill's `LocalAdapter`) is the only thing that touches the
world; `decide` is one of the pure runbook functions with its arguments bound.
"""

from __future__ import annotations

from typing import Any, Callable

from runbook.state import DrState
from runbook.timeline import Entry, Timeline
from toolkit import kernel
from toolkit.kernel import Decision, Step


class TimelineLog(kernel.Log):
    def __init__(self, timeline: Timeline):
        self.timeline = timeline
        self.entry: Entry | None = None

    def waiting(self, reason: str) -> None:
        self.timeline.waiting(reason)

    def started(self, step: Step) -> None:
        self.entry = self.timeline.start(step.name, step.region, step.summary,
                                         step.fingerprint)

    def finished(self, step: Step, record: Any) -> None:
        self.timeline.end(self.entry, "ok")

    def failed(self, step: Step, error: Exception) -> None:
        self.timeline.end(self.entry, f"error: {type(error).__name__}")

    def stopped(self, result: kernel.Result) -> None:
        if result.error is None:  # a step that raised says so in its own entry
            summary = "; ".join(result.reasons) if result.reasons else result.message
            self.timeline.add(result.outcome, "-", summary, result.outcome)
        self.timeline.save(result.outcome)


def run(adapter: kernel.World, decide: Callable[[DrState], Decision], timeline: Timeline, *,
        dry_run: bool = False, timeout: float = 3600.0, poll: float = 10.0) -> kernel.Result:
    return kernel.run(adapter, decide, log=TimelineLog(timeline), dry_run=dry_run,
                      timeout=timeout, poll=poll, resumed=timeline.resumed())


def result_json(result: kernel.Result) -> dict[str, Any]:
    """The run's outcome for `--output json`: what happened, why, the next step of a dry run,
    and the last state seen."""
    step = result.planned
    return {"outcome": result.outcome, "message": result.message,
            "reasons": list(result.reasons),
            "next_step": None if step is None else {
                "name": step.name, "action": step.action, "region": step.region,
                "arguments": dict(step.arguments), "summary": step.summary},
            "state": result.last.to_json() if result.last else None}
