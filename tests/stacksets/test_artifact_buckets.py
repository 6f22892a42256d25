"""The artifact buckets' settings: made when the bucket is created, read (not written again) by
every later deploy, and put back only where one differs. Stubber: every call is named, and an
unexpected one fails."""

from __future__ import annotations

import json

import pytest

from stacksets import artifacts
from tests.stubs import stubbed_aws

BUCKET = "payments-example-artifacts-123456789012-us-west-2"


def existing(stub, **different):
    """An existing bucket whose settings are right, except those named in `different`."""
    stub.add_response("head_bucket", {}, {"Bucket": BUCKET})
    pab = different.get("public_access_block", artifacts.PUBLIC_ACCESS_BLOCK)
    stub.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": pab},
                      {"Bucket": BUCKET})
    if pab != artifacts.PUBLIC_ACCESS_BLOCK:
        stub.add_response("put_public_access_block", {}, {
            "Bucket": BUCKET, "PublicAccessBlockConfiguration": artifacts.PUBLIC_ACCESS_BLOCK})
    if "encryption" in different:
        stub.add_client_error("get_bucket_encryption",
                              "ServerSideEncryptionConfigurationNotFoundError")
        stub.add_response("put_bucket_encryption", {}, {
            "Bucket": BUCKET, "ServerSideEncryptionConfiguration": artifacts.ENCRYPTION})
    else:
        stub.add_response("get_bucket_encryption",
                          {"ServerSideEncryptionConfiguration": artifacts.ENCRYPTION},
                          {"Bucket": BUCKET})
    stub.add_response("get_bucket_versioning", {"Status": different.get("versioning",
                                                                         "Enabled")},
                      {"Bucket": BUCKET})
    if "versioning" in different:
        stub.add_response("put_bucket_versioning", {}, {
            "Bucket": BUCKET, "VersioningConfiguration": artifacts.VERSIONING})
    policy = artifacts.bucket_policy(BUCKET)
    stub.add_response("get_bucket_policy", {"Policy": different.get("policy", policy)},
                      {"Bucket": BUCKET})
    if "policy" in different:
        stub.add_response("put_bucket_policy", {}, {"Bucket": BUCKET, "Policy": policy})


@pytest.mark.parametrize("different", [
    {}, {"public_access_block": {**artifacts.PUBLIC_ACCESS_BLOCK, "BlockPublicAcls": False}},
    {"encryption": None}, {"versioning": "Suspended"},
    {"policy": json.dumps({"Version": "2012-10-17", "Statement": []})}])
def test_a_setting_already_right_is_read_not_written(different):
    aws, stubs, _ = stubbed_aws([("s3", "us-west-2")])
    stub = stubs[("s3", "us-west-2")]
    existing(stub, **different)
    assert artifacts.ensure_bucket(aws.client("s3", "us-west-2"), BUCKET, "us-west-2") is False
    stub.assert_no_pending_responses()


def test_a_new_bucket_gets_every_setting():
    aws, stubs, _ = stubbed_aws([("s3", "us-west-2")])
    stub = stubs[("s3", "us-west-2")]
    stub.add_client_error("head_bucket", "404")
    stub.add_response("create_bucket", {}, {
        "Bucket": BUCKET, "ObjectOwnership": "BucketOwnerEnforced",
        "CreateBucketConfiguration": {"LocationConstraint": "us-west-2"}})
    for operation, arguments in (
            ("put_public_access_block",
             {"PublicAccessBlockConfiguration": artifacts.PUBLIC_ACCESS_BLOCK}),
            ("put_bucket_encryption",
             {"ServerSideEncryptionConfiguration": artifacts.ENCRYPTION}),
            ("put_bucket_versioning", {"VersioningConfiguration": artifacts.VERSIONING}),
            ("put_bucket_policy", {"Policy": artifacts.bucket_policy(BUCKET)})):
        stub.add_response(operation, {}, {"Bucket": BUCKET, **arguments})
    assert artifacts.ensure_bucket(aws.client("s3", "us-west-2"), BUCKET, "us-west-2") is True
    stub.assert_no_pending_responses()
