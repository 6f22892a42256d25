"""What a path given on the command line is, before anything opens it.

`Path.is_file()` is False for a directory, a FIFO and a missing file alike, and `open()` on a
FIFO blocks until a writer appears (a named pipe as --local-state or --config waited for
ever; /dev/zero read until MemoryError). Every input file is a regular file, or absent where
that is allowed.
"""

from __future__ import annotations

import stat
from pathlib import Path

KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
         (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
         (stat.S_ISSOCK, "a socket"))


def file_problem(path: Path, *, absent_ok: bool = False) -> str | None:
    """Why `path` is not a regular file that can be read ("no such file", "is a directory",
    ...), or None (a symbolic link counts as what it points at)."""
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        return None if absent_ok else "no such file"
    except OSError as error:
        return f"cannot be read ({error.strerror or type(error).__name__})"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in KINDS if test(mode)), "not a regular file")
    return f"is {kind}, not a regular file"
