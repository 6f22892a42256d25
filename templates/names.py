"""Names that cross a module or a stack boundary, defined once.

Parameter, condition and output names are an external contract: the rollout tool fills
parameters and reads outputs by these names, and a renamed logical ID replaces a resource in
production. Change one only as a breaking change.
"""

# --- Regional template: parameters -------------------------------------------------------
NAME_PREFIX = "NamePrefix"
ENVIRONMENT_NAME = "EnvironmentName"
PRIMARY_REGION = "PrimaryRegion"
SECONDARY_REGION = "SecondaryRegion"
PRIMARY_VPC_CIDR = "PrimaryVpcCidr"
SECONDARY_VPC_CIDR = "SecondaryVpcCidr"
SECONDARY_VPC_ID = "SecondaryVpcId"
PEERING_CONNECTION_ID = "PeeringConnectionId"
EGRESS_MODE = "EgressMode"
ALARM_EMAIL = "AlarmEmail"

# --- Regional template: conditions -------------------------------------------------------
IS_PRIMARY = "IsPrimary"
IS_SECONDARY = "IsSecondary"
HAS_NAT = "HasNatEgress"
NAT_PER_AZ = "HasNatPerAz"
NO_EGRESS = "HasNoEgress"
HAS_ALARM_EMAIL = "HasAlarmEmail"
REQUESTS_PEERING = "RequestsPeering"
ROUTES_TO_PEERING = "RoutesToPeering"

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

# The health endpoint Route 53 probes; the regional API must route GET on this path.
HEALTH_PATH = "/health"
