"""The command line's own checks: a parser whose errors go through the CLI's one error path,
and numbers that are finite and in range.

argparse prints its usage text and exits 2 on a bad command line, outside any error path: with
`--output json` that left no JSON document. `Parser.error` raises `CommandLineError` instead
(a UsageError: exit 2, the one error shape), with the usage line as its detail. `float()` takes
"nan", "inf" and negatives: a `--max-lag-ms nan` made every lag comparison false (no lag check),
`--timeout nan` never timed out, `--poll -1` crashed in sleep(); `number()` refuses them.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

from toolkit.errors import UsageError


class CommandLineError(UsageError):
    def __init__(self, message: str, usage: str):
        super().__init__(message)
        self.details = [usage] if usage else []


class Parser(argparse.ArgumentParser):
    """An ArgumentParser (and its subparsers: argparse makes them of the parent's class) that
    raises its errors instead of printing them and exiting."""

    def error(self, message: str):  # noqa: D102 (argparse's hook)
        raise CommandLineError(f"{self.prog}: {message} (see {self.prog} --help)",
                               self.format_usage().strip())


def number(low: float, high: float | None = None, *, above: bool = False,
           whole: bool = False, unit: str = "") -> Callable[[str], float]:
    """An argparse `type`: a finite number >= low (> low with `above`), <= high, whole when
    asked; the error says what is allowed."""
    allowed = (f"{'a whole' if whole else 'a'} number{f' of {unit}' if unit else ''} "
               f"{'above' if above else 'from'} {low:g}" + (f" to {high:g}" if high is not None
                                                              else ""))

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (above and value == low) or \
                (high is not None and value > high) or (whole and value != int(value)):
            shown = text if len(text) <= 40 else f"{text[:40]}... ({len(text)} characters)"
            raise argparse.ArgumentTypeError(f"got {shown!r}; expected {allowed}")
        return int(value) if whole else value

    parse.__name__ = "number"
    return parse
