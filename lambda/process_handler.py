"""Lambda entry point for ``POST /process`` (handler ``process_handler.handler``)."""

from typing import Any

from payments import api, wiring


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.process(event, context, wiring.payment_service, wiring.config)
