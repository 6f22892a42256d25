"""StackSet administration and execution roles (self-managed permission model), from awacs.

AWS CloudFormation User Guide, "Grant self-managed permissions": the administration role
(trusted by cloudformation.amazonaws.com) may only assume the execution role; the execution
role (trusted by the administration role) does the work in the target account. The execution
role needs every service the templates use; its statements are derived from the built
template (its resource types and its dynamic references), one statement (with a Sid) per
service. `Resource: "*"` because
CloudFormation creates resources whose ARNs do not exist before the stack does. It can create
IAM roles, so it is administrator-equivalent by nature: only the administration role may
assume it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from awacs.aws import Action, Allow, Policy, Principal, Statement
from awacs import sts
from botocore.exceptions import ClientError

from toolkit.aws import Aws, error_code
from toolkit.config import DEFAULT_ADMINISTRATION_ROLE, SELF_MANAGED, Config

POLICY_NAME = "payments-dr-stackset"
# CloudFormation type namespace -> IAM service prefix, where they differ.
SERVICE_PREFIX = {"ApiGateway": "apigateway",
                  "CertificateManager": "acm", "Logs": "logs", "CloudWatch": "cloudwatch",
                  "ElasticLoadBalancingV2": "elasticloadbalancing", "Events": "events",
                  "WAFRegional": "waf-regional", "WAFv2": "wafv2"}
# What every instance needs besides the template's own services: its stack, the code in the
# artifact bucket, and SNS/KMS for alarm notifications.
ALWAYS = ("cloudformation", "s3", "sns", "kms")
# Services CloudFormation calls on the execution role's behalf for a resource type besides
# the type's own: a certificate with DomainValidationOptions.HostedZoneId writes its DNS
# validation record in Route 53 (CloudFormation User Guide, AWS::CertificateManager::
# Certificate DomainValidationOption); a function in a VPC needs the EC2 network calls.
IMPLIED = {"AWS::CertificateManager::Certificate": ("route53",),
           "AWS::Lambda::Function": ("ec2",)}
# A `{{resolve:<service>:...}}` dynamic reference is resolved by CloudFormation with the
# permissions of whoever deploys the stack: the execution role (CloudFormation User Guide, "Get
# values stored in other services using dynamic references"). With EnableDrills=true the
# processor's FIS layer is `{{resolve:ssm:...}}`, so without SSM the drills cannot deploy.
DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):")
DYNAMIC_REFERENCE_SERVICE = {"ssm": "ssm", "ssm-secure": "ssm",
                             "secretsmanager": "secretsmanager"}
PROPAGATION_SECONDS = 15


def services(resource_types: Iterable[str], dynamic_references: Iterable[str] = ()) -> list[str]:
    found = set(ALWAYS)
    for resource_type in resource_types:
        namespace = resource_type.split("::")[1]
        found.add(SERVICE_PREFIX.get(namespace, namespace.lower()))
        found.update(IMPLIED.get(resource_type, ()))
    found.update(DYNAMIC_REFERENCE_SERVICE[kind] for kind in dynamic_references)
    return sorted(found)


def template_services(template: Mapping[str, Any]) -> list[str]:
    """Every service deploying `template` calls: its resource types' and its dynamic
    references' (pure)."""
    types = {r["Type"] for r in template.get("Resources", {}).values()}
    return services(types, DYNAMIC_REFERENCE.findall(json.dumps(template)))


def administration_trust() -> Policy:
    return Policy(Version="2012-10-17", Statement=[Statement(
        Sid="CloudFormationAssumesTheAdministrationRole", Effect=Allow,
        Principal=Principal("Service", "cloudformation.amazonaws.com"),
        Action=[sts.AssumeRole])])


def administration_policy(partition: str, account: str, execution_role: str) -> Policy:
    return Policy(Version="2012-10-17", Statement=[Statement(
        Sid="AssumeTheExecutionRoleInTheTargetAccount", Effect=Allow, Action=[sts.AssumeRole],
        Resource=[f"arn:{partition}:iam::{account}:role/{execution_role}"])])


def execution_trust(partition: str, admin_account: str) -> Policy:
    return Policy(Version="2012-10-17", Statement=[Statement(
        Sid="TheAdministrationRoleAssumesTheExecutionRole", Effect=Allow,
        Principal=Principal("AWS", f"arn:{partition}:iam::{admin_account}:role/"
                                   f"{DEFAULT_ADMINISTRATION_ROLE}"),
        Action=[sts.AssumeRole])])


def execution_policy(template: Mapping[str, Any]) -> Policy:
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid=f"Manage{service.capitalize()}", Effect=Allow,
                  Action=[Action(service, "*")], Resource=["*"])
        for service in template_services(template)])


def desired_roles(config: Config, partition: str, admin_account: str,
                  template: Mapping[str, Any]) -> dict[str, tuple[Policy, Policy]]:
    """role name -> (trust policy, inline policy)."""
    return {
        DEFAULT_ADMINISTRATION_ROLE: (
            administration_trust(),
            administration_policy(partition, config.target.account,
                                  config.target.execution_role_name)),
        config.target.execution_role_name: (execution_trust(partition, admin_account),
                                            execution_policy(template)),
    }


def _same(a: Any, b: Policy | dict) -> bool:
    current = json.loads(a) if isinstance(a, str) else a
    wanted = json.loads(b.to_json()) if isinstance(b, Policy) else b
    return json.dumps(current, sort_keys=True) == json.dumps(wanted, sort_keys=True)


def ensure(aws: Aws, config: Config, identity: dict[str, str], template: Mapping[str, Any],
           write: bool, settle: float = PROPAGATION_SECONDS) -> list[str]:
    """Create or update both roles (or, with write=False, say what would change): the roles
    of a self-managed stack set in the caller's account (`accounts.check` refuses any other).
    An existing trust policy keeps its other statements: ours is added (by Sid), never put in
    their place. After any write, waits for IAM to propagate it. Returns one line per role."""
    if config.target.permission_model != SELF_MANAGED:
        return ["roles: service-managed permissions (CloudFormation creates its own roles)"]
    if not config.target.manage_roles or config.target.administration_role_arn:
        return ["roles: managed outside this tool (target.manage_roles false or an "
                "administration_role_arn given): not checked"]
    iam = aws.client("iam", config.administration_region)  # the partition's IAM endpoint
    lines, written = [], False
    for name, (trust, policy) in desired_roles(config, identity["partition"],
                                               identity["account"], template).items():
        try:
            role = aws.call(iam.get_role, RoleName=name)["Role"]
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            role = None
        try:
            inline = aws.call(iam.get_role_policy, RoleName=name,
                              PolicyName=POLICY_NAME)["PolicyDocument"] if role else None
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            inline = None
        merged = merged_trust(role["AssumeRolePolicyDocument"], trust) if role else None
        trust_ok = role is not None and _same(role["AssumeRolePolicyDocument"], merged)
        policy_ok = inline is not None and _same(inline, policy)
        if trust_ok and policy_ok:
            lines.append(f"role {name}: up to date")
            continue
        verb = "create" if role is None else "update"
        if write:
            if role is None:
                aws.call(iam.create_role, RoleName=name, AssumeRolePolicyDocument=trust.to_json(),
                         Description="CloudFormation StackSets (payments-dr)")
            elif not trust_ok:
                aws.call(iam.update_assume_role_policy, RoleName=name,
                         PolicyDocument=json.dumps(merged, sort_keys=True))
            aws.call(iam.put_role_policy, RoleName=name, PolicyName=POLICY_NAME,
                     PolicyDocument=policy.to_json())
            written = True
        lines.append(f"role {name}: {verb}{'d' if write else ' (planned)'}")
    if written and settle:
        # IAM is eventually consistent: a role or policy just written may not be usable by
        # CloudFormation for a few seconds (IAM User Guide, "Changes that I make are not
        # always immediately visible").
        lines.append(f"roles: waited {settle:.0f} s for IAM to propagate the change")
        aws.clock.sleep(settle)
    return lines


def merged_trust(current: Any, ours: Policy) -> dict[str, Any]:
    """The existing trust policy with our statement added or replaced (matched by Sid); every
    other statement kept as it is (pure)."""
    document = json.loads(current) if isinstance(current, str) else dict(current)
    mine = json.loads(ours.to_json())
    sids = {s.get("Sid") for s in mine["Statement"]}
    kept = [s for s in document.get("Statement", []) if s.get("Sid") not in sids]
    return {**document, "Version": mine["Version"], "Statement": kept + mine["Statement"]}
