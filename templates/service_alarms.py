"""Regional alarms: the payment service and the replication of every data store.

Every alarm goes through `notifications.add_alarm` (alarm and OK actions on the regional
topic). Replication alarms exist only once replication does (`PeerRegionReady`).
"""

from troposphere import Ref, Sub
from troposphere.cloudwatch import Metric, MetricDataQuery, MetricDimension, MetricStat

from . import names
from .api import Api
from .authorizer import Authorizer
from .notifications import Topic, add_alarm
from .physical_names import S3_REPLICATION_RULE_ID, db_cluster_identifier
from .reconcile import Reconcile
from .regional_params import Regional
from .service import Functions
from .storage import Storage, bucket_name
from .table import table_name

API_P99_LATENCY_MS = 2000
AURORA_LAG_MS = 5000  # typical lag is under a second; five seconds is an RPO at risk
DYNAMODB_LAG_MS = 5000


# CloudWatch matches a metric's dimensions exactly. AWS's documentation does not say whether
# AuroraGlobalDBReplicationLag is published with DBClusterIdentifier alone, or with
# DBClusterIdentifier and SourceRegion (AWS's own Aurora global database labs find it under
# both groups): the alarm reads both series and takes the higher, so it fires whichever set
# Aurora publishes. SourceRegion is the peer: the primary whenever this cluster is secondary.
LAG_SERIES = "lag"


def lag_queries(regional: Regional) -> list[MetricDataQuery]:
    cluster = Sub(db_cluster_identifier())
    series = {"byCluster": _dimensions(DBClusterIdentifier=cluster),
              "byClusterAndSource": _dimensions(DBClusterIdentifier=cluster,
                                                SourceRegion=regional.peer_region)}
    queries = [MetricDataQuery(
        Id=query_id, ReturnData=False,
        MetricStat=MetricStat(Metric=Metric(Namespace="AWS/RDS",
                                            MetricName="AuroraGlobalDBReplicationLag",
                                            Dimensions=dimensions),
                              Period=60, Stat="Maximum"))
        for query_id, dimensions in series.items()]
    # MAX over an array of series: per period, the highest value among those that have one
    # (CloudWatch User Guide, "Metric math syntax and functions"); no data in either: missing.
    return [MetricDataQuery(Id=LAG_SERIES, Expression=f"MAX([{', '.join(series)}])",
                            Label="AuroraGlobalDBReplicationLag (ms)", ReturnData=True),
            *queries]


def _dimensions(**values) -> list[MetricDimension]:
    return [MetricDimension(Name=key, Value=value) for key, value in values.items()]


def add_service_alarms(regional: Regional, topic: Topic, functions: Functions, api: Api,
                       storage: Storage, authorizer: Authorizer, reconcile: Reconcile) -> None:
    t = regional.template
    # The schedule runs every 5 minutes: two failed runs in a row, and missing projections are
    # no longer being rebuilt in this region (a run that stops on an unavailable store fails).
    add_alarm(
        t, "ReconcileErrorsAlarm", topic,
        description="The reconcile function failed twice in a row: missing receipts and status "
                    "items are not being rebuilt from the ledger in this region (its log "
                    "group says which store stopped it).",
        Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=_dimensions(FunctionName=Ref(reconcile.function)),
        Statistic="Sum", Period=300, EvaluationPeriods=2, DatapointsToAlarm=2,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    for logical, function in (("Processor", functions.processor), ("Health", functions.health),
                              ("Authorizer", authorizer.function)):
        add_alarm(
            t, f"{logical}ErrorsAlarm", topic,
            description=f"The {logical.lower()} function is failing (errors in 2 of 3 minutes).",
            Namespace="AWS/Lambda", MetricName="Errors",
            Dimensions=_dimensions(FunctionName=Ref(function)),
            Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2,
            Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        add_alarm(
            t, f"{logical}ThrottlesAlarm", topic,
            description=f"The {logical.lower()} function is throttled: reserved concurrency "
                        "or the account limit is exhausted.",
            Namespace="AWS/Lambda", MetricName="Throttles",
            Dimensions=_dimensions(FunctionName=Ref(function)),
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        )
    # REST APIs report per ApiName and Stage (API Gateway Developer Guide, "Amazon API
    # Gateway dimensions and metrics": 5XXError, Latency).
    api_dimensions = _dimensions(ApiName=api.name, Stage=api.stage_name)
    add_alarm(
        t, "Api5xxAlarm", topic,
        description="The payment API answers 5xx: payments are failing in this region.",
        Namespace="AWS/ApiGateway", MetricName="5XXError", Dimensions=api_dimensions,
        Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=5,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
    )
    add_alarm(
        t, "ApiLatencyP99Alarm", topic,
        description=f"p99 latency of the payment API is above {API_P99_LATENCY_MS} ms.",
        Namespace="AWS/ApiGateway", MetricName="Latency", Dimensions=api_dimensions,
        ExtendedStatistic="p99", Period=300, EvaluationPeriods=2,
        Threshold=API_P99_LATENCY_MS, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    # Aurora reports global replication lag on the secondary cluster, in its region; the
    # writer's cluster reports none ("This metric is available only in secondary AWS Region",
    # Aurora User Guide, "Amazon CloudWatch metrics for Amazon Aurora"). Which cluster is the
    # secondary follows the database, not the deploy roles (recovery normally, home after a
    # switchover or a failover), so each region alarms on its own cluster (by its
    # deterministic name: it exists in both regions once replication does), and missing data,
    # "this cluster is the writer", is not breaching. A lost peer region shows on the
    # health-check alarms, and `dr status` names a secondary without datapoints.
    add_alarm(
        t, "AuroraGlobalReplicationLagAlarm", topic, condition=names.PEER_READY,
        description=f"Aurora global replication lag above {AURORA_LAG_MS} ms while this "
                    "region's cluster is the secondary: the RPO of a failover is at risk.",
        Metrics=lag_queries(regional), EvaluationPeriods=3, DatapointsToAlarm=3,
        Threshold=AURORA_LAG_MS, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    # DynamoDB reports replication latency in the sending region, per receiving region.
    add_alarm(
        t, "DynamoDbReplicationLatencyAlarm", topic, condition=names.PEER_READY,
        description=f"Global table replication to the peer region is slower than "
                    f"{DYNAMODB_LAG_MS} ms.",
        Namespace="AWS/DynamoDB", MetricName="ReplicationLatency",
        Dimensions=_dimensions(TableName=table_name(), ReceivingRegion=regional.peer_region),
        Statistic="Average", Period=60, EvaluationPeriods=5, DatapointsToAlarm=3,
        Threshold=DYNAMODB_LAG_MS, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    add_alarm(
        t, "S3ReplicationFailedAlarm", topic, condition=names.PEER_READY,
        description="Receipts failed to replicate to the peer region's bucket.",
        Namespace="AWS/S3", MetricName="OperationsFailedReplication",
        Dimensions=_dimensions(SourceBucket=storage.name,
                               DestinationBucket=bucket_name(regional.peer_region),
                               RuleId=S3_REPLICATION_RULE_ID),
        Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
    )
