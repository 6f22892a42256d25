"""The operator dashboard: both regions on one screen, generated from the names the templates
use, every metric one the templates' namespaces and dimensions emit.

How the metric check works: the regional template is rendered as CloudFormation would in each
role (conditions, `Fn::Sub` resolved), the dashboard body likewise; then every metric the
dashboard shows must either be a metric an alarm of the templates watches (same namespace,
name and dimension names), or be listed in METRICS_WITHOUT_ALARM with the reason it exists; and
every dimension value must be a name the rendered regional template of that metric's region
actually carries (a function name, a cluster id, a table or bucket name, ...).
"""

from __future__ import annotations

import json
import re

import pytest
from troposphere import Template, cloudwatch

from templates import dashboard
from templates import physical_names as pn
from tests.cfn import render
from tests.conftest import BASE_PARAMETERS, PRIMARY, SECONDARY

GLOBAL_PARAMETERS = {
    "NamePrefix": "payments", "EnvironmentName": "test",
    "HomeRegion": PRIMARY, "RecoveryRegion": SECONDARY,
    "ProcessorReservedConcurrency": "50", "HealthReservedConcurrency": "5",
}
ACCOUNT = "123456789012"
HEALTH_CHECK_IDS = {"PrimaryHealthCheck": "hc-primary-id",
                    "SecondaryHealthCheck": "hc-secondary-id"}

# Metrics the dashboard shows that no alarm watches, each with why it is worth a graph and where
# AWS documents it (namespace, metric, dimension names).
METRICS_WITHOUT_ALARM = {
    ("AWS/ApiGateway", "Count", ("ApiName", "Stage")):
        "requests per region (API Gateway Developer Guide, REST API metrics)",
    ("AWS/ApiGateway", "4XXError", ("ApiName", "Stage")):
        "client errors, refusals included (API Gateway Developer Guide, REST API metrics)",
    ("AWS/WAFV2", "BlockedRequests", ("Region", "Rule", "WebACL")):
        "requests the web ACL blocked (AWS WAF Developer Guide, WAF metrics; Rule=ALL)",
    ("AWS/Lambda", "ConcurrentExecutions", ("FunctionName",)):
        "concurrency against the reservation (Lambda Developer Guide, function metrics)",
    ("AWS/RDS", "AuroraGlobalDBRPOLag", ("DBClusterIdentifier",)):
        "RPO lag of the secondary (Aurora User Guide, Aurora cluster-level metrics)",
    ("AWS/RDS", "AuroraGlobalDBRPOLag", ("DBClusterIdentifier", "SourceRegion")):
        "the same, under the other dimension set Aurora may publish it with (AWS's Aurora "
        "global database labs find it there; the lag alarm reads both)",
    ("AWS/RDS", "CPUUtilization", ("DBClusterIdentifier", "Role")):
        "writer CPU (Aurora User Guide, dimensions for Aurora: Role=WRITER)",
    ("AWS/RDS", "DatabaseConnections", ("DBClusterIdentifier", "Role")):
        "writer connections (Aurora User Guide, dimensions for Aurora: Role=WRITER)",
    ("AWS/DynamoDB", "ReadThrottleEvents", ("TableName",)):
        "throttled reads (DynamoDB Developer Guide, metrics and dimensions)",
    ("AWS/DynamoDB", "WriteThrottleEvents", ("TableName",)):
        "throttled writes (DynamoDB Developer Guide, metrics and dimensions)",
    ("AWS/S3", "ReplicationLatency", ("DestinationBucket", "RuleId", "SourceBucket")):
        "replication latency, published with replication metrics on (S3 User Guide, RTC)",
    ("AWS/S3", "BytesPendingReplication", ("DestinationBucket", "RuleId", "SourceBucket")):
        "bytes not yet replicated (S3 User Guide, replication metrics)",
}

# Dimensions that name the other region's side of replication.
PEER_DIMENSIONS = {"DestinationBucket", "ReceivingRegion", "SourceRegion"}
# Dimension values that are not resource names.
CONSTANT_VALUES = {("Role", "WRITER"), ("Rule", "ALL")}


def substitute(text: str, values: dict[str, str], strict: bool = True) -> str:
    """`${Name}` replaced by its value; unknown names are an error, or kept when not strict
    (references to resources, which only CloudFormation can resolve)."""
    def one(match):
        name = match.group(1)
        if name not in values:
            if strict:
                raise KeyError(f"${{{name}}} has no value")
            return match.group(0)
        return values[name]
    return re.sub(r"\$\{([^}!]+)\}", one, text)


def resolve_subs(node, values: dict[str, str]):
    """`Fn::Sub` replaced by its text with `values` (pseudo parameters and parameters)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"}:
            arg = node["Fn::Sub"]
            if isinstance(arg, list):
                text, local = arg
                local = {k: resolve_subs(v, values) for k, v in local.items()}
                if all(isinstance(v, str) for v in local.values()):
                    return substitute(text, {**values, **local}, strict=False)
                return node
            return substitute(arg, values, strict=False)
        return {k: resolve_subs(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_subs(v, values) for v in node]
    return node


# Properties that name a resource (tags and descriptions do not count as names).
NAME_KEYS = {"FunctionName", "DBClusterIdentifier", "GlobalClusterIdentifier", "TableName",
             "BucketName", "Name", "StageName", "Id", "AlarmName", "Region"}


def resource_names(doc: dict) -> set[str]:
    """Every string a resource of `doc` carries under a naming property, at any depth."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in NAME_KEYS and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for resource in doc["Resources"].values():
        walk(resource.get("Properties", {}))
    return found


@pytest.fixture(scope="module")
def rendered_regional(regional):
    """role -> the regional template in that role's region, second pass (replication on)."""
    out = {}
    for role, region in (("home", PRIMARY), ("recovery", SECONDARY)):
        cfn = render(regional.doc, region=region,
                     parameters={**BASE_PARAMETERS, "PeerRegionReady": "true"})
        values = {**{k: v for k, v in BASE_PARAMETERS.items()}, "NamePrefix": "payments",
                  "HomeRegion": PRIMARY, "RecoveryRegion": SECONDARY, "AWS::Region": region,
                  "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com"}
        out[region] = (role, resolve_subs(cfn.doc, values))
    return out


@pytest.fixture(scope="module")
def board(global_template):
    body = global_template.props("OperatorDashboard")["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str), "the body is one Fn::Sub string without local variables"
    values = {**GLOBAL_PARAMETERS, **HEALTH_CHECK_IDS, "AWS::Region": PRIMARY,
              "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
    return json.loads(substitute(body, values))


def metrics_of(board) -> list[dict]:
    found = []
    for widget in board["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            *flat, options = entry
            namespace, metric, *pairs = flat
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            found.append({"namespace": namespace, "metric": metric, "dimensions": dims,
                          "region": options["region"], "stat": options["stat"],
                          "widget": widget["properties"]["title"]})
    return found


def alarmed_metrics(*docs) -> set[tuple]:
    keys = set()
    for doc in docs:
        for resource in doc["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                p = resource["Properties"]
                # An alarm reads one metric, or the metrics of its metric math queries.
                metrics = [p] if "MetricName" in p else [
                    q["MetricStat"]["Metric"] for q in p["Metrics"] if "MetricStat" in q]
                for metric in metrics:
                    # A custom namespace may be per environment (an Fn::Sub): keyed by JSON.
                    namespace = metric["Namespace"] if isinstance(metric["Namespace"], str) \
                        else json.dumps(metric["Namespace"], sort_keys=True)
                    keys.add((namespace, metric["MetricName"],
                              tuple(sorted(d["Name"] for d in metric.get("Dimensions", [])))))
    return keys


# ---- the names ----------------------------------------------------------------------------
@pytest.mark.parametrize("logical_id,prop,expected", [
    ("ProcessorFunction", "FunctionName", pn.function_name("processor")),
    ("HealthFunction", "FunctionName", pn.function_name("health")),
    ("DbCluster", "DBClusterIdentifier", pn.db_cluster_identifier()),
    ("GlobalCluster", "GlobalClusterIdentifier", pn.global_cluster_identifier()),
    ("PaymentsTable", "TableName", pn.table_name()),
    ("ReceiptsBucket", "BucketName", pn.bucket_name()),
    ("AccessLogBucket", "BucketName", pn.bucket_name(kind="logs")),
    ("RestApi", "Name", pn.api_name()),
    ("ApiStage", "StageName", pn.REST_API_STAGE_NAME),
    ("WebAcl", "Name", pn.web_acl_name()),
])
def test_regional_resources_carry_the_shared_name_patterns(regional, logical_id, prop, expected):
    value = regional.props(logical_id)[prop]
    assert value == ({"Fn::Sub": expected} if "${" in expected else expected)


def test_replication_rule_id_is_the_shared_constant(regional):
    assert f'"Id": "{pn.S3_REPLICATION_RULE_ID}"' in json.dumps(regional.props("ReceiptsBucket"))


def test_every_alarm_has_the_deterministic_name(templates):
    for name, cfn in templates.items():
        for lid, alarm in cfn.of_type("AWS::CloudWatch::Alarm").items():
            assert alarm["Properties"]["AlarmName"] == {"Fn::Sub": pn.alarm_name(lid)}, (name, lid)


# ---- the layout ---------------------------------------------------------------------------
def test_widget_count_and_rows(board):
    widgets = board["widgets"]
    assert len(widgets) == 20
    assert [w["type"] for w in widgets].count("alarm") == 1
    titles = [w["properties"].get("title", "") for w in widgets]
    for expected in ("Requests", "4XX", "5XX", "Latency p99 (ms)", "WAF blocked requests",
                     "Lambda errors", "Lambda throttles", "Concurrency against the reservation",
                     "Aurora global replication lag (ms)", "Aurora global RPO lag (ms)",
                     "Writer CPU (%)", "Writer connections", "DynamoDB replication latency (ms)",
                     "DynamoDB throttled events", "S3 replication latency (s)",
                     "S3 bytes pending replication", "S3 failed replication operations"):
        assert expected in titles


def test_widgets_tile_the_grid_without_overlap(board):
    cells = set()
    for widget in board["widgets"]:
        assert 0 <= widget["x"] and widget["x"] + widget["width"] <= 24, widget
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, f"overlap at {(x, y)}"
                cells.add((x, y))
    rows = {}
    for widget in board["widgets"]:
        rows.setdefault(widget["y"], 0)
        rows[widget["y"]] += widget["width"]
    assert set(rows.values()) == {24}, rows


def test_every_metric_row_shows_both_regions(board):
    for widget in board["widgets"]:
        if widget["type"] != "metric":
            continue
        regions = {m[-1]["region"] for m in widget["properties"]["metrics"]}
        if widget["properties"]["title"].startswith("Route 53"):
            assert regions == {PRIMARY}  # Route 53 metrics live in us-east-1 only
        else:
            assert regions == {PRIMARY, SECONDARY}, widget["properties"]["title"]


def test_concurrency_lines_are_the_reservations(board):
    (widget,) = [w for w in board["widgets"]
                 if w["properties"].get("title") == "Concurrency against the reservation"]
    lines = widget["properties"]["annotations"]["horizontal"]
    assert [(line["label"], line["value"]) for line in lines] == [
        ("processor reservation", 50), ("health reservation", 5)]


# ---- every metric exists ------------------------------------------------------------------
def test_every_metric_is_alarmed_or_documented(board, regional, global_template):
    emitted = alarmed_metrics(regional.doc, global_template.doc)
    namespaces = {key[0] for key in emitted}
    for metric in metrics_of(board):
        key = (metric["namespace"], metric["metric"], tuple(sorted(metric["dimensions"])))
        assert key in emitted or key in METRICS_WITHOUT_ALARM, f"{key} ({metric['widget']})"
        assert metric["namespace"] in namespaces or key in METRICS_WITHOUT_ALARM, key


def test_every_dimension_value_names_a_resource_of_that_region(board, rendered_regional):
    for metric in metrics_of(board):
        if metric["namespace"] == "AWS/Route53":
            assert metric["dimensions"]["HealthCheckId"] in HEALTH_CHECK_IDS.values()
            continue
        peer = SECONDARY if metric["region"] == PRIMARY else PRIMARY
        for key, value in metric["dimensions"].items():
            if (key, value) in CONSTANT_VALUES:
                continue
            # A replication metric names the receiving side: a resource of the peer region.
            owner = peer if key in PEER_DIMENSIONS else metric["region"]
            names = resource_names(rendered_regional[owner][1]) | {owner}
            assert value in names, f"{metric['namespace']} {metric['metric']} {key}={value} " \
                                   f"(shown for {metric['region']}) is not a name the {owner} " \
                                   "stack carries"


def test_documented_metrics_are_all_shown(board):
    shown = {(m["namespace"], m["metric"], tuple(sorted(m["dimensions"])))
             for m in metrics_of(board)}
    assert set(METRICS_WITHOUT_ALARM) <= shown, "stale METRICS_WITHOUT_ALARM entries"


# ---- the alarm widget ---------------------------------------------------------------------
def test_alarm_widget_lists_exactly_the_alarms_of_each_region(board, rendered_regional,
                                                             global_template):
    (widget,) = [w for w in board["widgets"] if w["type"] == "alarm"]
    listed = set(widget["properties"]["alarms"])
    expected = set()
    for region, (_role, doc) in rendered_regional.items():
        for alarm in doc["Resources"].values():
            if alarm["Type"] == "AWS::CloudWatch::Alarm":
                expected.add(f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:"
                             f"{alarm['Properties']['AlarmName']}")
    for lid in global_template.of_type("AWS::CloudWatch::Alarm"):
        expected.add(f"arn:aws:cloudwatch:{PRIMARY}:{ACCOUNT}:alarm:payments-test-{lid}")
    assert listed == expected


def test_an_alarm_under_an_unknown_condition_is_refused():
    template = Template()
    template.add_resource(cloudwatch.Alarm(
        "OddAlarm", Condition="SomethingElse", Namespace="AWS/Lambda", MetricName="Errors",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanThreshold"))
    with pytest.raises(ValueError, match="OddAlarm has condition 'SomethingElse'"):
        dashboard.regional_alarms(template)


def test_dashboard_body_has_no_region_or_account_literal(global_template):
    body = global_template.props("OperatorDashboard")["DashboardBody"]["Fn::Sub"]
    assert "us-east-1" not in body and "us-west-2" not in body and "arn:aws:" not in body
