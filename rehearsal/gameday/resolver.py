"""A model of Route 53 failover routing for the local drill, with the global template's numbers.

What is modelled (Route 53 Developer Guide, "How Amazon Route 53 determines whether a health
check is healthy" and "Configuring DNS failover"):
- each region's health check probes GET /health every `RequestInterval` seconds; after
  `FailureThreshold` consecutive failures the check is unhealthy, and after as many consecutive
  successes healthy again. Route 53 runs ~15 checkers and counts an endpoint healthy when more
  than 18% of them see it healthy; they all see the same local endpoint here, so one checker
  stands for all of them;
- the failover record set answers PRIMARY while its check is healthy, SECONDARY when PRIMARY's
  is unhealthy and SECONDARY's healthy, and PRIMARY when both are unhealthy;
- an alias record to an API Gateway regional domain is cached by resolvers for the target's
  TTL (60 s): a client keeps its last answer that long (`DNS_TTL_SECONDS`);
- the health-check alarm (`HealthCheckStatus` Minimum < 1 over `Period` x `EvaluationPeriods`)
  fires at the end of the period in which the check turned unhealthy: that is when the
  on-call engineer is paged.
Times are AWS seconds on the drill's simulated clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

DNS_TTL_SECONDS = 60


@dataclass(frozen=True)
class Settings:
    interval: int
    failure_threshold: int
    alarm_seconds: int
    dns_ttl: int = DNS_TTL_SECONDS

    @classmethod
    def from_template(cls, document: Mapping[str, Any], threshold: int | None = None
                      ) -> "Settings":
        """Read the global template: the primary check's RequestInterval, its FailureThreshold
        (a Ref to the parameter: its Default unless `threshold`, the config's value, is given)
        and the primary check alarm's Period x EvaluationPeriods."""
        resources = document["Resources"]
        check = next(r["Properties"]["HealthCheckConfig"] for r in resources.values()
                     if r["Type"] == "AWS::Route53::HealthCheck")
        failure = check["FailureThreshold"]
        if isinstance(failure, dict):
            failure = threshold if threshold is not None else \
                document["Parameters"][failure["Ref"]]["Default"]
        alarm = next(r["Properties"] for r in resources.values()
                     if r["Type"] == "AWS::CloudWatch::Alarm"
                     and r["Properties"].get("MetricName") == "HealthCheckStatus")
        return cls(int(check["RequestInterval"]), int(failure),
                   int(alarm["Period"]) * int(alarm["EvaluationPeriods"]))


@dataclass
class HealthCheck:
    """One region's health check: probes on its interval, flips after the threshold."""
    settings: Settings
    probe: Callable[[], bool]
    healthy: bool = True
    next_probe: float = 0.0
    streak: int = 0                  # consecutive results that disagree with `healthy`
    unhealthy_since: float | None = None
    history: list[tuple[float, bool]] = field(default_factory=list)  # (t, probe ok)

    def tick(self, now: float) -> None:
        while now >= self.next_probe:
            ok = self.probe()
            self.history.append((self.next_probe, ok))
            self.streak = 0 if ok == self.healthy else self.streak + 1
            if self.streak >= self.settings.failure_threshold:
                self.healthy, self.streak = ok, 0
                self.unhealthy_since = None if ok else self.next_probe
            self.next_probe += self.settings.interval

    def alarm_at(self) -> float | None:
        if self.unhealthy_since is None:
            return None
        period = self.settings.alarm_seconds
        return math.floor(self.unhealthy_since / period + 1) * period


@dataclass
class FailoverRecords:
    """The PRIMARY/SECONDARY failover records of one name."""
    preferred: str
    other: str
    checks: Mapping[str, HealthCheck]

    def prefer(self, region: str) -> None:
        if region != self.preferred:
            self.preferred, self.other = region, self.preferred

    def answer(self) -> str:
        if self.checks[self.preferred].healthy:
            return self.preferred
        return self.other if self.checks[self.other].healthy else self.preferred


@dataclass
class ClientResolver:
    """A client's cached answer: asks again when the TTL has passed."""
    records: FailoverRecords
    ttl: int
    cached: str | None = None
    expires: float = -1.0

    def resolve(self, now: float) -> str:
        if self.cached is None or now >= self.expires:
            self.cached, self.expires = self.records.answer(), now + self.ttl
        return self.cached
