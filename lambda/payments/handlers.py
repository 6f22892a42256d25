"""The Lambda entry points of every function, all in the one code artifact the build makes.

Each function of the regional template names its handler here (`templates/service.py`,
`templates/authorizer.py`): `payments.handlers.process` (POST /process),
`payments.handlers.health` (GET /health), `payments.handlers.migrate` (database roles and
schema migrations, invoked by the rollout tool after each deploy, never by the API; and the
database certificate probe `payments-dr verify` asks for) and
`payments.handlers.authorizer` (the merchant API key authorizer).

`payments.handlers.reconcile` (`templates/reconcile.py`) rebuilds missing receipts and status
items from the ledger; a schedule and the DR runbook invoke it.

By hand, with the function's environment (from ``lambda/``, or anywhere the project is
installed): ``python -m payments.handlers migrate``, or
``python -m payments.handlers reconcile '{"since_minutes": 60}'``.

Each entry point imports what it uses on its first call, not at module import: the four
functions share this module, and the authorizer (one DynamoDB read per uncached key) must not
load the database driver on its cold start.
"""

from __future__ import annotations

import json
import sys
from typing import Any

HANDLERS = ("process", "health", "migrate", "reconcile", "authorizer")
RECONCILE_TIMEOUT_SECONDS = 300  # templates/reconcile.py RECONCILE.timeout (a test holds them equal)


def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import api, wiring

    return api.process(event, context, wiring.payment_service, wiring.config,
                       wiring.durability_mode)


def health(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import api, wiring

    return api.health(event, context, wiring.health_probes, wiring.config)


def migrate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Roles and migrations (the rollout invokes it with ``{}``), or, with
    ``{"action": "tls-probe"}``, only the database certificate's names as seen from here
    (``payments-dr verify``): no secret read, no migration run. Any other action is refused
    rather than taken for a migration."""
    from . import logs, schema_deploy, tls_probe

    action = event.get("action") if isinstance(event, dict) else None
    if action not in (None, tls_probe.ACTION):
        raise ValueError(f"unknown action {str(action)[:40]!r}: the migrate function takes "
                         f"{{}} (roles and migrations) or {{\"action\": \"{tls_probe.ACTION}\"}}")
    config = schema_deploy.MigrateConfig.from_environ()
    logs.configure(config.log_level)  # as wiring.config() does for the payment functions
    if action == tls_probe.ACTION:
        return tls_probe.run(config)
    outcome = schema_deploy.run(config)
    logs.get_logger("migrate").info("schema deployed", extra={"fields": outcome})
    return outcome


def reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import reconcile as projections, wiring

    return projections.handle(event, context, wiring.reconciler, RECONCILE_TIMEOUT_SECONDS)


def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import authorizer as merchant_key_authorizer

    return merchant_key_authorizer.handler(event, context)


def _main(arguments: list[str]) -> dict[str, Any]:
    usage = ("usage: python -m payments.handlers migrate | reconcile ['<event JSON>'] (with "
             "the function's environment; reconcile's event defaults to {\"since_minutes\": "
             "60})")
    if arguments == ["migrate"]:
        return migrate({}, None)
    if arguments[:1] == ["reconcile"] and len(arguments) <= 2:
        try:
            event = json.loads(arguments[1]) if len(arguments) == 2 else {}
        except ValueError as error:
            sys.exit(f"reconcile: the event is not JSON ({error}); {usage}")
        from .reconcile import ReconcileInputError

        try:
            return reconcile(event, None)
        except ReconcileInputError as error:
            sys.exit(f"reconcile: {error}")
    sys.exit(usage)


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1:])))
