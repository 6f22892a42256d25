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


class _RollsBack:
    """The writer is in RECOVERY already; the global stack update that moves DNS fails and
    rolls back (UPDATE_ROLLBACK_COMPLETE), leaving the preference at HOME."""

    def __init__(self):
        self.clock, self.acted = 0.0, []
        self.state = DrState(
            home=HOME, recovery=RECOVERY, global_cluster="g",
            members=(Member(HOME, "a", False, "connected"), Member(RECOVERY, "b", True)),
            healthy={HOME: True, RECOVERY: True}, writable={HOME: True, RECOVERY: True},
            dns_preferred=HOME, dns_updates={RECOVERY: {"StackName": "payments-example-global"}},
            global_stack_status="UPDATE_COMPLETE", global_stack_pending="")

    def observe(self):
        return self.state

    def act(self, step):
        self.acted.append(step)
        self.state = dataclasses.replace(self.state,
                                         global_stack_status="UPDATE_ROLLBACK_COMPLETE")

    def sleep(self, seconds):
        self.clock += seconds

    def now(self):
        return self.clock


@pytest.mark.xfail(strict=True, reason=(
    "review16 F21: the DNS step's UpdateStack is not waited on by its outcome: when it rolls "
    "back (UPDATE_ROLLBACK_COMPLETE) the runbook decides the same step again, waits the six "
    "settle polls and stops 'ran but the world does not show its effect', without the "
    "stack's status or its first failed resource (docs/runbook.md: it waits until the stack "
    "update completes)"))
def test_a_dns_update_that_rolls_back_is_reported_as_such():
    world = _RollsBack()
    result = kernel.run(world, functools.partial(runbook.switchover, to=RECOVERY), poll=10)
    assert len(world.acted) == 1
    assert "ROLLBACK" in result.message, result.message


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
