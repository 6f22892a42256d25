"""The database connection's TLS against real handshakes (payments.tls through Database).

Accepted certificates are presented by a real PostgreSQL server, which then answers a query
over the connection. Refused ones are presented by a recording server that counts what the
client sends after the handshake: zero bytes, so not even the startup message (user name,
database) reached a server that failed the rule. Host names are mapped to 127.0.0.1 by the
connect function and to CNAME chains by the injected resolver: nothing leaves the machine.
Every context is asserted to run with ``VERIFY_X509_STRICT`` (Python 3.13's default; the
tests run an older Python) and the test certificates meet it.
"""

from __future__ import annotations

import dataclasses

import json
import ssl
from collections.abc import Iterator

import boto3
import pytest
from payments import logs
from payments.database import Database, SecretCredentials, SessionLimits
from payments.errors import DependencyUnavailable
from payments.tls import VerifiedContext, tls_context

from .conftest import REGION, SECRET_ARNS, Api
from .tls_dns import (
    ALIAS,
    ATTACKER_CLUSTER,
    HOME_CLUSTER,
    HOME_INSTANCE,
    OUR_CLUSTERS,
    RECOVERY_CLUSTER,
    WILDCARD_HOME,
    FakeDns,
)
from .tls_pki import Issued, ThrowawayCA
from .tls_servers import RecordingServer, loopback, present
from rehearsal.localpg import PostgresServer, create_server

SSL_IN_USE = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module", autouse=True)
def _secrets(aws: None) -> None:
    """Every connection here first fetches the admin credentials from (moto's) Secrets Manager,
    whether or not the server then proves to be the right one."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ThrowawayCA]:
    directory = tmp_path_factory.mktemp("tls-names")
    return {"ours": ThrowawayCA(directory, "ours"),  # stands for the RDS bundle
            "foreign": ThrowawayCA(directory, "foreign"),  # not in the bundle
            "lax": ThrowawayCA(directory, "lax", strict=False)}  # CA bcons not critical


@pytest.fixture(scope="module")
def tls_server() -> Iterator[PostgresServer]:
    """A server of this module's own: restarting it with other certificates disturbs no
    other test. It shares the package server's admin password (SECRET_ARNS["master"])."""
    server = create_server()
    try:
        yield server
    finally:
        server.destroy()


def context(ca: ThrowawayCA, dns: FakeDns, clusters: frozenset[str] = OUR_CLUSTERS,
            *, strict: bool = True) -> VerifiedContext:
    tls = tls_context(str(ca.cert_file), clusters, resolve=dns.chain)
    assert tls.verify_flags & ssl.VERIFY_X509_STRICT, "every case runs as Python 3.13 does"
    if not strict:  # only to show that the strict flag is what refuses a chain
        tls.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return tls


def database(host: str, port: int, tls: ssl.SSLContext) -> Database:
    return Database(
        host=host, port=port, database="postgres",
        credentials=SecretCredentials(boto3.client("secretsmanager", region_name=REGION),
                                      SECRET_ARNS["master"]),
        tls=tls, timeout_seconds=5, application_name="payments-tls-test",
        limits=SessionLimits(statement_ms=2000, lock_ms=1000, idle_in_transaction_ms=5000),
        require_writer=False, connect=loopback(port),
    )


def query_over(server: PostgresServer, issued: Issued, host: str,
               tls: ssl.SSLContext) -> list[list[object]]:
    present(server, issued)
    db = database(host, server.port, tls)
    try:
        return db.run(SSL_IN_USE)
    finally:
        db.close()


def refusal(issued: Issued, host: str, tls: ssl.SSLContext) -> tuple[str, int, str | None]:
    """(the 503's reason, bytes the server received after the handshake, its handshake
    error) for a connection the client must refuse."""
    with RecordingServer(issued) as server:
        db = database(host, server.port, tls)
        with pytest.raises(DependencyUnavailable) as raised:
            db.run("SELECT 1")
        session = server.next_session()
    assert raised.value.dependency == "database"
    return raised.value.reason, session.bytes_after_handshake, session.handshake_error


# Accepted: a real server answers.

def test_a_certificate_naming_the_alias_is_accepted_without_dns(
        pki: dict[str, ThrowawayCA], tls_server: PostgresServer) -> None:
    dns = FakeDns({})
    issued = pki["ours"].issue("alias", [ALIAS])
    assert query_over(tls_server, issued, ALIAS, context(pki["ours"], dns)) == [[True]]
    assert dns.lookups == []


@pytest.mark.parametrize("writer", [HOME_CLUSTER, RECOVERY_CLUSTER], ids=["home", "recovery"])
def test_a_certificate_naming_only_our_cluster_reached_through_the_alias_is_accepted(
        pki: dict[str, ThrowawayCA], tls_server: PostgresServer, writer: str) -> None:
    dns = FakeDns({ALIAS: (writer, HOME_INSTANCE)})
    issued = pki["ours"].issue(f"target-{writer[:20]}", [writer, HOME_INSTANCE])
    assert query_over(tls_server, issued, ALIAS, context(pki["ours"], dns)) == [[True]]
    assert dns.lookups == [ALIAS]


def test_a_wildcard_for_our_clusters_zone_is_accepted(
        pki: dict[str, ThrowawayCA], tls_server: PostgresServer) -> None:
    dns = FakeDns({ALIAS: (HOME_CLUSTER, HOME_INSTANCE)})
    issued = pki["ours"].issue("wildcard", [HOME_INSTANCE, WILDCARD_HOME])
    assert query_over(tls_server, issued, ALIAS, context(pki["ours"], dns)) == [[True]]


# Refused: the server hears nothing after the handshake.

def test_an_attackers_cname_to_their_own_cluster_is_refused_before_the_startup_message(
        pki: dict[str, ThrowawayCA], capsys: pytest.CaptureFixture[str]) -> None:
    """DNS leads the alias to someone else's cluster, whose certificate is CA-issued for its
    own name: the chain verifies, the name rule refuses, and the log line says why."""
    logs.configure("INFO")  # as the container does: JSON lines on stdout
    dns = FakeDns({ALIAS: (ATTACKER_CLUSTER, HOME_INSTANCE)})
    issued = pki["ours"].issue("attacker", [ATTACKER_CLUSTER])
    reason, received, handshake_error = refusal(issued, ALIAS, context(pki["ours"], dns))
    assert handshake_error is None and received == 0
    assert "server certificate refused" in reason and ATTACKER_CLUSTER in reason
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()
              if "certificate refused" in line]
    assert logged and logged[-1]["certificate_names"] == [ATTACKER_CLUSTER]
    assert logged[-1]["host"] == ALIAS and ATTACKER_CLUSTER in logged[-1]["cname_chain"]
    assert logged[-1]["cluster_identifiers"] == sorted(OUR_CLUSTERS)


def test_our_clusters_certificate_when_dns_does_not_lead_there_is_refused(
        pki: dict[str, ThrowawayCA]) -> None:
    dns = FakeDns({ALIAS: (ATTACKER_CLUSTER,)})
    issued = pki["ours"].issue("not-on-chain", [HOME_CLUSTER])
    _, received, handshake_error = refusal(issued, ALIAS, context(pki["ours"], dns))
    assert handshake_error is None and received == 0


def test_a_certificate_naming_neither_is_refused(pki: dict[str, ThrowawayCA]) -> None:
    dns = FakeDns({ALIAS: (HOME_CLUSTER, HOME_INSTANCE)})
    issued = pki["ours"].issue("neither", ["db.example.org"], common_name=ALIAS)
    reason, received, handshake_error = refusal(issued, ALIAS, context(pki["ours"], dns))
    assert handshake_error is None and received == 0  # the CN naming the alias is ignored
    assert "db.example.org" in reason


def test_the_recorder_does_see_the_startup_message_of_an_accepted_server(
        pki: dict[str, ThrowawayCA]) -> None:
    """The control for the zero above: a certificate the rule accepts gets the startup
    message (the recorder then hangs up, so the connection itself fails)."""
    issued = pki["ours"].issue("control", [ALIAS])
    reason, received, handshake_error = refusal(issued, ALIAS, context(pki["ours"], FakeDns({})))
    assert handshake_error is None and received > 0
    assert "certificate" not in reason


def test_a_chain_not_from_the_bundle_is_refused_in_the_handshake(
        pki: dict[str, ThrowawayCA]) -> None:
    issued = pki["foreign"].issue("foreign", [ALIAS])
    reason, received, handshake_error = refusal(issued, ALIAS, context(pki["ours"], FakeDns({})))
    assert received == 0 and handshake_error is not None
    assert "unable to get local issuer certificate" in reason


# Strict X.509 (Python 3.13's default): refused here although every other check passes.

@pytest.mark.parametrize(("ca", "issue", "error"), [
    ("lax", {}, "Basic Constraints of CA cert not marked critical"),
    ("ours", {"authority_key_identifier": False}, "Missing Authority Key Identifier"),
], ids=["ca-basic-constraints-not-critical", "leaf-without-authority-key-id"])
def test_a_chain_that_is_not_strict_compliant_is_refused(
        pki: dict[str, ThrowawayCA], ca: str, issue: dict[str, bool], error: str) -> None:
    issued = pki[ca].issue(f"lax-{error[:12]}", [ALIAS], **issue)
    reason, received, handshake_error = refusal(issued, ALIAS, context(pki[ca], FakeDns({})))
    assert received == 0 and handshake_error is not None and error in reason
    # The same chain passes once the strict flag is cleared: strict mode is what refused it.
    _, received, handshake_error = refusal(issued, ALIAS,
                                           context(pki[ca], FakeDns({}), strict=False))
    assert handshake_error is None and received > 0


def test_the_handlers_refuse_a_chain_python_3_13_would_refuse(
        api: Api, reconfigure, pki: dict[str, ThrowawayCA],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end through payments.handlers.health and the wiring: the functions' own context is
    strict (a server naming localhost, chained to the configured CA, only not strict-compliant).
    The health path's 0.8 s socket timeout is lifted here: on a loaded machine the handshake
    alone can take longer, and the refusal, not the timeout, is what this test is about."""
    from payments import wiring

    monkeypatch.setitem(wiring._DATABASES, "health", dataclasses.replace(
        wiring.HEALTH_DB, timeout_seconds=10.0))
    issued = pki["lax"].issue("handler", ["localhost"])
    with RecordingServer(issued) as server:
        reconfigure(DB_PORT=str(server.port), DB_TLS_CA_FILE=str(pki["lax"].cert_file),
                    DB_CLUSTER_IDENTIFIERS=",".join(sorted(OUR_CLUSTERS)))
        response = api.health()
        session = server.next_session()
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["checks"]["database"] == "failing"
    assert session.bytes_after_handshake == 0
    assert "Basic Constraints of CA cert not marked critical" in capsys.readouterr().out

