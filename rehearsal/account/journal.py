"""The local rehearsal's memory between invocations: a journal of AWS calls, replayed.

moto keeps its state in the process, and its backends do not pickle (lambdas, weak
references, RSA keys). So `--local` keeps what changed instead: every successful call that
changes something (any operation that is not a read) is appended to a JSON-lines file, by
default in the user's state directory, `$XDG_STATE_HOME/payments-dr/rehearsal/<environment>.jsonl`
(`~/.local/state/...` when XDG_STATE_HOME is unset: XDG Base Directory Specification), so the
checkout stays clean; `STACKSETS_REHEARSAL_STATE_DIR` or `--local-state FILE` put it elsewhere.
Commands that only read (plan, status, drift, cost, verify, dr status, keys list) replay the
journal and record nothing. Before each such call, moto's random source
(the one moto draws every identifier from, request ids of reads included) is seeded from the
environment and the call's position in the journal; the next `--local` invocation replays the
journal into a fresh moto, seeding the same way before each call, before the command runs:
the same calls from the same random state give the same account, with the same ids. Then `deploy --local`, Ctrl-C, `deploy --local` and
`status --local` behave as they would against AWS.

Reads are not recorded (they change nothing). A journal written by another version of the
tool may not replay: the error says to delete the file (or pass `--local-state` elsewhere).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.client
from botocore.exceptions import BotoCoreError, ClientError

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Detect", "Lookup", "Validate",
                 "Estimate", "Search", "Test", "Simulate", "Preview", "Scan", "Query",
                 "BatchGet", "TransactGet", "Filter", "Select", "Check")
# Rehearsal-only fault injection for the resume test: raise KeyboardInterrupt (a Ctrl-C) right
# after the first successful call of this operation (e.g. UpdateStackInstances).
INTERRUPT_AFTER = "STACKSETS_REHEARSAL_INTERRUPT_AFTER"


class JournalError(Exception):
    pass


STATE_DIR = "STACKSETS_REHEARSAL_STATE_DIR"  # where the journals go instead
XDG_STATE_HOME = "XDG_STATE_HOME"


def default_directory() -> Path:
    """STACKSETS_REHEARSAL_STATE_DIR, else `$XDG_STATE_HOME/payments-dr/rehearsal`, else
    `~/.local/state/payments-dr/rehearsal` (the XDG Base Directory Specification: a relative
    XDG_STATE_HOME is invalid and ignored)."""
    if os.environ.get(STATE_DIR):
        return Path(os.environ[STATE_DIR])
    state = os.environ.get(XDG_STATE_HOME, "")
    base = Path(state) if state and Path(state).is_absolute() else \
        Path.home() / ".local" / "state"
    return base / "payments-dr" / "rehearsal"


def default_path(environment: str) -> Path:
    return default_directory() / f"{environment}.jsonl"


def seed_for(environment: str, position: int) -> int:
    return int(hashlib.sha256(f"{environment}:{position}".encode()).hexdigest()[:12], 16)


def _seed(environment: str, position: int) -> None:
    from moto.moto_api._internal import mock_random  # the rehearsal extra, --local only

    mock_random.seed(seed_for(environment, position))


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if hasattr(value, "read"):
        return _encode(value.read())
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        if set(value) == {"__datetime__"}:
            return datetime.datetime.fromisoformat(value["__datetime__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _changes_something(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


def replay(path: Path, environment: str, make_client) -> int:
    """Replay every recorded call into the current (fresh) moto; returns how many."""
    if not path.exists():
        return 0
    count = 0
    with path.open(encoding="utf-8") as journal:
        for number, line in enumerate(journal, 1):
            try:
                entry = json.loads(line)
                client = make_client(entry["service"], entry["region"])
                _seed(environment, count)
                _original_call(client, entry["operation"], _decode(entry["params"]))
            except (ValueError, KeyError, ClientError, BotoCoreError) as error:
                raise JournalError(
                    f"{path}:{number}: the rehearsal state cannot be replayed ({error}); "
                    f"delete {path} to start from an empty account") from None
            count += 1
    return count


_ORIGINAL = botocore.client.BaseClient._make_api_call


def _original_call(client: Any, operation: str, params: dict) -> Any:
    return _ORIGINAL(client, operation, params)


@contextlib.contextmanager
def recording(path: Path, environment: str, position: int) -> Iterator[None]:
    """Append every successful call that changes something to `path` while active;
    `position` is the number of calls the journal holds already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    interrupt_after = os.environ.get(INTERRUPT_AFTER, "")
    next_position = [position]

    def make_api_call(client: Any, operation: str, params: dict) -> Any:
        if hasattr(params.get("Body"), "read"):  # a stream can be read once: keep its bytes
            params = {**params, "Body": params["Body"].read()}
        # Encoded before the call: botocore replaces an S3 Body by a stream, in place.
        snapshot = _encode(params) if _changes_something(operation) else None
        if snapshot is not None:
            _seed(environment, next_position[0])
        result = _ORIGINAL(client, operation, params)
        if snapshot is not None:
            entry = {"service": client.meta.service_model.service_name,
                     "region": client.meta.region_name, "operation": operation,
                     "params": snapshot}
            with path.open("a", encoding="utf-8") as journal:
                journal.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
            next_position[0] += 1
            if operation == interrupt_after:
                raise KeyboardInterrupt
        return result

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", make_api_call):
        yield
