"""The alarms each stack declares (its own resource list, so conditions are CloudFormation's),
as CloudWatch holds them: wired to page someone, and quiet now.

INSUFFICIENT_DATA needs attention rather than failing, except for an alarm that treats
missing data as breaching (the Route 53 health-check alarms): for it, no data is a failure.
"""

from __future__ import annotations

from typing import Any

from toolkit.resource_names import GLOBAL_REGION
from verify.checks import Outcome, attention, failed, judged, passed
from verify.observe import Observations

ALARM_TYPE = "AWS::CloudWatch::Alarm"
GLOBAL = "global"   # the scope of the global stack's alarms (in GLOBAL_REGION)
BATCH = 100         # DescribeAlarms takes at most 100 AlarmNames


class StackAlarms:
    """The alarms of one stack (a region's stack-set instance, or the global stack), read
    once for both checks."""

    def __init__(self, observed: Observations, scope: str):
        self.observed, self.scope = observed, scope
        self.region = GLOBAL_REGION if scope == GLOBAL else scope
        self._found: tuple[list[str], dict[str, dict[str, Any]], str] | None = None

    def read(self) -> tuple[list[str], dict[str, dict[str, Any]], str]:
        """(the alarm names the stack declares, {name: the alarm as CloudWatch has it}, a note
        on how the declared names were found)."""
        if self._found is None:
            cloudwatch = self.observed.client("cloudwatch", self.region)
            declared = self._declared()
            alarms: dict[str, dict[str, Any]] = {}
            if declared is None:
                # The stack-set instance is known to the administration region only: with that
                # region lost, the alarms carrying the environment's name prefix (every alarm
                # is `<prefix>-<env>-<logical id>`, templates/notifications.py) stand in.
                prefix = f"{self.observed.config.name_prefix}-{self.observed.config.environment}-"
                found = self.observed.aws.pages(cloudwatch.describe_alarms, "MetricAlarms",
                                                AlarmNamePrefix=prefix)
                alarms = {a["AlarmName"]: a for a in found}
                self._found = (sorted(alarms), alarms, (
                    f" (the stack's own list was not read: the administration region "
                    f"{self.observed.config.administration_region} is declared lost; these are "
                    f"the alarms named {prefix}*)"))
                return self._found
            for start in range(0, len(declared), BATCH):
                found = self.observed.aws.call(cloudwatch.describe_alarms,
                                               AlarmNames=declared[start:start + BATCH],
                                               MaxRecords=BATCH)
                alarms.update({a["AlarmName"]: a for a in found.get("MetricAlarms", [])})
            self._found = (declared, alarms, "")
        return self._found

    def _declared(self) -> list[str] | None:
        if self.scope == GLOBAL:
            stack = self.observed.config.global_stack_name
        elif self.observed.stacks_readable(self.region):
            stack = self.observed.stack_id(self.region)
        else:
            return None
        if not stack:
            return []
        resources = self.observed.aws.pages(
            self.observed.client("cloudformation", self.region).list_stack_resources,
            "StackResourceSummaries", StackName=stack)
        return sorted(r["PhysicalResourceId"] for r in resources
                      if r["ResourceType"] == ALARM_TYPE and r.get("PhysicalResourceId"))

    def what(self) -> str:
        return "the global stack" if self.scope == GLOBAL else f"the {self.scope} stack"


def configured(alarms: StackAlarms) -> Outcome:
    declared, found, note = alarms.read()
    if not declared:
        return failed(f"{alarms.what()} declares no alarm (is it deployed?)")
    problems = [f"{name} is missing" for name in declared if name not in found]
    for name, alarm in sorted(found.items()):
        if not alarm.get("ActionsEnabled"):
            problems.append(f"{name} has its actions disabled")
        for kind in ("AlarmActions", "OKActions"):
            if not alarm.get(kind):
                problems.append(f"{name} has no {kind}")
    topics = sorted({arn for a in found.values() for arn in a.get("AlarmActions", [])})
    return judged(problems, f"{len(declared)} alarms of {alarms.what()}, each with actions "
                            f"enabled and alarm and OK actions on {topics}{note}")


def quiet(alarms: StackAlarms) -> Outcome:
    declared, found, note = alarms.read()
    if not declared:
        return failed(f"{alarms.what()} declares no alarm (is it deployed?)")
    firing = [f"{n} ({a.get('StateReason', '')})" for n, a in sorted(found.items())
              if a.get("StateValue") == "ALARM"]
    waiting = {n: a for n, a in sorted(found.items())
               if a.get("StateValue") == "INSUFFICIENT_DATA"}
    must_have_data = [n for n, a in waiting.items() if a.get("TreatMissingData") == "breaching"]
    missing = [n for n in declared if n not in found]
    if firing or must_have_data or missing:
        return failed("; ".join(
            ([f"in ALARM: {', '.join(firing)}"] if firing else [])
            + ([f"no data, which these alarms treat as breaching: {', '.join(must_have_data)}"]
               if must_have_data else [])
            + ([f"missing: {', '.join(missing)}"] if missing else [])))
    if waiting:
        return attention(f"{len(waiting)} of {len(declared)} alarms have no data yet "
                         f"(INSUFFICIENT_DATA): {', '.join(waiting)}; the rest are OK{note}")
    return passed(f"all {len(declared)} alarms of {alarms.what()} are OK{note}")
