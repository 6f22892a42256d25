"""The operator dashboard: both regions on one screen, one row per concern.

A CloudWatch dashboard can show metrics of several regions (each metric names its region), so
one dashboard in the global stack covers the home region, the recovery region and Route 53
(whose health-check metrics live in us-east-1, where the global stack runs). Every dimension
value is a name pattern from `physical_names`, the same patterns the regional template uses,
and the alarm widget lists exactly the alarms the regional and global templates declare, by
the deterministic names `notifications.add_alarm` gives them.

The body is one `Fn::Sub` string: `${HomeRegion}`, `${RecoveryRegion}`, `${NamePrefix}`,
`${EnvironmentName}`, `${AWS::AccountId}`, `${AWS::Partition}`, `${AWS::Region}` and the health
checks' logical ids are its only variables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import Sub, Template, cloudwatch

from . import names
from . import physical_names as pn
from .parameters import REGION_PATTERN, ParameterSet
from .service import MAX_RESERVED_CONCURRENCY

GROUP_DASHBOARD = "Dashboard"
HOME = f"${{{names.HOME_REGION}}}"
RECOVERY = f"${{{names.RECOVERY_REGION}}}"
GLOBAL = "${AWS::Region}"  # the global stack runs in us-east-1, where Route 53 metrics are
REGIONS = (("home", HOME), ("recovery", RECOVERY))

PROCESSOR_RESERVED = names.PROCESSOR_RESERVED_CONCURRENCY
HEALTH_RESERVED = names.HEALTH_RESERVED_CONCURRENCY
GRID_WIDTH = 24
ROW_HEIGHT = 6
PERIOD = 60
S3_PERIOD = 300  # S3 replication metrics are published per minute but are sparse; 5 min reads


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    region: str
    label: str
    stat: str

    def entry(self) -> list:
        flat = [self.namespace, self.name]
        for key, value in self.dimensions:
            flat += [key, value]
        return flat + [{"region": self.region, "label": self.label, "stat": self.stat}]


@dataclass(frozen=True)
class Graph:
    title: str
    metrics: tuple[Metric, ...]
    period: int = PERIOD
    annotations: tuple[tuple[str, str], ...] = ()  # (label, parameter name) horizontal lines


@dataclass(frozen=True)
class Row:
    concern: str
    widgets: tuple[Graph, ...]


def _per_region(namespace: str, metric: str, stat: str, label: str, dimensions) -> tuple:
    """One series per region; `dimensions(region)` gives that region's dimensions."""
    return tuple(Metric(namespace, metric, tuple(dimensions(region)), region,
                        f"{label} {region}".strip(), stat) for _role, region in REGIONS)


def _peer(region: str) -> str:
    return RECOVERY if region == HOME else HOME


def _api(_region: str) -> tuple:
    return (("ApiName", pn.api_name()), ("Stage", pn.REST_API_STAGE_NAME))


def _waf(region: str) -> tuple:
    return (("WebACL", pn.web_acl_name()), ("Region", region), ("Rule", "ALL"))


def _cluster(region: str) -> tuple:
    return (("DBClusterIdentifier", pn.db_cluster_identifier(region)),)


def _cluster_and_source(region: str) -> tuple:
    """The other dimension set Aurora's global lag metrics may be published with (its
    documentation does not say which; service_alarms.lag_queries reads both)."""
    return _cluster(region) + (("SourceRegion", _peer(region)),)


def _writer(region: str) -> tuple:
    return _cluster(region) + (("Role", "WRITER"),)


def _table(_region: str) -> tuple:
    return (("TableName", pn.table_name()),)


def traffic_row() -> Row:
    api, waf = _api, _waf
    return Row("traffic", (
        Graph("Requests", _per_region("AWS/ApiGateway", "Count", "Sum", "", api)),
        Graph("4XX", _per_region("AWS/ApiGateway", "4XXError", "Sum", "", api)),
        Graph("5XX", _per_region("AWS/ApiGateway", "5XXError", "Sum", "", api)),
        Graph("Latency p99 (ms)", _per_region("AWS/ApiGateway", "Latency", "p99", "", api)),
        Graph("WAF blocked requests", _per_region("AWS/WAFV2", "BlockedRequests", "Sum", "",
                                                  waf)),
    ))


def lambda_row() -> Row:
    def by_function(metric: str, stat: str) -> tuple:
        return tuple(m for key in ("processor", "health") for m in _per_region(
            "AWS/Lambda", metric, stat, key,
            lambda _region, key=key: (("FunctionName", pn.function_name(key)),)))
    return Row("lambda", (
        Graph("Lambda errors", by_function("Errors", "Sum")),
        Graph("Lambda throttles", by_function("Throttles", "Sum")),
        Graph("Concurrency against the reservation", by_function("ConcurrentExecutions",
                                                                 "Maximum"),
              annotations=(("processor reservation", PROCESSOR_RESERVED),
                           ("health reservation", HEALTH_RESERVED))),
    ))


def aurora_row() -> Row:
    cluster, writer = _cluster, _writer
    # Global replication lag and RPO lag are reported by the secondary cluster, wherever the
    # writer is now: per region a series under each dimension set Aurora may use; the
    # writer's region shows none.
    sourced = _cluster_and_source
    return Row("aurora", (
        Graph("Aurora global replication lag (ms)", _per_region(
            "AWS/RDS", "AuroraGlobalDBReplicationLag", "Maximum", "", cluster) + _per_region(
            "AWS/RDS", "AuroraGlobalDBReplicationLag", "Maximum", "from peer", sourced)),
        Graph("Aurora global RPO lag (ms)", _per_region(
            "AWS/RDS", "AuroraGlobalDBRPOLag", "Maximum", "", cluster) + _per_region(
            "AWS/RDS", "AuroraGlobalDBRPOLag", "Maximum", "from peer", sourced)),
        Graph("Writer CPU (%)", _per_region("AWS/RDS", "CPUUtilization", "Average", "writer",
                                            writer)),
        Graph("Writer connections", _per_region("AWS/RDS", "DatabaseConnections", "Maximum",
                                                "writer", writer)),
    ))


def dynamodb_row() -> Row:
    table = _table
    # ReplicationLatency is reported in the sending region, per receiving region.
    latency = tuple(Metric("AWS/DynamoDB", "ReplicationLatency",
                           (("TableName", pn.table_name()), ("ReceivingRegion", _peer(region))),
                           region, f"{region} to {_peer(region)}", "Average")
                    for _role, region in REGIONS)
    return Row("dynamodb", (
        Graph("DynamoDB replication latency (ms)", latency),
        Graph("DynamoDB throttled events", _per_region(
            "AWS/DynamoDB", "ReadThrottleEvents", "Sum", "read", table)
            + _per_region("AWS/DynamoDB", "WriteThrottleEvents", "Sum", "write", table)),
    ))


def s3_row() -> Row:
    def replication(metric: str, stat: str) -> tuple:
        # S3 reports replication metrics in the source bucket's region.
        return tuple(Metric("AWS/S3", metric, (
            ("SourceBucket", pn.bucket_name(region)),
            ("DestinationBucket", pn.bucket_name(_peer(region))),
            ("RuleId", pn.S3_REPLICATION_RULE_ID)), region, f"{region} to {_peer(region)}", stat)
            for _role, region in REGIONS)
    return Row("s3", (
        Graph("S3 replication latency (s)", replication("ReplicationLatency", "Maximum"),
              period=S3_PERIOD),
        Graph("S3 bytes pending replication", replication("BytesPendingReplication", "Maximum"),
              period=S3_PERIOD),
        Graph("S3 failed replication operations",
              replication("OperationsFailedReplication", "Sum"), period=S3_PERIOD),
    ))


def route53_graph() -> Graph:
    return Graph("Route 53 health check (1 healthy, 0 unhealthy)", tuple(
        Metric("AWS/Route53", "HealthCheckStatus", (("HealthCheckId", f"${{{role}HealthCheck}}"),),
               GLOBAL, f"{role.lower()} {region}", "Minimum")
        for role, region in (("Primary", HOME), ("Secondary", RECOVERY))))


def rows() -> tuple[Row, ...]:
    return (traffic_row(), lambda_row(), aurora_row(), dynamodb_row(), s3_row())


# --- alarms ----------------------------------------------------------------------------------
# Which regional alarms exist in which role, from the condition each alarm carries.
_HOME_CONDITIONS = {None, names.PEER_READY, names.IS_HOME, names.HOME_WITH_PEER}
_RECOVERY_CONDITIONS = {None, names.PEER_READY, names.IS_RECOVERY, names.RECOVERY_WITH_PEER}


def regional_alarms(regional: Template) -> dict[str, list[str]]:
    """Logical ids of the regional template's alarms per role (home, recovery). An alarm under a
    condition this function does not know is an error, so a new one cannot be left out."""
    by_role = {"home": [], "recovery": []}
    for logical_id, resource in sorted(regional.resources.items()):
        if resource.resource_type != "AWS::CloudWatch::Alarm":
            continue
        condition = resource.resource.get("Condition")
        if condition not in _HOME_CONDITIONS | _RECOVERY_CONDITIONS:
            raise ValueError(f"alarm {logical_id} has condition {condition!r}: say in "
                             "templates/dashboard.py in which role it exists")
        if condition in _HOME_CONDITIONS:
            by_role["home"].append(logical_id)
        if condition in _RECOVERY_CONDITIONS:
            by_role["recovery"].append(logical_id)
    return by_role


def _alarm_arn(region: str, logical_id: str) -> str:
    return (f"arn:${{AWS::Partition}}:cloudwatch:{region}:${{AWS::AccountId}}:alarm:"
            f"{pn.alarm_name(logical_id)}")


def alarm_arns(regional: Template, global_alarms: list[str]) -> list[str]:
    alarms = regional_alarms(regional)
    return ([_alarm_arn(HOME, lid) for lid in alarms["home"]]
            + [_alarm_arn(RECOVERY, lid) for lid in alarms["recovery"]]
            + [_alarm_arn(GLOBAL, lid) for lid in sorted(global_alarms)])


# --- rendering -------------------------------------------------------------------------------
def _number(parameter: str) -> str:
    """A placeholder json.dumps keeps quoted; `body()` unquotes it into a Sub variable, so a
    Number parameter lands in the JSON as a number."""
    return f"@@{parameter}@@"


def _graph_widget(graph: Graph, x: int, y: int, width: int) -> dict:
    properties = {
        "title": graph.title, "view": "timeSeries", "stacked": False, "region": HOME,
        "period": graph.period, "metrics": [m.entry() for m in graph.metrics],
    }
    if graph.annotations:
        properties["annotations"] = {"horizontal": [
            {"label": label, "value": _number(parameter)}
            for label, parameter in graph.annotations]}
    return {"type": "metric", "x": x, "y": y, "width": width, "height": ROW_HEIGHT,
            "properties": properties}


def _widths(count: int) -> list[int]:
    """Split the 24-column grid into `count` widths that differ by at most one."""
    base, extra = divmod(GRID_WIDTH, count)
    return [base + 1 if index < extra else base for index in range(count)]


def widgets(regional: Template, global_alarms: list[str]) -> list[dict]:
    header = {"type": "text", "x": 0, "y": 0, "width": GRID_WIDTH, "height": 2, "properties": {
        "markdown": (f"# Payment API DR: {pn.PREFIX}\n"
                     f"Home region **{HOME}**, recovery region **{RECOVERY}**. One row per "
                     "concern: traffic, Lambda, Aurora, DynamoDB, S3, Route 53 and alarms. "
                     "Runbook: `payments-dr dr status` (docs/runbook.md).")}}
    out = [header]
    y = 2
    for row in rows():
        x = 0
        for width, graph in zip(_widths(len(row.widgets)), row.widgets, strict=True):
            out.append(_graph_widget(graph, x, y, width))
            x += width
        y += ROW_HEIGHT
    out.append(_graph_widget(route53_graph(), 0, y, GRID_WIDTH // 2))
    out.append({"type": "alarm", "x": GRID_WIDTH // 2, "y": y, "width": GRID_WIDTH // 2,
                "height": ROW_HEIGHT, "properties": {
                    "title": "Alarms, both regions and DNS",
                    "alarms": alarm_arns(regional, global_alarms),
                    "sortBy": "stateUpdatedTimestamp"}})
    return out


def body(regional: Template, global_alarms: list[str]) -> str:
    text = json.dumps({"widgets": widgets(regional, global_alarms)}, sort_keys=True,
                      separators=(",", ":"))
    for parameter in (PROCESSOR_RESERVED, HEALTH_RESERVED):
        text = text.replace(f'"{_number(parameter)}"', f"${{{parameter}}}")
    return text


def add_dashboard_parameters(params: ParameterSet) -> None:
    for name, label, role in ((names.HOME_REGION, "Home region", "home"),
                              (names.RECOVERY_REGION, "Recovery region", "recovery")):
        params.add(
            name, group=GROUP_DASHBOARD, label=label,
            description=f"The {role} region of the regional stacks (the same value as their "
                        f"{name} parameter): the dashboard shows its metrics and alarms.",
            AllowedPattern=REGION_PATTERN, ConstraintDescription="an AWS region name",
        )
    params.add(
        PROCESSOR_RESERVED, group=GROUP_DASHBOARD, label="Processor reserved concurrency",
        description="The regional stacks' ProcessorReservedConcurrency: drawn as a line on the "
                    "concurrency graph.",
        Type="Number", Default="50", MinValue=0, MaxValue=MAX_RESERVED_CONCURRENCY,
    )
    params.add(
        HEALTH_RESERVED, group=GROUP_DASHBOARD, label="Health reserved concurrency",
        description="The health function's reserved concurrency in the regional stacks: drawn "
                    "as a line on the concurrency graph.",
        Type="Number", Default="0", MinValue=0, MaxValue=MAX_RESERVED_CONCURRENCY,
    )


def add_dashboard(template: Template, regional: Template) -> cloudwatch.Dashboard:
    global_alarms = [lid for lid, r in template.resources.items()
                     if r.resource_type == "AWS::CloudWatch::Alarm"]
    return template.add_resource(cloudwatch.Dashboard(
        "OperatorDashboard",
        DashboardName=Sub(f"{pn.PREFIX}-dr"),
        DashboardBody=Sub(body(regional, global_alarms)),
    ))
