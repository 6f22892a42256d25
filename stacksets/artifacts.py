"""Artifact buckets (one per region, `<ArtifactBucketPrefix>-<region>`) and uploads.

Keys carry the content hash (Lambda zips are content-hashed by the build; templates go under
`templates/<name>-<sha256>.json`), so an upload never overwrites different bytes and a key that
exists is already right: re-running uploads nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from awacs.aws import Bool, Condition, Deny, Policy, Principal, Statement
from awacs import s3 as s3_actions
from botocore.exceptions import ClientError

from templates import names, physical_names
from toolkit.aws import call, error_code

# CloudFormation API Reference, CreateStackSet/CreateStack: TemplateBody "Maximum length of
# 51,200 bytes"; larger templates must be passed by TemplateURL (an S3 object, up to 1 MB).
# Both templates go by TemplateURL whatever their size (`template_source`), so no feature can
# break deploy by growing a template past this; the limit stays as the rule tests check.
INLINE_TEMPLATE_LIMIT = 51_200


def bucket_name(prefix: str, region: str) -> str:
    """The region's artifact bucket, as the regional template names it for its functions'
    code (templates/physical_names.py)."""
    return physical_names.concrete(physical_names.artifact_bucket_name(region),
                                   {names.ARTIFACT_BUCKET_PREFIX: prefix})


def template_key(name: str, sha256: str) -> str:
    return f"templates/{name.removesuffix('.json')}-{sha256[:20]}.json"


def template_url(bucket: str, region: str, key: str) -> str:
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def template_source(bucket: str, region: str, key: str) -> dict[str, str]:
    """`TemplateURL` of the uploaded template, always (pure): the global template was 48,890
    bytes inline, a feature away from the 51,200-byte limit."""
    return {"TemplateURL": template_url(bucket, region, key)}


def bucket_policy(bucket: str, partition: str = "aws") -> str:
    """TLS only: deny any request over plain HTTP (S3 User Guide, "Enforce encryption in
    transit")."""
    arn = f"arn:{partition}:s3:::{bucket}"
    return Policy(Version="2012-10-17", Statement=[Statement(
        Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"),
        Action=[s3_actions.Action("*")], Resource=[arn, f"{arn}/*"],
        Condition=Condition(Bool("aws:SecureTransport", False)))]).to_json()


@dataclass(frozen=True)
class Upload:
    region: str
    bucket: str
    key: str
    body: bytes


PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                       "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                         "BucketKeyEnabled": True}]}
VERSIONING = {"Status": "Enabled"}
# What S3 answers for a setting that was never made (S3 API Reference, GetPublicAccessBlock,
# GetBucketEncryption, GetBucketPolicy).
NOT_SET = ("NoSuchPublicAccessBlockConfiguration",
           "ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucketPolicy")


def ensure_bucket(s3, bucket: str, region: str, partition: str = "aws") -> bool:
    """Create the bucket if missing, and make each setting what it must be: versioning,
    default encryption, public access block, owner-enforced object ownership (at creation),
    TLS-only policy. A setting already right is only read: a deploy with nothing to change
    writes nothing. Returns True if created."""
    created = False
    try:
        call(s3.head_bucket, Bucket=bucket)
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        arguments = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
        if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        call(s3.create_bucket, **arguments)
        created = True
    policy = bucket_policy(bucket, partition)
    if created or _setting(s3.get_public_access_block, bucket,
                           "PublicAccessBlockConfiguration") != PUBLIC_ACCESS_BLOCK:
        call(s3.put_public_access_block, Bucket=bucket,
             PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
    if created or not _encrypted(_setting(s3.get_bucket_encryption, bucket,
                                          "ServerSideEncryptionConfiguration")):
        call(s3.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION)
    if created or _setting(s3.get_bucket_versioning, bucket, "Status") != VERSIONING["Status"]:
        call(s3.put_bucket_versioning, Bucket=bucket, VersioningConfiguration=VERSIONING)
    present = None if created else _setting(s3.get_bucket_policy, bucket, "Policy")
    if present is None or json.loads(present) != json.loads(policy):
        call(s3.put_bucket_policy, Bucket=bucket, Policy=policy)
    return created


def _setting(read, bucket: str, key: str):
    """One bucket setting as S3 holds it, None when it was never made."""
    try:
        return call(read, Bucket=bucket).get(key)
    except ClientError as error:
        if error_code(error) in NOT_SET:
            return None
        raise


def _encrypted(configuration) -> bool:
    """Default encryption with the AWS managed KMS key and an S3 Bucket Key, as ENCRYPTION."""
    rules = (configuration or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    return default.get("SSEAlgorithm") == "aws:kms" and not default.get("KMSMasterKeyID") \
        and rules[0].get("BucketKeyEnabled") is True


def upload(s3, item: Upload) -> bool:
    """Put the object unless the key exists (content-addressed). Returns True if uploaded."""
    try:
        call(s3.head_object, Bucket=item.bucket, Key=item.key)
        return False
    except ClientError as error:
        if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
            raise
    call(s3.put_object, Bucket=item.bucket, Key=item.key, Body=item.body,
         ServerSideEncryption="aws:kms")
    return True


