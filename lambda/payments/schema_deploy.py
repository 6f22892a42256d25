"""The migrate function's work: roles first (as the master user), then migrations and the
regions' networks (as the migrator). Idempotent; the rollout tool invokes it after every
deploy, and an operator can run it by hand (``python -m payments.handlers migrate``). It
connects through the global writer endpoint like the payment functions, so it works in
whichever region the writer is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import aws, constraint_validation, large_objects, migrations, region_networks, roles
from .config import DB_CLUSTER_IDENTIFIERS, DB_TLS_CA_FILE, LOG_LEVEL, ConfigError, _Reader
from .database import Database, SecretCredentials, SessionLimits
from .tls import tls_context

MASTER_SECRET = "DB_MASTER_SECRET_ARN"
MIGRATOR_SECRET = "DB_MIGRATOR_SECRET_ARN"
APP_SECRET = "DB_SECRET_ARN"  # the same variable the payment functions read
# The deployment's two regions and VPC CIDRs (the template's HomeRegion, HomeVpcCidr, ...):
# where each region's functions connect from (payments.region_networks).
HOME_REGION, HOME_VPC_CIDR = "HOME_REGION", "HOME_VPC_CIDR"
RECOVERY_REGION, RECOVERY_VPC_CIDR = "RECOVERY_REGION", "RECOVERY_VPC_CIDR"
ENV_VARS = frozenset({"DB_HOST", "DB_PORT", "DB_NAME", "DB_TLS_CA_FILE", LOG_LEVEL,
                      DB_CLUSTER_IDENTIFIERS,
                      MASTER_SECRET, MIGRATOR_SECRET, APP_SECRET, HOME_REGION, HOME_VPC_CIDR,
                      RECOVERY_REGION, RECOVERY_VPC_CIDR})
"""Every variable the template sets on the migrate function (a test holds both sides)."""
# DDL may wait for locks held by payments in flight; a migration gets more time than a payment.
LIMITS = SessionLimits(statement_ms=60_000, lock_ms=10_000, idle_in_transaction_ms=120_000)


@dataclass(frozen=True)
class MigrateConfig:
    host: str
    port: int
    name: str
    ca_file: str
    cluster_identifiers: tuple[str, ...]
    region: str
    master_secret: str
    migrator_secret: str
    app_secret: str
    networks: tuple[region_networks.RegionNetwork, ...]
    log_level: str = "INFO"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> MigrateConfig:
        env = _Reader(os.environ if environ is None else environ)
        config = cls(
            host=env.required("DB_HOST"),
            port=env.integer("DB_PORT", minimum=1, maximum=65535),
            name=env.required("DB_NAME"),
            ca_file=env.required(DB_TLS_CA_FILE),
            cluster_identifiers=env.cluster_identifiers(DB_CLUSTER_IDENTIFIERS),
            region=env.required("AWS_REGION"),
            master_secret=env.required(MASTER_SECRET),
            migrator_secret=env.required(MIGRATOR_SECRET),
            app_secret=env.required(APP_SECRET),
            networks=_networks(env),
            log_level=env.log_level(LOG_LEVEL),
        )
        if env.problems:
            raise ConfigError("invalid environment: " + "; ".join(env.problems))
        return config


def run(config: MigrateConfig, secrets_client: Any | None = None) -> dict[str, Any]:
    client = secrets_client or aws.client("secretsmanager", config.region, aws.PAYMENT_PATH)
    master, migrator, app = (SecretCredentials(client, arn) for arn in (
        config.master_secret, config.migrator_secret, config.app_secret))
    for expected, credentials in ((roles.MIGRATOR_ROLE, migrator), (roles.APP_ROLE, app)):
        username = credentials.get().username
        if username != expected:
            raise ConfigError(f"the secret for {expected} names user {username!r}; the "
                              f"migrate function manages {roles.MIGRATOR_ROLE} and "
                              f"{roles.APP_ROLE} only")
    master_db = _connect(config, master, "payments-roles")
    try:
        created = roles.ensure_roles(
            master_db, config.name,
            roles.Role(roles.MIGRATOR_ROLE, migrator.get().password),
            roles.Role(roles.APP_ROLE, app.get().password),
        )
        open_databases = roles.databases_open_to_every_role(master_db, config.name)
        tidied = large_objects.tidy(master_db, roles.APP_ROLE)
    finally:
        master_db.close()
    migrator_db = _connect(config, migrator, "payments-migrate")
    try:
        applied = migrations.apply(migrator_db)
        networks = region_networks.record(migrator_db, config.networks)
        checked = constraint_validation.validate(migrator_db)
    finally:
        migrator_db.close()
    return {"roles_created": created, "applied": applied, "region_networks": networks,
            "databases_open_to_every_role": open_databases,
            "large_objects_removed": tidied.removed,
            "large_object_functions_open": list(tidied.open_functions),
            "constraints_validated": list(checked.validated),
            "constraints_not_validated": list(checked.not_validated)}


def _networks(env: _Reader) -> tuple[region_networks.RegionNetwork, ...]:
    networks = []
    for region, cidr in ((HOME_REGION, HOME_VPC_CIDR), (RECOVERY_REGION, RECOVERY_VPC_CIDR)):
        name, block = env.required(region), env.required(cidr)
        if name and block:
            try:
                networks.append(region_networks.RegionNetwork(name, block))
            except ValueError as error:
                env.problems.append(f"{region}/{cidr}: {error}")
    if len({n.region for n in networks}) < len(networks):
        env.problems.append(f"{HOME_REGION} and {RECOVERY_REGION} must differ")
    return tuple(networks)


def _connect(config: MigrateConfig, credentials: SecretCredentials, name: str) -> Database:
    return Database(
        host=config.host, port=config.port, database=config.name, credentials=credentials,
        tls=tls_context(config.ca_file, config.cluster_identifiers), timeout_seconds=10,
        application_name=name, limits=LIMITS, require_writer=True,
    )
