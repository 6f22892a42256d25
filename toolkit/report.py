"""Output: human lines (text) or one JSON document (json), plus live progress.

In json mode stdout carries the document only; messages and progress go to stderr. On a
terminal, progress rewrites one line; in CI (not a TTY) it prints a line per change. A command
that measures several configurations streams one JSON object a line instead (`line()`), and
then prints no document, unless it ends in an error.

A reader that goes away (`payments-dr deploy | head`: a broken pipe) is not a failure of the
operation: the output to that stream stops (it is pointed at /dev/null, so Python's final
flush does not fail either: Python docs, "Note on SIGPIPE"), one line on stderr says so, and
the command carries on to its own end and exit status.
"""

from __future__ import annotations

import io
import json
import os
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
        self._gone_streams: list[TextIO] = []  # whose reader went away

    def _write(self, stream: TextIO, text: str, end: str = "\n") -> None:
        if any(stream is gone for gone in self._gone_streams):
            return
        try:
            try:
                stream.write(text)
            except UnicodeEncodeError:
                # A name that is not valid in the stream's encoding (a file name in another
                # encoding, read back as surrogates) is shown escaped, never a failure.
                encoding = getattr(stream, "encoding", None) or "utf-8"
                stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
            if end:
                stream.write(end)
            stream.flush()
        except BrokenPipeError:
            self._gone(stream)

    def _gone(self, stream: TextIO) -> None:
        """The reader of `stream` went away: everything further to it goes to /dev/null."""
        self._gone_streams.append(stream)
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        if stream is not self.err:
            self._write(self.err, "WARNING: the output was closed (broken pipe): nothing more "
                                  "is printed to it; the command carries on")

    def _close_line(self) -> None:
        if self._line_open:
            self._write(self.messages, "\n", end="")
            self._line_open = False

    def info(self, message: str) -> None:
        self._close_line()
        self._write(self.messages, message)

    def warn(self, message: str) -> None:
        self.info(f"WARNING: {message}")

    def error(self, message: str) -> None:
        self._close_line()
        self._write(self.err, f"ERROR: {message}")

    def progress(self, label: str, status: str, regions: dict[str, str], elapsed: float) -> bool:
        """Returns whether a new line was printed (not on a terminal: only on a change)."""
        per_region = "  ".join(f"{r}={s}" for r, s in regions.items()) or "-"
        line = f"  {label}: {status}  {per_region}"
        printed = False
        if self.tty:
            self._write(self.messages, f"\r{line}  [{elapsed:5.0f}s]\x1b[K", end="")
            self._line_open = True
        elif line != self._last_progress:
            self._write(self.messages, f"{line}  [{elapsed:.0f}s]")
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
            self._write(self.out, json.dumps(value, sort_keys=True, default=str))
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
            self._write(self.out, json.dumps(self.document, indent=2, sort_keys=True,
                                             default=str))
        elif "error" in self.document:
            self._write(self.out, json.dumps(self.document, sort_keys=True, default=str))
