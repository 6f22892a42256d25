"""Review 16: a DNS step that rolls back, and a rehearsal journal path that is not a file."""

from __future__ import annotations

import dataclasses
import functools
import os

import pytest

from runbook import decide as runbook
from runbook.state import DrState, Member
from tests.conftest import EXAMPLE
from toolkit import kernel

HOME, RECOVERY = "us-east-1", "us-west-2"


@pytest.mark.xfail(strict=True, reason=(
    "review16 F22: --local-state is opened without checking what it is: a FIFO blocks the "
    "command for ever in journal replay (and /dev/zero reads one endless line until "
    "MemoryError: exit 1 'unexpected error'); --config refuses both as 'no such file'"))
def test_a_fifo_as_local_state_is_refused_not_waited_on(tmp_path, build_dir, capsys):
    import threading

    from payments_dr import cli

    fifo = tmp_path / "journal.jsonl"
    os.mkfifo(fifo)
    codes = []
    command = threading.Thread(target=lambda: codes.append(cli.main(
        ["status", "--config", str(EXAMPLE), "--local", "--build-dir", str(build_dir),
         "--local-state", str(fifo)])), daemon=True)
    command.start()
    command.join(5)
    blocked = command.is_alive()
    if blocked:  # release the reader with an EOF; its next open of the path makes a file
        writer = open(fifo, "w")
        os.unlink(fifo)
        writer.close()
        command.join(60)
    assert not blocked, "status --local --local-state <FIFO> still blocked after 5 s"
    assert codes == [2]
