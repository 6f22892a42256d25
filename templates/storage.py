"""S3: a receipts/audit bucket per region, replicated both ways, and its access-log bucket.

Names are deterministic and globally unique, `<prefix>-<env>-<account>-<region>`: no time or
random salt (a salted name changes at every build and replaces the bucket and its data).
A replication rule is added only when `PeerRegionReady` says the peer bucket exists, because
S3 rejects a rule whose destination bucket does not exist or is not versioned. Replicas are
not replicated again, so rules in both directions do not loop.
"""

from dataclasses import dataclass

from awacs import kms as kms_actions
from awacs import s3 as s3_actions
from awacs.aws import (
    Allow, Condition, ForAnyValueStringEquals, Principal, Statement, StringEquals,
)
from payments.probe_keys import HEALTH_OBJECT_PREFIX
from payments.receipts import PREFIX as RECEIPTS_PREFIX
from troposphere import GetAtt, If, Join, Output, Ref, Sub, Template, iam, s3

from . import grants, names
from .arns import service_principal
from .checks import skip_checkov
from .keys import Key, alias_name
from .physical_names import S3_REPLICATION_RULE_ID
from .regional_params import Regional
from .tagging import tags

ACCESS_LOG_RETENTION_DAYS = 400  # a year of audit trail plus margin (PCI DSS 10.5.1)
NONCURRENT_VERSION_DAYS = 365
HEALTH_OBJECT_VERSION_DAYS = 1  # the health check rewrites its object every few seconds
REPLICATION_MINUTES = 15  # S3 Replication Time Control: 99.99% of objects within 15 minutes


@dataclass(frozen=True)
class Storage:
    bucket: s3.Bucket
    log_bucket: s3.Bucket

    @property
    def name(self) -> Ref:
        return Ref(self.bucket)

    @property
    def arn(self) -> GetAtt:
        return self.bucket.get_att("Arn")


def bucket_name(region="${AWS::Region}", kind: str = "") -> Sub:
    """`<prefix>-<env>[-kind]-<account>-<region>` for this or another region."""
    middle = f"-{kind}" if kind else ""
    text = f"${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}{middle}-${{AWS::AccountId}}-"
    if region == "${AWS::Region}":
        return Sub(text + "${AWS::Region}")
    return Sub(text + "${Region}", Region=region)


def _public_access_block() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
        RestrictPublicBuckets=True)


def eventbridge_notifications() -> s3.NotificationConfiguration:
    return s3.NotificationConfiguration(
        EventBridgeConfiguration=s3.EventBridgeConfiguration(EventBridgeEnabled=True))


def tls_only_policy(t: Template, logical_id: str, bucket: s3.Bucket, *extra: Statement,
                    condition: str | None = None) -> None:
    # Fn::Join rather than Fn::Sub for the objects ARN: the Control Tower control CT.S3.PR.8
    # (cfn-guard) recognises only GetAtt and Join, it does not resolve Sub.
    bucket_arn = bucket.get_att("Arn")
    objects = Join("", [bucket_arn, "/*"])
    policy = s3.BucketPolicy(
        logical_id, Bucket=Ref(bucket),
        PolicyDocument=grants.policy(
            grants.deny_insecure_transport("DenyInsecureTransport", [s3_actions.Action("*")],
                                           [bucket_arn, objects]),
            *extra,
        ),
    )
    if condition:
        policy.Condition = condition
    t.add_resource(policy)


def add_storage(regional: Regional, key: Key) -> Storage:
    t = regional.template
    log_bucket = _access_log_bucket(t)
    replication_role = _replication_role(t, regional)
    bucket = t.add_resource(s3.Bucket(
        "ReceiptsBucket",
        BucketName=bucket_name(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(
                ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                    SSEAlgorithm="aws:kms", KMSMasterKeyID=key.arn),
                BucketKeyEnabled=True,
            )]),
        PublicAccessBlockConfiguration=_public_access_block(),
        OwnershipControls=s3.OwnershipControls(Rules=[
            s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LoggingConfiguration=s3.LoggingConfiguration(
            DestinationBucketName=Ref(log_bucket), LogFilePrefix="receipts/"),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[
            s3.LifecycleRule(
                Id="expire-old-versions", Status="Enabled",
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                    NoncurrentDays=NONCURRENT_VERSION_DAYS),
                AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                    DaysAfterInitiation=7),
            ),
            # The health check's proof that receipts can be written (lambda/payments/health.py):
            # one object per region, a new version every few seconds per container.
            s3.LifecycleRule(
                Id="expire-health-probe-versions", Status="Enabled", Prefix=HEALTH_OBJECT_PREFIX,
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                    NoncurrentDays=HEALTH_OBJECT_VERSION_DAYS),
                AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                    DaysAfterInitiation=1),
            ),
        ]),
        ReplicationConfiguration=If(names.PEER_READY, _replication(regional, replication_role),
                                    Ref("AWS::NoValue")),
        # Object-level events (created, deleted, restored) go to the account's default
        # EventBridge bus: an audit trail a SIEM rule can consume (CT.S3.PR.4); free to emit.
        NotificationConfiguration=eventbridge_notifications(),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        Tags=tags("receipts"),
    ))
    tls_only_policy(t, "ReceiptsBucketPolicy", bucket)
    t.add_output(Output(names.OUT_BUCKET_NAME, Description="Receipts bucket in this region",
                        Value=Ref(bucket)))
    t.add_output(Output(names.OUT_BUCKET_ARN, Description="Receipts bucket ARN",
                        Value=bucket.get_att("Arn")))
    return Storage(bucket, log_bucket)


def _replication(regional: Regional, role: iam.Role) -> s3.ReplicationConfiguration:
    peer_bucket_arn = Sub("arn:${AWS::Partition}:s3:::${Bucket}",
                          Bucket=bucket_name(regional.peer_region))
    return s3.ReplicationConfiguration(
        Role=role.get_att("Arn"),
        Rules=[s3.ReplicationConfigurationRules(
            Id=S3_REPLICATION_RULE_ID, Status="Enabled", Priority=1,
            # Receipts only: the health check's objects prove this region's writes and would
            # only add replication traffic to the peer.
            Filter=s3.ReplicationRuleFilter(Prefix=RECEIPTS_PREFIX),
            DeleteMarkerReplication=s3.DeleteMarkerReplication(Status="Enabled"),
            SourceSelectionCriteria=s3.SourceSelectionCriteria(
                SseKmsEncryptedObjects=s3.SseKmsEncryptedObjects(Status="Enabled"),
                ReplicaModifications=s3.ReplicaModifications(Status="Enabled"),
            ),
            Destination=s3.ReplicationConfigurationRulesDestination(
                Bucket=peer_bucket_arn,
                # Replicas are re-encrypted with the peer region's own key (by alias ARN).
                EncryptionConfiguration=s3.EncryptionConfiguration(
                    ReplicaKmsKeyID=Sub(
                        "arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:${Alias}",
                        Region=regional.peer_region, Alias=alias_name())),
                ReplicationTime=s3.ReplicationTime(
                    Status="Enabled", Time=s3.ReplicationTimeValue(Minutes=REPLICATION_MINUTES)),
                Metrics=s3.Metrics(Status="Enabled", EventThreshold=s3.ReplicationTimeValue(
                    Minutes=REPLICATION_MINUTES)),
            ),
        )],
    )


def _replication_role(t: Template, regional: Regional) -> iam.Role:
    """Only what replication needs (S3 User Guide, "Setting up permissions for live
    replication", with the SSE-KMS additions): read versions from this bucket, replicate into
    the peer bucket, decrypt with this region's key and encrypt with the peer's, each only
    through S3."""
    source = bucket_name()
    source_arn = Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=source)
    peer_arn = Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=bucket_name(regional.peer_region))
    key_alias = alias_name()

    def key_in(region, sid: str, actions) -> Statement:
        return Statement(
            Sid=sid, Effect=Allow, Action=actions,
            Resource=[Sub("arn:${AWS::Partition}:kms:${Region}:${AWS::AccountId}:key/*",
                          Region=region)],
            Condition=Condition([
                ForAnyValueStringEquals("kms:ResourceAliases", key_alias),
                StringEquals("kms:ViaService", Sub("s3.${Region}.${AWS::URLSuffix}",
                                                   Region=region)),
            ]),
        )

    return t.add_resource(iam.Role(
        "ReplicationRole", Condition=names.PEER_READY,
        Description="S3 replicates receipts to the peer region's bucket",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("s3")),
        Policies=[iam.Policy(PolicyName="replicate-receipts", PolicyDocument=grants.policy(
            Statement(Sid="ReadReplicationConfiguration", Effect=Allow,
                      Action=[s3_actions.GetReplicationConfiguration, s3_actions.ListBucket],
                      Resource=[source_arn]),
            Statement(Sid="ReadSourceVersions", Effect=Allow,
                      Action=[s3_actions.GetObjectVersionForReplication,
                              s3_actions.GetObjectVersionAcl, s3_actions.GetObjectVersionTagging],
                      Resource=[Sub("${Arn}/*", Arn=source_arn)]),
            Statement(Sid="ReplicateToPeer", Effect=Allow,
                      Action=[s3_actions.ReplicateObject, s3_actions.ReplicateDelete,
                              s3_actions.ReplicateTags],
                      Resource=[Sub("${Arn}/*", Arn=peer_arn)]),
            key_in(Ref("AWS::Region"), "DecryptSource", [kms_actions.Decrypt]),
            key_in(regional.peer_region, "EncryptReplica",
                   [kms_actions.Encrypt, kms_actions.GenerateDataKey]),
        ))],
        Tags=tags("replication"),
    ))


def _access_log_bucket(t: Template) -> s3.Bucket:
    """Server access logs of the receipts bucket. S3 delivers access logs only to a bucket
    with SSE-S3 default encryption, not SSE-KMS (S3 User Guide, "Enabling Amazon S3 server
    access logging")."""
    bucket = t.add_resource(s3.Bucket(
        "AccessLogBucket",
        BucketName=bucket_name(kind="logs"),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                SSEAlgorithm="AES256"))]),
        PublicAccessBlockConfiguration=_public_access_block(),
        OwnershipControls=s3.OwnershipControls(Rules=[
            s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-access-logs", Status="Enabled", ExpirationInDays=ACCESS_LOG_RETENTION_DAYS,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30),
        )]),
        NotificationConfiguration=eventbridge_notifications(),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        Tags=tags("access-logs"),
    ))
    skip_checkov(
        bucket,
        CKV_AWS_18="this is the access-log bucket itself; logging it into itself would loop",
    )
    objects = Sub("${Arn}/*", Arn=bucket.get_att("Arn"))
    tls_only_policy(t, "AccessLogBucketPolicy", bucket, Statement(
        Sid="S3ServerAccessLogsDelivery", Effect=Allow,
        Principal=Principal("Service", service_principal("logging.s3")),
        Action=[s3_actions.PutObject], Resource=[objects],
        Condition=Condition([
            StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")),
        ]),
    ))
    return bucket
