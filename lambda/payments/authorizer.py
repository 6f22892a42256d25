"""The merchant key authorizer's adapter: the event in, one GetItem, the policy out.

The decision itself is :func:`payments.merchant_keys.decide` (pure). This module reads the
REQUEST authorizer event (API Gateway REST API, "Input to an API Gateway Lambda authorizer"),
looks the key record up in the global table and logs one line per decision with the key id,
never the key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.config import Config as ClientConfig
from botocore.exceptions import BotoCoreError, ClientError

from . import aws, logs, merchant_keys

TABLE_NAME = "PAYMENTS_TABLE_NAME"
KEY_ENVIRONMENT = "KEY_ENVIRONMENT"
LOG_LEVEL = "LOG_LEVEL"
ENV_VARS = frozenset({TABLE_NAME, KEY_ENVIRONMENT, LOG_LEVEL})
"""Every variable the template sets on the authorizer (a test holds both sides)."""
GUARDED_ROUTE = "POST/process"

# The authorizer has 5 s; API Gateway answers 503 (AUTHORIZER_FAILURE) if it raises.
CLIENT_CONFIG = ClientConfig(connect_timeout=1, read_timeout=1,
                             retries={"mode": "standard", "max_attempts": 2})

log = logs.get_logger("authorizer")


class KeyStoreUnavailable(Exception):
    """The table could not be read: the request is neither allowed nor denied (503)."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    environment: str
    region: str
    log_level: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [name for name in (TABLE_NAME, KEY_ENVIRONMENT, "AWS_REGION")
                   if not env.get(name)]
        if missing:
            raise RuntimeError(f"authorizer environment incomplete: {', '.join(missing)}")
        return cls(env[TABLE_NAME], env[KEY_ENVIRONMENT], env["AWS_REGION"],
                   (env.get(LOG_LEVEL) or "INFO").upper())


def table_lookup(client: Any, table_name: str) -> Callable[[str], Mapping[str, str] | None]:
    def lookup(key_id: str) -> Mapping[str, str] | None:
        try:
            item = client.get_item(
                TableName=table_name, Key={"pk": {"S": merchant_keys.record_key(key_id)}},
                ProjectionExpression=", ".join(merchant_keys.AUTHORIZER_ATTRIBUTES),
            ).get("Item")
        except (ClientError, BotoCoreError) as error:
            raise KeyStoreUnavailable(type(error).__name__) from None
        if item is None:
            return None
        return {name: value["S"] for name, value in item.items() if "S" in value}
    return lookup


def authorization_header(event: Mapping[str, Any]) -> str | None:
    """The Authorization header; None when it is missing or sent more than once (a repeated
    header is ambiguous: which one would the backend have seen?)."""
    multi = event.get("multiValueHeaders") or {}
    values = [v for k, vs in multi.items() if isinstance(k, str) and k.lower() == "authorization"
              for v in (vs or [])]
    if len(values) > 1:
        return None
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


def authorize(event: Mapping[str, Any], settings: Settings,
              lookup: Callable[[str], Mapping[str, str] | None]) -> dict[str, Any]:
    started = time.perf_counter()
    decision = merchant_keys.decide(authorization_header(event), settings.environment, lookup)
    fields = {"decision": "allow" if decision.allowed else "deny", "reason": decision.reason,
              "key_id": decision.key_id, "merchant_id": decision.merchant_id,
              "request_id": (event.get("requestContext") or {}).get("requestId"),
              "duration_ms": round((time.perf_counter() - started) * 1000, 2)}
    log.info("authorization decided",
             extra={"fields": {k: v for k, v in fields.items() if v is not None}})
    return merchant_keys.authorizer_response(decision, str(event.get("methodArn", "")),
                                             GUARDED_ROUTE)


_runtime: dict[str, Any] = {}


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Module-level state is built once per container (client, settings)."""
    if not _runtime:
        settings = Settings.from_environ()
        logs.configure(settings.log_level)
        client = aws.client("dynamodb", settings.region, CLIENT_CONFIG)
        _runtime.update(settings=settings, lookup=table_lookup(client, settings.table_name))
    try:
        return authorize(event, _runtime["settings"], _runtime["lookup"])
    except KeyStoreUnavailable as error:
        log.error("merchant key store unavailable", extra={"fields": {"reason": str(error)}})
        raise  # API Gateway: AUTHORIZER_FAILURE, answered 503 by the gateway response


def reset() -> None:
    """Forget the container state (tests, after changing the environment)."""
    _runtime.clear()
