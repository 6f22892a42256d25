"""The physical names of one environment's resources, for the operator tools.

Every name comes from the pattern the templates use (`templates/physical_names.py`), filled in
with the environment's values (`concrete()`): no name is derived twice. The templates name the
global cluster, the clusters, the secret, the table, the buckets and the health hosts
deterministically, so a failover needs no stack-set call (the administration region may be the
failed one). `home` and `recovery` are the only places that know the config's key names.
"""

from __future__ import annotations

import re
from typing import Mapping

from templates import dns, names, physical_names
from templates.physical_names import S3_REPLICATION_RULE_ID as S3_REPLICATION_RULE  # noqa: F401

from toolkit.config import Config

GLOBAL_REGION = names.GLOBAL_REGION


def home(config: Config) -> str:
    return config.home_region


def recovery(config: Config) -> str:
    return config.recovery_region


def _concrete(config: Config, text: str, region: str | None = None) -> str:
    values = {names.NAME_PREFIX: config.name_prefix,
              names.ENVIRONMENT_NAME: config.environment,
              "AWS::AccountId": config.target.account}
    if config.domain is not None and config.domain.name:
        values[names.API_DOMAIN_NAME] = config.domain.name
    if region is not None:
        values["AWS::Region"] = region
    return physical_names.concrete(text, values)


def global_cluster(config: Config) -> str:
    return _concrete(config, physical_names.global_cluster_identifier())


def cluster(config: Config, region: str) -> str:
    return _concrete(config, physical_names.db_cluster_identifier(region))


def secret(config: Config, kind: str = "master") -> str:
    return _concrete(config, physical_names.secret_name(kind))


def table(config: Config) -> str:
    return _concrete(config, physical_names.table_name())


def metric_namespace(config: Config) -> str:
    """Where the regional stacks' log metric filters count (RegionalDurabilityRequests, ...)."""
    return _concrete(config, physical_names.metric_namespace())


def bucket(config: Config, region: str) -> str:
    """The receipts bucket: `<prefix>-<env>-<account>-<region>`."""
    return _concrete(config, physical_names.bucket_name(region))


def health_url(config: Config, region: str) -> str | None:
    """The region's own health host, `<region>.<domain>`: the URL Route 53 probes. No API call
    is needed to find it (the default `execute-api` endpoint is disabled). None when the config
    names no domain."""
    if config.domain is None or not config.domain.name:
        return None
    return f"https://{health_host(config, region)}{names.HEALTH_PATH}"


def region_of_arn(arn: str) -> str:
    return arn.split(":")[3] if arn.count(":") >= 5 else ""


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


def region_of_host(host: str) -> str:
    """`<id>.execute-api.<region>.amazonaws.com` (a regional domain target) or
    `<region>.<domain>` (a region's health host) -> region; "" otherwise."""
    parts = host.split(".")
    if "execute-api" in parts[:-2]:
        return parts[parts.index("execute-api") + 1]
    return parts[0] if len(parts) > 2 and _REGION.fullmatch(parts[0]) else ""


# The failover records of the global stack, from the template's own definition: (record, its
# health host parameter, the output naming its Route 53 health check).
FAILOVER_RECORDS = tuple((endpoint.role.upper(), endpoint.health_host,
                          endpoint.health_check_output) for endpoint in dns.ENDPOINTS)


def failover_records(parameters: Mapping[str, str],
                     outputs: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """{region: (record, health check id)} as the global stack holds them now. A record and
    its health check belong to the region its health host names (`<region>.<domain>`): after
    `dr switchover` the PRIMARY record points at the recovery region. Records whose host names
    no region are left out."""
    found = {}
    for record, host, check in FAILOVER_RECORDS:
        region = region_of_host(parameters.get(host, ""))
        if region:
            found[region] = (record, outputs.get(check, ""))
    return found


def preferred_region(parameters: Mapping[str, str]) -> str | None:
    """The region of the PRIMARY failover record: the one DNS prefers while it is healthy."""
    return next((region for region, (record, _) in failover_records(parameters, {}).items()
                 if record == "PRIMARY"), None)


def failover_targets(parameters: Mapping[str, str]) -> dict[str, str]:
    """{region: the API domain target its failover record aliases} as the global stack holds
    them now (the regional stack's `ApiDomainTarget` when the stack was last deployed)."""
    found = {}
    for endpoint in dns.ENDPOINTS:
        region = region_of_host(parameters.get(endpoint.health_host, ""))
        if region:
            found[region] = parameters.get(endpoint.target, "")
    return found


def health_host(config: Config, region: str) -> str:
    """`<region>.<domain>`, the region's own API host (a config with a domain)."""
    return _concrete(config, physical_names.health_host(region))


def function(config: Config, key: str) -> str:
    """A Lambda function of the regional stack: `<prefix>-<env>-<key>` in every region."""
    return _concrete(config, physical_names.function_name(key))
