"""The migrate function's tls-probe (payments.tls_probe), the answer `payments-dr verify` reads
from inside each region: which names the database certificate carries and which part of the
rule accepted it.

Accepted certificates are presented by a real PostgreSQL server (the SSLRequest answered as
PostgreSQL answers it); the bytes the probe sends after the handshake are counted by the
recording server: none, so no startup message, no user name, no credentials. Host names reach
127.0.0.1 through the connect function and CNAME chains come from the injected resolver.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from payments import aws as payments_aws
from payments import handlers, tls_probe
from payments.tls import RULE_CLUSTER_ENDPOINT, RULE_HOST

from .conftest import FakeContext
from .tls_dns import ALIAS, ATTACKER_CLUSTER, HOME_CLUSTER, HOME_INSTANCE, OUR_CLUSTERS, FakeDns
from .tls_pki import ThrowawayCA
from .tls_servers import RecordingServer, present
from rehearsal.localpg import SERVER_HOSTNAME, PostgresServer, create_server


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ThrowawayCA]:
    directory = tmp_path_factory.mktemp("tls-probe")
    return {"ours": ThrowawayCA(directory, "ours"), "foreign": ThrowawayCA(directory, "foreign")}


@pytest.fixture(scope="module")
def probe_server() -> Iterator[PostgresServer]:
    """A server of this module's own (restarted with chosen certificates)."""
    server = create_server()
    try:
        yield server
    finally:
        server.destroy()


def to_loopback(port: int):
    """The connect function: any host name reaches 127.0.0.1:`port` (the name still goes to
    SNI and the rule)."""
    def connect(address, timeout):
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return connect


def probe(port: int, ca: ThrowawayCA, dns: FakeDns, host: str = ALIAS) -> dict:
    return tls_probe.probe(host, 5432, str(ca.cert_file), tuple(sorted(OUR_CLUSTERS)),
                           connect=to_loopback(port), resolve=dns.chain)


def test_a_certificate_naming_only_our_cluster_is_accepted_by_the_cname_rule(
        pki, probe_server: PostgresServer) -> None:
    present(probe_server, pki["ours"].issue("cluster-only", [HOME_CLUSTER, HOME_INSTANCE]))
    found = probe(probe_server.port, pki["ours"],
                  FakeDns({ALIAS: (HOME_CLUSTER, HOME_INSTANCE)}))
    assert found["accepted"] is True and found["stage"] == "accepted"
    assert found["rule"] == RULE_CLUSTER_ENDPOINT and found["accepted_name"] == HOME_CLUSTER
    assert found["certificate_names"] == [HOME_CLUSTER, HOME_INSTANCE]
    assert found["cname_chain"] == [ALIAS, HOME_CLUSTER, HOME_INSTANCE]  # what the rule saw
    assert found["host"] == ALIAS and found["issuer"] == "payments test ours"
    assert found["tls_version"] in ("TLSv1.2", "TLSv1.3")


def test_a_certificate_naming_the_writer_endpoint_is_accepted_by_the_host_rule(
        pki, probe_server: PostgresServer) -> None:
    """The rule needs no lookup; the probe still shows where the name leads."""
    present(probe_server, pki["ours"].issue("alias-too", [ALIAS, HOME_CLUSTER]))
    dns = FakeDns({ALIAS: (HOME_CLUSTER, HOME_INSTANCE)})
    found = probe(probe_server.port, pki["ours"], dns)
    assert (found["accepted"], found["rule"], found["accepted_name"]) == (True, RULE_HOST, ALIAS)
    assert "not looked up" in found["lookup"]
    assert found["cname_chain"] == [ALIAS, HOME_CLUSTER, HOME_INSTANCE]


def test_a_refused_name_says_why_and_the_server_hears_nothing(pki) -> None:
    with RecordingServer(pki["ours"].issue("attacker", [ATTACKER_CLUSTER])) as server:
        found = probe(server.port, pki["ours"], FakeDns({ALIAS: (ATTACKER_CLUSTER,)}))
        session = server.next_session()
    assert (found["accepted"], found["stage"], found["rule"]) == (False, "name", None)
    assert found["certificate_names"] == [ATTACKER_CLUSTER]
    assert ATTACKER_CLUSTER in found["reason"] and ATTACKER_CLUSTER in found["lookup"]
    assert session.handshake_error is None and session.bytes_after_handshake == 0


def test_an_accepted_server_hears_nothing_after_the_handshake_either(pki) -> None:
    """The probe is not a login: even a server it accepts gets no startup message."""
    with RecordingServer(pki["ours"].issue("accepted-recorded", [ALIAS])) as server:
        found = probe(server.port, pki["ours"], FakeDns({}))
        session = server.next_session()
    assert found["accepted"] is True
    assert session.handshake_error is None and session.bytes_after_handshake == 0


def test_a_chain_from_another_ca_is_refused_in_the_handshake(pki) -> None:
    with RecordingServer(pki["foreign"].issue("foreign", [ALIAS])) as server:
        found = probe(server.port, pki["ours"], FakeDns({}))
    assert (found["accepted"], found["stage"]) == (False, "chain")
    assert "unable to get local issuer certificate" in found["reason"]


def test_nothing_listening_is_a_connect_failure(pki) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    found = probe(port, pki["ours"], FakeDns({}))
    assert (found["accepted"], found["stage"]) == (False, "connect")


def test_the_migrate_handler_probes_without_reading_a_secret_or_migrating(
        api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the function's entry point with its environment (the package server presents
    a certificate for `localhost`, the DB_HOST): the host rule accepts it. Any AWS client
    (the secrets) or a migration would fail the test."""
    monkeypatch.setenv("DB_MASTER_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:m")
    monkeypatch.setenv("DB_MIGRATOR_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:g")
    for name, value in (("HOME_REGION", "eu-west-1"), ("HOME_VPC_CIDR", "10.0.0.0/16"),
                        ("RECOVERY_REGION", "eu-central-1"), ("RECOVERY_VPC_CIDR", "10.1.0.0/16")):
        monkeypatch.setenv(name, value)  # what the template sets on the migrate function
    monkeypatch.setattr(payments_aws, "client", lambda *a, **k: pytest.fail("an AWS client"))
    found = handlers.migrate({"action": "tls-probe"}, FakeContext("probe"))
    assert (found["accepted"], found["rule"], found["host"]) == (True, RULE_HOST,
                                                                 SERVER_HOSTNAME)
    assert found["region"] == "eu-west-1" and "password" not in json.dumps(found)
    assert "roles_created" not in found and "applied" not in found


def test_the_migrate_handler_refuses_an_unknown_action() -> None:
    with pytest.raises(ValueError, match="unknown action 'drop-everything'"):
        handlers.migrate({"action": "drop-everything"}, FakeContext("unknown"))
