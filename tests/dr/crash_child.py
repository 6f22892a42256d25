"""A processor that dies between its ledger commit and the writes after it.

Run by tests/dr/test_crash_after_commit.py as `python -m tests.dr.crash_child` with the
functions' environment (AWS calls go to the test's moto server) and an API Gateway event on
stdin. The real handler records the payment (claim, commit, zero-loss wait); then, where it
would write the receipt, the status item and the idempotency record's completion, the process
exits at once (`os._exit`: no cleanup, no response), as a Lambda container that is killed or
times out would.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

KILLED = 137


@dataclass
class Context:
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def die(*_args: Any, **_kwargs: Any) -> None:
    print("killed after the commit", flush=True)
    os._exit(KILLED)


def main() -> None:
    from payments import handlers, wiring

    event = json.loads(sys.stdin.read())
    wiring.payment_service()._after_commit = die  # type: ignore[method-assign]
    response = handlers.process(event, Context(event["requestContext"]["requestId"]))
    sys.exit(f"the processor answered {response['statusCode']}: it was never killed")


if __name__ == "__main__":
    main()
