"""The standby cost: what each region (and the global stack) costs per month while idle.

Counts come from the built templates, evaluated the way CloudFormation would in each region
(conditions, `Fn::If`) for the environment's parameters at steady state (both rollout passes
done), so a NAT gateway or an instance added to a template shows up here without a change.
Prices come from `stacksets/prices.json`: dated list prices with their source page. Only what
runs while no payment is made is priced: requests, data processed, storage, I/O and transfer
are usage and left out (the table says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from templates import names

from templates.conditions import resolver

PRICES = Path(__file__).with_name("prices.json")
EGRESS_MODES = ("nat-per-az", "single-nat", "none")
# A regional template without a web ACL (an older build) is priced as if it had one with this
# many rules (a managed rule group counts as one rule), marked as assumed; the current
# template's own web ACL is priced from its rules.
ASSUMED_WAF_RULES = 4
# The regional template at steady state: every rollout pass done. The ids only decide
# conditions (peering requested / routed); they are never shown.
STEADY_STATE = {names.PEER_REGION_READY: "true", names.RECOVERY_VPC_ID: "vpc-0steadystate0",
                names.PEERING_CONNECTION_ID: "pcx-0steadystate0"}


class CostError(Exception):
    """The price table or the templates cannot price this environment; says what is missing."""


@dataclass(frozen=True)
class Prices:
    retrieved: str
    currency: str
    hours_per_month: float
    regions: Mapping[str, Mapping[str, Any]]
    path: str

    def _region(self, region: str) -> Mapping[str, Any]:
        entry = self.regions.get(region)
        if entry is None:
            raise CostError(f"{self.path} has no prices for {region} (it has "
                            f"{', '.join(sorted(self.regions))}): add them with their source")
        return self.regions[entry["same_as"]] if "same_as" in entry else entry

    def usd(self, region: str, item: str, variant: str | None = None) -> float:
        entry = self._region(region).get(item)
        if entry is not None and variant is not None:
            entry = entry.get(variant)
        if entry is None:
            what = f"{item} {variant}" if variant else item
            raise CostError(f"{self.path} has no list price for {what} in {region}: add it with "
                            "its source page")
        return float(entry["usd"])

    def monthly(self, region: str, item: str, variant: str | None = None) -> float:
        """An hourly price times the hours of a month."""
        return self.usd(region, item, variant) * self.hours_per_month


def load_prices(path: Path = PRICES) -> Prices:
    try:
        raw = json.loads(Path(path).read_text())
        return Prices(retrieved=raw["retrieved"], currency=raw["currency"],
                      hours_per_month=float(raw["hours_per_month"]), regions=raw["regions"],
                      path=str(path))
    except (OSError, ValueError, KeyError) as error:
        raise CostError(f"cannot read the price table {path}: {error}") from None


# --- the templates as CloudFormation would see them ---------------------------------------------
def deployed(doc: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, dict]:
    """The resources CloudFormation would create with `values`, properties resolved."""
    condition, evaluate = resolver(doc, values)
    return {lid: {"Type": r["Type"], "Properties": evaluate(r.get("Properties", {}))}
            for lid, r in doc.get("Resources", {}).items()
            if "Condition" not in r or condition(r["Condition"])}


def _of_type(resources: Mapping[str, dict], type_name: str) -> list[dict]:
    return [r["Properties"] for r in resources.values() if r["Type"] == type_name]


def template_values(doc: Mapping[str, Any], region: str, given: Mapping[str, str]) -> dict:
    values = {name: str(spec["Default"]) for name, spec in doc.get("Parameters", {}).items()
              if "Default" in spec}
    values.update({k: str(v) for k, v in given.items()})
    values["AWS::Region"] = region
    return values


# --- pricing -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    item: str
    usd: float


def regional_lines(resources: Mapping[str, dict], prices: Prices, region: str,
                   instance_class: str, replica_secrets: int) -> list[Line]:
    nats = len(_of_type(resources, "AWS::EC2::NatGateway"))
    ips = len(_of_type(resources, "AWS::EC2::EIP"))
    endpoint_azs = sum(len(p.get("SubnetIds", []))
                       for p in _of_type(resources, "AWS::EC2::VPCEndpoint")
                       if p.get("VpcEndpointType") == "Interface")
    instances = len(_of_type(resources, "AWS::RDS::DBInstance"))
    if instance_class == "db.serverless":
        minimum = min((p["ServerlessV2ScalingConfiguration"]["MinCapacity"]
                       for p in _of_type(resources, "AWS::RDS::DBCluster")), default=0.5)
        instance_month = prices.monthly(region, "aurora_serverless_acu_hour") * minimum
        instance_label = f"{instance_class} at {minimum:g} ACU"
    else:
        instance_month = prices.monthly(region, "aurora_instance_hour", instance_class)
        instance_label = instance_class
    keys = len(_of_type(resources, "AWS::KMS::Key"))
    secrets = len(_of_type(resources, "AWS::SecretsManager::Secret")) + replica_secrets
    alarms = len(_of_type(resources, "AWS::CloudWatch::Alarm"))
    acls = _of_type(resources, "AWS::WAFv2::WebACL")
    if acls:
        rules = sum(len(p.get("Rules", [])) for p in acls)
        waf = Line(f"WAF: {len(acls)} web ACL, {rules} rules",
                   len(acls) * prices.usd(region, "waf_web_acl_month")
                   + rules * prices.usd(region, "waf_rule_month"))
    else:
        waf = Line(f"WAF: 1 web ACL, {ASSUMED_WAF_RULES} rules (assumed, not in template)",
                   prices.usd(region, "waf_web_acl_month")
                   + ASSUMED_WAF_RULES * prices.usd(region, "waf_rule_month"))
    return [
        Line(f"NAT gateways + public IPv4: {nats} + {ips}",
             nats * prices.monthly(region, "nat_gateway_hour")
             + ips * prices.monthly(region, "public_ipv4_hour")),
        Line(f"interface endpoints: {endpoint_azs} endpoint-AZs",
             endpoint_azs * prices.monthly(region, "interface_endpoint_az_hour")),
        Line(f"Aurora: {instances} x {instance_label}", instances * instance_month),
        Line(f"KMS keys: {keys}", keys * prices.usd(region, "kms_key_month")),
        Line(f"Secrets Manager: {secrets} secret(s)", secrets * prices.usd(region, "secret_month")),
        waf,
        Line(f"CloudWatch alarms: {alarms}", alarms * prices.usd(region, "cloudwatch_alarm_month")),
    ]


def global_lines(resources: Mapping[str, dict], prices: Prices, region: str) -> list[Line]:
    checks = _of_type(resources, "AWS::Route53::HealthCheck")
    features = 0
    for check in checks:
        config = check["HealthCheckConfig"]
        features += sum((config.get("Type", "").startswith("HTTPS"),
                         str(config.get("RequestInterval", 30)) == "10",
                         bool(config.get("MeasureLatency")),
                         config.get("Type", "").endswith("STR_MATCH")))
    zones = len(_of_type(resources, "AWS::Route53::HostedZone"))
    keys = len(_of_type(resources, "AWS::KMS::Key"))
    alarms = len(_of_type(resources, "AWS::CloudWatch::Alarm"))
    dashboards = len(_of_type(resources, "AWS::CloudWatch::Dashboard"))
    return [
        Line(f"Route 53 health checks: {len(checks)}, {features} optional features",
             len(checks) * prices.usd(region, "route53_health_check_month")
             + features * prices.usd(region, "route53_health_check_feature_month")),
        Line(f"hosted zones created: {zones}", zones * prices.usd(region,
                                                                  "route53_hosted_zone_month")),
        Line(f"KMS keys: {keys}", keys * prices.usd(region, "kms_key_month")),
        Line(f"CloudWatch alarms: {alarms}", alarms * prices.usd(region, "cloudwatch_alarm_month")),
        Line(f"CloudWatch dashboards: {dashboards}",
             dashboards * prices.usd(region, "cloudwatch_dashboard_month")),
    ]


def _replicas_into(resources: Mapping[str, dict], region: str) -> int:
    return sum(1 for p in _of_type(resources, "AWS::SecretsManager::Secret")
               for replica in p.get("ReplicaRegions", []) if replica.get("Region") == region)


def standby_cost(regional_doc: Mapping[str, Any], global_doc: Mapping[str, Any],
                 prices: Prices, *, home: str, recovery: str,
                 parameters: Mapping[str, Mapping[str, str]],
                 global_parameters: Mapping[str, str], global_region: str) -> dict:
    """Idle monthly cost per region and egress mode, plus the global stack, as a JSON-ready
    dict. `parameters` maps each region to its effective stack parameters."""
    roles = {home: "home", recovery: "recovery"}
    values_of = {region: template_values(regional_doc, region, {
        **parameters[region], names.HOME_REGION: home, names.RECOVERY_REGION: recovery,
        **STEADY_STATE}) for region in (home, recovery)}
    # Secret replicas are declared by the home stack but billed in the recovery region.
    replicas = {home: 0, recovery: _replicas_into(deployed(regional_doc, values_of[home]),
                                                  recovery)}
    regions: dict[str, dict] = {}
    for region in (home, recovery):
        values = values_of[region]
        instance_class = values[names.DB_INSTANCE_CLASS]
        by_mode = {}
        for mode in EGRESS_MODES:
            resources = deployed(regional_doc, {**values, names.EGRESS_MODE: mode})
            lines = regional_lines(resources, prices, region, instance_class, replicas[region])
            by_mode[mode] = {"lines": [{"item": line.item, "usd": round(line.usd, 2)}
                                       for line in lines],
                             "total": round(sum(line.usd for line in lines), 2)}
        regions[region] = {"role": roles[region], "instance_class": instance_class,
                           "egress_mode": values[names.EGRESS_MODE], "modes": by_mode}
    global_resources = deployed(global_doc, template_values(global_doc, global_region,
                                                            global_parameters))
    glines = global_lines(global_resources, prices, global_region)
    global_total = round(sum(line.usd for line in glines), 2)
    both = {mode: round(sum(regions[r]["modes"][mode]["total"] for r in regions)
                        + global_total, 2) for mode in EGRESS_MODES}
    configured = round(sum(regions[r]["modes"][regions[r]["egress_mode"]]["total"]
                           for r in regions) + global_total, 2)
    return {
        "currency": prices.currency, "prices_retrieved": prices.retrieved,
        "price_table": prices.path, "hours_per_month": prices.hours_per_month,
        "regions": regions,
        "global": {"region": global_region, "lines": [
            {"item": line.item, "usd": round(line.usd, 2)} for line in glines],
            "total": global_total},
        "both_regions_and_global": both,
        "configured_total": configured,
        "excluded": "usage: requests, data processed, storage, I/O, backups beyond the free "
                    "allowance, logs, transfer; KMS rotation surcharges after year one; the "
                    "optional ARC Region switch plan (its price is not in the table)",
    }


def describe(cost: Mapping[str, Any]) -> list[str]:
    """The cost as a table: the three egress modes side by side."""
    width = 58
    head = f"  {'':<{width}}" + "".join(f"{mode:>12}" for mode in EGRESS_MODES)
    out = [f"standby cost: idle monthly list prices in {cost['currency']} (prices of "
           f"{cost['prices_retrieved']}, {Path(cost['price_table']).name}); usage excluded",
           head]
    for region, entry in cost["regions"].items():
        out.append(f"  {region} ({entry['role']}, configured egress {entry['egress_mode']})")
        modes = entry["modes"]
        for index, line in enumerate(modes[EGRESS_MODES[0]]["lines"]):
            # Labels can differ by mode (counts); show the first mode's label without counts
            # when they differ.
            labels = {modes[m]["lines"][index]["item"] for m in EGRESS_MODES}
            label = line["item"] if len(labels) == 1 else line["item"].split(":")[0]
            out.append(f"    {label[:width - 2]:<{width - 2}}" + "".join(
                f"{modes[m]['lines'][index]['usd']:>12.2f}" for m in EGRESS_MODES))
        out.append(f"    {'total ' + region:<{width - 2}}" + "".join(
            f"{modes[m]['total']:>12.2f}" for m in EGRESS_MODES))
    out.append(f"  global stack ({cost['global']['region']}), the same in every mode")
    for line in cost["global"]["lines"]:
        out.append(f"    {line['item'][:width - 2]:<{width - 2}}{line['usd']:>12.2f}")
    out.append(f"    {'total global':<{width - 2}}{cost['global']['total']:>12.2f}")
    out.append(f"  {'both regions + global':<{width}}" + "".join(
        f"{cost['both_regions_and_global'][m]:>12.2f}" for m in EGRESS_MODES))
    configured = ", ".join(f"{r} {e['egress_mode']}" for r, e in cost["regions"].items())
    out.append(f"  as configured ({configured}): {cost['configured_total']:.2f} "
               f"{cost['currency']}/month")
    return out


def effective_parameters(config) -> dict[str, dict[str, str]]:
    """Each region's stack parameters as the config sets them (stack-set values, then that
    region's overrides); the template's defaults fill the rest."""
    return {region: {**config.parameters, **config.region_overrides.get(region, {})}
            for region in config.regions}


def for_config(config, regional_doc: Mapping[str, Any], global_doc: Mapping[str, Any],
               global_region: str, prices: Prices | None = None) -> dict:
    """The standby cost of one environment (what `plan` prints)."""
    global_parameters = {names.HOME_REGION: config.home_region,
                         names.RECOVERY_REGION: config.recovery_region}
    if config.domain is not None:
        global_parameters[names.HOSTED_ZONE_ID] = config.domain.hosted_zone_id
    if "EnableDrills" in config.parameters:
        global_parameters["EnableDrills"] = str(config.parameters["EnableDrills"])
    return standby_cost(regional_doc, global_doc, prices or load_prices(),
                        home=config.home_region, recovery=config.recovery_region,
                        parameters=effective_parameters(config),
                        global_parameters=global_parameters, global_region=global_region)
