"""The alarm for zero-loss acknowledgements degraded to regional durability.

Each processor container decides on its own when the recovery region has confirmed no commit
for `ZeroLossDegradeAfterSeconds` (lambda/payments/durability.py), and each of its request log
lines then carries `"durability_mode": "regional"`. A metric filter on the processor's log
group counts those lines into one metric per region (templates/log_metrics.py: no API call on
the payment path, every container aggregated). The alarm fires while any container of the
region runs with regional durability and clears once none does; `dr status` reads the same
metric.
"""

from troposphere import Template, cloudwatch, logs

from . import names
from .log_metrics import alarm_on_any_line, count_lines
from .notifications import Topic

METRIC_NAME = "RegionalDurabilityRequests"
MODE_FIELD = "durability_mode"  # lambda/payments/api.py: the request line's field
REGIONAL = "regional"  # lambda/payments/durability.py REGIONAL
FILTER_PATTERN = f'{{ $.{MODE_FIELD} = "{REGIONAL}" }}'


def add_durability_alarm(template: Template, topic: Topic,
                         processor_log_group: logs.LogGroup) -> cloudwatch.Alarm:
    count_lines(template, "ProcessorRegionalDurabilityFilter", processor_log_group,
                FILTER_PATTERN, METRIC_NAME)
    return alarm_on_any_line(
        template, "RegionalDurabilityAlarm", topic, METRIC_NAME, condition=names.PEER_READY,
        description="Zero-loss acknowledgements degraded: the recovery region has confirmed "
                    "no commit for ZeroLossDegradeAfterSeconds, and payments here are "
                    "acknowledged with regional durability only (x-payments-durability: "
                    "regional; a failover now can lose them). Check the recovery region's "
                    "Aurora cluster and replication lag (dr status). It clears on its own once "
                    "confirmations resume.",
    )
