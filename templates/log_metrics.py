"""Metrics counted from the functions' JSON log lines, with CloudWatch Logs metric filters.

A filter makes a metric out of what the functions already log: no API call on the payment path
(a `PutMetricData` would need an interface endpoint with `EgressMode=none`, and time), and the
lines of every container add up in one metric per region. Each matching line counts 1.
Filter pattern syntax: "Filter pattern syntax for metric filters, subscription filters, and
filter log events" (CloudWatch Logs User Guide).
"""

from troposphere import Ref, Sub, Template, cloudwatch, logs

from . import physical_names
from .notifications import Topic, add_alarm


def metric_namespace() -> Sub:
    """`<prefix>/<env>` (physical_names.metric_namespace): where the counted lines go."""
    return physical_names.physical(physical_names.metric_namespace())


def count_lines(template: Template, logical_id: str, log_group: logs.LogGroup, pattern: str,
                metric_name: str) -> logs.MetricFilter:
    """A metric filter counting the lines of `log_group` that match `pattern`."""
    return template.add_resource(logs.MetricFilter(
        logical_id,
        LogGroupName=Ref(log_group),
        FilterPattern=pattern,
        MetricTransformations=[logs.MetricTransformation(
            MetricName=metric_name, MetricNamespace=metric_namespace(), MetricValue="1",
            Unit="Count")],
    ))


def alarm_on_any_line(template: Template, logical_id: str, topic: Topic, metric_name: str, *,
                      description: str, condition: str | None = None) -> cloudwatch.Alarm:
    """In alarm while a minute holds a counted line; OK again after a minute with none."""
    return add_alarm(
        template, logical_id, topic, description=description, condition=condition,
        Namespace=metric_namespace(), MetricName=metric_name, Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
