"""Ctrl-C, wherever Python delivers it (standard library only: the entry imports this first).

Python turns SIGINT into a KeyboardInterrupt in whatever code runs at that moment. Inside a
finaliser (`__del__`, e.g. of an object moto or werkzeug leaves to the garbage collector) the
exception cannot propagate: Python prints "Exception ignored in ..." with a traceback and the
command carries on, to exit 0 (Python docs, "sys.unraisablehook", and the language reference,
"object.__del__": exceptions raised there are ignored). `Watch` records every SIGINT (its
handler raises KeyboardInterrupt as Python's own does) and every KeyboardInterrupt that
reaches `sys.unraisablehook`, without a traceback, so the CLI answers 130 even then.
"""

from __future__ import annotations

import signal
import sys
import threading


class Watch:
    """While active: `seen` is True once a Ctrl-C was delivered, even if it was swallowed."""

    def __init__(self) -> None:
        self.seen = False
        self._handler = None
        self._hook = None

    def __enter__(self) -> "Watch":
        self._hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        if threading.current_thread() is threading.main_thread():  # signals: main thread only
            self._handler = signal.signal(signal.SIGINT, self._interrupted)
        return self

    def __exit__(self, *exc_info) -> None:
        sys.unraisablehook = self._hook
        if self._handler is not None:
            signal.signal(signal.SIGINT, self._handler)

    def _interrupted(self, signum, frame) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            self.seen = True  # recorded, not printed: the CLI reports it as one line
            return
        self._hook(unraisable)
