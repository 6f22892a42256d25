"""The database certificate name rule on its own (payments.tls): RFC 6125 matching, what counts
as one of our cluster endpoints, and which name a certificate is accepted for, given a CNAME
chain. The same rule against real TLS handshakes is in test_tls_names.py."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from payments.tls import (
    ServerNameRefused,
    ServerNameRule,
    VerifiedContext,
    certificate_dns_names,
    cluster_of,
    matches,
    tls_context,
)

from .tls_dns import (
    ALIAS,
    ATTACKER_CLUSTER,
    HOME,
    HOME_CLUSTER,
    HOME_INSTANCE,
    OUR_CLUSTERS,
    RECOVERY_CLUSTER,
    WILDCARD_HOME,
    FakeDns,
)
from .tls_pki import ThrowawayCA

ZONE = "c7tj4example.us-east-1.rds.amazonaws.com"


@pytest.mark.parametrize(("pattern", "host", "expected"), [
    ("db.example.com", "db.example.com", True),
    ("DB.Example.COM", "db.example.com.", True),  # case and the root dot do not matter
    ("db.example.com", "db2.example.com", False),
    ("*.example.com", "db.example.com", True),
    ("*.example.com", "a.db.example.com", False),  # one label only
    ("*.example.com", "example.com", False),  # the wildcard stands for a label, never nothing
    ("*.com", "example.com", False),  # at least two labels after the wildcard
    ("*", "localhost", False),
    ("d*.example.com", "db.example.com", False),  # no partial-label wildcards
    ("db.*.com", "db.example.com", False),  # left-most label only
    ("*.*.example.com", "a.b.example.com", False),
    ("*.example..com", "db.example..com", False),  # empty labels
    ("", "db.example.com", False),
    ("db.example.com", "", False),
    ("bücher.example", "bücher.example", False),  # presented names are ASCII (A-labels)
    (f"*.cluster-{ZONE}", f"{HOME}.cluster-{ZONE}", True),
    (f"*.cluster-{ZONE}", f"x.{HOME}.cluster-{ZONE}", False),
])
def test_rfc_6125_matching(pattern: str, host: str, expected: bool) -> None:
    assert matches(pattern, host) is expected


@pytest.mark.parametrize(("name", "cluster"), [
    (HOME_CLUSTER, HOME),
    (HOME_CLUSTER.upper() + ".", HOME),
    (RECOVERY_CLUSTER, "payments-test-us-west-2"),
    ("pay-cn.cluster-abc123.cn-north-1.rds.amazonaws.com.cn", "pay-cn"),
    ("pay-gov.cluster-abc123.us-gov-west-1.rds.amazonaws.com", "pay-gov"),
    (f"{HOME}.cluster-ro-c7tj4example.us-east-1.rds.amazonaws.com", None),  # the reader
    (f"{HOME}.cluster-custom-c7tj4example.us-east-1.rds.amazonaws.com", None),
    (HOME_INSTANCE, None),  # an instance, not a cluster endpoint
    (ALIAS, None),  # the global writer endpoint itself
    (f"{HOME_CLUSTER}.evil.example", None),  # a look-alike in someone else's zone
    (f"evil.example/{HOME_CLUSTER}", None),
])
def test_cluster_endpoints_are_recognised_by_shape(name: str, cluster: str | None) -> None:
    assert cluster_of(name) == cluster


def rule(dns: FakeDns, clusters: frozenset[str] = OUR_CLUSTERS) -> ServerNameRule:
    return ServerNameRule(clusters, dns.chain)


def test_a_certificate_naming_the_host_needs_no_lookup() -> None:
    dns = FakeDns({})
    assert rule(dns).accepted_name(ALIAS, (ALIAS,)) == ALIAS
    assert dns.lookups == []


@pytest.mark.parametrize("writer", [HOME_CLUSTER, RECOVERY_CLUSTER], ids=["home", "recovery"])
def test_a_certificate_naming_our_cluster_on_the_cname_chain_is_accepted(writer: str) -> None:
    """Either region's cluster may be the writer the alias leads to (either region as home)."""
    dns = FakeDns({ALIAS: (writer, HOME_INSTANCE)})
    assert rule(dns).accepted_name(ALIAS, (HOME_INSTANCE, writer)) == writer
    assert dns.lookups == [ALIAS]


def test_a_wildcard_for_our_clusters_zone_is_accepted_for_the_cluster_endpoint() -> None:
    dns = FakeDns({ALIAS: (HOME_CLUSTER, HOME_INSTANCE)})
    assert rule(dns).accepted_name(ALIAS, (HOME_INSTANCE, WILDCARD_HOME)) == HOME_CLUSTER


@pytest.mark.parametrize(("chain", "names", "why"), [
    # An attacker's CNAME to their own cluster, whose certificate is genuinely RDS-issued.
    ((ATTACKER_CLUSTER, HOME_INSTANCE), (ATTACKER_CLUSTER,), "not one of our clusters"),
    # Our cluster's name on the certificate, but DNS does not lead there.
    ((ATTACKER_CLUSTER,), (HOME_CLUSTER,), "not on the chain"),
    # The instance the chain ends at is named, but an instance is not a cluster endpoint.
    ((HOME_CLUSTER, HOME_INSTANCE), (HOME_INSTANCE,), "instance names do not count"),
    ((), (HOME_CLUSTER,), "no CNAME at all"),
    ((HOME_CLUSTER,), ("db.example.org",), "names neither"),
    ((HOME_CLUSTER,), (), "no DNS names at all"),
])
def test_everything_else_is_refused(chain: tuple[str, ...], names: tuple[str, ...],
                                    why: str) -> None:
    with pytest.raises(ServerNameRefused) as refused:
        rule(FakeDns({ALIAS: chain})).accepted_name(ALIAS, names)
    assert refused.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH, as OpenSSL's
    assert refused.value.host == ALIAS and refused.value.certificate_names == names


def test_the_common_name_never_counts() -> None:
    """Only subjectAltName DNS entries are names: getpeercert()'s subject is ignored."""
    peer = {"subject": ((("commonName", ALIAS),),),
            "subjectAltName": (("DNS", "db.example.org"), ("IP Address", "127.0.0.1"))}
    assert certificate_dns_names(peer) == ("db.example.org",)
    assert certificate_dns_names({"subject": ((("commonName", ALIAS),),)}) == ()


def test_a_failed_lookup_refuses_and_says_so() -> None:
    with pytest.raises(ServerNameRefused, match="lookup failed: gaierror"):
        rule(FakeDns({})).accepted_name(ALIAS, (HOME_CLUSTER,))


def test_without_cluster_identifiers_only_the_host_counts_and_dns_is_not_asked() -> None:
    dns = FakeDns({ALIAS: (HOME_CLUSTER,)})
    with pytest.raises(ServerNameRefused, match="not looked up"):
        rule(dns, frozenset()).accepted_name(ALIAS, (HOME_CLUSTER,))
    assert dns.lookups == []


def test_the_system_resolver_reports_every_name_of_a_cname_chain() -> None:
    """What rule 2 stands on: glibc's gethostbyname_ex lists each CNAME owner as an alias, so
    the cluster endpoint in the middle of alias -> cluster -> instance is seen. A real resolver
    and a DNS responder, in a private mount and network namespace (dns_namespace.py)."""
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("ip")):
        pytest.skip("needs root, unshare and ip for a private network namespace")
    result = subprocess.run(
        ["unshare", "--mount", "--net", sys.executable, "-m", "tests.handlers.dns_namespace"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=30,
        check=False)
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("namespaces are not permitted here (a container without CAP_SYS_ADMIN)")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [ALIAS, HOME_CLUSTER, HOME_INSTANCE]


def test_the_context_verifies_the_chain_strictly_and_leaves_the_name_to_the_rule(
        tmp_path) -> None:
    context = tls_context(str(ThrowawayCA(tmp_path, "ctx").cert_file), OUR_CLUSTERS)
    assert isinstance(context, VerifiedContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.verify_flags & ssl.VERIFY_X509_STRICT
    assert context.check_hostname is False  # the rule checks, after the handshake
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.name_rule.cluster_identifiers == OUR_CLUSTERS
    with pytest.raises(NotImplementedError):
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=ALIAS)
    with socket.socket() as raw, pytest.raises(ValueError, match="host name"):
        context.wrap_socket(raw, server_hostname=None)


def test_the_context_loads_every_root_of_the_vendored_rds_bundle() -> None:
    certs = Path(__file__).resolve().parents[2] / "lambda" / "certs"
    context = tls_context(str(certs / "rds-ca-bundle.pem"), OUR_CLUSTERS)
    expected = json.loads((certs / "SOURCE.json").read_text())["certificates_in_bundle"]
    assert context.cert_store_stats()["x509_ca"] == expected


def test_a_non_ascii_name_never_matches_even_when_it_lower_cases_to_ascii() -> None:
    """str.lower() folds U+212A KELVIN SIGN to "k": the ASCII check comes first."""
    assert not matches("\u212a.example.com", "k.example.com")
    assert not matches("k.example.com", "\u212a.example.com")
    assert matches("K.EXAMPLE.COM.", "k.example.com")
