"""Output: human lines (text) or one JSON document (json), plus live progress.

In json mode stdout carries the document only; messages and progress go to stderr. On a
terminal, progress rewrites one line; in CI (not a TTY) it prints a line per change. A command
that measures several configurations streams one JSON object a line instead (`line()`), and
then prints no document, unless it ends in an error.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


class Reporter:
    def __init__(self, mode: str = "text", out: TextIO | None = None,
                 err: TextIO | None = None, tty: bool | None = None):
        self.mode = mode
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.messages = self.err if mode == "json" else self.out
        self.tty = self.messages.isatty() if tty is None else tty
        self.document: dict[str, Any] = {}
        self._last_progress: str | None = None
        self._line_open = False
        self.streamed = False

    def _close_line(self) -> None:
        if self._line_open:
            self.messages.write("\n")
            self._line_open = False

    def info(self, message: str) -> None:
        self._close_line()
        print(message, file=self.messages, flush=True)

    def warn(self, message: str) -> None:
        self.info(f"WARNING: {message}")

    def error(self, message: str) -> None:
        self._close_line()
        print(f"ERROR: {message}", file=self.err, flush=True)

    def progress(self, label: str, status: str, regions: dict[str, str], elapsed: float) -> bool:
        """Returns whether a new line was printed (not on a terminal: only on a change)."""
        per_region = "  ".join(f"{r}={s}" for r, s in regions.items()) or "-"
        line = f"  {label}: {status}  {per_region}"
        printed = False
        if self.tty:
            self.messages.write(f"\r{line}  [{elapsed:5.0f}s]\x1b[K")
            self.messages.flush()
            self._line_open = True
        elif line != self._last_progress:
            print(f"{line}  [{elapsed:.0f}s]", file=self.messages, flush=True)
            printed = True
        self._last_progress = line
        return printed

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        """Aligned columns, one line per row (text mode; json mode records the data)."""
        widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows)]
        for row in [headers, *rows]:
            self.info("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())

    def line(self, value: dict[str, Any]) -> None:
        """json mode: `value` as one line on stdout, now (text mode: nothing; the caller says
        it in words)."""
        if self.mode == "json":
            print(json.dumps(value, sort_keys=True, default=str), file=self.out, flush=True)
            self.streamed = True

    def record(self, key: str, value: Any) -> None:
        self.document[key] = value

    def append(self, key: str, value: Any) -> None:
        self.document.setdefault(key, []).append(value)

    def finish(self) -> None:
        self._close_line()
        if self.mode != "json":
            return
        if not self.streamed:
            print(json.dumps(self.document, indent=2, sort_keys=True, default=str),
                  file=self.out, flush=True)
        elif "error" in self.document:
            print(json.dumps(self.document, sort_keys=True, default=str), file=self.out,
                  flush=True)
