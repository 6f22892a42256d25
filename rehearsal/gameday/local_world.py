"""Two "regions" on this machine for the drill, with real components where they matter.

- Data tier: a real PostgreSQL primary in home and a real hot standby (`pg_basebackup -R`) in
  recovery (`rehearsal.localpg`). The standby streams WAL through a replication link that holds
  it for the configured delay (`replication_link`): the distance between the regions. The
  global writer endpoint is `localpg.WriterEndpoint` (it follows the writer, as Aurora's global
  endpoint does), with the configured round trip.
- Each region runs the real Lambda code (`functions.Function`: execution environments of the
  `payments` package, each with the environment the regional template sets for that region).
- moto stands in for DynamoDB, S3 and Secrets Manager, every call through `rehearsal.aws_calls`
  (the latency AWS typically adds; a lost region's calls fail). The database secrets are made
  in home with their replicas in recovery, as the template does. The DynamoDB global table is
  modelled by one moto backend shared by both regions: replication is instantaneous here (a
  real global table replicates in about a second; see docs/operations.md, the game day: what it cannot model).

A lost region is modelled honestly: its replication link is severed (WAL still in transit never
arrives), its database crashes (`pg_ctl stop -m immediate`), its functions answer nothing and
every AWS call made there fails. When it comes back, its crashed database is read once, as it
was at the moment of the loss (Aurora's `rds:unplanned-global-failover-...` snapshot of the old
primary's volume, "Using switchover or failover in Amazon Aurora Global Database"), before it
is rebuilt as a standby of the new writer.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets as secrets_module
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.exceptions
import pg8000.native

from payments import config as payments_config
from payments import roles, schema_deploy
from rehearsal.aws_calls import AwsCalls
from rehearsal.aws_figures import Latencies
from rehearsal.gameday.functions import AnswerLost, Function, RegionDown, shared_models
from rehearsal.localpg import (ADMIN_USER, DATABASE, SERVER_HOSTNAME, Forwarder,
                               PostgresServer, WriterEndpoint, create_server, create_standby,
                               replication_link)
from templates import names as template_names, physical_names
from templates.service import HEALTH, PROCESSOR, UNRESERVED_CONCURRENCY

ACCOUNT = "123456789012"
# The drill's environment: every name comes from the templates' own patterns.
DRILL = {template_names.NAME_PREFIX: "payments", template_names.ENVIRONMENT_NAME: "drill",
         "AWS::AccountId": ACCOUNT}
DRILL_MERCHANT = "merchant-drill"
WARM_ENVIRONMENTS = 10  # home has been serving: its processor starts with warm environments
LOOPBACK = "127.0.0.0/8"

__all__ = ["ACCOUNT", "DRILL", "DRILL_MERCHANT", "AnswerLost", "RegionDown", "World", "WorldSettings",
           "ZeroLossUnavailable", "http_event"]


class ZeroLossUnavailable(RuntimeError):
    """The processor in this code has no zero-loss mode to switch on."""


# The processor's zero-loss settings (the product's contract: lambda/payments/config.py).
ZERO_LOSS = "ZERO_LOSS"
ZERO_LOSS_WAIT_MS = "ZERO_LOSS_WAIT_MS"
ZERO_LOSS_DEGRADE_AFTER_SECONDS = "ZERO_LOSS_DEGRADE_AFTER_SECONDS"


@dataclass(frozen=True)
class WorldSettings:
    latencies: Latencies
    zero_loss: str = "off"                 # on | off
    zero_loss_wait_ms: int = 1500
    zero_loss_degrade_after_seconds: int = 30
    processor_concurrency: int = 50        # the template's ProcessorReservedConcurrency


@dataclass
class Region:
    name: str
    role: str                         # the deploy role: home | recovery (never changes)
    server: PostgresServer
    env: dict[str, str] = field(default_factory=dict)
    migrate_env: dict[str, str] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)

    def call(self, handler: str, event: Mapping[str, Any]) -> dict[str, Any]:
        return self.functions[handler].invoke(event)


def http_event(method: str, path: str, body: str | None = None,
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway REST API (proxy integration) event. A payment carries what the
    merchant-key authorizer's Allow puts in the request context (the merchant id); the drill
    does not run the authorizer itself (its own tests do)."""
    context: dict[str, Any] = {"requestId": f"drill-{uuid.uuid4()}", "stage": "live",
                               "identity": {"sourceIp": "192.0.2.10"}}
    if method == "POST":
        context["authorizer"] = {"merchant_id": DRILL_MERCHANT}
    return {"resource": path, "path": path, "httpMethod": method, "headers": headers or {},
            "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "requestContext": context, "body": body, "isBase64Encoded": False}


@dataclass
class Loss:
    """What the loss of a region left behind, measured at that moment."""
    region: str
    wall: float                        # time.perf_counter() at the crash
    at: datetime.datetime
    written_lsn: str | None = None     # the lost writer's last WAL position
    received_lsn: str | None = None    # what the standby had received when the link was cut
    unreplicated_bytes: int | None = None


class World:
    """Both regions, the writer endpoint, the links and the AWS stand-ins. `close()` removes
    everything."""

    def __init__(self, home: str, recovery: str, settings: WorldSettings,
                 environment: str = DRILL[template_names.ENVIRONMENT_NAME]):
        # Its physical names: the templates' patterns for this environment (two worlds in one
        # mocked account, like the bench's, need two environments).
        self.settings = settings
        self.names = {**DRILL, template_names.ENVIRONMENT_NAME: environment}
        self.home, self.recovery = home, recovery
        self.endpoint: WriterEndpoint | None = None
        self.links: dict[str, Forwarder] = {}     # standby region -> its link to the writer
        self.regions: dict[str, Region] = {}
        self.aws = AwsCalls(settings.latencies.by_service())
        self.losses: list[Loss] = []
        self._unshare: Callable[[], None] = lambda: None
        self._admin: dict[int, pg8000.native.Connection] = {}
        self._admin_lock = threading.Lock()
        self._exit = contextlib.ExitStack()
        lag = settings.latencies.replication_ms / 1000
        with _memory_backed_temp():
            primary = create_server()
            try:
                self._create_database(primary)
                self.links[recovery] = replication_link(primary.port, lag)
                standby = create_standby(primary, stream_port=self.links[recovery].port)
            except BaseException:
                for link in self.links.values():
                    link.close()
                primary.destroy()
                raise
        self.regions = {home: Region(home, "home", primary),
                        recovery: Region(recovery, "recovery", standby)}
        self.endpoint = WriterEndpoint(
            primary.port, round_trip=settings.latencies.db_round_trip_ms / 1000)

    def table_name(self) -> str:
        return physical_names.concrete(physical_names.table_name(), self.names)

    def secret_name(self, kind: str) -> str:
        return physical_names.concrete(physical_names.secret_name(kind), self.names)

    # --- set-up ----------------------------------------------------------------------------
    def _create_database(self, server: PostgresServer) -> None:
        """The payments database, with commits durable on the writer before they are
        acknowledged (`synchronous_commit = on`; fsync stays off, and the OS keeps what was
        written when a server crashes): Aurora acknowledges a commit once its storage has it,
        and ships it to the secondary region asynchronously. The standby copies this setting."""
        admin = self._connect(server, "postgres")
        admin.run(f"CREATE DATABASE {DATABASE}")
        admin.run("ALTER SYSTEM SET synchronous_commit = 'on'")
        admin.run("SELECT pg_reload_conf()")
        admin.close()

    def deploy(self) -> None:
        """What the rollout deploys, in moto: table, buckets, the secrets and their replicas;
        then each region's functions with the template's environment; then the migrate
        function's work (roles, migrations) through the writer endpoint."""
        import boto3

        self._exit.enter_context(self.aws.installed())
        self._exit.enter_context(shared_models())
        table = self.table_name()
        self._unshare = _share_dynamodb_backend(self.home, self.recovery)
        boto3.client("dynamodb", region_name=self.home).create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        secret_names = self._secrets()
        for region in self.regions.values():
            bucket = physical_names.concrete(physical_names.bucket_name(region.name),
                                             self.names)
            s3 = boto3.client("s3", region_name=region.name)
            s3.create_bucket(Bucket=bucket, **({} if region.name == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": region.name}}))
            manager = boto3.client("secretsmanager", region_name=region.name)
            arns = {kind: manager.describe_secret(SecretId=name)["ARN"]
                    for kind, name in secret_names.items()}
            region.env = self._environment(region, table, bucket, arns["app"])
            _check_contract(region.env)
            # The migrate function's own variables: its secrets, and the deployment's regions
            # and networks (both regions' functions connect from the loopback network here).
            region.migrate_env = {**region.env,
                                  schema_deploy.MASTER_SECRET: arns["master"],
                                  schema_deploy.MIGRATOR_SECRET: arns["migrator"],
                                  "HOME_REGION": self.home, "HOME_VPC_CIDR": LOOPBACK,
                                  "RECOVERY_REGION": self.recovery,
                                  "RECOVERY_VPC_CIDR": LOOPBACK}
            region.functions = {
                "process": Function(region.name, PROCESSOR.entry, region.env,
                                    timeout_seconds=PROCESSOR.timeout,
                                    limit=self.settings.processor_concurrency),
                # HealthReservedConcurrency 0: the account's unreserved pool
                "health": Function(region.name, HEALTH.entry, region.env,
                                   timeout_seconds=HEALTH.timeout,
                                   limit=UNRESERVED_CONCURRENCY)}
        # The rollout invokes the migrate function after a deploy (its work, with its
        # environment handed over explicitly: payments.schema_deploy).
        home = self.regions[self.home]
        schema_deploy.run(schema_deploy.MigrateConfig.from_environ(home.migrate_env))
        home.functions["process"].warm(WARM_ENVIRONMENTS)

    def _secrets(self) -> dict[str, str]:
        """The template's three database secrets, made in home with a replica in recovery:
        master (the server's administrator here), migrator and app (passwords random, as
        Secrets Manager generates them). Returns their names."""
        import boto3
        import json

        server = self.regions[self.home].server
        values = {"master": (ADMIN_USER, server.password),
                  "migrator": (roles.MIGRATOR_ROLE, secrets_module.token_urlsafe(30)),
                  "app": (roles.APP_ROLE, secrets_module.token_urlsafe(30))}
        manager = boto3.client("secretsmanager", region_name=self.home)
        names = {}
        for kind, (user, password) in values.items():
            names[kind] = self.secret_name(kind)
            manager.create_secret(Name=names[kind],
                                  SecretString=json.dumps({"username": user,
                                                           "password": password}),
                                  AddReplicaRegions=[{"Region": self.recovery}])
        return names

    def _environment(self, region: Region, table: str, bucket: str, secret_arn: str
                     ) -> dict[str, str]:
        assert self.endpoint is not None
        env = {
            "AWS_REGION": region.name, "AWS_DEFAULT_REGION": region.name,
            "PAYMENTS_TABLE_NAME": table, "RECEIPTS_BUCKET_NAME": bucket,
            "DB_SECRET_ARN": secret_arn, "DB_HOST": SERVER_HOSTNAME,
            # Both regions' functions write through the global writer endpoint.
            "DB_PORT": str(self.endpoint.port), "DB_NAME": DATABASE,
            "DB_TLS_CA_FILE": str(region.server.ca_file),
            # The local certificate names the host itself: no CNAME to a cluster endpoint.
            "DB_CLUSTER_IDENTIFIERS": "",
            "PAYMENT_LIMIT_MULTIPLIER": "1", "IDEMPOTENCY_TTL_SECONDS": "86400",
            "LOG_LEVEL": "ERROR",
            # Zero-loss acknowledgements (lambda/payments/durability.py): off here, the drill
            # as it was; the game-day rewrite decides how the drill exercises them.
            "ZERO_LOSS": "off", "ZERO_LOSS_WAIT_MS": "1000",
            "ZERO_LOSS_DEGRADE_AFTER_SECONDS": "10",
        }
        return {**env, **self._zero_loss_environment()}

    def _zero_loss_environment(self) -> dict[str, str]:
        """The processor's zero-loss mode, in both regions, when this processor has one."""
        settings = self.settings
        wanted = {ZERO_LOSS: settings.zero_loss,
                  ZERO_LOSS_WAIT_MS: str(settings.zero_loss_wait_ms),
                  ZERO_LOSS_DEGRADE_AFTER_SECONDS: str(settings.zero_loss_degrade_after_seconds)}
        known = {k: v for k, v in wanted.items() if k in payments_config.ENV_VARS}
        if settings.zero_loss == "on" and ZERO_LOSS not in known:
            raise ZeroLossUnavailable(
                "--zero-loss on: this processor has no zero-loss mode (lambda/payments/"
                f"config.py ENV_VARS has no {ZERO_LOSS}); without it a 201 does not wait for "
                "the recovery region, which is what --zero-loss off measures")
        return known

    # --- what happens to a region ----------------------------------------------------------
    def lose(self, region: str) -> Loss:
        """The region is gone: its link to the standby is cut, its database crashes, its
        functions stop answering, every AWS call there fails."""
        lost = self.regions[region]
        written = self._quietly(lambda: self.sql(region, "SELECT pg_current_wal_lsn()::text"))
        link = next((link for link in self.links.values() if link.target_port
                     == lost.server.port), None)
        if link is not None:
            link.sever()
        loss = Loss(region, time.perf_counter(), datetime.datetime.now(datetime.timezone.utc))
        for function in lost.functions.values():
            function.lose()
        self.aws.lost.add(region)
        self._forget(lost.server)
        lost.server.stop("immediate")
        if link is not None:
            link.close()
            self.links = {r: f for r, f in self.links.items() if f is not link}
        loss.written_lsn = written[0][0] if written else None
        standby = self.other(region)
        received = self._quietly(lambda: self.sql(
            standby, "SELECT pg_last_wal_receive_lsn()::text"))
        loss.received_lsn = received[0][0] if received else None
        if loss.written_lsn and loss.received_lsn:
            diff = self.sql(standby, "SELECT pg_wal_lsn_diff(CAST(:a AS pg_lsn), "
                                     "CAST(:b AS pg_lsn))",
                            a=loss.written_lsn, b=loss.received_lsn)
            loss.unreplicated_bytes = max(0, int(diff[0][0]))
        self.losses.append(loss)
        return loss

    def snapshot_ledger(self, region: str) -> list[list[Any]]:
        """The lost region's ledger as its crashed database holds it (started once, read,
        stopped): Aurora's snapshot of the old primary's volume at the point of failure."""
        server = self.regions[region].server
        server.start()
        try:
            return self.sql(region, LEDGER_QUERY)
        finally:
            self._forget(server)
            server.stop("fast")

    def restore(self, region: str) -> None:
        """The region's API and AWS endpoints are back; its functions start cold."""
        self.aws.lost.discard(region)
        for function in self.regions[region].functions.values():
            function.restore()

    def rebuild_as_standby(self, region: str, of: str) -> None:
        """`region`'s database becomes a standby of `of`, streaming through a new link with
        the replication delay."""
        self._forget(self.regions[region].server)
        primary = self.regions[of].server
        link = replication_link(primary.port, self.settings.latencies.replication_ms / 1000)
        self.links[region] = link
        create_standby(primary, reuse=self.regions[region].server, stream_port=link.port)

    def promote(self, region: str) -> None:
        self.regions[region].server.promote()
        old = self.links.pop(region, None)
        if old is not None:
            old.close()

    def stop_clean(self, region: str) -> None:
        """A clean stop: the walsender first ships everything to the standby (it waits for
        the standby to confirm), so a switchover loses nothing."""
        self._forget(self.regions[region].server)
        self.regions[region].server.stop("fast")

    def wait_streaming(self, writer: str, timeout: float) -> bool:
        """Until a standby streams from `writer` (a rebuilt standby first connects through its
        link, whose delay slows the handshake), at most `timeout` wall seconds."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.sql(writer, "SELECT count(*) FROM pg_stat_replication "
                                "WHERE state = 'streaming'")[0][0]:
                return True
            time.sleep(0.1)
        return False

    def point_writer_endpoint(self, region: str) -> None:
        assert self.endpoint is not None
        self.endpoint.point_to(self.regions[region].server.port)

    def other(self, region: str) -> str:
        return self.recovery if region == self.home else self.home

    # --- SQL as the administrator (observation and the audit) ------------------------------
    def sql(self, region: str, query: str, **params: Any) -> list[list[Any]]:
        server = self.regions[region].server
        with self._admin_lock:
            for attempt in (1, 2):
                try:
                    if server.port not in self._admin:
                        self._admin[server.port] = self._connect(server, DATABASE)
                    return self._admin[server.port].run(query, **params)
                except (pg8000.exceptions.InterfaceError, OSError):
                    self._admin.pop(server.port, None)
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def ledger(self, region: str) -> list[list[Any]]:
        return self.sql(region, LEDGER_QUERY)

    def _quietly(self, query: Callable[[], list[list[Any]]]) -> list[list[Any]] | None:
        try:
            return query()
        except (pg8000.exceptions.DatabaseError, pg8000.exceptions.InterfaceError, OSError):
            return None

    def _connect(self, server: PostgresServer, database: str) -> pg8000.native.Connection:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        return pg8000.native.Connection(user=ADMIN_USER, password=server.password,
                                        host=SERVER_HOSTNAME, port=server.port,
                                        database=database, ssl_context=context, timeout=5)

    def _forget(self, server: PostgresServer) -> None:
        with self._admin_lock:
            connection = self._admin.pop(server.port, None)
        if connection is not None:
            with contextlib.suppress(pg8000.exceptions.InterfaceError, OSError):
                connection.close()

    def close(self) -> None:
        for region in self.regions.values():
            for function in region.functions.values():
                function.close()
        self._exit.close()
        self._unshare()
        for port in list(self._admin):
            with contextlib.suppress(pg8000.exceptions.InterfaceError, OSError):
                self._admin.pop(port).close()
        if self.endpoint is not None:
            self.endpoint.close()
        for link in self.links.values():
            link.close()
        for name in (self.recovery, self.home):
            if name in self.regions:
                self.regions[name].server.destroy()


LEDGER_QUERY = (f"SELECT idempotency_key, payment_id::text, amount::text, description "
                f"FROM payments WHERE merchant_id = '{DRILL_MERCHANT}'")


def _check_contract(env: Mapping[str, str]) -> None:
    """The functions' environment is a contract (lambda/payments/config.py ENV_VARS, which the
    template sets exactly): the drill must set the same variables, no more, no fewer."""
    contract = set(payments_config.ENV_VARS)
    given = {k for k in env if not k.startswith("AWS_")}
    if given != contract:
        raise RuntimeError(
            f"the drill's function environment differs from lambda/payments/config.py ENV_VARS: "
            f"missing {sorted(contract - given)}, unknown {sorted(given - contract)}; update "
            "rehearsal/gameday/local_world.py World._environment")


@contextlib.contextmanager
def _memory_backed_temp() -> Iterator[None]:
    """Data directories in /dev/shm when there is one: a base backup, a rebuild and the
    clean-up then take milliseconds instead of seconds of file-system work (durability is off
    on these throwaway servers anyway)."""
    shm = Path("/dev/shm")
    saved = tempfile.tempdir
    if shm.is_dir() and os.access(shm, os.W_OK):
        tempfile.tempdir = str(shm)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def _share_dynamodb_backend(home: str, recovery: str) -> Callable[[], None]:
    """One moto DynamoDB backend for both regions: the global table with zero lag. Returns
    what undoes it."""
    from moto.dynamodb.models import dynamodb_backends

    backends = dynamodb_backends[ACCOUNT]
    own = backends[recovery]
    backends[recovery] = backends[home]

    def unshare() -> None:
        backends[recovery] = own
    return unshare
