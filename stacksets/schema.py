"""After the regional stacks converge, the migrate function prepares the database.

The payment functions connect as `payments_app`, which cannot change the schema, and refuse
to take payments while the schema is behind their code (lambda/payments/wiring.py). The
migrate function (its own role, the only reader of the master secret) creates or updates the
two database roles and then applies pending migrations as `payments_migrator`; it is
idempotent, so `deploy` invokes it every time. It connects through the global writer
endpoint, so it reaches the writer wherever it runs; it is invoked in the region where the
writer is (home unless a failover moved it), whose Lambda service is up.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from templates import names

from toolkit.aws import Aws
from toolkit.errors import RolloutError

NOT_LOCAL = ("the migrate function is not invoked in the local rehearsal: moto cannot run "
             "Lambda code (tests/handlers and `dr drill --local` run its handler against a "
             "real PostgreSQL)")


def migrate(aws: Aws, outputs: Mapping[str, Mapping[str, str]], region: str,
            local: bool) -> str:
    """Invoke the migrate function in `region` (`outputs`: region -> stack outputs); returns
    what happened, for the report. Raises RolloutError with the function's own message when
    it fails (the payment functions answer 503 until it succeeds)."""
    function = outputs.get(region, {}).get(names.OUT_MIGRATE_FUNCTION)
    if not function:
        return f"schema: the stack in {region} has no migrate function yet (nothing invoked)"
    if local:
        return f"schema: {NOT_LOCAL}"
    response = aws.call(aws.client("lambda", region).invoke, FunctionName=function,
                        InvocationType="RequestResponse", Payload=b"{}")
    payload = invocation_payload(response)
    if response.get("FunctionError"):
        message = payload.get("errorMessage") if isinstance(payload, dict) else None
        raise RolloutError(
            f"the migrate function {function} in {region} failed: "
            f"{message or response['FunctionError']}; the payment functions answer 503 until "
            "it succeeds (its log group has the details; re-run deploy once fixed)")
    created = ", ".join(payload.get("roles_created", [])) or "none"
    applied = ", ".join(payload.get("applied", [])) or "none (up to date)"
    return f"schema: {function} in {region}: roles created: {created}; migrations applied: " \
           f"{applied}"


def invocation_payload(response: Mapping[str, Any]) -> Any:
    """The JSON a RequestResponse invocation returned ({} when it is not JSON)."""
    body = response.get("Payload")
    raw = body.read() if hasattr(body, "read") else (body or b"")
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {}
