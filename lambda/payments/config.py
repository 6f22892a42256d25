"""Runtime configuration, read once per container from environment variables.

The regional template sets exactly :data:`ENV_VARS` on both functions; its test
checks that, so adding a variable here is a contract change. ``AWS_REGION`` is
set by the Lambda runtime itself (:data:`RUNTIME_ENV_VARS`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PAYMENTS_TABLE_NAME = "PAYMENTS_TABLE_NAME"
RECEIPTS_BUCKET_NAME = "RECEIPTS_BUCKET_NAME"
DB_SECRET_ARN = "DB_SECRET_ARN"
DB_HOST = "DB_HOST"
DB_PORT = "DB_PORT"
DB_NAME = "DB_NAME"
DB_TLS_CA_FILE = "DB_TLS_CA_FILE"
DB_CLUSTER_IDENTIFIERS = "DB_CLUSTER_IDENTIFIERS"
PAYMENT_LIMIT_MULTIPLIER = "PAYMENT_LIMIT_MULTIPLIER"
IDEMPOTENCY_TTL_SECONDS = "IDEMPOTENCY_TTL_SECONDS"
LOG_LEVEL = "LOG_LEVEL"
# Zero-loss acknowledgements (payments.durability): "on" waits, after the ledger commit, until
# the recovery region's storage has it; the wait's budget; how long without any confirmation
# before a container degrades to regional durability.
ZERO_LOSS = "ZERO_LOSS"
ZERO_LOSS_WAIT_MS = "ZERO_LOSS_WAIT_MS"
ZERO_LOSS_DEGRADE_AFTER_SECONDS = "ZERO_LOSS_DEGRADE_AFTER_SECONDS"

ENV_VARS: frozenset[str] = frozenset(
    {
        PAYMENTS_TABLE_NAME,
        RECEIPTS_BUCKET_NAME,
        DB_SECRET_ARN,
        DB_HOST,
        DB_PORT,
        DB_NAME,
        DB_TLS_CA_FILE,
        DB_CLUSTER_IDENTIFIERS,
        PAYMENT_LIMIT_MULTIPLIER,
        IDEMPOTENCY_TTL_SECONDS,
        LOG_LEVEL,
        ZERO_LOSS,
        ZERO_LOSS_WAIT_MS,
        ZERO_LOSS_DEGRADE_AFTER_SECONDS,
    }
)
"""Every variable the template must set (DB_CLUSTER_IDENTIFIERS and LOG_LEVEL may be empty)."""

RUNTIME_ENV_VARS: frozenset[str] = frozenset({"AWS_REGION"})
"""Variables the Lambda runtime sets; the template must not."""

# Scales the per-currency caps of payments.currencies. The largest cap times
# this stays far below the ledger column's 15 integer digits (numeric(18, 3)).
_MAX_LIMIT_MULTIPLIER = Decimal(100)
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
# Idempotency keys must outlive client retries (minutes to a day) but not the
# table: one hour to 30 days.
_MIN_TTL_SECONDS = 3600
_MAX_TTL_SECONDS = 30 * 24 * 3600
# RDS DBClusterIdentifier: 1-63 letters, digits or hyphens, a letter first, no trailing or
# double hyphen; RDS stores it in lower case (CreateDBCluster, RDS API Reference).
_CLUSTER_IDENTIFIER = re.compile(r"(?=.{1,63}\Z)[a-z](?:-?[a-z0-9])*")
ZERO_LOSS_MODES = ("on", "off")
# The wait fits in the processor's budget (payments.deadline): at most 5 s of its 15 s.
ZERO_LOSS_WAIT_MS_RANGE = (10, 5000)
ZERO_LOSS_DEGRADE_AFTER_SECONDS_RANGE = (1, 600)


class ConfigError(ValueError):
    """The environment is incomplete or malformed; lists every problem at once."""


@dataclass(frozen=True)
class Config:
    table_name: str
    receipts_bucket: str
    db_secret_arn: str
    db_host: str
    db_port: int
    db_name: str
    db_tls_ca_file: str
    db_cluster_identifiers: tuple[str, ...]
    payment_limit_multiplier: Decimal
    idempotency_ttl_seconds: int
    log_level: str
    region: str
    zero_loss: bool
    zero_loss_wait_ms: int
    zero_loss_degrade_after_seconds: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = _Reader(os.environ if environ is None else environ)
        config = cls(
            table_name=env.required(PAYMENTS_TABLE_NAME),
            receipts_bucket=env.required(RECEIPTS_BUCKET_NAME),
            db_secret_arn=env.required(DB_SECRET_ARN),
            db_host=env.required(DB_HOST),
            db_port=env.integer(DB_PORT, minimum=1, maximum=65535),
            db_name=env.required(DB_NAME),
            db_tls_ca_file=env.required(DB_TLS_CA_FILE),
            db_cluster_identifiers=env.cluster_identifiers(DB_CLUSTER_IDENTIFIERS),
            payment_limit_multiplier=env.multiplier(PAYMENT_LIMIT_MULTIPLIER),
            idempotency_ttl_seconds=env.integer(
                IDEMPOTENCY_TTL_SECONDS, minimum=_MIN_TTL_SECONDS, maximum=_MAX_TTL_SECONDS
            ),
            log_level=env.log_level(LOG_LEVEL),
            region=env.required("AWS_REGION"),
            zero_loss=env.choice(ZERO_LOSS, ZERO_LOSS_MODES) == "on",
            zero_loss_wait_ms=env.integer(ZERO_LOSS_WAIT_MS, *ZERO_LOSS_WAIT_MS_RANGE),
            zero_loss_degrade_after_seconds=env.integer(ZERO_LOSS_DEGRADE_AFTER_SECONDS,
                                                        *ZERO_LOSS_DEGRADE_AFTER_SECONDS_RANGE),
        )
        if env.problems:
            raise ConfigError("invalid environment: " + "; ".join(env.problems))
        return config


class _Reader:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def optional(self, name: str) -> str | None:
        return self._environ.get(name, "").strip() or None

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            self.problems.append(f"{name} is required")
            return ""
        return value

    def integer(self, name: str, minimum: int, maximum: int) -> int:
        raw = self.required(name)
        if not raw:
            return 0
        if not raw.isdigit() or not minimum <= int(raw) <= maximum:
            self.problems.append(f"{name}={raw!r} must be an integer in [{minimum}, {maximum}]")
            return 0
        return int(raw)

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        raw = self.required(name)
        if raw and raw not in allowed:
            self.problems.append(f"{name}={raw!r} must be one of: {', '.join(allowed)}")
        return raw

    def multiplier(self, name: str) -> Decimal:
        raw = self.required(name)
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal(0)
        if raw and not (value.is_finite() and 0 < value <= _MAX_LIMIT_MULTIPLIER):
            self.problems.append(
                f"{name}={raw!r} must be a decimal greater than 0 and at most "
                f"{_MAX_LIMIT_MULTIPLIER}"
            )
        return value

    def cluster_identifiers(self, name: str) -> tuple[str, ...]:
        """Comma-separated Aurora cluster identifiers (payments.tls: whose cluster endpoints a
        CNAME may lead to); empty for none."""
        raw = self.optional(name) or ""
        identifiers = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
        wrong = [value for value in identifiers if not _CLUSTER_IDENTIFIER.fullmatch(value)]
        if wrong:
            self.problems.append(
                f"{name} has {wrong}: each must be an Aurora cluster identifier (1-63 letters, "
                "digits or single hyphens, a letter first, no trailing hyphen), comma-separated")
        return identifiers

    def log_level(self, name: str) -> str:
        level = (self.optional(name) or "INFO").upper()
        if level not in _LOG_LEVELS:
            self.problems.append(
                f"{name}={level!r} must be one of: {', '.join(sorted(_LOG_LEVELS))}"
            )
            return "INFO"
        return level
