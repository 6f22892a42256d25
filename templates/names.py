"""Names that cross a module or a stack boundary, defined once.

Parameter, condition and output names are an external contract: the rollout tool fills
parameters and reads outputs by these names, and a renamed logical ID replaces a resource in
production. Change one only as a breaking change.
"""

# --- Regional template: parameters -------------------------------------------------------
NAME_PREFIX = "NamePrefix"
ENVIRONMENT_NAME = "EnvironmentName"
HOME_REGION = "HomeRegion"
RECOVERY_REGION = "RecoveryRegion"
HOME_VPC_CIDR = "HomeVpcCidr"
RECOVERY_VPC_CIDR = "RecoveryVpcCidr"
RECOVERY_VPC_ID = "RecoveryVpcId"
PEERING_CONNECTION_ID = "PeeringConnectionId"
EGRESS_MODE = "EgressMode"
ALARM_EMAIL = "AlarmEmail"
# Data tier (issue 3): "true" once the peer region's first pass is complete (its key alias and
# bucket exist): turns on the secret replica, the global table's second replica, S3
# replication and, in the secondary, joining the global database.
PEER_REGION_READY = "PeerRegionReady"
DB_INSTANCE_CLASS = "DbInstanceClass"
DB_BACKUP_RETENTION_DAYS = "DbBackupRetentionDays"
# The global database's writer endpoint, filled in the join phase (DescribeGlobalClusters).
GLOBAL_WRITER_ENDPOINT = "GlobalWriterEndpoint"
# Payment service (issue 4): code lives in `<ArtifactBucketPrefix>-<region>` in each region.
ARTIFACT_BUCKET_PREFIX = "ArtifactBucketPrefix"
# One code artifact for every function (each names its handler in it): the S3 key of the zip.
FUNCTION_CODE_KEY = "FunctionCodeKey"
API_DOMAIN_NAME = "ApiDomainName"
API_HOSTED_ZONE_ID = "ApiHostedZoneId"
PROCESSOR_RESERVED_CONCURRENCY = "ProcessorReservedConcurrency"
HEALTH_RESERVED_CONCURRENCY = "HealthReservedConcurrency"
AUTH_MODE = "AuthMode"
JWT_USER_POOL_ARNS = "JwtUserPoolArns"
# Edge (issue 9): requests per client IP per 5 minutes before WAF blocks.
WAF_RATE_LIMIT = "WafRateLimit"
# Zero-loss acknowledgements (issue 17): the processor's ZERO_LOSS, ZERO_LOSS_WAIT_MS and
# ZERO_LOSS_DEGRADE_AFTER_SECONDS (lambda/payments/durability.py).
ZERO_LOSS = "ZeroLoss"
ZERO_LOSS_WAIT_MS = "ZeroLossWaitMs"
ZERO_LOSS_DEGRADE_AFTER_SECONDS = "ZeroLossDegradeAfterSeconds"

# --- Regional template: conditions -------------------------------------------------------
IS_HOME = "IsHomeRegion"
IS_RECOVERY = "IsRecoveryRegion"
HAS_NAT = "HasNatEgress"
NAT_PER_AZ = "HasNatPerAz"
NO_EGRESS = "HasNoEgress"
HAS_ALARM_EMAIL = "HasAlarmEmail"
REQUESTS_PEERING = "RequestsPeering"
ROUTES_TO_PEERING = "RoutesToPeering"
PEER_READY = "PeerReady"
HOME_WITH_PEER = "HomeWithPeerReady"
RECOVERY_WITH_PEER = "RecoveryWithPeerReady"
USES_API_KEYS = "UsesMerchantApiKeys"
USES_JWT = "UsesJwtAuthorizer"
USES_IAM = "UsesIamAuth"

# --- Regional template: outputs ----------------------------------------------------------
OUT_VPC_ID = "VpcId"
OUT_VPC_CIDR = "VpcCidr"
OUT_PRIVATE_SUBNET_IDS = "PrivateSubnetIds"
OUT_LAMBDA_SECURITY_GROUP_ID = "LambdaSecurityGroupId"
OUT_DATABASE_SECURITY_GROUP_ID = "DatabaseSecurityGroupId"
OUT_PEERING_CONNECTION_ID = "PeeringConnectionId"
OUT_KEY_ARN = "KeyArn"
OUT_KEY_ALIAS = "KeyAlias"
OUT_ALARM_TOPIC_ARN = "AlarmTopicArn"
OUT_GLOBAL_CLUSTER_ID = "GlobalClusterIdentifier"
OUT_DB_CLUSTER_ID = "DbClusterIdentifier"
OUT_DB_ENDPOINT = "DbClusterEndpoint"
OUT_DB_READER_ENDPOINT = "DbReaderEndpoint"
OUT_DB_SECRET_ARN = "DbSecretArn"
OUT_DB_SECRET_NAME = "DbSecretName"
OUT_TABLE_NAME = "PaymentsTableName"
OUT_TABLE_STREAM_ARN = "PaymentsTableStreamArn"
OUT_BUCKET_NAME = "ReceiptsBucketName"
OUT_BUCKET_ARN = "ReceiptsBucketArn"
OUT_MIGRATE_FUNCTION = "MigrateFunctionName"
OUT_API_ID = "ApiId"
OUT_API_ENDPOINT_HOST = "ApiEndpointHost"
OUT_API_DOMAIN_TARGET = "ApiDomainTarget"
OUT_API_DOMAIN_ZONE_ID = "ApiDomainHostedZoneId"
OUT_API_STAGE = "ApiStageName"
OUT_WEB_ACL_ARN = "WebAclArn"

# --- Global template: parameters ---------------------------------------------------------
DOMAIN_NAME = "DomainName"
HOSTED_ZONE_ID = "HostedZoneId"
ZONE_NAME = "ZoneName"
PRIMARY_API_TARGET = "PrimaryApiDomainTarget"
PRIMARY_API_TARGET_ZONE = "PrimaryApiDomainHostedZoneId"
PRIMARY_HEALTH_HOST = "PrimaryHealthCheckHost"
SECONDARY_API_TARGET = "SecondaryApiDomainTarget"
SECONDARY_API_TARGET_ZONE = "SecondaryApiDomainHostedZoneId"
SECONDARY_HEALTH_HOST = "SecondaryHealthCheckHost"
HEALTH_CHECK_FAILURE_THRESHOLD = "HealthCheckFailureThreshold"

# --- Global template: conditions ---------------------------------------------------------
CREATES_ZONE = "CreatesHostedZone"

# --- Global template: outputs ------------------------------------------------------------
OUT_HOSTED_ZONE_ID = "HostedZoneId"
OUT_PRIMARY_HEALTH_CHECK_ID = "PrimaryHealthCheckId"
OUT_SECONDARY_HEALTH_CHECK_ID = "SecondaryHealthCheckId"
OUT_API_URL = "ApiUrl"

# The global stack's region: Route 53 health-check metrics exist only in us-east-1 (Route 53
# Developer Guide, "Monitoring health check status and getting notifications").
GLOBAL_REGION = "us-east-1"

# The health endpoint Route 53 probes; the regional API must route GET on this path.
HEALTH_PATH = "/health"
