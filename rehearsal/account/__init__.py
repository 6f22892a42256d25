"""`--local`: the rollout rehearsed against moto in-process (no account, no network).

`local_aws(account_id)` starts moto's in-process mock with fake credentials and, for as long as
it is active, teaches moto what it lacks for these templates:
- stand-in models for resource types moto does not implement (`models.py`),
- `Fn::Cidr` and a region-aware `Fn::GetAZs` (`intrinsics.py`),
- CloudFormation's StackSet semantics for updates and overrides (`fidelity.py`),
- deletion of the EC2 resources moto creates from a template but never deletes
  (`deletions.py`; without it a stack's VPC cannot be deleted),
- Lambda `GetAccountSettings`, which moto lacks (`lambda_quota.py`),
- Aurora global-cluster calls that moto lacks or gets wrong (`rds_global.py`),
- the receipts buckets' replication rules, which moto leaves out of a template's bucket
  (`bucket_replication.py`),
- Route 53 health checks that follow a stack update (`health_checks.py`),
- for the DR runbook (`dr ... --local`): SwitchoverGlobalCluster and FailoverGlobalCluster
  (`rds_global.py`), a real moto secret per secret, with its replicas (`models.py`), and the
  stand-ins in `runbook_model.py` (each region's /health, a lost region, replication lag).
Everything here is rehearsal-only: nothing in it ever runs against AWS, and the templates are
never altered. A rehearsal proves the phase order, the parameter wiring between phases and
stacks, and the tool's own behaviour; it does not prove that AWS accepts the resources.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from typing import Iterator
from unittest import mock

from moto import mock_aws
from moto.cloudformation import parsing
from moto.moto_api._internal.models import moto_api_backend

from rehearsal.account import (bucket_replication, deletions, fidelity, health_checks,
                               intrinsics, journal, lambda_quota, rds_global)
from rehearsal.account.models import STAND_INS

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_SECURITY_TOKEN": "testing",
}
# Anything that could point boto3 at a real account or endpoint is removed for the rehearsal.
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE",
         "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


def stand_in_types() -> list[str]:
    return sorted(model.TYPE for model in STAND_INS)


def unsupported_types(template: dict) -> list[str]:
    """Resource types of `template` that even the rehearsal only skips (moto warns on them)."""
    supported = set(parsing.get_model_map()) | set(stand_in_types()) | set(parsing.NULL_MODELS)
    used = {resource["Type"] for resource in template.get("Resources", {}).values()}
    return sorted(t for t in used if t not in supported and not t.startswith("Custom::"))


@contextlib.contextmanager
def _model_map_with_stand_ins() -> Iterator[None]:
    original_map, original_names = parsing.get_model_map, parsing.get_name_type_map
    stand_ins = {model.TYPE: model for model in STAND_INS}

    def model_map():
        return {**original_map(), **stand_ins}

    def name_type_map():
        return {**original_names(), **{t: m.NAME_PROPERTY for t, m in stand_ins.items()}}

    with mock.patch.object(parsing, "get_model_map", model_map), \
            mock.patch.object(parsing, "get_name_type_map", name_type_map):
        yield


@contextlib.contextmanager
def local_aws(account_id: str, region: str = "us-east-1") -> Iterator[None]:
    environment = {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "MOTO_ACCOUNT_ID": account_id}
    with contextlib.ExitStack() as stack:
        # patch.dict restores the whole environment on exit, the removed names included
        stack.enter_context(mock.patch.dict(os.environ, environment))
        for name in UNSET:
            os.environ.pop(name, None)
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message="Tried to parse .* not supported")
        warnings.filterwarnings("ignore", message="Unable to delete .* never created")
        # moto logs every skipped type; `unsupported_types()` reports them once instead.
        moto_log = logging.getLogger("moto")
        stack.callback(moto_log.setLevel, moto_log.level)
        moto_log.setLevel(logging.ERROR)
        stack.enter_context(mock_aws())
        # moto resets its backends only when no other mock is active: inside another
        # `mock_aws()` (a test of another package, a leaked decorator) the rehearsal would see
        # that account's leftovers. A rehearsal always starts from an empty account.
        moto_api_backend.reset()
        stack.enter_context(_model_map_with_stand_ins())
        stack.enter_context(mock.patch.object(parsing, "clean_json",
                                              intrinsics.with_shims(parsing.clean_json)))
        stack.enter_context(mock.patch.dict(*lambda_quota.ROUTES))
        for owner, name, replacement in fidelity.PATCHES + deletions.PATCHES + \
                rds_global.PATCHES + bucket_replication.PATCHES + health_checks.PATCHES:
            stack.enter_context(mock.patch.object(owner, name, replacement, create=True))
        yield


def resume(state_path, environment: str) -> int:
    """Replay the saved calls of `environment` (journal.py): the account as the previous
    `--local` invocation left it, with the same ids. Returns the calls replayed."""
    import boto3

    return journal.replay(state_path, environment, lambda service, region: boto3.client(
        service, region_name=region))


def stand_in_hosted_zone(config):
    """Route 53 zone ids cannot be chosen, so the rehearsal creates the configured zone in moto
    and uses its id in place of `domain.hosted_zone_id` (a real deploy needs the real zone)."""
    import dataclasses

    import boto3

    if config.domain is None or not config.domain.hosted_zone_id:
        return config, None
    zone_name = config.domain.zone_name or config.domain.name.split(".", 1)[-1]
    route53 = boto3.client("route53", region_name="us-east-1")
    zones = [z for z in route53.list_hosted_zones()["HostedZones"]
             if z["Name"].rstrip(".") == zone_name.rstrip(".")]
    zone = zones[0] if zones else route53.create_hosted_zone(
        Name=zone_name, CallerReference=f"rehearsal-{config.environment}")["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    domain = dataclasses.replace(config.domain, hosted_zone_id=zone_id)
    return dataclasses.replace(config, domain=domain), zone_id
