"""Builds configuration, clients and services once per Lambda container.

Everything is created lazily on first use, not at import, so tests can set the environment
first; :func:`reset` forgets it all.

In Lambda a process is one container: :data:`current`, configured from the process
environment. A process that hosts several containers (the local game day runs each region's
functions, many containers per region, on threads of one process) gives each its own
environment (``Container(environ)``) and runs each invocation inside :func:`serving`: the
active container is a context variable, so concurrent invocations never share a connection,
and no region's configuration passes through ``os.environ``.

Timeouts are a budget (``payments.deadline``): each step's worst case must fit in what is
left of the invocation, so a slow dependency ends in a 503 with ``Retry-After`` and never
in a function timeout. :data:`PAYMENT_DB` and :data:`aws.PAYMENT_PATH` set the worst cases;
a test holds the largest step below the processor's timeout. The zero-loss wait
(``payments.durability``) stops polling when one more poll (one statement, no retry:
:meth:`DatabaseSettings.one_try_seconds`) would not fit.

The zero-loss mode of this container (cross-region, or degraded to regional) is module state
here, like the connections: each container decides on its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from . import aws, logs, migrations
from .config import Config
from .database import Database, SecretCredentials, SessionLimits
from .durability import Durability, DurabilitySettings
from .errors import DependencyUnavailable
from .health import Probe, database_probe, dynamodb_probe, s3_probe
from .idempotency import IdempotencyStore
from .ledger import Ledger
from .receipts import ReceiptStore
from .reconcile import Reconciler, Watermarks
from .service import PaymentService, StepBudget
from .status import StatusStore
from .tls import tls_context

log = logs.get_logger("wiring")


@dataclass(frozen=True)
class DatabaseSettings:
    timeout_seconds: float  # pg8000 socket timeout: connect, TLS, each read
    limits: SessionLimits
    require_writer: bool

    def one_try_seconds(self) -> float:
        """One statement: connect, session setup and role check, then the statement itself."""
        return 2 * self.timeout_seconds + self.limits.statement_ms / 1000

    def worst_case_seconds(self) -> float:
        """Twice :meth:`one_try_seconds`: a broken reused connection is retried once on a
        fresh one."""
        return 2 * self.one_try_seconds()


# The payment path needs the writer: a read-only server is refused at connect.
PAYMENT_DB = DatabaseSettings(
    timeout_seconds=1.5,
    limits=SessionLimits(statement_ms=2000, lock_ms=1000, idle_in_transaction_ms=5000),
    require_writer=True,
)
# The health path reports read-only instead of refusing it, and answers within Route 53's 2 s.
HEALTH_DB = DatabaseSettings(
    timeout_seconds=0.8,
    limits=SessionLimits(statement_ms=500, lock_ms=300, idle_in_transaction_ms=2000),
    require_writer=False,
)
_DATABASES = {"payments": PAYMENT_DB, "health": HEALTH_DB}


class Container:
    """Everything one Lambda container builds once and reuses: configuration, connections,
    clients, services. ``environ`` is where its configuration comes from (None: the process
    environment, as in Lambda)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ
        self.config: Config | None = None
        self.databases: dict[str, Database] = {}
        self.schema_current = False
        self.schema_lock = threading.Lock()
        self.payment_service: PaymentService | None = None
        self.health_probes: Mapping[str, Probe] | None = None
        self.durability: Durability | None = None
        self.reconciler: Reconciler | None = None

    def close(self) -> None:
        if self.payment_service is not None:
            self.payment_service.close()
        if self.reconciler is not None:
            self.reconciler.close()
        while self.databases:
            self.databases.popitem()[1].close()


current = Container()
_serving: contextvars.ContextVar[Container | None] = contextvars.ContextVar(
    "payments_container", default=None
)


def active() -> Container:
    """The container of the invocation running here: the one :func:`serving` names, else
    :data:`current`."""
    return _serving.get() or current


@contextlib.contextmanager
def serving(container: Container) -> Iterator[Container]:
    """Run one invocation with ``container`` (several containers in one process)."""
    token = _serving.set(container)
    try:
        yield container
    finally:
        _serving.reset(token)


def config() -> Config:
    container = active()
    if container.config is None:
        loaded = Config.from_environ(container.environ)
        logs.configure(loaded.log_level)
        container.config = loaded
    return container.config


def database(purpose: str = "payments") -> Database:
    """One connection per purpose; the health path's has the short timeouts."""
    container = active()
    if purpose not in container.databases:
        container.databases[purpose] = _new_database(purpose)
    return container.databases[purpose]


def _new_database(purpose: str) -> Database:
    cfg = config()
    settings = _DATABASES[purpose]
    health = purpose == "health"
    secrets = aws.client(
        "secretsmanager", cfg.region, aws.HEALTH_PATH if health else aws.PAYMENT_PATH
    )
    return Database(
        host=cfg.db_host,
        port=cfg.db_port,
        database=cfg.db_name,
        credentials=SecretCredentials(secrets, cfg.db_secret_arn),
        tls=tls_context(cfg.db_tls_ca_file, cfg.db_cluster_identifiers),
        timeout_seconds=settings.timeout_seconds,
        application_name=f"payments-{purpose}",
        limits=settings.limits,
        require_writer=settings.require_writer,
    )


def ensure_schema() -> None:
    """Refuse to take payments on a schema that is behind this code: checked once per
    container, against the writer (the payment connection refuses a read-only server).

    The functions' database role cannot change the schema (least privilege): the migrate
    function applies migrations, and the rollout tool invokes it after every deploy. Until
    then, or while the writer is unreachable, requests get a 503 and the next one checks
    again.
    """
    container = active()
    if container.schema_current:
        return
    with container.schema_lock:
        if not container.schema_current:
            pending = migrations.missing(database("payments"))
            if pending:
                log.error("schema behind the code: invoke the migrate function",
                          extra={"fields": {"pending": pending}})
                raise DependencyUnavailable("database", "schema not migrated")
            container.schema_current = True


def durability() -> Durability:
    """This container's zero-loss state (payments.durability)."""
    container = active()
    if container.durability is None:
        cfg = config()
        container.durability = Durability(DurabilitySettings(
            zero_loss=cfg.zero_loss,
            wait_seconds=cfg.zero_loss_wait_ms / 1000,
            degrade_after_seconds=cfg.zero_loss_degrade_after_seconds,
            poll_worst_case_seconds=PAYMENT_DB.one_try_seconds(),
        ))
    return container.durability


def durability_mode() -> str:
    """What a 201 from this container means now: the header on responses without a payment."""
    return durability().mode


def payment_service() -> PaymentService:
    ensure_schema()
    container = active()
    if container.payment_service is None:
        container.payment_service = _payment_service()
    return container.payment_service


def _payment_service() -> PaymentService:
    cfg = config()
    dynamodb = aws.client("dynamodb", cfg.region, aws.PAYMENT_PATH)
    s3 = aws.client("s3", cfg.region, aws.PAYMENT_PATH)
    return PaymentService(
        idempotency=IdempotencyStore(dynamodb, cfg.table_name, cfg.idempotency_ttl_seconds),
        ledger=Ledger(database("payments")),
        receipts=ReceiptStore(s3, cfg.receipts_bucket),
        statuses=StatusStore(dynamodb, cfg.table_name),
        durability=durability(),
        region=cfg.region,
        budget=StepBudget(
            aws_call_seconds=aws.worst_case_seconds(aws.PAYMENT_PATH),
            database_seconds=PAYMENT_DB.worst_case_seconds(),
        ),
    )


def reconciler() -> Reconciler:
    """The reconcile function's work (payments.reconcile): the payment connection's settings
    and role, the same stores as the processor."""
    ensure_schema()
    container = active()
    if container.reconciler is None:
        cfg = config()
        dynamodb = aws.client("dynamodb", cfg.region, aws.PAYMENT_PATH)
        container.reconciler = Reconciler(
            Ledger(database("payments")),
            ReceiptStore(aws.client("s3", cfg.region, aws.PAYMENT_PATH), cfg.receipts_bucket),
            StatusStore(dynamodb, cfg.table_name),
            Watermarks(dynamodb, cfg.table_name),
            cfg.region,
        )
    return container.reconciler


def health_probes() -> Mapping[str, Probe]:
    container = active()
    if container.health_probes is None:
        cfg = config()
        container.health_probes = {
            # The probes run on threads of their own: each reaches this container explicitly.
            "database": database_probe(database("health"), cfg.region,
                                       lambda: _ensure_schema_of(container)),
            "dynamodb": dynamodb_probe(
                aws.client("dynamodb", cfg.region, aws.HEALTH_PATH), cfg.table_name, cfg.region
            ),
            "s3": s3_probe(aws.client("s3", cfg.region, aws.HEALTH_PATH), cfg.receipts_bucket,
                           cfg.region),
        }
    return container.health_probes


def _ensure_schema_of(container: Container) -> None:
    with serving(container):
        ensure_schema()


def reset() -> None:
    """Close connections and forget everything built: a new container (tests, after changing
    the environment)."""
    global current
    current.close()
    current = Container()
