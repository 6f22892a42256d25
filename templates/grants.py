"""awacs grant factories: one named function per permission, one `Sid` per statement.

Each factory answers "who may do what to which resource" and nothing more, so a reviewer can
read a policy as a list of intentions. `Resource: "*"` appears only where the API demands it,
with the reason beside it (and in tests/policy_allowlist.py).
"""

from awacs import kms, logs, sns, sts
from awacs.aws import (
    Allow, ArnLike, Bool, BoolIfExists, Condition, Deny, PolicyDocument, Principal, Statement,
    StringEquals,
)
from troposphere import Sub

from .arns import account_root, service_principal

POLICY_VERSION = "2012-10-17"


def policy(*statements: Statement) -> PolicyDocument:
    """A policy document with the current policy language version."""
    return PolicyDocument(Version=POLICY_VERSION, Statement=list(statements))

# A KMS key policy's Resource is always "*": inside a key policy it means "this key".
THIS_KEY = "*"

KEY_ENCRYPT_DECRYPT = [
    kms.Encrypt, kms.Decrypt, kms.ReEncryptFrom, kms.ReEncryptTo,
    kms.GenerateDataKey, kms.GenerateDataKeyWithoutPlaintext, kms.DescribeKey,
]


def key_account_administration() -> Statement:
    """The account root may administer and use the key; this is what lets IAM policies in the
    account grant key use at all (AWS KMS Developer Guide, "Default key policy")."""
    return Statement(
        Sid="AccountAdministration",
        Effect=Allow,
        Principal=Principal("AWS", account_root()),
        Action=[kms.Action("*")],
        Resource=[THIS_KEY],
    )


def key_grants_only_for_aws_resources() -> Statement:
    """Nobody may create a grant on the key except for an AWS service acting on an AWS
    resource (RDS, DynamoDB, Secrets Manager, Lambda create grants that way). A grant is a
    second, policy-invisible path to key use; this closes it for people and scripts (AWS
    Control Tower proactive control CT.KMS.PR.3; AWS KMS Developer Guide,
    "kms:GrantIsForAWSResource")."""
    return Statement(
        Sid="DenyGrantsExceptForAwsResources",
        Effect=Deny,
        Principal=Principal("AWS", "*"),
        Action=[kms.CreateGrant],
        Resource=[THIS_KEY],
        Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false",
                                          "aws:PrincipalIsAWSService": "false"})),
    )


def key_use_by_cloudwatch_logs(log_group_arn_pattern: Sub) -> Statement:
    """CloudWatch Logs encrypts log groups with the key, only for this account's log groups
    (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    return Statement(
        Sid="CloudWatchLogsUse",
        Effect=Allow,
        Principal=Principal("Service", service_principal("logs", regional=True)),
        Action=KEY_ENCRYPT_DECRYPT,
        Resource=[THIS_KEY],
        Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", log_group_arn_pattern)),
    )


def key_use_by_cloudwatch_alarms() -> Statement:
    """CloudWatch alarms publish to the KMS-encrypted SNS topic; the AWS managed key aws/sns
    cannot be used for that, a customer managed key must allow CloudWatch (SNS Developer Guide,
    "Configure AWS KMS permissions for AWS services")."""
    return Statement(
        Sid="CloudWatchAlarmsPublish",
        Effect=Allow,
        Principal=Principal("Service", service_principal("cloudwatch")),
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=[THIS_KEY],
        Condition=Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}"))),
    )


def topic_publish_by_cloudwatch(topic_arn) -> Statement:
    """CloudWatch alarms in this account may publish to the topic."""
    return Statement(
        Sid="CloudWatchAlarmsPublish",
        Effect=Allow,
        Principal=Principal("Service", service_principal("cloudwatch")),
        Action=[sns.Publish],
        Resource=[topic_arn],
        Condition=Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}"))),
    )


def deny_insecure_transport(sid: str, actions: list, resources: list) -> Statement:
    """Refuse any request that did not arrive over TLS."""
    return Statement(
        Sid=sid,
        Effect=Deny,
        Principal=Principal("*"),
        Action=actions,
        Resource=resources,
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


def log_delivery(log_group_arn) -> Statement:
    """Write access to one log group (VPC flow logs deliver through a role)."""
    return Statement(
        Sid="WriteFlowLogs",
        Effect=Allow,
        Action=[logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
        Resource=[log_group_arn, Sub("${Arn}:*", Arn=log_group_arn)],
    )


def assume_role_by(service: str, sid: str = "ServiceAssumesRole") -> Statement:
    """Trust policy statement: the named AWS service may assume the role, only for this
    account (confused-deputy guard)."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", service_principal(service)),
        Action=[sts.AssumeRole],
        Condition=Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}"))),
    )

