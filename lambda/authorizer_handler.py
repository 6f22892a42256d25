"""Lambda entry point of the merchant API key authorizer (``authorizer_handler.handler``)."""

from typing import Any

from payments import authorizer


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorizer.handler(event, context)
