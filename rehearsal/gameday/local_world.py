"""Two "regions" on this machine for the drill, with real components where they matter.

- Data tier: a real PostgreSQL primary in home and a real hot standby (`pg_basebackup -R`) in
  recovery (`rehearsal.localpg`), and the global writer endpoint modelled by
  `localpg.WriterEndpoint` (it follows the writer, as Aurora's global endpoint does).
- Each region runs its own copy of the real Lambda code (the `payments` package and its
  `handlers` entry points, loaded once per region, so each region has its own warm
  "containers": connections, caches) with the environment the regional template sets.
- moto stands in for DynamoDB, S3 and Secrets Manager. The DynamoDB global table is modelled
  by one moto backend shared by both regions: replication is instantaneous here (a real
  global table replicates in about a second; see docs/operations.md, the game day).

A lost region is modelled honestly: its database crashes (`pg_ctl stop -m immediate`, so WAL
not yet streamed is lost) and its functions answer nothing (a client sees no connection).
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import importlib.util
import json
import os
import secrets as secrets_module
import ssl
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pg8000.exceptions
import pg8000.native

from payments_build.sources import lambda_source
from templates import names, physical_names
from rehearsal.localpg import (ADMIN_USER, DATABASE, SERVER_HOSTNAME, PostgresServer,
                               WriterEndpoint, create_server, create_standby)

ACCOUNT = "123456789012"
# The drill's environment: every name comes from the templates' own patterns.
DRILL = {names.NAME_PREFIX: "payments", names.ENVIRONMENT_NAME: "drill",
         "AWS::AccountId": ACCOUNT}


class RegionDown(RuntimeError):
    pass


@dataclass
class Region:
    name: str
    role: str                         # the deploy role: home | recovery (never changes)
    server: PostgresServer
    env: dict[str, str] = field(default_factory=dict)
    up: bool = True
    handlers: dict[str, Callable] = field(default_factory=dict)
    package: Any = None
    migrate_env: dict[str, str] = field(default_factory=dict)

    def call(self, handler: str, event: dict[str, Any],
             extra_env: dict[str, str] | None = None) -> dict[str, Any]:
        if not self.up:
            raise RegionDown(self.name)
        os.environ.update({**self.env, **(extra_env or {})})
        request_id = event.get("requestContext", {}).get("requestId", f"drill-{uuid.uuid4()}")
        return self.handlers[handler](event, _Context(request_id))


@dataclass
class _Context:
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def load_handlers(tag: str) -> tuple[Any, dict[str, Callable]]:
    """The real handler files with a private copy of the `payments` package (one Lambda
    "container" per region)."""
    name = f"payments_drill_{tag}"
    spec = importlib.util.spec_from_file_location(
        name, lambda_source() / "payments" / "__init__.py",
        submodule_search_locations=[str(lambda_source() / "payments")])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    for module in ("api", "wiring", "logs", "schema_deploy", "roles", "config"):
        importlib.import_module(f"{name}.{module}")
    entry = importlib.import_module(f"{name}.handlers")
    return package, {handler: getattr(entry, handler) for handler in entry.HANDLERS}


DRILL_MERCHANT = "merchant-drill"


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


class World:
    """Both regions, the writer endpoint and the AWS stand-ins. `close()` removes everything."""

    def __init__(self, home: str, recovery: str):
        self.endpoint: WriterEndpoint | None = None
        self.regions: dict[str, Region] = {}
        self._unshare: Callable[[], None] = lambda: None
        self._admin: dict[int, pg8000.native.Connection] = {}
        with _memory_backed_temp():
            primary = create_server()
            try:
                self._create_database(primary)
                standby = create_standby(primary)
            except BaseException:
                primary.destroy()
                raise
        self.regions = {home: Region(home, "home", primary),
                        recovery: Region(recovery, "recovery", standby)}
        self.home, self.recovery = home, recovery
        self.endpoint = WriterEndpoint(primary.port)

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
        """What the rollout deploys, in moto: table, buckets, the secret and its replica; then
        each region's functions with the template's environment."""
        import boto3

        table = physical_names.concrete(physical_names.table_name(), DRILL)
        self._unshare = _share_dynamodb_backend(self.home, self.recovery)
        boto3.client("dynamodb", region_name=self.home).create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        for region in self.regions.values():
            region.package, region.handlers = load_handlers(region.role)
        secrets = self._secrets()
        for region in self.regions.values():
            bucket = physical_names.concrete(physical_names.bucket_name(region.name), DRILL)
            s3 = boto3.client("s3", region_name=region.name)
            s3.create_bucket(Bucket=bucket, **({} if region.name == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": region.name}}))
            arns = {}
            for kind, value in secrets.items():  # the home secrets and their replicas
                arns[kind] = boto3.client("secretsmanager", region_name=region.name) \
                    .create_secret(Name=physical_names.concrete(physical_names.secret_name(kind),
                                                                DRILL),
                                   SecretString=value)["ARN"]
            region.env = self._environment(region, table, bucket, arns["app"])
            _check_contract(region)
            # Both regions' functions connect from the loopback network here.
            region.migrate_env = {"DB_MASTER_SECRET_ARN": arns["master"],
                                  "DB_MIGRATOR_SECRET_ARN": arns["migrator"],
                                  "HOME_REGION": self.home, "HOME_VPC_CIDR": "127.0.0.0/8",
                                  "RECOVERY_REGION": self.recovery,
                                  "RECOVERY_VPC_CIDR": "127.0.0.0/8"}
        # The rollout invokes the migrate function after a deploy: roles, then migrations,
        # through the writer endpoint.
        home = self.regions[self.home]
        home.call("migrate", {}, home.migrate_env)

    def _secrets(self) -> dict[str, str]:
        """The template's three database secrets: master (the server's administrator here),
        migrator and app (passwords random, as Secrets Manager generates them)."""
        home = self.regions[self.home]
        roles = home.package.roles  # lambda/payments/roles.py: the roles it manages
        return {"master": json.dumps({"username": ADMIN_USER, "password": home.server.password}),
                "migrator": json.dumps({"username": roles.MIGRATOR_ROLE,
                                        "password": secrets_module.token_urlsafe(30)}),
                "app": json.dumps({"username": roles.APP_ROLE,
                                   "password": secrets_module.token_urlsafe(30)})}

    def _environment(self, region: Region, table: str, bucket: str, secret_arn: str
                     ) -> dict[str, str]:
        assert self.endpoint is not None
        return {
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
        }

    # --- what happens to a region ----------------------------------------------------------
    def lose(self, region: str) -> None:
        """The region is gone: its database crashes, its functions stop answering."""
        self.lost_at_wall = datetime.datetime.now(datetime.timezone.utc)
        self.regions[region].up = False
        self._forget(self.regions[region].server)
        self.regions[region].server.stop("immediate")

    def restore_functions(self, region: str) -> None:
        """The region's API is back, with cold containers (new connections, fresh config)."""
        target = self.regions[region]
        target.package.wiring.reset()
        target.up = True

    def rebuild_as_standby(self, region: str, of: str) -> None:
        self._forget(self.regions[region].server)
        create_standby(self.regions[of].server, reuse=self.regions[region].server)

    def promote(self, region: str) -> None:
        self.regions[region].server.promote()

    def stop_clean(self, region: str) -> None:
        self._forget(self.regions[region].server)
        self.regions[region].server.stop("fast")

    def point_writer_endpoint(self, region: str) -> None:
        assert self.endpoint is not None
        self.endpoint.point_to(self.regions[region].server.port)

    # --- SQL as the administrator (observation and the final audit) ------------------------
    def sql(self, region: str, query: str, **params: Any) -> list[list[Any]]:
        server = self.regions[region].server
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

    def _connect(self, server: PostgresServer, database: str) -> pg8000.native.Connection:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        return pg8000.native.Connection(user=ADMIN_USER, password=server.password,
                                        host=SERVER_HOSTNAME, port=server.port,
                                        database=database, ssl_context=context, timeout=5)

    def _forget(self, server: PostgresServer) -> None:
        connection = self._admin.pop(server.port, None)
        if connection is not None:
            try:
                connection.close()
            except (pg8000.exceptions.InterfaceError, OSError):
                pass

    def close(self) -> None:
        self._unshare()
        for region in self.regions.values():
            if region.package is not None:
                region.package.wiring.reset()
        for port in list(self._admin):
            connection = self._admin.pop(port)
            try:
                connection.close()
            except (pg8000.exceptions.InterfaceError, OSError):
                pass
        if self.endpoint is not None:
            self.endpoint.close()
        standby = self.regions.get(self.recovery)
        primary = self.regions.get(self.home)
        for region in (standby, primary):
            if region is not None:
                region.server.destroy()


def _check_contract(region: Region) -> None:
    """The functions' environment is a contract (lambda/payments/config.py ENV_VARS, which the
    template sets exactly): the drill must set the same variables, no more, no fewer."""
    contract = set(region.package.config.ENV_VARS)
    given = {k for k in region.env if not k.startswith("AWS_")}
    if given != contract:
        raise RuntimeError(
            f"the drill's function environment differs from lambda/payments/config.py ENV_VARS: "
            f"missing {sorted(contract - given)}, unknown {sorted(given - contract)}; update "
            "stacksets/dr/local_world.py World._environment")


@contextlib.contextmanager
def _memory_backed_temp():
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
