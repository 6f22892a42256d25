"""AWS rules as template checks (issue 15): each rule in `tests/aws_rules.py` holds for the
templates as built, in both roles, with either region as home, and fails for the defect it
encodes."""

import copy
import json
import re

import pytest

from templates import names
from templates.api import AUTH_MODES
from templates.grants import SENDS_SOURCE_ACCOUNT
from tests import aws_rules as rules
from tests.cfn import Cfn, render
from tests.conftest import BASE_PARAMETERS

DIRECTIONS = [("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")]
ROLE = {"primary": "home", "secondary": "recovery"}


def pair(doc, home, recovery, **parameters):
    values = {**BASE_PARAMETERS, "HomeRegion": home, "RecoveryRegion": recovery,
              "PeerRegionReady": "true", **parameters}
    return {"home": render(doc, region=home, parameters=values),
            "recovery": render(doc, region=recovery, parameters=values)}


# --- defect 1: the recovery certificate never issued -----------------------------------------
@pytest.mark.parametrize("home, recovery", DIRECTIONS)
def test_every_certificates_own_name_has_a_validation_option(regional, home, recovery):
    for role, cfn in pair(regional.doc, home, recovery).items():
        assert rules.certificate_problems(cfn) == [], role


@pytest.mark.parametrize("home, recovery", DIRECTIONS)
def test_each_validation_record_is_written_by_exactly_one_stack(regional, home, recovery):
    stacks = pair(regional.doc, home, recovery)
    assert rules.validation_record_problems(stacks) == []
    domain = BASE_PARAMETERS["ApiDomainName"]
    assert rules.certificate_names(stacks["home"])["owned"] == {domain, f"{home}.{domain}"}
    assert rules.certificate_names(stacks["recovery"])["owned"] == {f"{recovery}.{domain}"}
    for cfn in stacks.values():  # both regions serve the failover name and their own host
        assert domain in rules.certificate_names(cfn)["names"]


def test_the_certificate_rule_refuses_a_name_without_option(in_region):
    cfn = in_region("secondary", PeerRegionReady="true")
    broken = copy.deepcopy(cfn.doc)
    certificate = broken["Resources"]["ApiCertificate"]["Properties"]
    certificate["DomainName"] = BASE_PARAMETERS["ApiDomainName"]
    (problem,) = rules.certificate_problems(Cfn(broken, cfn.values))
    assert problem.startswith("ApiCertificate: DomainName \"api.pay.example.com\" has no "
                              "validation option")


def test_the_ownership_rule_refuses_a_record_written_twice_or_never():
    def stack(owned, names):
        return Cfn({"Resources": {"C": {"Type": "AWS::CertificateManager::Certificate",
                                        "Properties": {
            "DomainName": names[0], "SubjectAlternativeNames": names[1:],
            "ValidationMethod": "DNS", "DomainValidationOptions": [
                {"DomainName": n, "HostedZoneId": "Z1"} for n in owned]}}}})
    twice = {"home": stack(["a.x"], ["a.x"]), "recovery": stack(["a.x"], ["a.x"])}
    assert rules.validation_record_problems(twice) == [
        "a.x: validation record written by ['home', 'recovery']"]
    never = {"home": stack(["a.x"], ["a.x", "b.x"])}
    assert rules.validation_record_problems(never) == [
        "b.x: validation record written by no stack"]


# --- defect 3: everything the stage serves is in its deployment ------------------------------
@pytest.mark.parametrize("mode", AUTH_MODES)
def test_each_deployment_depends_on_and_digests_everything_the_stage_serves(regional, mode):
    parameters = {**BASE_PARAMETERS, "AuthMode": mode, "JwtUserPoolArns":
                  "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"}
    cfn = render(regional.doc, region="us-east-1", parameters=parameters)
    (deployment,) = cfn.of_type("AWS::ApiGateway::Deployment")
    served = rules.served_by(cfn, "RestApi")
    assert {"UnauthorizedResponse", "AuthorizerFailureResponse", "ProcessMethod",
            "RequestValidator"} <= served
    if mode == "api-key":
        assert "MerchantKeyAuthorizer" in served
    assert rules.deployment_problems(regional.doc, cfn) == []


@pytest.mark.parametrize("part, change", [
    ("AuthorizerFailureResponse", ("StatusCode", "502")),
    ("MerchantKeyAuthorizer", ("AuthorizerResultTtlInSeconds", 0)),
    ("RequestValidator", ("ValidateRequestBody", False)),
    ("PaymentRequestModel", ("Schema", {"type": "object"})),
    ("RestApi", ("DisableExecuteApiEndpoint", False)),
    ("HealthMethod", ("AuthorizationType", "AWS_IAM"))])
def test_changing_any_served_part_without_a_new_deployment_is_refused(regional, part, change):
    """aws-cdk#10963: a change the deployment's logical id does not see is never deployed."""
    doc = copy.deepcopy(regional.doc)
    key, value = change
    doc["Resources"][part]["Properties"][key] = value
    cfn = render(doc, region="us-east-1", parameters=BASE_PARAMETERS)
    (problem,) = rules.deployment_problems(doc, cfn)
    assert "does not carry the digest" in problem


def test_a_deployment_that_does_not_wait_for_a_gateway_response_is_refused(regional):
    doc = copy.deepcopy(regional.doc)
    (lid,) = [lid for lid, r in doc["Resources"].items()
              if r["Type"] == "AWS::ApiGateway::Deployment"
              and r.get("Condition") == names.USES_API_KEYS]
    doc["Resources"][lid]["DependsOn"].remove("AuthorizerFailureResponse")
    cfn = render(doc, region="us-east-1", parameters=BASE_PARAMETERS)
    (problem,) = rules.deployment_problems(doc, cfn)
    assert problem == f"{lid}: does not depend on ['AuthorizerFailureResponse']"


def test_parameters_in_what_the_stage_serves_are_listed_with_a_reason(regional):
    """A build-time digest cannot see a parameter's value: every parameter a served resource
    names is listed, so a new one is a decision, not an accident."""
    assert rules.parameters_in_served(regional.doc) == set(rules.PARAMETERS_IN_SERVED)


# --- defect 4 and the other roles AWS must accept -------------------------------------------
@pytest.mark.parametrize("template, lid", sorted(rules.ROLE_REQUIREMENTS))
def test_roles_aws_must_accept_carry_what_their_service_documents(templates, template, lid):
    cfn = templates[template]
    assert lid in cfn.resources, f"{template}:{lid} is gone: update ROLE_REQUIREMENTS"
    assert rules.role_problems(cfn, lid, rules.ROLE_REQUIREMENTS[(template, lid)]) == []


def test_the_role_rule_refuses_a_missing_action_and_a_narrow_resource(templates):
    doc = copy.deepcopy(templates["regional"].doc)
    role = doc["Resources"]["ApiGatewayLoggingRole"]["Properties"]
    (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
    statement["Action"] = [a for a in statement["Action"] if a != "logs:FilterLogEvents"]
    statement["Resource"] = ["arn:aws:logs:us-east-1:123456789012:log-group:API-Gateway-*"]
    problems = rules.role_problems(Cfn(doc), "ApiGatewayLoggingRole",
                                   rules.ROLE_REQUIREMENTS[("regional", "ApiGatewayLoggingRole")])
    assert any("lacks logs:FilterLogEvents" in p for p in problems)
    assert any("logs:PutLogEvents only on" in p for p in problems)


# --- defect 6: aws:SourceAccount only where the service sends it -----------------------------
def test_source_account_is_kept_exactly_where_aws_documents_it(templates):
    roles_checked = 0
    for name, cfn in templates.items():
        assert rules.trust_problems(cfn) == [], name
        roles_checked += cfn.count("AWS::IAM::Role")
    assert roles_checked >= 8


def test_the_documented_list_of_services_that_send_source_account():
    """Each entry names the page that shows the condition in the service role's trust policy;
    Lambda (execution role), API Gateway (CloudWatch role), S3 (replication role) and ARC
    Region switch (plan execution role) document trust policies without it."""
    assert set(SENDS_SOURCE_ACCOUNT) == {"vpc-flow-logs", "monitoring.rds", "fis"}
    assert all("Guide" in page for page in SENDS_SOURCE_ACCOUNT.values())


def test_the_trust_rule_refuses_a_guard_the_service_does_not_send(templates):
    doc = copy.deepcopy(templates["regional"].doc)
    trust = doc["Resources"]["ProcessorRole"]["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    problems = rules.trust_problems(Cfn(doc))
    assert problems == ["ProcessorRole (lambda): aws:SourceAccount present, but AWS documents "
                        "it not for this service"]


def _references(node) -> set[str]:
    """Logical ids a template node names through Ref, Fn::GetAtt or ${...} in Fn::Sub."""
    text = json.dumps(node)
    found = set(re.findall(r'"Ref": "([^"]+)"', text))
    found |= set(re.findall(r'"Fn::GetAtt": \["([^"]+)"', text))
    found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}]+)\}", text)}
    return found


def _waits_for(resources: dict, start: str) -> set[str]:
    """Every resource `start` waits for on create: DependsOn and references, transitively."""
    seen, todo = set(), [start]
    while todo:
        body = resources[todo.pop()]
        explicit = body.get("DependsOn", [])
        explicit = [explicit] if isinstance(explicit, str) else explicit
        for lid in (set(explicit) | _references(body.get("Properties", {}))) & set(resources):
            if lid not in seen:
                seen.add(lid)
                todo.append(lid)
    return seen


def test_the_api_gateway_account_setting_waits_for_the_rest_api(regional):
    """AWS::ApiGateway::Account (CloudFormation User Guide): "If an API Gateway resource has
    never been created in your AWS account, you must add a dependency on another API Gateway
    resource, such as an AWS::ApiGateway::RestApi" (a first deploy into a fresh account)."""
    assert "RestApi" in _waits_for(regional.resources, "ApiGatewayAccount")


@pytest.mark.parametrize("prefix, allowed", [
    ("payments", True), ("pay-eu", True), ("p2", True), ("payments-", False),
    ("pay--ments", False), ("-pay", False), ("2pay", False), ("p", False),
    ("payments-europe", False)])
def test_name_prefix_makes_valid_aurora_cluster_identifiers(regional, prefix, allowed):
    """RDS API Reference, CreateDBCluster DBClusterIdentifier: letters, digits, hyphens; first
    a letter; "Can't end with a hyphen or contain two consecutive hyphens". The cluster is
    `<prefix>-<env>-<region>`: the prefix must not break that (the config check reuses the
    parameter's constraints, so a bad prefix is refused before any AWS call)."""
    from toolkit.config import check_parameter

    declared = regional.doc["Parameters"]["NamePrefix"]
    assert (check_parameter("NamePrefix", prefix, declared) is None) is allowed
    if allowed:
        assert re.fullmatch(r"[a-z](?:-?[a-z0-9])*", f"{prefix}-prod-us-east-1")
