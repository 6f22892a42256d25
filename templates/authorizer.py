"""The merchant API key authorizer: a Lambda REQUEST authorizer for `POST /process`.

Merchants send `Authorization: Bearer sk_<env>_<key id>_<secret>` (Stripe-style secret keys).
The authorizer looks the key id up in the payments global table (`merchant-key#<key id>`),
compares the SHA-256 of the presented key with the stored hash and answers with an Allow policy
that carries the merchant id in its context. The table is a global table, so a key created in
either region validates in both: merchant keys survive a DNS failover, SigV4 signatures do not.

Its role may read one item of the table (GetItem) and use the regional key only through
DynamoDB (a table under a customer managed key may need the caller's key permission for reads).
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import dynamodb as ddb
from awacs import kms as kms_actions
from awacs.aws import Allow, Statement
from troposphere import Ref, Sub, Template, awslambda, iam, logs

from . import grants, names
from .checks import skip_checkov
from .keys import Key
from .network import Network
from .regional_params import Regional
from .service import (
    ARCHITECTURE, CODE_KEY_PATTERN, GROUP_SERVICE, LOG_RETENTION_DAYS, RUNTIME, FunctionSpec,
    _base_statements, _code_bucket, _key_use_through, _table_arn,
)
from .table import table_name
from .tagging import name, tags

AUTHORIZER = FunctionSpec(
    "authorizer", "Authorizer", "authorizer_handler.handler", names.AUTHORIZER_CODE_KEY,
    timeout=5, memory=256,
    description="REQUEST authorizer of POST /process: merchant secret key -> merchant id")
# With the 30 s result cache, invocations are a few per key per minute; the reservation caps
# what a flood of made-up keys can take from the account (WAF's rate rule comes first).
RESERVED_CONCURRENCY = 20


@dataclass(frozen=True)
class Authorizer:
    function: awslambda.Function
    role: iam.Role


def environment() -> dict:
    """Exactly the variables lambda/payments/merchant_keys.py reads (a test holds both)."""
    return {
        "PAYMENTS_TABLE_NAME": table_name(),
        "KEY_ENVIRONMENT": Ref(names.ENVIRONMENT_NAME),
        "LOG_LEVEL": "INFO",
    }


def authorizer_statements(key: Key) -> list[Statement]:
    """GetItem of a key record, and the regional key only through DynamoDB, to read it."""
    return [
        Statement(Sid="ReadMerchantKeyRecords", Effect=Allow, Action=[ddb.GetItem],
                  Resource=[_table_arn()]),
        _key_use_through(key, "DecryptTableThroughDynamoDb", ["dynamodb"],
                         [kms_actions.Decrypt]),
    ]


def add_authorizer(regional: Regional, key: Key, network: Network) -> Authorizer:
    t: Template = regional.template
    regional.params.add(
        AUTHORIZER.code_key_parameter, group=GROUP_SERVICE, label="Authorizer code key",
        description="S3 key of the authorizer zip: lambda/authorizer-<sha256>.zip as build.py "
                    "names it (build/manifest.json).",
        AllowedPattern=CODE_KEY_PATTERN.format(function=AUTHORIZER.key),
        ConstraintDescription="lambda/authorizer-<64 hex digits>.zip",
    )
    log_group = t.add_resource(logs.LogGroup(
        "AuthorizerLogGroup",
        LogGroupName=Sub(f"/aws/lambda/${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}-"
                         f"{AUTHORIZER.key}"),
        RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=key.arn,
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))
    role = t.add_resource(iam.Role(
        "AuthorizerRole",
        Description="Merchant API key authorizer",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("lambda")),
        Policies=[iam.Policy(PolicyName="merchant-key-authorizer",
                             PolicyDocument=grants.policy(*_base_statements(log_group),
                                                          *authorizer_statements(key)))],
        Tags=tags(AUTHORIZER.key),
    ))
    skip_checkov(
        role,
        CKV_AWS_111="EC2 network-interface (VPC access) and X-Ray trace writes have no resource "
                    "scoping for an execution role; every other statement names its resource",
    )
    function = t.add_resource(awslambda.Function(
        "AuthorizerFunction",
        FunctionName=name(AUTHORIZER.key),
        Description=AUTHORIZER.description,
        Runtime=RUNTIME, Architectures=[ARCHITECTURE], Handler=AUTHORIZER.handler,
        Code=awslambda.Code(S3Bucket=_code_bucket(),
                            S3Key=Ref(AUTHORIZER.code_key_parameter)),
        Role=role.get_att("Arn"),
        MemorySize=AUTHORIZER.memory, Timeout=AUTHORIZER.timeout,
        ReservedConcurrentExecutions=RESERVED_CONCURRENCY,
        # In the private subnets: the table is reached through the DynamoDB gateway endpoint,
        # so the authorizer works in every egress mode, NAT or none.
        VpcConfig=awslambda.VPCConfig(SubnetIds=network.private_subnet_ids,
                                      SecurityGroupIds=[Ref(network.lambda_security_group)]),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        KmsKeyArn=key.arn,
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Environment=awslambda.Environment(Variables=environment()),
        Tags=tags(AUTHORIZER.key),
    ))
    skip_checkov(
        function,
        CKV_AWS_116="invoked synchronously by API Gateway as an authorizer: a dead-letter "
                    "queue only serves asynchronous invocations",
    )
    return Authorizer(function=function, role=role)
