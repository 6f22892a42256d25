"""The runbook's timeline: each step's start, end and outcome, in a JSON file and as a table.

Times are seconds since the runbook first started (`t_start`, `t_end`), on the adapter's clock
(real seconds against AWS; AWS seconds in the local drill), plus the UTC wall time. A resumed
run appends to the same file, so the file tells the whole story of one operation.

A step entry keeps the step's fingerprint (`toolkit.kernel.Step.fingerprint`): a step that an
interrupted run started and never saw end is handed to the resumed run's kernel as the step
that ran last (`resumed()`), so a re-run gives it its polls to show its effect instead of
calling it again.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from toolkit.kernel import Ran

# Entries that are not steps: waits, the resume marker, and how each run ended.
NOT_STEPS = ("wait", "resume")
UNFINISHED = ("running", "interrupted")


@dataclass
class Entry:
    step: str
    region: str
    summary: str
    t_start: float
    t_end: float | None = None
    outcome: str = "running"
    wall: str = ""
    fingerprint: str = ""   # a step's, for the rule for a repeated step across runs

    @property
    def seconds(self) -> float | None:
        return None if self.t_end is None else round(self.t_end - self.t_start, 1)


@dataclass
class Timeline:
    operation: str
    path: Path | None = None
    now: Callable[[], float] = lambda: 0.0
    entries: list[Entry] = field(default_factory=list)
    origin: float = 0.0

    @classmethod
    def open(cls, operation: str, path: Path | None, now: Callable[[], float]) -> "Timeline":
        """A new timeline, or the one in `path` if it belongs to the same operation (resume)."""
        timeline = cls(operation, path, now, origin=now())
        if path and path.exists():
            try:
                saved = json.loads(path.read_text())
            except ValueError:
                saved = {}
            if saved.get("operation") == operation and saved.get("result") != "done":
                timeline.entries = [Entry(**{k: v for k, v in e.items() if k != "seconds"})
                                    for e in saved.get("entries", [])]
                last = max((e.t_end or e.t_start for e in timeline.entries), default=0.0)
                timeline.origin = now() - last
                for entry in timeline.entries:
                    if entry.outcome == "running" and entry.step not in NOT_STEPS:
                        entry.outcome = "interrupted"  # started, never seen ending
                timeline.add("resume", "-", "resumed an interrupted run", "resumed")
        return timeline

    def resumed(self) -> Ran | None:
        """The step an interrupted run started and never saw end, when nothing but waits and
        resumes came after it (a later step or a final outcome settles it)."""
        for entry in reversed(self.entries):
            if entry.step in NOT_STEPS:
                continue
            if entry.outcome in UNFINISHED and entry.fingerprint:
                return Ran(entry.step, entry.summary, entry.fingerprint)
            return None
        return None

    def elapsed(self) -> float:
        return round(self.now() - self.origin, 1)

    def start(self, step: str, region: str, summary: str, fingerprint: str = "") -> Entry:
        if self.entries and self.entries[-1].step == "wait":
            self.entries[-1].t_end = self.elapsed()  # a wait lasts until the next entry
            self.entries[-1].outcome = "waited"
        entry = Entry(step, region, summary, self.elapsed(),
                      wall=datetime.datetime.now(datetime.timezone.utc).isoformat(
                          timespec="seconds"), fingerprint=fingerprint)
        self.entries.append(entry)
        self.save()
        return entry

    def end(self, entry: Entry, outcome: str) -> None:
        entry.t_end, entry.outcome = self.elapsed(), outcome
        self.save()

    def add(self, step: str, region: str, summary: str, outcome: str) -> Entry:
        entry = self.start(step, region, summary)
        self.end(entry, outcome)
        return entry

    def waiting(self, reason: str) -> None:
        """Consecutive waits for the same reason are one entry whose end moves on."""
        last = self.entries[-1] if self.entries else None
        if last and last.step == "wait" and last.summary == reason:
            self.end(last, "waited")
        else:
            self.add("wait", "-", reason, "waiting")

    def to_json(self, result: str = "") -> dict[str, Any]:
        return {"operation": self.operation, "result": result,
                "total_seconds": self.elapsed(),
                "entries": [{**asdict(e), "seconds": e.seconds} for e in self.entries]}

    def save(self, result: str = "") -> None:
        if self.path:
            self.path.write_text(json.dumps(self.to_json(result), indent=2) + "\n")

    def table(self) -> list[str]:
        rows = [f"{'t(s)':>7} {'took(s)':>7}  {'step':<12} {'region':<10} {'outcome':<10} what"]
        for e in self.entries:
            took = "" if e.seconds is None else f"{e.seconds:.1f}"
            rows.append(f"{e.t_start:>7.1f} {took:>7}  {e.step:<12} {e.region:<10} "
                        f"{e.outcome:<10} {e.summary}")
        return rows
