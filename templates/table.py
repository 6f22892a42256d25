"""DynamoDB global table for idempotency records and payment status.

Declared in the primary's stack only (a global table is one resource that owns every replica;
declaring it in both stacks would create two tables). A retry that lands in the other region
after a failover finds the same idempotency record there. Each replica is encrypted with its
own region's key and has point-in-time recovery.

DynamoDB validates a replica's KMS key at CreateTable. The home replica therefore names the
key *resource* (a reference orders the table after the key); an alias string would not, and
the alias may not exist yet when the table is created. The recovery replica names the
recovery region's key by its alias, which exists since that region's foundation phase.
"""

from troposphere import If, Output, Ref, Sub, Template, dynamodb

from . import names
from .keys import Key, alias_name
from .physical_names import physical
from .physical_names import table_name as physical_table_name
from .tagging import tags

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"


def table_name() -> Sub:
    return physical(physical_table_name())


def _replica(region, kms_key) -> dynamodb.ReplicaSpecification:
    return dynamodb.ReplicaSpecification(
        Region=region,
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(
            PointInTimeRecoveryEnabled=True),
        SSESpecification=dynamodb.ReplicaSSESpecification(KMSMasterKeyId=kms_key),
        DeletionProtectionEnabled=True,
        Tags=tags("payments-table"),
    )


def add_payments_table(t: Template, key: Key) -> dynamodb.GlobalTable:
    table = t.add_resource(dynamodb.GlobalTable(
        "PaymentsTable", Condition=names.IS_HOME,
        TableName=table_name(),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName=PARTITION_KEY,
                                                           AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName=PARTITION_KEY, KeyType="HASH")],
        # Global tables replicate through streams: NEW_AND_OLD_IMAGES is required.
        StreamSpecification=dynamodb.StreamSpecification(StreamViewType="NEW_AND_OLD_IMAGES"),
        TimeToLiveSpecification=dynamodb.TimeToLiveSpecification(
            AttributeName=TTL_ATTRIBUTE, Enabled=True),
        SSESpecification=dynamodb.GlobalTableSSESpecification(SSEEnabled=True, SSEType="KMS"),
        Replicas=[
            _replica(Ref(names.HOME_REGION), key.arn),
            If(names.HOME_WITH_PEER, _replica(Ref(names.RECOVERY_REGION), alias_name()),
               Ref("AWS::NoValue")),
        ],
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))
    t.add_output(Output(names.OUT_TABLE_NAME, Description="Payments global table name "
                        "(the same in both regions)", Value=table_name()))
    t.add_output(Output(names.OUT_TABLE_STREAM_ARN, Condition=names.IS_HOME,
                        Description="Stream of the primary replica",
                        Value=table.get_att("StreamArn")))
    return table
