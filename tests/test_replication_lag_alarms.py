"""Aurora replication-lag alarms in every DR state (issue 15, defect 7).

`AuroraGlobalDBReplicationLag` is reported by a secondary cluster, with its own
`DBClusterIdentifier`, in its own region; the writer (primary) cluster reports none (Aurora
User Guide, "Monitoring Amazon Aurora global databases"; the dashboard's Aurora row and
`dr status` rely on the same fact). Which cluster is the secondary follows the database, not
the deploy roles: recovery in the normal state, home after a switchover or a failover once it
is back. So each region alarms on its own cluster, and missing data (this cluster is the
writer) is not breaching. The alarms are evaluated here as CloudWatch evaluates them
(CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data"), per state of
the "Write path in every DR state" table (docs/architecture.md) table, with either region as home.
"""

import pytest

from tests.cfn import render
from tests.conftest import BASE_PARAMETERS

ALARM = "AuroraGlobalReplicationLagAlarm"
HEALTHY_MS, LAGGING_MS = 40.0, 9000.0
DIRECTIONS = [("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")]

# state -> which role's cluster is the secondary (reports lag); None: no secondary reports
# (the other region is gone, or nothing has been promoted and its primary is lost).
SECONDARY = {
    "normal": "recovery",
    "api-only-failure-in-home": "recovery",
    "home-lost-before-promotion": None,
    "after-failover": "home",       # once the home region is back and rejoined
    "after-switchover": "home",
    "after-failback": "recovery",
}


def alarm_series(alarm: dict, published: dict[frozenset, list]) -> list:
    """The series the alarm evaluates: its one metric, or its metric math `MAX([...])` over
    the queries' series, per period the highest value among those present (CloudWatch User
    Guide, "Metric math syntax and functions"). `published` maps the dimension names a series
    is published with to its datapoints (None: missing); CloudWatch matches dimension sets
    exactly, so a query reads only the series published with exactly its dimensions."""
    def read(metric: dict) -> list:
        names = frozenset(d["Name"] for d in metric.get("Dimensions", []))
        return published.get(names, [None] * 5)

    if "Metrics" not in alarm:
        return read(alarm)
    (expression,) = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    ids = [i.strip() for i in expression["Expression"].removeprefix("MAX([").removesuffix(
        "])").split(",")]
    queries = {q["Id"]: read(q["MetricStat"]["Metric"]) for q in alarm["Metrics"]
               if "MetricStat" in q}
    assert expression["Expression"].startswith("MAX([") and set(ids) == set(queries)
    return [max((v for v in values if v is not None), default=None)
            for values in zip(*(queries[i] for i in ids))]


def evaluate(alarm: dict, datapoints: list) -> str:
    """The state CloudWatch gives an alarm over its last `EvaluationPeriods` periods, each
    datapoint a value or None (missing), for the missing-data treatments this project uses."""
    periods = int(alarm["EvaluationPeriods"])
    needed = int(alarm.get("DatapointsToAlarm", periods))
    window = datapoints[-periods:]
    treat = alarm.get("TreatMissingData", "missing")
    threshold = float(alarm["Threshold"])
    compare = {"GreaterThanThreshold": lambda v: v > threshold,
               "GreaterThanOrEqualToThreshold": lambda v: v >= threshold}[
        alarm["ComparisonOperator"]]
    if all(v is None for v in window) and treat in ("missing", "ignore"):
        return "INSUFFICIENT_DATA"
    breaching = sum(1 for v in window if (v is None and treat == "breaching")
                    or (v is not None and compare(v)))
    return "ALARM" if breaching >= needed else "OK"


def alarms(regional_doc, home, recovery):
    parameters = {**BASE_PARAMETERS, "HomeRegion": home, "RecoveryRegion": recovery,
                  "PeerRegionReady": "true"}
    found = {}
    for role, region in (("home", home), ("recovery", recovery)):
        cfn = render(regional_doc, region=region, parameters=parameters)
        found[role] = cfn.props(ALARM) if ALARM in cfn.resources else None
    return found


# The dimension sets Aurora may publish the lag with: its documentation does not say which;
# AWS's Aurora global database labs find it under both (docs/architecture.md, alarms).
PUBLISHED_AS = {"cluster": [frozenset({"DBClusterIdentifier"})],
                "cluster-and-source": [frozenset({"DBClusterIdentifier", "SourceRegion"})],
                "both": [frozenset({"DBClusterIdentifier"}),
                         frozenset({"DBClusterIdentifier", "SourceRegion"})]}


@pytest.mark.parametrize("home, recovery", DIRECTIONS)
@pytest.mark.parametrize("state", sorted(SECONDARY))
@pytest.mark.parametrize("lag", [HEALTHY_MS, LAGGING_MS])
@pytest.mark.parametrize("published_as", sorted(PUBLISHED_AS))
def test_the_lag_alarm_of_each_region_is_right_in_every_dr_state(regional, state, home,
                                                                  recovery, lag, published_as):
    by_role = alarms(regional.doc, home, recovery)
    secondary = SECONDARY[state]
    for role, alarm in by_role.items():
        assert alarm is not None, f"{role} has no lag alarm: it is the secondary in some state"
        published = {names: [lag] * 5 for names in PUBLISHED_AS[published_as]} \
            if role == secondary else {}
        expected = "ALARM" if role == secondary and lag == LAGGING_MS else "OK"
        assert evaluate(alarm, alarm_series(alarm, published)) == expected, (state, role)


@pytest.mark.parametrize("home, recovery", DIRECTIONS)
def test_each_region_watches_its_own_cluster_by_name_and_its_peer_as_source(regional, home,
                                                                            recovery):
    peers = {"home": recovery, "recovery": home}
    for role, alarm in alarms(regional.doc, home, recovery).items():
        metrics = [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]
        assert {m["MetricName"] for m in metrics} == {"AuroraGlobalDBReplicationLag"}
        dimension_sets = []
        for metric in metrics:
            values = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert values["DBClusterIdentifier"] == {
                "Fn::Sub": "${NamePrefix}-${EnvironmentName}-${AWS::Region}"}
            assert values.get("SourceRegion", peers[role]) == peers[role]
            dimension_sets.append(frozenset(values))
        assert sorted(map(sorted, dimension_sets)) == [
            ["DBClusterIdentifier"], ["DBClusterIdentifier", "SourceRegion"]]


def test_no_lag_alarm_before_replication_exists(in_region):
    for role in ("primary", "secondary"):
        assert ALARM not in in_region(role).resources


@pytest.mark.parametrize("treat, series, expected", [
    ("breaching", [None] * 3, "ALARM"), ("notBreaching", [None] * 3, "OK"),
    ("missing", [None] * 3, "INSUFFICIENT_DATA"), ("notBreaching", [9000.0] * 3, "ALARM"),
    ("notBreaching", [9000.0, 1.0, 9000.0], "OK")])
def test_the_evaluator_follows_cloudwatch(treat, series, expected):
    alarm = {"EvaluationPeriods": 3, "DatapointsToAlarm": 3, "Threshold": 5000,
             "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": treat}
    assert evaluate(alarm, series) == expected
