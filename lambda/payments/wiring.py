"""Builds configuration, clients and services once per Lambda container.

Everything is created lazily on first use, not at import, so tests (and the
migration command) can set the environment first; :func:`reset` forgets it all.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from . import aws, logs, migrations
from .config import Config, RegionRole
from .database import Database, SecretCredentials, tls_context
from .health import Probe, database_probe, dynamodb_probe, s3_probe
from .idempotency import IdempotencyStore
from .ledger import Ledger
from .receipts import ReceiptStore
from .service import PaymentService
from .status import StatusStore

PAYMENT_DB_TIMEOUT_SECONDS = 5.0
HEALTH_DB_TIMEOUT_SECONDS = 1.0


@functools.cache
def config() -> Config:
    loaded = Config.from_environ()
    logs.configure(loaded.log_level)
    return loaded


_databases: dict[str, Database] = {}


def database(purpose: str = "payments") -> Database:
    """One connection per purpose; the health path's has the short timeouts."""
    if purpose not in _databases:
        _databases[purpose] = _new_database(purpose)
    return _databases[purpose]


def _new_database(purpose: str) -> Database:
    cfg = config()
    health = purpose == "health"
    secrets = aws.client(
        "secretsmanager", cfg.region, aws.HEALTH_PATH if health else aws.PAYMENT_PATH
    )
    timeout = HEALTH_DB_TIMEOUT_SECONDS if health else PAYMENT_DB_TIMEOUT_SECONDS
    return Database(
        host=cfg.db_host,
        port=cfg.db_port,
        database=cfg.db_name,
        credentials=SecretCredentials(secrets, cfg.db_secret_arn),
        tls=tls_context(cfg.db_tls_ca_file),
        timeout_seconds=timeout,
        application_name=f"payments-{purpose}",
    )


@functools.cache
def payment_service() -> PaymentService:
    """The payment flow. In the primary region, a new container first brings the ledger
    schema up to date (one locked, idempotent transaction; a no-op once applied), so a deploy
    needs no separate migration step. The secondary never runs DDL: Aurora does not forward
    it, and the schema replicates from the writer."""
    cfg = config()
    if cfg.region_role is RegionRole.PRIMARY:
        migrations.apply(database("payments"))
    dynamodb = aws.client("dynamodb", cfg.region, aws.PAYMENT_PATH)
    s3 = aws.client("s3", cfg.region, aws.PAYMENT_PATH)
    return PaymentService(
        idempotency=IdempotencyStore(dynamodb, cfg.table_name, cfg.idempotency_ttl_seconds),
        ledger=Ledger(database("payments")),
        receipts=ReceiptStore(s3, cfg.receipts_bucket),
        statuses=StatusStore(dynamodb, cfg.table_name),
        region=cfg.region,
    )


@functools.cache
def health_probes() -> Mapping[str, Probe]:
    cfg = config()
    return {
        "database": database_probe(Ledger(database("health"))),
        "dynamodb": dynamodb_probe(
            aws.client("dynamodb", cfg.region, aws.HEALTH_PATH), cfg.table_name
        ),
        "s3": s3_probe(aws.client("s3", cfg.region, aws.HEALTH_PATH), cfg.receipts_bucket),
    }


def reset() -> None:
    """Close connections and forget everything built (tests, after changing the environment)."""
    while _databases:
        _databases.popitem()[1].close()
    for cached in (config, payment_service, health_probes):
        cached.cache_clear()
