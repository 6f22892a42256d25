"""The database-certificate check against botocore's Stubber: the exact Invoke it makes in each
region (the migrate function, RequestResponse, the tls-probe action) and how it reads the
answer the handler gives (tests/handlers/test_tls_probe.py runs that handler for real)."""

from __future__ import annotations

import io
import json

import pytest
from botocore.response import StreamingBody
from payments.tls import RULE_CLUSTER_ENDPOINT, RULE_HOST

from tests.stubs import stubbed_aws
from verify import in_region
from verify.checks import ACCOUNT, Check, run_one
from verify.observe import Observations

ALIAS = "payments-example-global.global-q1w2e3r4t5.global.rds.amazonaws.com"


def cluster(region: str) -> str:
    return f"payments-example-{region}.cluster-c7tj4example.{region}.rds.amazonaws.com"


def answer(body: dict, function_error: str | None = None) -> dict:
    raw = json.dumps(body).encode()
    found = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}
    return {**found, "FunctionError": function_error} if function_error else found


def probe(region: str, **changes) -> dict:
    found = {"action": "tls-probe", "host": ALIAS, "port": 5432, "accepted": True,
             "stage": "accepted", "rule": RULE_CLUSTER_ENDPOINT, "accepted_name": cluster(region),
             "certificate_names": [cluster(region)], "cname_chain": [ALIAS, cluster(region)],
             "issuer": f"Amazon RDS {region} Subordinate CA RSA2048 G1.A.1", "region": region,
             "tls_version": "TLSv1.3"}
    return {**found, **changes}


def run(example_config, region: str, response: dict | None = None, error: str | None = None):
    aws, stubs, _ = stubbed_aws([("lambda", region)])
    expected = {"FunctionName": "payments-example-migrate",
                "InvocationType": "RequestResponse", "Payload": b'{"action": "tls-probe"}'}
    if error:
        stubs[("lambda", region)].add_client_error("invoke", error, expected_params=expected)
    else:
        stubs[("lambda", region)].add_response("invoke", response, expected)
    observed = Observations(aws, example_config, None, lambda url: (0, {}))
    result = run_one(Check("database-certificate", "p", "f", lambda: in_region.database_certificate(
        example_config, observed, region)), ACCOUNT, None)
    stubs[("lambda", region)].assert_no_pending_responses()
    return result


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_a_certificate_naming_only_the_cluster_passes_and_says_so(example_config, region):
    result = run(example_config, region, answer(probe(region)))
    assert result.result == "pass"
    assert f"the certificate does not name {ALIAS}; it names {cluster(region)}" in result.detail
    assert f"our cluster payments-example-{region}" in result.detail
    assert f"CNAME chain: {ALIAS} -> {cluster(region)}" in result.detail


def test_a_certificate_naming_the_writer_endpoint_passes_and_says_so(example_config):
    result = run(example_config, "us-west-2", answer(probe(
        "us-west-2", rule=RULE_HOST, accepted_name=ALIAS, certificate_names=[ALIAS])))
    assert result.result == "pass" and f"the certificate names {ALIAS} itself" in result.detail


@pytest.mark.parametrize(("changes", "expected"), [
    ({"accepted": False, "stage": "name", "rule": None, "accepted_name": None,
      "certificate_names": ["evil.cluster-x.us-east-1.rds.amazonaws.com"],
      "reason": "certificate names ['evil...']: not the host"},
     "refused at the name stage: certificate names ['evil...']"),
    ({"accepted": False, "stage": "chain", "rule": None, "accepted_name": None,
      "certificate_names": [], "reason": "unable to get local issuer certificate"},
     "refused at the chain stage: unable to get local issuer certificate"),
    ({"accepted": False, "stage": "connect", "rule": None, "certificate_names": [],
      "reason": "TimeoutError: timed out"}, "refused at the connect stage: TimeoutError"),
], ids=["name", "chain", "connect"])
def test_a_refused_certificate_fails_with_the_stage_and_the_reason(example_config, changes,
                                                                    expected):
    result = run(example_config, "us-east-1", answer(probe("us-east-1", **changes)))
    assert result.result == "fail" and expected in result.detail


def test_a_function_error_fails_with_the_functions_message(example_config):
    result = run(example_config, "us-east-1", answer(
        {"errorMessage": "invalid environment: DB_HOST is required",
         "errorType": "ConfigError"}, function_error="Unhandled"))
    assert result.result == "fail"
    assert "payments-example-migrate in us-east-1 failed: invalid environment: DB_HOST is " \
           "required" in result.detail


def test_an_invoke_refused_by_aws_fails_with_the_error(example_config):
    result = run(example_config, "us-west-2", error="AccessDeniedException")
    assert result.result == "fail" and result.detail.startswith("AWS AccessDeniedException")
