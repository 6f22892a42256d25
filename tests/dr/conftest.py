"""A local two-region model of the data tier, for the DR state tests.

- home: a real PostgreSQL primary; recovery: a real hot standby of it (`pg_basebackup -R`),
  promoted with `pg_ctl promote` where AWS would run FailoverGlobalCluster;
- the global writer endpoint: a forwarder both regions' functions connect to, repointed to
  the new writer after a promotion, as Aurora repoints its global endpoint;
- moto for DynamoDB, S3 and Secrets Manager in both regions. Each region has its own table:
  the global table's replication is not modelled, which is the harsher case (a retry in the
  other region finds no idempotency record and only the ledger recognises it);
- the real handlers, one container per region: each region keeps its own configuration,
  connections and clients between calls (warm containers), as in Lambda.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from rehearsal.localpg import (
    DATABASE, PostgresServer, PostgresUnavailable, WriterEndpoint, create_server,
    create_standby,
)
from tests.handlers.conftest import (
    LOOPBACK, FakeContext, admin_connection, create_database_secrets, deploy_schema, http_event,
)

HOME, RECOVERY = "us-east-1", "us-west-2"
ZERO_LOSS_WAIT_MS = 300
DEGRADE_AFTER_SECONDS = 1
TABLE = "payments-dr-test"
SECRET_NAME = "payments-dr-test/db"


def bucket(region: str) -> str:
    return f"payments-dr-test-receipts-{region}"


@dataclass
class Region:
    """One region's functions: its environment and its warm container."""

    name: str
    environment: dict[str, str]
    container: Any = None
    api_down: bool = False  # the region's API/functions fail (an API-only outage)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        from payments import wiring

        saved = {name: os.environ.get(name) for name in self.environment}
        os.environ.update(self.environment)
        outer, wiring.current = wiring.current, self.container or wiring.Container()
        try:
            yield
        finally:
            self.container, wiring.current = wiring.current, outer
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def cold_start(self) -> None:
        if self.container is not None:
            self.container.close()
        self.container = None

    def configure(self, **variables: str) -> None:
        """Change the functions' environment; the next call starts a new container."""
        self.environment.update(variables)
        self.cold_start()

    def post(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        from payments import handlers

        event = http_event("POST", "/process", body=json.dumps(body),
                           headers={"content-type": "application/json", "idempotency-key": key})
        with self.active():
            return handlers.process(event, FakeContext(event["requestContext"]["requestId"]))

    def post_until_201(self, body: dict[str, Any], key: str,
                       give_up_seconds: float = 15.0) -> dict[str, Any]:
        """A client that retries the same key after a 503, as merchants are told to (Retry-After
        scaled down): recorded-but-not-yet-durable, or no writer yet."""
        deadline = time.monotonic() + give_up_seconds
        while True:
            response = self.post(body, key)
            if response["statusCode"] != 503 or time.monotonic() > deadline:
                return response
            assert response["headers"]["retry-after"] == "1"
            time.sleep(0.05)

    def health(self) -> dict[str, Any]:
        from payments import handlers

        if self.api_down:
            return {"statusCode": 502, "headers": {}, "body": ""}
        event = http_event("GET", "/health")
        with self.active():
            return handlers.health(event, FakeContext(event["requestContext"]["requestId"]))


FAILURE_THRESHOLD = 3  # the global template's default HealthCheckFailureThreshold


def route53_status(region: Region) -> int:
    """What a Route 53 checker concludes: unhealthy only after FAILURE_THRESHOLD failed checks
    in a row. (One slow answer on a loaded test machine does not move DNS, nor does it on
    AWS.) Returns 200, or the last failing status."""
    status = 0
    for _ in range(FAILURE_THRESHOLD):
        status = int(region.health()["statusCode"])
        if status == 200:
            return status
    return status


@dataclass
class TwoRegions:
    home_db: PostgresServer
    recovery_db: PostgresServer
    endpoint: WriterEndpoint
    home: Region
    recovery: Region
    events: list[tuple[float, str]] = field(default_factory=list)

    @property
    def regions(self) -> dict[str, Region]:
        return {HOME: self.home, RECOVERY: self.recovery}

    @property
    def writer(self) -> PostgresServer:
        return self.home_db if self.endpoint.target_port == self.home_db.port else self.recovery_db

    def dns_answer(self) -> Region:
        """Route 53 failover routing: PRIMARY (home) while healthy, else SECONDARY if healthy;
        when both are unhealthy Route 53 answers as if both were healthy, i.e. PRIMARY."""
        if route53_status(self.home) == 200:
            return self.home
        if route53_status(self.recovery) == 200:
            return self.recovery
        return self.home

    def lose_home(self, *, clean: bool) -> None:
        """The home region's database stops (clean: a fast shutdown, which streams every
        committed transaction to the standby first; otherwise a crash) and its API fails."""
        self.home_db.stop("fast" if clean else "immediate")
        self.home.api_down = True

    def promote(self, server: PostgresServer) -> None:
        """FailoverGlobalCluster / SwitchoverGlobalCluster: the server becomes the writer and
        the global writer endpoint follows it."""
        server.promote()
        self.endpoint.point_to(server.port)

    def rejoin_as_standby(self, server: PostgresServer, of: PostgresServer) -> None:
        create_standby(of, reuse=server)

    def wait_replicated(self, timeout: float = 15.0) -> None:
        """Until the standby has replayed everything committed so far: a marker row committed
        now on the writer must become visible on the standby (commits replay in order)."""
        writer = admin_connection(self.writer)
        standby = admin_connection(self.recovery_db if self.writer is self.home_db
                                   else self.home_db)
        try:
            ((marker,),) = writer.run(
                "INSERT INTO heartbeats (region, written_at) VALUES ('zz-marker-1', "
                "clock_timestamp()) ON CONFLICT (region) DO UPDATE SET written_at = "
                "EXCLUDED.written_at RETURNING written_at")
            deadline = time.monotonic() + timeout
            while standby.run("SELECT written_at FROM heartbeats WHERE region = 'zz-marker-1'"
                              ) != [[marker]]:
                if time.monotonic() > deadline:
                    raise AssertionError("the standby did not catch up")
                time.sleep(0.05)
        finally:
            writer.close()
            standby.close()

    def ledger(self, sql: str, **params: Any) -> list[list[Any]]:
        connection = admin_connection(self.writer)
        try:
            return connection.run(sql, **params)
        finally:
            connection.close()


def _environment(region: str, port: int, ca_file: str, secret_arn: str) -> dict[str, str]:
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "PAYMENTS_TABLE_NAME": TABLE,
        "RECEIPTS_BUCKET_NAME": bucket(region),
        "DB_SECRET_ARN": secret_arn,
        "DB_HOST": "localhost",  # the certificate's name; the port is the writer endpoint's
        "DB_PORT": str(port),
        "DB_NAME": DATABASE,
        "DB_TLS_CA_FILE": ca_file,
        "PAYMENT_LIMIT_MULTIPLIER": "1",
        "IDEMPOTENCY_TTL_SECONDS": "86400",
        "LOG_LEVEL": "WARNING",
        # Zero-loss acknowledgements on, as deployed by default: a 201 waits for the standby.
        # The wait and the degrade time are scaled down so a lost standby costs the tests
        # about a second (deployed defaults: 1000 ms and 10 s).
        "ZERO_LOSS": "on",
        "ZERO_LOSS_WAIT_MS": str(ZERO_LOSS_WAIT_MS),
        "ZERO_LOSS_DEGRADE_AFTER_SECONDS": str(DEGRADE_AFTER_SECONDS),
    }


def _replicate(arns: dict[str, str], region: str) -> dict[str, str]:
    """Secrets Manager replicas: the same name and value in the other region."""
    source = boto3.client("secretsmanager", region_name=HOME)
    target = boto3.client("secretsmanager", region_name=region)
    replicas = {}
    for kind, arn in arns.items():
        secret = source.get_secret_value(SecretId=arn)
        replicas[kind] = target.create_secret(Name=secret["Name"],
                                              SecretString=secret["SecretString"])["ARN"]
    return replicas


@pytest.fixture
def two_regions() -> Iterator[TwoRegions]:
    """A fresh two-region deployment per test (each test changes who writes)."""
    from moto import mock_aws

    try:
        home_db = create_server()
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    recovery_db = endpoint = None
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    try:
        admin = admin_connection(home_db, "postgres")
        admin.run(f"CREATE DATABASE {DATABASE}")
        admin.close()
        recovery_db = create_standby(home_db)
        endpoint = WriterEndpoint(home_db.port)
        with mock_aws(), pytest.MonkeyPatch.context() as patch:
            for name, value in credentials.items():
                patch.setenv(name, value)
            patch.delenv("AWS_PROFILE", raising=False)
            regions, arns = {}, {}
            for region in (HOME, RECOVERY):
                boto3.client("dynamodb", region_name=region).create_table(
                    TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                )
                boto3.client("s3", region_name=region).create_bucket(
                    Bucket=bucket(region),
                    **({} if region == "us-east-1" else
                       {"CreateBucketConfiguration": {"LocationConstraint": region}}),
                )
                # The home secrets and their replicas: the same values in both regions.
                arns[region] = (create_database_secrets(region, SECRET_NAME, home_db.password)
                                if region == HOME else _replicate(arns[HOME], region))
                regions[region] = Region(region, _environment(
                    region, endpoint.port, str(home_db.ca_file), arns[region]["app"]))
            with regions[HOME].active():  # the migrate function, through the writer endpoint
                # Both regions' functions connect from the loopback network here.
                deploy_schema(HOME, DATABASE, arns[HOME], recovery=(RECOVERY, LOOPBACK))
            yield TwoRegions(home_db, recovery_db, endpoint, regions[HOME], regions[RECOVERY])
            for region in regions.values():
                region.cold_start()
    finally:
        if endpoint is not None:
            endpoint.close()
        if recovery_db is not None:
            recovery_db.destroy()
        home_db.destroy()
