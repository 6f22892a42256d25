"""The customer-managed KMS key of a region (or of the global stack) and its alias.

The alias is deterministic (`alias/<prefix>-<env>[-suffix]`) so the other region can name this
key in a replica configuration (Secrets Manager `ReplicaRegions`, DynamoDB replica SSE) without
cross-stack outputs.
"""

from dataclasses import dataclass

from troposphere import GetAtt, Output, Ref, Sub, Template, kms

from . import grants, names
from .arns import arn
from .tagging import tags


@dataclass(frozen=True)
class Key:
    key: kms.Key
    alias_name: Sub

    @property
    def arn(self) -> GetAtt:
        return self.key.get_att("Arn")


def alias_name(suffix: str = "") -> Sub:
    return Sub(f"alias/${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}{suffix}")


def alias_arn_in(region, suffix: str = "") -> Sub:
    """ARN of this environment's key alias in `region` (a Ref or a region string)."""
    return Sub(
        f"arn:${{AWS::Partition}}:kms:${{Region}}:${{AWS::AccountId}}:"
        f"alias/${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}{suffix}",
        Region=region,
    )


def add_key(template: Template, *, description: str, extra_statements=(),
            alias_suffix: str = "", logical_prefix: str = "") -> Key:
    """A symmetric key with yearly rotation whose policy lets this account's IAM policies grant
    use, CloudWatch Logs encrypt this account's log groups, and CloudWatch alarms publish to a
    topic encrypted with it; `extra_statements` add service grants of later concerns."""
    statements = [
        grants.key_account_administration(),
        grants.key_use_by_cloudwatch_logs(arn("logs", "log-group:*")),
        grants.key_use_by_cloudwatch_alarms(),
        grants.key_grants_only_for_aws_resources(),
        *extra_statements,
    ]
    key = template.add_resource(kms.Key(
        f"{logical_prefix}Key",
        Description=description,
        EnableKeyRotation=True,
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
        PendingWindowInDays=30,
        KeyPolicy=grants.policy(*statements),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
        Tags=tags(f"key{alias_suffix}"),
    ))
    name = alias_name(alias_suffix)
    template.add_resource(kms.Alias(f"{logical_prefix}KeyAlias", AliasName=name,
                                    TargetKeyId=Ref(key)))
    template.add_output(Output(names.OUT_KEY_ARN, Description="Customer-managed KMS key ARN",
                               Value=key.get_att("Arn")))
    template.add_output(Output(names.OUT_KEY_ALIAS, Description="Deterministic alias of the key",
                               Value=name))
    return Key(key=key, alias_name=name)
