"""The sequential remote calls of one request, counted from the calls it made.

A request's critical path is the longest chain of calls where each starts after the previous
one ended: calls that overlap ran in parallel and cost one wait, not two. Given the calls'
intervals, the longest such chain is found greedily by earliest end (the classic interval
scheduling argument: taking the call that frees the request first never shortens the chain).

A run of the same database statement, one after another with nothing else between them, is a
poll (the zero-loss wait asks the writer until the standby has the commit): it counts as one
step of the path, and its polls are reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Call:
    kind: str            # "dynamodb", "s3", "database", ...
    what: str            # the operation, or the statement's first words
    start: float
    end: float


def chain(calls: Iterable[Call]) -> list[Call]:
    """The longest chain of non-overlapping calls (earliest end first)."""
    path: list[Call] = []
    free_at = float("-inf")
    for call in sorted(calls, key=lambda c: (c.end, c.start)):
        if call.start >= free_at:
            path.append(call)
            free_at = call.end
    return path


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
            folded[-1] = Call(last.kind, last.what, last.start, max(last.end, call.end))
            polls += 1
        else:
            folded.append(call)
    return folded, polls


def sequential_calls(calls: Sequence[Call]) -> tuple[int, list[Call], int]:
    """(sequential calls on the critical path, that path, polls folded into it)."""
    folded, polls = collapse_polls(calls)
    path = chain(folded)
    return len(path), path, polls
