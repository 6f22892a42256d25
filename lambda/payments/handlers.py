"""The Lambda entry points of every function, all in the one code artifact the build makes.

Each function of the regional template names its handler here (`templates/service.py`,
`templates/authorizer.py`): `payments.handlers.process` (POST /process),
`payments.handlers.health` (GET /health), `payments.handlers.migrate` (database roles and
schema migrations, invoked by the rollout tool after each deploy, never by the API; and the
database certificate probe `payments-dr verify` asks for) and
`payments.handlers.authorizer` (the merchant API key authorizer).

By hand, with the migrate function's environment: ``python -m payments.handlers migrate``
(from ``lambda/``, or anywhere the project is installed).

Each entry point imports what it uses on its first call, not at module import: the four
functions share this module, and the authorizer (one DynamoDB read per uncached key) must not
load the database driver on its cold start.
"""

from __future__ import annotations

import json
import sys
from typing import Any

HANDLERS = ("process", "health", "migrate", "authorizer")


def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import api, wiring

    return api.process(event, context, wiring.payment_service, wiring.config)


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


def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from . import authorizer as merchant_key_authorizer

    return merchant_key_authorizer.handler(event, context)


if __name__ == "__main__":
    if sys.argv[1:] != ["migrate"]:
        sys.exit("usage: python -m payments.handlers migrate  (with the migrate function's "
                 "environment)")
    print(json.dumps(migrate({}, None)))
