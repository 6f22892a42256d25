"""Time left in this invocation, so a request ends in a 503 before Lambda kills it.

Every dependency call has a worst case (connect + read timeouts, times attempts, plus
retry back-off). Before each step the service asks for that worst case; when less time is
left, it stops with :class:`DependencyUnavailable` (a 503 with ``Retry-After``) instead of
being cut off mid-step by the function timeout, which API Gateway would turn into a bare
5xx with no ``Retry-After``. Stopping between steps is always safe: the ledger commit is
atomic, and a retry with the same key finishes whatever a previous attempt left undone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .errors import DependencyUnavailable

# Time kept back for logging and the response after the last step.
MARGIN_SECONDS = 0.5


class Deadline:
    def __init__(self, remaining_seconds: Callable[[], float]) -> None:
        self._remaining = remaining_seconds

    @classmethod
    def of(cls, context: Any, default_seconds: float) -> Deadline:
        """From the Lambda context; ``default_seconds`` where there is none (a local call)."""
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_ms is not None:
            return cls(lambda: remaining_ms() / 1000)
        end = time.monotonic() + default_seconds
        return cls(lambda: end - time.monotonic())

    def remaining(self) -> float:
        return self._remaining() - MARGIN_SECONDS

    def require(self, dependency: str, worst_case_seconds: float) -> None:
        """Raise unless a step whose worst case is ``worst_case_seconds`` fits in the time left."""
        left = self.remaining()
        if left < worst_case_seconds:
            raise DependencyUnavailable(
                dependency, f"{left:.1f}s left, a call may take {worst_case_seconds:.1f}s"
            )
