"""Lambda entry point for ``GET /health`` (handler ``health_handler.handler``)."""

from typing import Any

from payments import api, wiring


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return api.health(event, context, wiring.health_probes, wiring.config)
