"""Checks that refuse a deploy (and make `plan` say so) before anything is written.

- The home region is fixed for ever. The region whose stack declares the global database,
  the table and the secret cannot change on a deployed stack set: swapping home and recovery
  flips every condition, the new home would try to create a global database, table and secret
  that already exist, and create-only properties would replace the named cluster. The writer
  moves between regions (failover, switchover); the roles in the config do not.
- Lambda keeps 100 unreserved concurrent executions per account and region, so reserving R
  needs an account quota of at least R + 100 (AWS Lambda Developer Guide, "Configuring
  reserved concurrency for a function"; new accounts may have a quota of 10), or function
  creation fails in the middle of a rollout.
Pure functions here; `lambda_quotas()` is the one read from AWS.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from templates import names

from toolkit.aws import Aws
from toolkit.config import Config
from stacksets.plan import Stack

UNRESERVED_MINIMUM = 100
# The regional parameters that reserve concurrency (0 = no reservation); whichever the built
# template declares count, whether or not a function refers to them directly.
RESERVATION_PARAMETERS = ("ProcessorReservedConcurrency", "HealthReservedConcurrency")


def region_lock(config: Config, stack_set: Stack | None) -> str | None:
    """Why the config's regions cannot be deployed to the existing stack set, or None."""
    if stack_set is None:
        return None
    deployed = {names.HOME_REGION: stack_set.parameters.get(names.HOME_REGION),
                names.RECOVERY_REGION: stack_set.parameters.get(names.RECOVERY_REGION)}
    wanted = {names.HOME_REGION: config.home_region,
              names.RECOVERY_REGION: config.recovery_region}
    differ = [f"{key} is {deployed[key]} in the stack set, {wanted[key]} in the config "
              f"(regions.{'home' if key == names.HOME_REGION else 'recovery'})"
              for key in wanted if deployed[key] and deployed[key] != wanted[key]]
    if not differ:
        return None
    return (f"{config.path}: the regions differ from the deployed stack set "
            f"{config.stack_set_name}: {'; '.join(differ)}. The home region is fixed for the "
            "life of the environment: changing it would make the other region create a second "
            "global database, table and secret and replace the named Aurora cluster. After a "
            "failover the writer runs in the recovery region while the config stays as it is; "
            f"restore regions.home: {deployed[names.HOME_REGION]} and regions.recovery: "
            f"{deployed[names.RECOVERY_REGION]}")


def strays(config: Config, regions: tuple[str, ...]) -> list[str]:
    """A line per region whose stack instance the config no longer names (pure)."""
    return [f"{config.stack_set_name} has a stack instance in {region}, which the config does "
            f"not name (regions.home {config.home_region}, regions.recovery "
            f"{config.recovery_region}): the tool leaves it as it is; delete it with "
            f"`aws cloudformation delete-stack-instances --regions {region}` if it should go"
            for region in regions]


def effective(config: Config, declared: Mapping[str, Any], region: str, name: str) -> str:
    """A parameter's value in `region`: region override, else `parameters:`, else default."""
    for values in (config.region_overrides.get(region, {}), config.parameters):
        if name in values:
            return values[name]
    return str(declared.get(name, {}).get("Default", ""))


def _reserved(node: Any, value_of) -> int:
    """ReservedConcurrentExecutions as a number: a literal, a parameter, or the larger branch
    of an Fn::If (conservative); AWS::NoValue is no reservation."""
    if isinstance(node, bool):
        return 0
    if isinstance(node, (int, str)) and str(node).isdigit():
        return int(node)
    if isinstance(node, dict) and "Ref" in node:
        value = value_of(node["Ref"])
        return int(value) if value is not None and str(value).isdigit() else 0
    if isinstance(node, dict) and "Fn::If" in node:
        return max(_reserved(branch, value_of) for branch in node["Fn::If"][1:])
    return 0


def reservations(config: Config, template: Mapping[str, Any], region: str) -> dict[str, int]:
    """What the stack reserves in `region`: function logical id (or reservation parameter
    that no function names directly) -> concurrent executions; zero ones left out."""
    declared = template.get("Parameters", {})

    def value_of(name: str) -> str | None:
        return effective(config, declared, region, name) if name in declared else None

    found, counted = {}, set()
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        node = resource.get("Properties", {}).get("ReservedConcurrentExecutions")
        text = json.dumps(node)
        counted |= {p for p in RESERVATION_PARAMETERS if f'{{"Ref": "{p}"}}' in text}
        found[logical_id] = _reserved(node, value_of)
    for name in RESERVATION_PARAMETERS:
        if name in declared and name not in counted:
            found[name] = _reserved({"Ref": name}, value_of)
    return {k: v for k, v in found.items() if v}


def quota_refusals(config: Config, template: Mapping[str, Any],
                   quotas: Mapping[str, int]) -> list[str]:
    """One message per region whose Lambda concurrency quota is too small (pure)."""
    declared = [p for p in RESERVATION_PARAMETERS if p in template.get("Parameters", {})]
    problems = []
    for region in config.regions:
        reserved = reservations(config, template, region)
        need = sum(reserved.values()) + UNRESERVED_MINIMUM
        quota = quotas[region]
        if quota >= need:
            continue
        detail = ", ".join(f"{k} {v}" for k, v in reserved.items()) or "nothing"
        problems.append(
            f"{region} ({config.role_of(region)}): the account's Lambda concurrency quota is "
            f"{quota}, but the stack reserves {sum(reserved.values())} ({detail}) and Lambda "
            f"keeps {UNRESERVED_MINIMUM} unreserved, so it needs at least {need}. Request a "
            f"quota increase to {need} or more (Service Quotas, AWS Lambda, 'Concurrent "
            f"executions', in {region}), or lower "
            f"{' / '.join(declared) or 'the reservations'} (parameters: or "
            f"region_overrides.{region}:)")
    return problems


def lambda_quotas(aws: Aws, regions: tuple[str, ...]) -> dict[str, int]:
    """GetAccountSettings: AccountLimit.ConcurrentExecutions per region."""
    return {region: aws.call(aws.client("lambda", region).get_account_settings)
            ["AccountLimit"]["ConcurrentExecutions"] for region in regions}


def refusals(aws: Aws, config: Config, template: Mapping[str, Any],
             stack_set: Stack | None) -> list[str]:
    """Every reason to refuse this deploy; reads the Lambda quotas of both regions."""
    locked = region_lock(config, stack_set)
    found = [locked] if locked else []
    return found + quota_refusals(config, template, lambda_quotas(aws, config.regions))
