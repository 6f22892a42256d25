"""AWS Control Tower proactive controls (cfn-guard) that the templates fail on purpose.

Keyed by (template, cfn-guard rule name): the resources allowed to fail it, and one line of
reason. `tests/test_guard.py` fails on any failure not listed here, and on any entry that no
longer matches a failure (so the list cannot go stale).
"""

EXEMPTIONS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("regional", "lambda_function_public_access_prohibited_check"): (
        frozenset({"ProcessorInvokePermission", "HealthInvokePermission",
                   "AuthorizerInvokePermission"}),
        "CT.LAMBDA.PR.2: each permission has a SourceArn scoped to this REST API's route or "
        "authorizer, built with Fn::Sub, which cfn-guard's static evaluation cannot resolve",
    ),
    ("regional", "s3_bucket_default_encryption_kms_check"): (
        frozenset({"AccessLogBucket"}),
        "CT.S3.PR.10: the server access log bucket keeps SSE-S3, the encryption S3 documents "
        "for log delivery (storage.py); the receipts bucket itself uses the regional KMS key",
    ),
    ("regional", "s3_bucket_logging_enabled_check"): (
        frozenset({"AccessLogBucket"}),
        "CT.S3.PR.2: this is the access log bucket; logging it into itself would loop",
    ),
    ("regional", "s3_bucket_object_lock_enabled_check"): (
        frozenset({"ReceiptsBucket", "AccessLogBucket", "DrillConfigBucket"}),
        "CT.S3.PR.9: receipts are versioned, replicated and retained; Object Lock would make "
        "the tool's documented teardown of test environments impossible (and the drills' "
        "fault configuration must be deletable: FIS rewrites it every experiment)",
    ),
}
