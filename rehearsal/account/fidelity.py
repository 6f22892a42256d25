"""Rehearsal-only corrections that make moto's StackSets behave like CloudFormation's.

moto 5.2 creates a stack per self-managed instance, but:
- `UpdateStackInstances` and `UpdateStackSet` only record parameters; deployed stacks keep
  their old template and parameters ("the actual resources are not updated");
- `ParameterOverrides` replace the stack set's parameters instead of overriding some of them,
  and an update replaces the instance's override list without honouring `UsePreviousValue`
  (CloudFormation: listed values override, `UsePreviousValue` keeps the present override,
  parameters left out go back to the stack set's value: `merged_overrides`);
- instances created after an `UpdateStackSet` get the stack set's first template;
- the instance stack is named `StackSet:<name>` (a colon breaks generated resource names) and
  `DescribeStackInstance` reports a random `StackId` that no stack has;
- `DeploymentTargets` with `AccountFilterType: INTERSECTION` selects no account without an
  Organizations mock;
- S3 bucket policies are evaluated without their `Condition`, so the artifact buckets'
  TLS-only Deny (`aws:SecureTransport` false) denies every request: statements with a
  condition are left out of the evaluation instead (the rehearsal does not test policies);
- `AWS::KMS::Key` reads `Tags` as KMS API `TagKey`/`TagValue` pairs, while CloudFormation
  documents `Key`/`Value` (a `KeyError` on every tagged key): tags are translated;
- `AWS::EC2::VPCPeeringConnection` looks the peer VPC up in the requester's region, ignoring
  `PeerRegion` and `PeerOwnerId`: the peer is looked up where CloudFormation would;
- a stack update ignores `Condition`s that changed (a resource whose condition became true is
  created and then replaced by `None` when its type has no update support, so `Ref` and
  outputs on it vanish; one whose condition became false stays): after moto's update, such
  resources are created, kept or deleted as CloudFormation would;
- a resource whose properties use an `Fn::If` on a condition that changed is not updated
  (moto only follows parameters a resource names): stand-ins are rebuilt and reconciled;
- (speed, not semantics) moto parses every template with PyYAML's pure-Python loader, about
  0.5 s for the regional template per operation: JSON templates are parsed as JSON first.
These patches give the rehearsal CloudFormation's documented semantics for those calls
(AWS CloudFormation API Reference: CreateStackInstances, UpdateStackInstances, UpdateStackSet).
Operations still succeed at once and ignore `OperationPreferences` and `OperationId`.
"""

from __future__ import annotations

from typing import Any

import json

from moto.cloudformation import models as cfn
from moto.cloudformation.parsing import ResourceMap
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
from moto.kms.models import Key as KmsKey
from moto.s3.models import FakeBucket
from moto.cloudformation.exceptions import StackInstanceNotFound
from moto.moto_api._internal import mock_random


def _parameters(values: Any) -> dict[str, str]:
    if isinstance(values, dict):
        return dict(values)
    return {p["ParameterKey"]: p["ParameterValue"] for p in values or []
            if "ParameterValue" in p}


def _effective(stack_set: cfn.StackSet, instance: cfn.StackInstance) -> dict[str, str]:
    """Stack-set parameters with this instance's overrides on top."""
    return {**_parameters(stack_set.parameters), **_parameters(instance.parameters)}


def _targets(stack_set: cfn.StackSet, accounts: list[str], regions: list[str]):
    if not accounts and not regions:
        return list(stack_set.instances.stack_instances)
    found = []
    for account in accounts:
        for region in regions:
            instance = stack_set.instances.get_instance(account, region)
            if instance is None:
                raise StackInstanceNotFound()
            found.append(instance)
    return found


def _redeploy(stack_set: cfn.StackSet, instance: cfn.StackInstance) -> None:
    instance.template = stack_set.template
    instance.stack.update(stack_set.template, parameters=_effective(stack_set, instance))


def create_stack_instances(self: cfn.StackSet, accounts: list[str], regions: list[str],
                           deployment_targets: dict[str, Any] | None,
                           parameters: list[dict[str, Any]]) -> str:
    targets = list(accounts) + list((deployment_targets or {}).get("Accounts", []))
    for region in regions:
        for account in targets:
            if self.instances.get_instance(account, region) is not None:
                continue  # CloudFormation: an existing target is left as it is
            instance = cfn.StackInstance.__new__(cfn.StackInstance)
            instance.account_id, instance.region_name = account, region
            instance.stackset_id, instance.name = self.id, self.name
            instance.stack_name = self.instances.stack_name
            instance.template = self.template
            instance.parameters = list(parameters or [])
            instance.permission_model = "SELF_MANAGED"  # a real stack, deleted through the API
            instance.stack = cfn.cloudformation_backends[account][region].create_stack(
                name=f"StackSet-{self.name}-{mock_random.uuid4()}", template=self.template,
                parameters=_effective(self, instance))
            self.instances.stack_instances.append(instance)
    operation_id = str(mock_random.uuid4())
    self._create_operation(operation_id, "CREATE", "SUCCEEDED", targets, regions)
    return operation_id


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def merged_overrides(present: list[dict[str, Any]],
                     given: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """An instance's overrides after UpdateStackInstances (API Reference, UpdateStackInstances,
    ParameterOverrides): no list leaves every override as it is; with a list, a parameter with
    a value is overridden, one with `UsePreviousValue` keeps its present override (and stays
    not overridden if it was not), and one left out goes back to the stack set's value.
    (moto parses an explicitly empty list as no list; the tool never sends one.)"""
    if not given:
        return list(present)
    current = _parameters(present)
    merged = []
    for item in given:
        key = item["ParameterKey"]
        if _true(item.get("UsePreviousValue")):
            if key in current:
                merged.append({"ParameterKey": key, "ParameterValue": current[key]})
        else:
            merged.append({"ParameterKey": key, "ParameterValue": item.get("ParameterValue", "")})
    return merged


def update_instances(self: cfn.StackSet, accounts: list[str], regions: list[str],
                     parameters: list[dict[str, Any]]) -> dict[str, Any]:
    for instance in _targets(self, accounts, regions):
        instance.parameters = merged_overrides(instance.parameters, parameters)
        _redeploy(self, instance)
    return self._create_operation(str(mock_random.uuid4()), "UPDATE", "SUCCEEDED", accounts,
                                  regions)


def update(self: cfn.StackSet, template: str, description: str, parameters: dict[str, str],
           tags: dict[str, str], admin_role: str, execution_role: str, accounts: list[str],
           regions: list[str], operation_id: str) -> dict[str, Any]:
    self.template = template or self.template
    self.description = description if description is not None else self.description
    self.parameters = parameters or self.parameters
    self.tags = tags or self.tags
    self.administration_role_arn = admin_role or self.administration_role_arn
    self.execution_role_name = execution_role or self.execution_role_name
    self.instances.template = self.template
    for instance in _targets(self, accounts, regions):
        _redeploy(self, instance)
    return self._create_operation(operation_id or str(mock_random.uuid4()), "UPDATE",
                                  "SUCCEEDED", accounts, regions)


def instance_to_dict(self: cfn.StackInstance) -> dict[str, Any]:
    return {"StackId": self.stack.stack_id, "StackSetId": self.stackset_id,
            "Region": self.region_name, "Account": self.account_id, "Status": "CURRENT",
            "ParameterOverrides": self.parameters,
            "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
            "DriftStatus": "NOT_CHECKED"}


def bucket_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy)
    statements = policy.get("Statement", [])
    statements = [s for s in (statements if isinstance(statements, list) else [statements])
                  if "Condition" not in s]
    if not statements:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**policy, "Statement": statements})).is_action_permitted(
        action, resource)


_kms_key_from_cloudformation = KmsKey.create_from_cloudformation_json.__func__


def kms_key_from_cloudformation(cls, resource_name: str, cloudformation_json: Any,
                                account_id: str, region_name: str, **kwargs: Any) -> Any:
    properties = dict(cloudformation_json.get("Properties") or {})
    properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} if "Key" in t else t
                          for t in properties.get("Tags", [])]
    return _kms_key_from_cloudformation(cls, resource_name,
                                        {**cloudformation_json, "Properties": properties},
                                        account_id, region_name, **kwargs)


def peering_from_cloudformation(cls, resource_name: str, cloudformation_json: Any,
                                account_id: str, region_name: str, **kwargs: Any) -> Any:
    properties = cloudformation_json["Properties"]
    backend = ec2_backends[account_id][region_name]
    peer_backend = ec2_backends[properties.get("PeerOwnerId") or account_id][
        properties.get("PeerRegion") or region_name]
    return backend.create_vpc_peering_connection(backend.get_vpc(properties["VpcId"]),
                                                 peer_backend.get_vpc(properties["PeerVpcId"]))


_resource_map_update = ResourceMap.update


def resource_map_update(self: ResourceMap, template: dict[str, Any],
                        parameters: dict[str, Any] | None = None) -> None:
    before = dict(self._parsed_resources)
    conditions = list(template.get("Conditions", {}))
    was = {name: self.lazy_condition_map[name] for name in conditions}
    diff = self.build_resource_diff

    def conditional_diff(other_template: dict[str, Any], params: Any = None) -> dict[str, Any]:
        # A resource that was never created (its condition was false) is added, not modified:
        # moto would create it while looking up the "original" and then create it again.
        actions = diff(other_template, params)
        never = [n for n in actions["Modify"] if self._parsed_resources.get(n) is None]
        actions["Modify"] = [n for n in actions["Modify"] if n not in never]
        actions["Add"] = actions["Add"] + never
        return actions

    self.build_resource_diff = conditional_diff
    try:
        _resource_map_update(self, template, parameters)
    finally:
        del self.build_resource_diff
    for logical_id, resource_json in template["Resources"].items():
        condition = resource_json.get("Condition")
        active = not condition or self.lazy_condition_map[condition]
        current = self._parsed_resources.get(logical_id)
        if not active:
            # moto "modifies" a resource that references a changed parameter into None when
            # its condition turned false, without deleting it: the object is in `before`.
            gone = current if current is not None else before.get(logical_id)
            if gone is not None and not isinstance(gone, str):
                self._delete_resource(gone, resource_json)
            self._parsed_resources.pop(logical_id, None)
        elif current is None:
            self._parsed_resources.pop(logical_id, None)
            if before.get(logical_id) is not None:  # moto cannot update this type: keep it
                self._parsed_resources[logical_id] = before[logical_id]
            else:
                self[logical_id]  # noqa: B018 (the lazy map creates on access)
    _reevaluate_stand_ins(self, template, {c for c in conditions
                                           if self.lazy_condition_map[c] != was[c]})


def _reevaluate_stand_ins(resources: ResourceMap, template: dict[str, Any],
                          changed: set[str]) -> None:
    """moto re-evaluates a resource only when a parameter it names changed, not when an
    `Fn::If` inside its properties flips (the global table's second replica): a stand-in whose
    properties use a changed condition is rebuilt from the new values and reconciled with the
    old one (`updated`), as CloudFormation would update it."""
    from rehearsal.account.models import StandIn

    for logical_id, resource_json in template["Resources"].items():
        old = resources._parsed_resources.get(logical_id)
        text = json.dumps(resource_json.get("Properties", {}))
        if not isinstance(old, StandIn) or not any(f'"Fn::If": ["{c}"' in text
                                                    for c in changed):
            continue
        resources._parsed_resources.pop(logical_id)
        new = resources[logical_id]
        if isinstance(new, StandIn):
            new.updated(old)


_parse_template = cfn.Stack.parse_template


def parse_template(template: str) -> dict[str, Any]:
    try:
        return json.loads(template)
    except ValueError:
        return _parse_template(template)


PATCHES = (
    (cfn.Stack, "parse_template", staticmethod(parse_template)),
    (ResourceMap, "update", resource_map_update),
    (VPCPeeringConnection, "create_from_cloudformation_json",
     classmethod(peering_from_cloudformation)),
    (KmsKey, "create_from_cloudformation_json", classmethod(kms_key_from_cloudformation)),
    (FakeBucket, "get_permission", bucket_permission),
    (cfn.StackSet, "create_stack_instances", create_stack_instances),
    (cfn.StackSet, "update_instances", update_instances),
    (cfn.StackSet, "update", update),
    (cfn.StackInstance, "to_dict", instance_to_dict),
)
