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

from typing import Any

import boto3
from botocore.config import Config as ClientConfig

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
