"""StackSet roles against botocore's Stubber (issue 10, item 5): an existing trust policy is
merged, never replaced; IAM gets time to propagate a change; the execution role may call
every service the templates need."""

import json
from datetime import datetime, timezone

import pytest

from stacksets import roles
from toolkit.config import DEFAULT_ADMINISTRATION_ROLE, DEFAULT_EXECUTION_ROLE
from tests.stubs import stubbed_aws

IDENTITY = {"account": "123456789012", "partition": "aws"}
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
OTHER = {"Sid": "BreakGlass", "Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": "arn:aws:iam::123456789012:role/BreakGlass"}}


def role(name, trust):
    return {"Role": {"Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLE123456789",
                     "Arn": f"arn:aws:iam::123456789012:role/{name}", "CreateDate": CREATED,
                     "AssumeRolePolicyDocument": json.dumps(trust)}}


def test_an_existing_trust_policy_keeps_its_statements_and_iam_gets_time(example_config,
                                                                         bundle):
    aws, stubs, clock = stubbed_aws([("iam", "us-east-1")])
    iam = stubs[("iam", "us-east-1")]
    desired = roles.desired_roles(example_config, "aws", "123456789012",
                                  bundle.regional.document)
    admin_trust, admin_policy = desired[DEFAULT_ADMINISTRATION_ROLE]
    existing = {"Version": "2012-10-17", "Statement": [OTHER]}
    iam.add_response("get_role", role(DEFAULT_ADMINISTRATION_ROLE, existing))
    iam.add_response("get_role_policy", {"RoleName": DEFAULT_ADMINISTRATION_ROLE,
                                         "PolicyName": roles.POLICY_NAME,
                                         "PolicyDocument": admin_policy.to_json()})
    merged = {"Version": "2012-10-17",
              "Statement": [OTHER, *json.loads(admin_trust.to_json())["Statement"]]}
    iam.add_response("update_assume_role_policy", {}, {
        "RoleName": DEFAULT_ADMINISTRATION_ROLE,
        "PolicyDocument": json.dumps(merged, sort_keys=True)})
    iam.add_response("put_role_policy", {}, {
        "RoleName": DEFAULT_ADMINISTRATION_ROLE, "PolicyName": roles.POLICY_NAME,
        "PolicyDocument": admin_policy.to_json()})
    exec_trust, exec_policy = desired[DEFAULT_EXECUTION_ROLE]
    iam.add_response("get_role", role(DEFAULT_EXECUTION_ROLE, json.loads(exec_trust.to_json())))
    iam.add_response("get_role_policy", {"RoleName": DEFAULT_EXECUTION_ROLE,
                                         "PolicyName": roles.POLICY_NAME,
                                         "PolicyDocument": exec_policy.to_json()})
    lines = roles.ensure(aws, example_config, IDENTITY, bundle.regional.document,
                         write=True)
    iam.assert_no_pending_responses()
    assert lines == [f"role {DEFAULT_ADMINISTRATION_ROLE}: updated",
                     f"role {DEFAULT_EXECUTION_ROLE}: up to date",
                     "roles: waited 15 s for IAM to propagate the change"]
    assert clock.slept == [roles.PROPAGATION_SECONDS]


def test_nothing_written_means_no_wait(example_config, bundle):
    aws, stubs, clock = stubbed_aws([("iam", "us-east-1")])
    iam = stubs[("iam", "us-east-1")]
    for name, (trust, policy) in roles.desired_roles(
            example_config, "aws", "123456789012", bundle.regional.document).items():
        iam.add_response("get_role", role(name, json.loads(trust.to_json())))
        iam.add_response("get_role_policy", {"RoleName": name, "PolicyName": roles.POLICY_NAME,
                                             "PolicyDocument": policy.to_json()})
    roles.ensure(aws, example_config, IDENTITY, bundle.regional.document, write=True)
    assert clock.slept == []


def test_the_execution_role_covers_route53_for_certificate_validation(bundle):
    services = roles.template_services(bundle.regional.document)
    assert "route53" in services  # DomainValidationOptions.HostedZoneId writes a record
    assert {"acm", "apigateway", "rds", "secretsmanager", "dynamodb", "lambda"} <= set(services)
    assert "wafv2" in roles.services(["AWS::WAFv2::WebACL"])


def granted_services(policy):
    return {a.split(":")[0] for s in json.loads(policy.to_json())["Statement"]
            for a in s["Action"]}


def test_the_execution_role_can_resolve_every_dynamic_reference_the_template_makes(bundle):
    """Issue 15, defect 5: with EnableDrills=true the processor's FIS layer comes from a
    `{{resolve:ssm:...}}` reference, which CloudFormation resolves with the permissions of whoever
    deploys the stack, here the StackSet execution role (CloudFormation User Guide, "Get values
    stored in other services using dynamic references")."""
    document = bundle.regional.document
    text = json.dumps(document)
    assert "{{resolve:ssm:" in text and "{{resolve:secretsmanager:" in text
    granted = granted_services(roles.execution_policy(document))
    assert {"ssm", "secretsmanager"} <= granted


@pytest.mark.parametrize("reference, service", [
    ("{{resolve:ssm:/aws/service/x}}", "ssm"), ("{{resolve:ssm-secure:/x:1}}", "ssm"),
    ("{{resolve:secretsmanager:arn:x:SecretString:password}}", "secretsmanager")])
def test_a_dynamic_reference_alone_adds_its_service(reference, service):
    document = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function",
                                     "Properties": {"Layers": [reference]}}}}
    assert service in granted_services(roles.execution_policy(document))
    assert service not in granted_services(roles.execution_policy(
        {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {}}}}))
