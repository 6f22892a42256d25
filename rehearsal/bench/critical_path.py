"""The sequential remote calls of one request, counted from the calls it made.

A request waits for each call its own thread makes, one after another. When it hands calls to
other threads (the processor's receipt, status item and completion after the commit) and waits
for them together, that is one wait per such group, as long as the longest line of calls one
of those threads made one after another: threads run in parallel, a thread's own calls do not.
So the critical path is counted from who made each call, not from when the calls happened to
run: under CPU load three parallel writes can run one after another without being sequential
in the code (and a time-based count said 4 where the code waits 3 times).

A run of the same database statement on the request's thread, one after another with nothing
else between them, is a poll (the zero-loss wait asks the writer until the standby has the
commit): it counts as one step of the path, and its polls are reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Call:
    kind: str            # "dynamodb", "s3", "database", ...
    what: str            # the operation, or the statement's first words
    start: float
    end: float
    thread: int | None = None  # the thread that made it; None: the request's own thread


def collapse_polls(calls: Sequence[Call]) -> tuple[list[Call], int]:
    """Consecutive calls of the same database statement become one (from the first's start to
    the last's end); returns the calls and how many polls were folded."""
    ordered = sorted(calls, key=lambda c: c.start)
    folded: list[Call] = []
    polls = 0
    for call in ordered:
        last = folded[-1] if folded else None
        if (last is not None and call.kind == "database" and last.kind == "database"
                and call.what == last.what):
            folded[-1] = Call(last.kind, last.what, last.start, max(last.end, call.end),
                              last.thread)
            polls += 1
        else:
            folded.append(call)
    return folded, polls


def sequential_calls(calls: Sequence[Call], request_thread: int | None = None
                     ) -> tuple[int, list[Call], int]:
    """(sequential calls on the critical path, that path, polls folded into it).

    Calls of `request_thread` (or with no thread) are each a step; the calls other threads
    made after one of them, until the next, are one group, costing the most calls any one of
    those threads made."""
    own, polls = collapse_polls([c for c in calls if c.thread in (None, request_thread)])
    others = sorted((c for c in calls if c.thread not in (None, request_thread)),
                    key=lambda c: c.start)
    path: list[Call] = []
    for index, call in enumerate([*own, None]):
        started = own[index - 1].start if index else float("-inf")
        until = call.start if call is not None else float("inf")
        group: dict[int | None, list[Call]] = {}
        for other in others:
            if started <= other.start < until:
                group.setdefault(other.thread, []).append(other)
        if group:
            path.extend(max(group.values(), key=len))
        if call is not None:
            path.append(call)
    return len(path), path, polls
