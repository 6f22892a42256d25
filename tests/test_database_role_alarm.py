"""The alarm for a database role that refused itself (templates/database_role_alarm.py): both
payment functions' log groups are counted, in both regions, into the metric the alarm
watches. What the pattern matches in real log lines is tested against the handlers
(tests/handlers/test_least_privilege.py, counted_by_the_role_alarm)."""

import pytest

from templates import database_role_alarm


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_both_payment_log_groups_feed_the_alarm(in_region, role):
    rendered = in_region(role)
    alarm = rendered.props("DatabaseRoleRefusedAlarm")
    filters = rendered.of_type("AWS::Logs::MetricFilter")
    counted = {}
    for lid, resource in filters.items():
        props = resource["Properties"]
        if props["FilterPattern"] != database_role_alarm.FILTER_PATTERN:
            continue
        (transformation,) = props["MetricTransformations"]
        assert (transformation["MetricName"], transformation["MetricNamespace"],
                transformation["MetricValue"]) == (alarm["MetricName"], alarm["Namespace"], "1")
        counted[lid] = props["LogGroupName"]
    assert counted == {"ProcessorDatabaseRoleRefusedFilter": {"Ref": "ProcessorLogGroup"},
                       "HealthDatabaseRoleRefusedFilter": {"Ref": "HealthLogGroup"}}
    # one namespace per environment
    assert alarm["Namespace"] == {"Fn::Sub": "${NamePrefix}/${EnvironmentName}"}
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"],
            alarm["ComparisonOperator"]) == ("Sum", 60, 1, 1, "GreaterThanOrEqualToThreshold")
    assert "migrate function" in alarm["AlarmDescription"]


def test_the_pattern_fits_a_metric_filter():
    """At most 1,024 characters ("PutMetricFilter", CloudWatch Logs API Reference)."""
    assert len(database_role_alarm.FILTER_PATTERN) <= 1024
    for reason in database_role_alarm.REFUSED_REASONS:
        assert f'($.reason = "{reason}")' in database_role_alarm.FILTER_PATTERN
