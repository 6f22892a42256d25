"""What runs in AWS right now, for the one line a Ctrl-C prints.

An interruption reaches the process, not a command: whatever starts something in AWS (a StackSet
operation or a stack operation in the rollout's Runner, a teardown's single call, a runbook's
Aurora move or DNS update) says so here before its call, and the CLI's one error path
(payments_dr/cli.py) names it. The CLI resets it for each command.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InFlight:
    what: str | None = None   # e.g. "operation op-1 (join) on payments-example-regional"
    service: str = ""         # the AWS service that keeps running it, e.g. "CloudFormation"

    def started(self, what: str, service: str) -> None:
        """Set before the call: an interruption while it is on the wire may leave it
        started."""
        self.what, self.service = what, service

    def ended(self) -> None:
        self.what, self.service = None, ""


CURRENT = InFlight()
