"""boto3 clients with timeouts chosen per caller.

The payment path tolerates a few seconds and retries (standard mode, 3
attempts: DynamoDB and S3 throttle and reset connections now and then). The
health path must answer Route 53 within about 2 s, so it gets 1 s timeouts and
no retry: a slow dependency is exactly what it is there to report.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as ClientConfig

PAYMENT_PATH = ClientConfig(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "max_attempts": 3},
)
HEALTH_PATH = ClientConfig(
    connect_timeout=1,
    read_timeout=1,
    retries={"mode": "standard", "max_attempts": 1},
)


def client(service: str, region: str, config: ClientConfig) -> Any:
    return boto3.session.Session().client(service, region_name=region, config=config)
