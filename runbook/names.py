"""Where the DR runbook finds things, derived from the config alone.

The templates name the global cluster, the clusters, the secret, the table and the health
hosts
deterministically (`templates/tagging.py`, `templates/database.py`), so a failover needs no
stack-set call (the administration region may be the failed one). The two accessors `home` and
`recovery` are the only places that know the config's key names.
"""

from __future__ import annotations

import re
from typing import Mapping

from templates import names as template_names

from toolkit.config import Config


def home(config: Config) -> str:
    return config.home_region


def recovery(config: Config) -> str:
    return config.recovery_region


def _base(config: Config) -> str:
    return f"{config.name_prefix}-{config.environment}"


def global_cluster(config: Config) -> str:
    return f"{_base(config)}-global"


def cluster(config: Config, region: str) -> str:
    return f"{_base(config)}-{region}"


def secret(config: Config) -> str:
    return f"{_base(config)}/aurora/master"


def table(config: Config) -> str:
    return f"{_base(config)}-payments"


def bucket(config: Config, region: str) -> str:
    """The receipts bucket: `<prefix>-<env>-<account>-<region>` (templates/storage.py)."""
    return f"{_base(config)}-{config.target.account}-{region}"


S3_REPLICATION_RULE = "to-peer-region"  # templates/storage.py


def health_url(config: Config, region: str) -> str | None:
    """The region's own health host, `<region>.<domain>` (templates/api.py `health_host`): the
    URL Route 53 probes. No API call is needed to find it (the default `execute-api` endpoint
    is disabled). None when the config names no domain."""
    if config.domain is None or not config.domain.name:
        return None
    return f"https://{region}.{config.domain.name}/health"


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


# The failover records of the global stack: (record, its health host parameter, the output
# naming its Route 53 health check).
FAILOVER_RECORDS = (
    ("PRIMARY", template_names.PRIMARY_HEALTH_HOST, template_names.OUT_PRIMARY_HEALTH_CHECK_ID),
    ("SECONDARY", template_names.SECONDARY_HEALTH_HOST,
     template_names.OUT_SECONDARY_HEALTH_CHECK_ID))


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
