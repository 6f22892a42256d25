"""AWS rules that no linter here knows, as checks over the emitted templates.

Each check returns the problems it finds (an empty list: the rule holds) and names the AWS page
it encodes. cfn-lint validates a resource against its schema, checkov and cfn-guard against
security baselines; none of them knows that a certificate without a validation option for its
own name never issues, that a REST API stage serves a stale snapshot, or that a service role
AWS must accept lacks what that service's documentation asks for.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from templates.api import served_digest
from templates.grants import SENDS_SOURCE_ACCOUNT
from tests.cfn import Cfn, render


# --- ACM: a DNS-validated certificate's own name has a validation option ----------------------
def certificate_problems(cfn: Cfn) -> list[str]:
    """AWS CloudFormation Template Reference, AWS::CertificateManager::Certificate,
    DomainValidationOptions: with DNS validation, the certificate's `DomainName` must itself
    appear in `DomainValidationOptions`; otherwise CloudFormation creates no validation record
    and waits until the resource fails. (A subject alternative name without an option still
    validates when its CNAME exists: ACM's validation CNAME for a name is the same in every
    region of an account; ACM User Guide, "AWS Certificate Manager DNS validation".)"""
    problems = []
    for lid, certificate in cfn.of_type("AWS::CertificateManager::Certificate").items():
        p = certificate["Properties"]
        if p.get("ValidationMethod") != "DNS":
            continue
        options = [o["DomainName"] for o in p.get("DomainValidationOptions", [])]
        if p["DomainName"] not in options:
            problems.append(f"{lid}: DomainName {json.dumps(p['DomainName'])} has no "
                            f"validation option (options: {json.dumps(options)})")
    return problems


def certificate_names(cfn: Cfn) -> dict[str, set[str]]:
    """Every name on each certificate, and those whose validation record the stack writes
    (an option with a HostedZoneId): `{"names": ..., "owned": ...}` over all certificates."""
    names, owned = set(), set()
    for certificate in cfn.of_type("AWS::CertificateManager::Certificate").values():
        p = certificate["Properties"]
        names |= {_text(cfn, n) for n in [p["DomainName"], *p.get("SubjectAlternativeNames", [])]}
        owned |= {_text(cfn, o["DomainName"]) for o in p.get("DomainValidationOptions", [])
                  if "HostedZoneId" in o}
    return {"names": names, "owned": owned}


def validation_record_problems(stacks: dict[str, Cfn]) -> list[str]:
    """docs/architecture.md, "ACM validation record ownership": every name on any stack's certificate has its
    validation record written by exactly one stack (none: never validates; two: they collide,
    and deleting one removes what the other's renewals need)."""
    seen = {role: certificate_names(cfn) for role, cfn in stacks.items()}
    problems = []
    for name in sorted(set().union(*(s["names"] for s in seen.values()))):
        owners = [role for role, s in seen.items() if name in s["owned"]]
        if len(owners) != 1:
            problems.append(f"{name}: validation record written by {owners or 'no stack'}")
    return problems


def _text(cfn: Cfn, node: Any) -> str:
    """A name as deployed: literals as they are, `Fn::Sub` with the rendered values."""
    if isinstance(node, str):
        return node
    template = node["Fn::Sub"]
    return re.sub(r"\$\{([^}]+)\}", lambda m: str(cfn.values[m.group(1)]), template)


# --- API Gateway: everything a stage serves is in its deployment ------------------------------
# What a REST API deployment snapshots (API Gateway Developer Guide, "Deploy REST APIs in API
# Gateway": a change to any of these needs a new deployment), and the AWS CDK's rule since
# aws-cdk#10963: each adds itself to the deployment's logical-id hash (`addToLogicalId`).
SERVED_TYPES = {"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Resource",
                "AWS::ApiGateway::Method", "AWS::ApiGateway::Authorizer",
                "AWS::ApiGateway::GatewayResponse", "AWS::ApiGateway::Model",
                "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::DocumentationPart"}
DIGEST = re.compile(r"([0-9a-f]{10})$")


# A digest taken at build time cannot see a parameter's value: what the stage serves may name
# parameters only where changing the value alone needs no new deployment, or where the gap is
# known and documented (docs/architecture.md, "Payment service").
PARAMETERS_IN_SERVED = {
    ("RestApi", "NamePrefix"): "fixed for the life of an environment (every physical name)",
    ("RestApi", "EnvironmentName"): "fixed for the life of an environment",
    ("JwtAuthorizer", "JwtUserPoolArns"):
        "KNOWN GAP: a change of the pool list alone updates the authorizer but not the "
        "stage's snapshot; docs/architecture.md says to redeploy the stage after changing it",
}


def parameters_in_served(doc: dict) -> set[tuple[str, str]]:
    """(served resource, parameter) for every parameter a served resource references."""
    declared = set(doc.get("Parameters", {}))
    found = set()
    for lid, resource in doc["Resources"].items():
        if resource["Type"] in SERVED_TYPES:
            text = json.dumps(resource.get("Properties", {}))
            refs = set(re.findall(r'"Ref": "([^"]+)"', text)) | \
                set(re.findall(r"\$\{([^}.]+)\}", text))
            found |= {(lid, name) for name in refs & declared}
    return found


def served_by(cfn: Cfn, api: str) -> set[str]:
    return {lid for lid, r in cfn.resources.items() if r["Type"] in SERVED_TYPES and (
        lid == api or r.get("Properties", {}).get("RestApiId") == {"Ref": api})}


def deployment_problems(doc: dict, rendered: Cfn) -> list[str]:
    """In `rendered` (one set of parameter values), each deployment depends on everything its
    REST API serves, and its logical id ends with the digest of those resources as declared in
    `doc` (the template before conditions), so a change to any of them makes a new deployment
    (CloudFormation deploys a REST API only for a new AWS::ApiGateway::Deployment)."""
    problems = []
    for lid, deployment in rendered.of_type("AWS::ApiGateway::Deployment").items():
        api = deployment["Properties"]["RestApiId"]["Ref"]
        served = served_by(rendered, api)
        depends = deployment.get("DependsOn", [])
        depends = {depends} if isinstance(depends, str) else set(depends)
        missing = sorted(served - {api} - depends)
        if missing:
            problems.append(f"{lid}: does not depend on {missing}")
        match = DIGEST.search(lid)
        expected = served_digest({r: doc["Resources"][r] for r in sorted(served)})
        if not match or match.group(1) != expected:
            problems.append(f"{lid}: logical id does not carry the digest {expected} of what "
                            f"the stage serves ({sorted(served)})")
    return problems


# --- IAM: roles AWS must accept --------------------------------------------------------------
# What each service's own documentation requires of the role it assumes. `resource` "*" means
# the documentation (or the service's behaviour) requires the actions on every resource.
ROLE_REQUIREMENTS = {
    ("regional", "ApiGatewayLoggingRole"): {
        "service": "apigateway",
        "doc": "API Gateway Developer Guide, \"Set up CloudWatch logging for REST APIs in API "
               "Gateway\" (the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs); the "
               "role writes /aws/apigateway/welcome when set, and AWS::ApiGateway::Account has "
               "failed with \"The role ARN does not have required permissions\" without it "
               "(cloudformation-coverage-roadmap#2312)",
        "actions": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents",
                    "logs:FilterLogEvents"],
        "resource": "*"},
    ("regional", "DbMonitoringRole"): {
        "service": "monitoring.rds",
        "doc": "RDS User Guide, \"Setting up and enabling Enhanced Monitoring\" (the AWS "
               "managed policy AmazonRDSEnhancedMonitoringRole)",
        "actions": ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream",
                    "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"]},
    ("regional", "FlowLogRole"): {
        "service": "vpc-flow-logs",
        "doc": "Amazon VPC User Guide, \"IAM role for publishing flow logs to CloudWatch Logs\" "
               "(\"must include at least the following permissions\")",
        "actions": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                    "logs:DescribeLogGroups", "logs:DescribeLogStreams"]},
    ("regional", "ReplicationRole"): {
        "service": "s3",
        "doc": "S3 User Guide, \"Setting up permissions for live replication\" and "
               "\"Replicating encrypted objects\" (SSE-KMS: decrypt with the source key, "
               "encrypt with the destination key)",
        "actions": ["s3:GetReplicationConfiguration", "s3:ListBucket",
                    "s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging", "s3:ReplicateObject", "s3:ReplicateDelete",
                    "s3:ReplicateTags", "kms:Decrypt", "kms:Encrypt"]},
    ("regional", "DrillRole"): {
        "service": "fis",
        "doc": "FIS User Guide, \"AWS FIS actions reference\" (aws:network:disrupt-connectivity, "
               "from the AWS managed policy AWSFaultInjectionSimulatorNetworkAccess; "
               "aws:lambda:invocation-error, \"Use the AWS FIS aws:lambda:function actions\")",
        "actions": ["ec2:CreateNetworkAcl", "ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl",
                    "ec2:ReplaceNetworkAclAssociation", "ec2:CreateTags",
                    "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
                    "s3:PutObject", "s3:DeleteObject", "lambda:GetFunction",
                    "tag:GetResources"]},
    ("global", "RegionSwitchRole"): {
        "service": "arc-region-switch",
        "doc": "ARC Developer Guide, \"Aurora Global Database execution block sample policy\", "
               "\"CloudWatch alarms for application health permissions\" and the AWS managed "
               "policy AmazonApplicationRecoveryControllerRegionSwitchPlanExecutionPolicy",
        "actions": ["arc-region-switch:GetPlan", "arc-region-switch:GetPlanExecution",
                    "arc-region-switch:ListPlanExecutions", "iam:SimulatePrincipalPolicy",
                    "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory",
                    "cloudwatch:GetMetricStatistics", "rds:DescribeGlobalClusters",
                    "rds:DescribeDBClusters", "rds:SwitchoverGlobalCluster",
                    "rds:FailoverGlobalCluster"]},
}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allow_statements(role: dict) -> Iterator[dict]:
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                yield statement


def trusted_service(role: dict) -> str:
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principal = statement["Principal"]["Service"]
    text = principal["Fn::Sub"] if isinstance(principal, dict) else principal
    return text.split(".${AWS::URLSuffix}")[0].removesuffix(".amazonaws.com")


def role_problems(cfn: Cfn, lid: str, requirement: dict) -> list[str]:
    role = cfn.resources[lid]
    problems = []
    if trusted_service(role) != requirement["service"]:
        problems.append(f"{lid}: trusts {trusted_service(role)}, not {requirement['service']}")
    granted: dict[str, list] = {}
    for statement in allow_statements(role):
        for action in _as_list(statement["Action"]):
            granted.setdefault(action, []).extend(_as_list(statement["Resource"]))
    for action in requirement["actions"]:
        if action not in granted:
            problems.append(f"{lid}: lacks {action} ({requirement['doc']})")
        elif requirement.get("resource") == "*" and "*" not in granted[action]:
            problems.append(f"{lid}: {action} only on {granted[action]}, the service needs "
                            f"it on \"*\" ({requirement['doc']})")
    return problems


def trust_problems(cfn: Cfn) -> list[str]:
    """IAM User Guide, "The confused deputy problem": `aws:SourceAccount` in a trust policy
    protects a role only if the service sends the key; a StringEquals on a key the service
    does not send denies that service. Keep it exactly where the service's documentation
    shows it (`grants.SENDS_SOURCE_ACCOUNT`)."""
    problems = []
    for lid, role in cfn.of_type("AWS::IAM::Role").items():
        service = trusted_service(role)
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        guarded = "aws:SourceAccount" in json.dumps(statement.get("Condition", {}))
        documented = service in SENDS_SOURCE_ACCOUNT
        if guarded != documented:
            problems.append(f"{lid} ({service}): aws:SourceAccount "
                            f"{'present' if guarded else 'absent'}, but AWS documents it "
                            f"{'for' if documented else 'not for'} this service")
    return problems


def rendered_modes(doc: dict, region: str, parameters: dict[str, str], parameter: str,
                   values: list[str]) -> Iterator[tuple[str, Cfn]]:
    for value in values:
        yield value, render(doc, region=region, parameters={**parameters, parameter: value})
