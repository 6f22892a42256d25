"""The records Route 53 holds for the API, against what the stacks say they must be.

The failover name has a PRIMARY and a SECONDARY alias record (templates/dns.py), each to the
custom domain of the region its health host names, with that region's health check; each
target must still be what the region's own stack outputs (`ApiDomainTarget`: a recreated
custom domain gets a new regional name, and a global stack not deployed since would alias the
old one). Each region's health host has its own alias record into that region.
"""

from __future__ import annotations

from typing import Any

from templates import names as template_names

from toolkit import resource_names as names
from toolkit.config import Config
from verify.checks import Outcome, failed, judged
from verify.observe import Observations


def _normal(name: str) -> str:
    return name.lower().removesuffix(".")


def records_named(observed: Observations, zone: str, name: str) -> list[dict[str, Any]]:
    """The A records of `name` (ListResourceRecordSets starts at that name and type: Route 53
    API Reference, "ListResourceRecordSets", sort order)."""
    route53 = observed.client("route53", names.GLOBAL_REGION)
    found = observed.aws.call(route53.list_resource_record_sets, HostedZoneId=zone,
                              StartRecordName=name, StartRecordType="A",
                              MaxItems="10")["ResourceRecordSets"]
    return [r for r in found if _normal(r["Name"]) == _normal(name) and r["Type"] == "A"]


def records(config: Config, observed: Observations) -> Outcome:
    parameters, outputs = observed.global_parameters(), observed.global_outputs()
    if not parameters:
        return failed(f"no global stack {config.global_stack_name}: run deploy")
    zone = outputs.get(template_names.OUT_HOSTED_ZONE_ID) or config.domain.hosted_zone_id
    failover = config.domain.name
    by_role = {r.get("Failover"): r for r in records_named(observed, zone, failover)}
    targets = names.failover_targets(parameters)
    problems, seen = [], []
    for region, (role, check) in sorted(names.failover_records(parameters, outputs).items()):
        record = by_role.get(role)
        if record is None:
            problems.append(f"no {role} record for {failover} in zone {zone}")
            continue
        alias = _normal((record.get("AliasTarget") or {}).get("DNSName", ""))
        if alias != _normal(targets[region]) or names.region_of_host(alias) != region:
            problems.append(f"the {role} record aliases {alias or 'nothing'}, not {region}'s "
                            f"API {targets[region]}")
        if record.get("HealthCheckId") != check:
            problems.append(f"the {role} record has health check {record.get('HealthCheckId')},"
                            f" not {region}'s {check}")
        if observed.stacks_readable(region):
            own = observed.outputs(region).get(template_names.OUT_API_DOMAIN_TARGET)
            if own and _normal(own) != _normal(targets[region]):
                problems.append(f"{region}'s stack outputs {own}, but the global stack aliases "
                                f"{targets[region]}: run deploy")
        seen.append(f"{role} -> {region} ({alias})")
    if set(targets) != set(config.regions):
        problems.append(f"the failover records name {sorted(targets)}, the config "
                        f"{list(config.regions)}")
    for region in config.regions:
        host = names.health_host(config, region)
        aliases = [_normal((r.get("AliasTarget") or {}).get("DNSName", ""))
                   for r in records_named(observed, zone, host)]
        if not any(names.region_of_host(a) == region for a in aliases):
            problems.append(f"{host} has no alias record into {region}'s API ({aliases})")
    return judged(problems, f"{failover}: {', '.join(seen)}, each with its region's health "
                            f"check; each region's health host aliases its own API")
