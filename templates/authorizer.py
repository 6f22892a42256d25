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
from troposphere import Ref, Template, awslambda, iam

from . import names
from .keys import Key
from .network import Network
from .regional_params import Regional
from .service import (
    FunctionSpec, _key_use_through, _table_arn, add_function,
)
from .table import table_name

AUTHORIZER = FunctionSpec(
    "authorizer", "Authorizer", "authorizer", timeout=5, memory=256,
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
    function = add_function(t, AUTHORIZER, authorizer_statements(key), key, network,
                            environment(), RESERVED_CONCURRENCY)
    role = t.resources[f"{AUTHORIZER.logical}Role"]
    return Authorizer(function=function, role=role)
