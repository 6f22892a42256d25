"""awacs grant factories: one named function per permission, one `Sid` per statement.

Each factory answers "who may do what to which resource" and nothing more, so a reviewer can
read a policy as a list of intentions. `Resource: "*"` appears only where the API demands it,
with the reason beside it (and in tests/policy_allowlist.py).
"""

from awacs import (
    arc_region_switch, awslambda, cloudwatch, ec2, iam, kms, logs, rds, s3, sns, sts, tag,
)
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


def log_delivery(log_group_arn) -> list[Statement]:
    """What VPC flow logs' role "must include at least" (Amazon VPC User Guide, "IAM role for
    publishing flow logs to CloudWatch Logs"), scoped to the one log group this stack creates;
    DescribeLogGroups lists groups and takes no single-group resource, so it is granted on this
    account's log groups in this region (it reads names and settings, no log data)."""
    return [
        Statement(
            Sid="WriteFlowLogs",
            Effect=Allow,
            Action=[logs.CreateLogGroup, logs.CreateLogStream, logs.PutLogEvents,
                    logs.DescribeLogStreams],
            Resource=[log_group_arn, Sub("${Arn}:*", Arn=log_group_arn)],
        ),
        Statement(
            Sid="DescribeLogGroups",
            Effect=Allow,
            Action=[logs.DescribeLogGroups],
            Resource=[Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                          "log-group:*")],
        ),
    ]


# Services whose own documentation shows `aws:SourceAccount` in the trust policy of the role
# they assume (and so sends the key). A StringEquals on a key a service does not send denies
# that service (IAM User Guide, "The confused deputy problem"); Lambda, API Gateway's
# CloudWatch role, S3 replication and ARC Region switch document trust policies without it.
SENDS_SOURCE_ACCOUNT = {
    "vpc-flow-logs": "Amazon VPC User Guide, \"IAM role for publishing flow logs to "
                     "CloudWatch Logs\"",
    "monitoring.rds": "Amazon RDS User Guide, \"Setting up and enabling Enhanced Monitoring\" "
                      "(Protecting against the confused deputy problem)",
    "fis": "AWS FIS User Guide, \"IAM roles for AWS FIS experiments\"",
}


def assume_role_by(service: str, sid: str = "ServiceAssumesRole") -> Statement:
    """Trust policy statement: the named AWS service may assume the role; only for this
    account (confused-deputy guard) where the service documents that it sends
    `aws:SourceAccount` (SENDS_SOURCE_ACCOUNT). Elsewhere the guard would deny the service."""
    guard = {"Condition": Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")))} \
        if service in SENDS_SOURCE_ACCOUNT else {}
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", service_principal(service)),
        Action=[sts.AssumeRole],
        **guard,
    )



# --- drills: AWS FIS experiment role (templates/drills.py) ---------------------------------
# Scoped from the AWS managed policy AWSFaultInjectionSimulatorNetworkAccess (v3) and the FIS
# actions reference for aws:lambda:invocation-error: the same actions, on this stack's VPC,
# private subnets and the network ACLs FIS creates (tagged managedByFIS=true) only.
FIS_MANAGED_TAG = "aws:RequestTag/managedByFIS"
FIS_MANAGED_RESOURCE_TAG = "aws:ResourceTag/managedByFIS"


def fis_create_network_acl(vpc_arn, network_acls) -> list[Statement]:
    """FIS isolates subnets by swapping in a deny-all network ACL it creates and tags."""
    return [
        Statement(Sid="CreateNetworkAclInThisVpc", Effect=Allow, Action=[ec2.CreateNetworkAcl],
                  Resource=[vpc_arn]),
        Statement(Sid="CreateTaggedNetworkAcl", Effect=Allow, Action=[ec2.CreateNetworkAcl],
                  Resource=[network_acls],
                  Condition=Condition(StringEquals(FIS_MANAGED_TAG, "true"))),
        Statement(Sid="TagNetworkAclOnCreate", Effect=Allow, Action=[ec2.CreateTags],
                  Resource=[network_acls],
                  Condition=Condition(StringEquals({"ec2:CreateAction": "CreateNetworkAcl",
                                                    FIS_MANAGED_TAG: "true"}))),
        Statement(Sid="ManageOwnNetworkAcls", Effect=Allow,
                  Action=[ec2.CreateNetworkAclEntry, ec2.DeleteNetworkAcl],
                  Resource=[network_acls, vpc_arn],
                  Condition=Condition(StringEquals(FIS_MANAGED_RESOURCE_TAG, "true"))),
    ]


def fis_swap_subnet_network_acls(subnet_arns: list, network_acls) -> Statement:
    """Associate the subnets with FIS's ACL during the drill, and back afterwards."""
    return Statement(Sid="SwapSubnetNetworkAcl", Effect=Allow,
                     Action=[ec2.ReplaceNetworkAclAssociation],
                     Resource=[*subnet_arns, network_acls])


def fis_describe_network() -> Statement:
    """The read-only calls of the managed policy's VpcActions that apply to a VPC without
    transit gateways; EC2 Describe* calls have no resource-level permissions."""
    return Statement(Sid="DescribeNetwork", Effect=Allow,
                     Action=[ec2.DescribeVpcs, ec2.DescribeSubnets, ec2.DescribeNetworkAcls,
                             ec2.DescribeManagedPrefixLists, ec2.DescribeVpcEndpoints,
                             ec2.DescribeNetworkInterfaces, ec2.DescribeVpcPeeringConnections,
                             ec2.DescribeRouteTables],
                     Resource=["*"])


def fis_write_lambda_fault_config(config_objects, key_arn) -> list[Statement]:
    """aws:lambda:* actions write the fault configuration the FIS Lambda extension reads
    (FIS User Guide, "Use the AWS FIS aws:lambda:function actions")."""
    return [
        Statement(Sid="WriteFaultConfiguration", Effect=Allow,
                  Action=[s3.PutObject, s3.DeleteObject], Resource=[config_objects]),
        Statement(Sid="EncryptFaultConfiguration", Effect=Allow,
                  Action=[kms.GenerateDataKey, kms.Decrypt], Resource=[key_arn],
                  Condition=Condition(StringEquals("kms:ViaService", Sub(
                      "s3.${AWS::Region}.${AWS::URLSuffix}")))),
    ]


def fis_read_lambda_targets(function_arns: list) -> list[Statement]:
    return [
        Statement(Sid="ReadTargetFunctions", Effect=Allow, Action=[awslambda.GetFunction],
                  Resource=function_arns),
        # Target resolution goes through the Resource Groups Tagging API, which has no
        # resource-level permissions.
        Statement(Sid="ResolveTargets", Effect=Allow, Action=[tag.GetResources],
                  Resource=["*"]),
    ]


def lambda_read_fault_config(bucket_arn, config_objects) -> Statement:
    """What the FIS Lambda extension in a function needs: list and read its configuration."""
    return Statement(Sid="ReadFaultConfiguration", Effect=Allow,
                     Action=[s3.GetObject, s3.ListBucket], Resource=[bucket_arn, config_objects])


# --- ARC Region switch plan execution role (templates/region_switch.py) ---------------------
# From the AWS managed policy AmazonApplicationRecoveryControllerRegionSwitchPlanExecutionPolicy
# (v1) and the ARC Developer Guide's "Aurora Global Database execution block sample policy",
# scoped to this plan, its role, its alarms and this environment's clusters.
def arc_read_plan(plan_arn_pattern) -> Statement:
    return Statement(Sid="GetPlanAndExecutions", Effect=Allow,
                     Action=[arc_region_switch.GetPlan, arc_region_switch.GetPlanExecution,
                             arc_region_switch.ListPlanExecutions],
                     Resource=[plan_arn_pattern])


def arc_evaluate_own_role(role_arn) -> Statement:
    """Plan evaluation simulates the execution role's own policy."""
    return Statement(Sid="PlanEvaluation", Effect=Allow, Action=[iam.SimulatePrincipalPolicy],
                     Resource=[role_arn])


def arc_read_alarms(alarm_arns: list) -> list[Statement]:
    return [
        Statement(Sid="ReadAssociatedAlarms", Effect=Allow,
                  Action=[cloudwatch.DescribeAlarms, cloudwatch.DescribeAlarmHistory],
                  Resource=alarm_arns),
        # GetMetricStatistics has no resource-level permissions.
        Statement(Sid="ReadAlarmMetrics", Effect=Allow,
                  Action=[cloudwatch.GetMetricStatistics], Resource=["*"]),
    ]


def arc_aurora_global_switch(global_cluster_arn, cluster_arns: list) -> list[Statement]:
    return [
        # RDS Describe calls on global clusters are not scoped in the sample policy.
        Statement(Sid="DescribeAuroraClusters", Effect=Allow,
                  Action=[rds.DescribeGlobalClusters, rds.DescribeDBClusters], Resource=["*"]),
        Statement(Sid="SwitchOrFailOverGlobalDatabase", Effect=Allow,
                  Action=[rds.SwitchoverGlobalCluster, rds.FailoverGlobalCluster],
                  Resource=[global_cluster_arn, *cluster_arns]),
    ]
