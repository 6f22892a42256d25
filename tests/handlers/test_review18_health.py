"""Review of issue 18: GET /health says a region can take payments when it cannot (each test
is a defect, marked xfail).

/health proves the database with a committed write but S3 and DynamoDB with reads only
(HeadBucket, GetItem). A payment needs writes: the receipt PutObject (SSE-KMS with the
regional key) and conditional PutItems. A region whose receipts cannot be written (the bucket
key disabled or unusable, a KMS outage in the region, a bucket policy that denies PutObject:
HeadBucket needs neither KMS nor PutObject) answers 503 to every payment while /health stays
200, for as long as the fault lasts: Route 53 never moves traffic.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from payments import wiring

from .conftest import Api, new_key, payment_body


def _deny_put_object(**_kwargs):
    raise ClientError({"Error": {"Code": "AccessDenied", "Message": "KMS key is disabled"}},
                      "PutObject")


@pytest.mark.xfail(strict=True, reason="review18 F6: /health probes S3 and DynamoDB with reads "
                   "only, so it stays 200 while every payment fails its receipt write (503)")
def test_health_fails_while_receipts_cannot_be_written(api: Api) -> None:
    wiring.reset()
    try:
        assert api.post(payment_body(), new_key())["statusCode"] == 201  # builds the clients
        receipts = wiring.current.payment_service._receipts._client
        receipts.meta.events.register("before-call.s3.PutObject", _deny_put_object)
        payment = api.post(payment_body(), new_key())
        health = api.health()
    finally:
        wiring.reset()
    assert payment["statusCode"] == 503, payment["body"]
    assert health["statusCode"] == 503, health["body"]
