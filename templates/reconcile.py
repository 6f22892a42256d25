"""The reconcile function: rebuilds missing receipts and status items from the ledger.

Its own function rather than an action of the processor, so that least privilege holds for
both: it reads receipts and lists the bucket (a missing object is a 404 only to a caller that
may list the bucket: "HeadObject", Amazon S3 API Reference) and reads status items in batches,
which the processor never needs; and the processor's role cannot be invoked by EventBridge.
It connects to the database as the functions' role (`payments_app`) through the global writer
endpoint, like the processor, and may execute one function more there
(`payments_created_between`, lambda/schema/006_*.sql).

An EventBridge schedule invokes it in each region every few minutes (`{"mode": "scheduled"}`,
lambda/payments/reconcile.py); `dr failover` and `dr failback` invoke it in the writer's
region after the writer moved. An asynchronous invocation that fails is retried by Lambda and
then dropped: the next scheduled run checks the same rows again from its watermark, so a
dead-letter queue would hold nothing worth keeping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from awacs import dynamodb as ddb
from awacs import kms as kms_actions
from awacs import s3 as s3_actions
from awacs import secretsmanager as sm
from awacs.aws import Allow, Condition, ForAllValuesStringLike, Statement
from payments.reconcile import WATERMARK_KEY_PREFIX
from payments.status import KEY_PREFIX as STATUS_KEY_PREFIX
from troposphere import Ref, Template, awslambda, events, logs

from .database import Database, role_secret_name
from .keys import Key
from .network import Network
from .regional_params import Regional
from .service import (
    FunctionSpec, _environment, _key_use_through, _secret_arn_pattern, _table_arn, add_function,
    receipt_objects,
)
from .storage import Storage

RECONCILE = FunctionSpec(
    "reconcile", "Reconcile", "reconcile", timeout=300, memory=512,
    description="Rebuilds missing receipts and status items from the ledger (a schedule and "
                "the DR runbook invoke it)",
    no_dead_letter_queue="invoked by its EventBridge schedule and by the DR runbook: a failed "
                         "run is repeated by the next scheduled one, from its watermark, so a "
                         "dead-letter queue would hold nothing to act on",
)
SCHEDULE_MINUTES = 5
SCHEDULE = f"rate({SCHEDULE_MINUTES} minutes)"
SCHEDULED_EVENT = json.dumps({"mode": "scheduled"})


@dataclass(frozen=True)
class Reconcile:
    function: awslambda.Function
    log_group: logs.LogGroup


# The items of the payments table the reconcile function reads and writes: status items
# (`payment#<id>`, lambda/payments/status.py) and its watermarks (`reconcile#<region>`,
# lambda/payments/reconcile.py); never the idempotency records (`idem#`), merchant keys or
# health items. `dynamodb:LeadingKeys` is the partition key of every item a request names
# (BatchGetItem's keys included) and ForAllValues requires each of them to match ("Using IAM
# policy conditions for fine-grained access control", DynamoDB Developer Guide).
RECONCILE_ITEM_KEYS = (f"{STATUS_KEY_PREFIX}*", f"{WATERMARK_KEY_PREFIX}*")


def reconcile_statements(database: Database, storage: Storage, key: Key) -> list[Statement]:
    """Status items (batch reads, conditional puts) and its watermark item, and no other item
    of the table; receipts under receipts/ (HEAD is s3:GetObject; a conditional put); listing
    the bucket, so a missing receipt is a 404; the app role's secret; the regional key through
    those services.

    The listing has no `s3:prefix` condition: the function never lists; the grant only makes
    HeadObject of a missing receipt answer 404 rather than 403 ("HeadObject", Amazon S3 API
    Reference), and `s3:prefix` is the prefix parameter of a listing, which a HeadObject does
    not have (on paper: no AWS page says how S3 evaluates a conditioned s3:ListBucket there,
    and a 403 would stop every run)."""
    return [
        Statement(Sid="StatusItemsAndWatermark", Effect=Allow,
                  Action=[ddb.BatchGetItem, ddb.GetItem, ddb.PutItem, ddb.UpdateItem],
                  Resource=[_table_arn()],
                  Condition=Condition(ForAllValuesStringLike(
                      "dynamodb:LeadingKeys", list(RECONCILE_ITEM_KEYS)))),
        Statement(Sid="ReadAndWriteReceipts", Effect=Allow,
                  Action=[s3_actions.GetObject, s3_actions.PutObject],
                  Resource=[receipt_objects(storage)]),
        Statement(Sid="ListReceiptsBucket", Effect=Allow, Action=[s3_actions.ListBucket],
                  Resource=[storage.arn]),
        Statement(Sid="ReadDatabaseSecret", Effect=Allow, Action=[sm.GetSecretValue],
                  Resource=[_secret_arn_pattern(role_secret_name("app"))]),
        _key_use_through(key, "UseRegionalKey", ["secretsmanager", "s3", "dynamodb"],
                         [kms_actions.Decrypt, kms_actions.Encrypt, kms_actions.GenerateDataKey]),
    ]


def add_reconcile(regional: Regional, key: Key, network: Network, database: Database,
                  storage: Storage) -> Reconcile:
    t: Template = regional.template
    function = add_function(t, RECONCILE, reconcile_statements(database, storage, key), key,
                            network, _environment(database, storage), Ref("AWS::NoValue"))
    schedule = t.add_resource(events.Rule(
        "ReconcileSchedule",
        Description="Rebuild missing receipts and status items from the ledger",
        ScheduleExpression=SCHEDULE, State="ENABLED",
        Targets=[events.Target(Id="reconcile", Arn=function.get_att("Arn"),
                               Input=SCHEDULED_EVENT)],
    ))
    t.add_resource(awslambda.Permission(
        "ReconcileScheduleInvokePermission", Action="lambda:InvokeFunction",
        FunctionName=function.get_att("Arn"), Principal="events.amazonaws.com",
        SourceArn=schedule.get_att("Arn"),
    ))
    return Reconcile(function, t.resources[f"{RECONCILE.logical}LogGroup"])
