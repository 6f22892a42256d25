"""boto3 clients with timeouts chosen per caller.

The payment path retries once (standard mode, 2 attempts: DynamoDB and S3
throttle and reset connections now and then) with short timeouts, so one call's
worst case (:func:`worst_case_seconds`) stays a small part of the function's
15 s; the service checks that the worst case still fits before every call
(``payments.deadline``). A client that gets a 503 retries the whole request
with the same Idempotency-Key, which is always safe. The health path must
answer Route 53 within about 2 s, so it gets 1 s timeouts and no retry: a slow
dependency is exactly what it is there to report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import boto3
from botocore.config import Config as ClientConfig
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from .errors import DependencyUnavailable

PAYMENT_PATH = ClientConfig(
    connect_timeout=1,
    read_timeout=2,
    # total_max_attempts counts the first try; botocore's max_attempts counts retries only.
    retries={"mode": "standard", "total_max_attempts": 2},
)
HEALTH_PATH = ClientConfig(
    connect_timeout=1,
    read_timeout=1,
    retries={"mode": "standard", "total_max_attempts": 1},
)


def client(service: str, region: str, config: ClientConfig) -> Any:
    return boto3.session.Session().client(service, region_name=region, config=config)


# botocore's standard retry mode sleeps random(0, 1) * 2 ** attempt seconds before a retry
# ("Retry behavior", AWS SDKs and Tools Reference Guide): at most 2 s before the second
# attempt.
_STANDARD_BACKOFF_CAP_SECONDS = 2.0


def worst_case_seconds(config: ClientConfig) -> float:
    """The longest one API call can take with this configuration, retries included."""
    attempts = int(config.retries["total_max_attempts"])
    per_attempt = float(config.connect_timeout) + float(config.read_timeout)
    backoff = sum(min(2.0**attempt, 20.0) for attempt in range(1, attempts))
    return attempts * per_attempt + min(backoff, _STANDARD_BACKOFF_CAP_SECONDS * (attempts - 1))


CONDITION_FAILED = "ConditionalCheckFailedException"  # DynamoDB's failed ConditionExpression


class Refused(Exception):
    """An AWS error the caller expects and handles (a failed condition, a missing object)."""

    def __init__(self, code: str, response: dict[str, Any]) -> None:
        super().__init__(code)
        self.code = code
        self.response = response


def call(dependency: str, operation: Callable[..., Any], *, expected: Collection[str] = (),
         **arguments: Any) -> Any:
    """One AWS call of a store. An error whose code is in ``expected`` raises :class:`Refused`;
    any other AWS failure is the store being unavailable (:class:`DependencyUnavailable`, a
    503 on the payment path). Parameters the SDK refuses (``ParamValidationError``) are a
    mismatch with the SDK, not an outage, and propagate."""
    try:
        return operation(**arguments)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in expected:
            raise Refused(code, error.response) from None
        raise DependencyUnavailable(dependency, code or "ClientError") from None
    except ParamValidationError:
        raise
    except BotoCoreError as error:
        raise DependencyUnavailable(dependency, type(error).__name__) from None
