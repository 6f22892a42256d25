"""Detection of primary account numbers (PANs) in request data.

The API takes vault tokens only. A string holding 13 to 19 digits (optionally
grouped by spaces or dashes, as people type them) that passes the Luhn check is
treated as a card number and the request is refused before anything is stored
or logged (PCI DSS requirement 3: do not store PAN where it is not needed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

REDACTED_KEY = "<redacted>"
"""Stands in a reported path for an object key that itself looks like a PAN."""

_CANDIDATE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def paths_with_card_numbers(document: Any) -> Iterator[str]:
    """JSON paths (``source.token``) of every key or value that looks like a PAN.

    A key that looks like a PAN is reported as :data:`REDACTED_KEY`, so the
    path itself never carries the number. Iterative rather than recursive: the
    input is untrusted and may be nested as deeply as the JSON parser allowed.
    """
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                suspicious_key = contains_card_number(key)
                name = REDACTED_KEY if suspicious_key else key
                child_path = f"{path}.{name}" if path else name
                if suspicious_key:
                    yield child_path
                stack.append((child_path, child))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(value))
        elif _is_scalar(value) and contains_card_number(str(value)):
            yield path


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, Decimal)) and not isinstance(value, bool)
