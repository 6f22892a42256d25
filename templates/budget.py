"""The DR budget: how fast the system fails over and how much data it can lose, computed from
the built templates' own values, so a change to a health check or an alarm moves it.

- API failover = health-check interval x failure threshold (Route 53 marks the region
  unhealthy) + the DNS TTL resolvers may still serve the old answer for. The failover records
  are alias records, which take no TTL: Route 53 answers with the alias target's TTL. For an API
  Gateway regional custom domain that is 60 s (the SPEC's "60 s DNS"; checked on paper: Route 53
  Developer Guide, "Choosing between alias and non-alias records": an alias record uses the
  target resource's TTL).
- Database promotion: AWS states that a secondary Aurora region can be promoted to full
  read/write in typically under a minute (Aurora User Guide, "Using Amazon Aurora Global
  Database", advantages: recovery from Region-wide outages; Aurora product page). A stated
  typical figure, not a measurement: the drills are how to measure it in your account.
- RPO bounds per store: the typical lag AWS documents, and the bound this deployment enforces
  (the alarm threshold above which someone is paged), or the replication SLA (S3 RTC).
- RPO for acknowledged payments: zero with `ZeroLoss=on` (a 201 waits until the recovery
  region's storage has the commit, lambda/payments/durability.py), except while a processor
  container runs degraded (after `ZeroLossDegradeAfterSeconds` without any confirmation: its
  201s say `regional` and carry Aurora's bound); with `ZeroLoss=off`, Aurora's bound.

Nothing here calls AWS; `python build.py` prints the budget and writes it to manifest.json.
"""

from __future__ import annotations

from typing import Any, Mapping

from . import names

DEFAULT_RTO_TARGET_MINUTES = 30  # the original system's requirement
RTO_PARAMETER = "RecoveryTimeObjectiveMinutes"  # global template (templates/region_switch.py)
ALIAS_TARGET_TTL_SECONDS = 60
ALIAS_TTL_SOURCE = ("alias record: Route 53 answers with the target's TTL; an API Gateway "
                    "regional domain name is served with 60 s")
DB_PROMOTION_SECONDS = 60
DB_PROMOTION_SOURCE = ("Aurora User Guide, 'Using Amazon Aurora Global Database': a secondary "
                       "Region is promoted to full read/write in typically under a minute "
                       "(AWS's stated typical figure; measure yours with a drill)")


class BudgetError(ValueError):
    """The templates lack something the budget is computed from."""


def _resources(doc: Mapping[str, Any], type_name: str) -> dict[str, dict]:
    return {lid: r for lid, r in doc.get("Resources", {}).items() if r["Type"] == type_name}


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _value(doc: Mapping[str, Any], node: Any, parameters: Mapping[str, str]) -> int | float:
    """A literal, or a `Ref` to a parameter: the given value, else the template's default."""
    if isinstance(node, dict) and set(node) == {"Ref"}:
        name = node["Ref"]
        if name in parameters:
            return _number(parameters[name])
        spec = doc.get("Parameters", {}).get(name)
        if spec is None or "Default" not in spec:
            raise BudgetError(f"{name} has no value and no default")
        return _number(spec["Default"])
    return _number(node)


def api_failover(global_doc: Mapping[str, Any], parameters: Mapping[str, str]) -> dict:
    checks = _resources(global_doc, "AWS::Route53::HealthCheck")
    if not checks:
        raise BudgetError("the global template declares no Route 53 health check")
    # The slowest region's check bounds detection.
    detection = []
    for lid, check in sorted(checks.items()):
        config = check["Properties"]["HealthCheckConfig"]
        interval = _value(global_doc, config.get("RequestInterval", 30), parameters)
        threshold = _value(global_doc, config.get("FailureThreshold", 3), parameters)
        detection.append((interval * threshold, interval, threshold, lid))
    seconds, interval, threshold, _lid = max(detection)
    records = [r["Properties"] for r in _resources(global_doc, "AWS::Route53::RecordSet").values()
               if "Failover" in r["Properties"]]
    if not records:
        raise BudgetError("the global template declares no failover record")
    ttls = [(_value(global_doc, p["TTL"], parameters), "record TTL") if "TTL" in p
            else (ALIAS_TARGET_TTL_SECONDS, ALIAS_TTL_SOURCE) for p in records]
    ttl, ttl_source = max(ttls)
    return {
        "health_check_interval_seconds": interval,
        "failure_threshold": threshold,
        "detection_seconds": seconds,
        "dns_ttl_seconds": ttl,
        "dns_ttl_source": ttl_source,
        "seconds": seconds + ttl,
    }


def alarm_metrics(properties: Mapping[str, Any]) -> set[str]:
    """The metric names an alarm reads: its own `MetricName`, or those of its metric math
    queries (`Metrics`)."""
    names_ = {properties["MetricName"]} if "MetricName" in properties else set()
    return names_ | {q["MetricStat"]["Metric"]["MetricName"]
                     for q in properties.get("Metrics", []) if "MetricStat" in q}


def _alarm_threshold(regional_doc: Mapping[str, Any], metric: str) -> float:
    thresholds = [a["Properties"]["Threshold"] for a in
                  _resources(regional_doc, "AWS::CloudWatch::Alarm").values()
                  if metric in alarm_metrics(a["Properties"])]
    if not thresholds:
        raise BudgetError(f"the regional template has no alarm on {metric}")
    return _number(max(thresholds))


def _s3_rtc_minutes(regional_doc: Mapping[str, Any]) -> float:
    for bucket in _resources(regional_doc, "AWS::S3::Bucket").values():
        found = _find(bucket.get("Properties", {}), "ReplicationTime")
        if found:
            return _number(found["Time"]["Minutes"])
    raise BudgetError("no bucket replicates with Replication Time Control")


def _find(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find(child, key)
        if found is not None:
            return found
    return None


def acknowledged_payments(regional_doc: Mapping[str, Any], parameters: Mapping[str, str],
                          aurora_bound_seconds: float) -> dict:
    """The RPO of payments a 201 acknowledged, from the ZeroLoss parameters."""
    spec = regional_doc.get("Parameters", {}).get(names.ZERO_LOSS)
    if spec is None:
        raise BudgetError(f"the regional template has no {names.ZERO_LOSS} parameter")
    zero_loss = parameters.get(names.ZERO_LOSS, spec.get("Default")) == "on"
    degrade = _value(regional_doc, {"Ref": names.ZERO_LOSS_DEGRADE_AFTER_SECONDS}, parameters)
    if not zero_loss:
        return {"zero_loss": False, "bound_seconds": aurora_bound_seconds,
                "source": f"{names.ZERO_LOSS}=off: a 201 at the commit; Aurora's bound"}
    return {"zero_loss": True, "bound_seconds": 0, "degrade_after_seconds": degrade,
            "source": f"{names.ZERO_LOSS}=on: a 201 waits until the recovery region's storage "
                      "has the commit; a container that saw no confirmation for "
                      f"{degrade:g} s answers 201 with regional durability (said in "
                      "x-payments-durability, alarmed) and those payments have Aurora's bound"}


def rpo_bounds(regional_doc: Mapping[str, Any],
               parameters: Mapping[str, str] | None = None) -> dict:
    aurora_ms = _alarm_threshold(regional_doc, "AuroraGlobalDBReplicationLag")
    dynamodb_ms = _alarm_threshold(regional_doc, "ReplicationLatency")
    rtc_minutes = _s3_rtc_minutes(regional_doc)
    return {
        "aurora_global": {
            "typical_seconds": 1, "alarm_bound_seconds": _number(aurora_ms / 1000),
            "source": "Aurora User Guide: replication to secondary Regions with typical "
                      "latency under a second; the lag alarm pages above the bound",
        },
        "dynamodb_global_tables": {
            "typical_seconds": 1, "alarm_bound_seconds": _number(dynamodb_ms / 1000),
            "source": "DynamoDB Developer Guide, global tables: asynchronous replication, "
                      "typically within a second; the latency alarm pages above the bound",
        },
        "s3_rtc": {
            "sla_seconds": _number(rtc_minutes * 60), "sla_percentile": 99.99,
            "source": "S3 User Guide, Replication Time Control: 99.99% of objects within "
                      f"{rtc_minutes:g} minutes (the rest has no bound); receipts are rebuilt "
                      "from the ledger by the reconcile step",
        },
        "acknowledged_payments": acknowledged_payments(regional_doc, parameters or {},
                                                       _number(aurora_ms / 1000)),
    }


def rto_target(global_doc: Mapping[str, Any], parameters: Mapping[str, str]) -> int | float:
    """The global template's RTO (the Region switch plan is held to it), else the default."""
    if RTO_PARAMETER in global_doc.get("Parameters", {}):
        return _value(global_doc, {"Ref": RTO_PARAMETER}, parameters)
    return DEFAULT_RTO_TARGET_MINUTES


def dr_budget(global_doc: Mapping[str, Any], regional_doc: Mapping[str, Any], *,
              rto_target_minutes: float | None = None,
              parameters: Mapping[str, str] | None = None) -> dict:
    """The budget as a JSON-ready dict. `parameters` overrides template defaults (e.g. the
    environment's HealthCheckFailureThreshold); the RTO target is the global template's
    RecoveryTimeObjectiveMinutes unless `rto_target_minutes` says otherwise."""
    if rto_target_minutes is None:
        rto_target_minutes = rto_target(global_doc, parameters or {})
    if rto_target_minutes <= 0:
        raise BudgetError(f"the RTO target must be positive, not {rto_target_minutes}")
    api = api_failover(global_doc, parameters or {})
    total = api["seconds"] + DB_PROMOTION_SECONDS
    target = _number(rto_target_minutes * 60)
    return {
        "api_failover": api,
        "database_promotion": {"seconds": DB_PROMOTION_SECONDS, "source": DB_PROMOTION_SOURCE},
        "rpo": rpo_bounds(regional_doc, parameters),
        "rto": {"total_seconds": total, "target_seconds": target,
                "within_target": total <= target, "headroom_seconds": target - total},
    }


def describe(budget: Mapping[str, Any]) -> list[str]:
    """The budget as lines for a terminal."""
    api, db, rpo, rto = (budget[k] for k in ("api_failover", "database_promotion", "rpo", "rto"))
    verdict = "within" if rto["within_target"] else "OVER"
    return [
        "DR budget (from the templates' own values):",
        f"  API failover      {api['seconds']:>6g} s = health check "
        f"{api['health_check_interval_seconds']:g} s x {api['failure_threshold']:g} failures "
        f"+ DNS TTL {api['dns_ttl_seconds']:g} s",
        f"  DB promotion      {db['seconds']:>6g} s   Aurora global database, AWS's stated "
        "typical figure (not measured here; a drill measures it)",
        f"  RTO estimate      {rto['total_seconds']:>6g} s   {verdict} the target of "
        f"{rto['target_seconds'] / 60:g} min (headroom {rto['headroom_seconds']:g} s)",
        f"  RPO Aurora global   typically < {rpo['aurora_global']['typical_seconds']:g} s, "
        f"alarm above {rpo['aurora_global']['alarm_bound_seconds']:g} s",
        f"  RPO DynamoDB        typically < "
        f"{rpo['dynamodb_global_tables']['typical_seconds']:g} s, "
        f"alarm above {rpo['dynamodb_global_tables']['alarm_bound_seconds']:g} s",
        f"  RPO S3 (RTC)        {rpo['s3_rtc']['sla_seconds']:g} s for "
        f"{rpo['s3_rtc']['sla_percentile']:g}% of objects",
        _acknowledged_line(rpo["acknowledged_payments"]),
    ]


def _acknowledged_line(acknowledged: Mapping[str, Any]) -> str:
    if not acknowledged["zero_loss"]:
        return (f"  RPO acknowledged    as Aurora (ZeroLoss off): alarm above "
                f"{acknowledged['bound_seconds']:g} s")
    return (f"  RPO acknowledged    0 s (ZeroLoss on: a 201 is in both regions; regional "
            f"after {acknowledged['degrade_after_seconds']:g} s without confirmation)")
