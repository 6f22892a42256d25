"""What a Route 53 health check's observations mean, read one way by `status` and `dr`.

Route 53 considers an endpoint healthy when more than 18% of its health checkers report it
healthy (Route 53 Developer Guide, "How Amazon Route 53 determines whether a health check is
healthy"). A checker's report is healthy when its status starts with "Success".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HEALTHY_FRACTION = 0.18


def healthy_checkers(observations: Sequence[Mapping[str, Any]]) -> int:
    return sum(str(o.get("StatusReport", {}).get("Status", "")).startswith("Success")
               for o in observations)


def is_healthy(observations: Sequence[Mapping[str, Any]]) -> bool:
    """Healthy as Route 53 decides it; no observation at all is not healthy."""
    return bool(observations) and \
        healthy_checkers(observations) / len(observations) > HEALTHY_FRACTION
