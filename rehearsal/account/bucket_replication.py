"""S3 replication rules in the rehearsal: moto 5.2 creates and updates an `AWS::S3::Bucket`
from a template without its `ReplicationConfiguration` (only encryption and tags), so after a
full rollout the receipts buckets had no rule and `status` could not tell a rollout that added
it from one that did not.

After each stack creation and update, every bucket of the stack gets the replication
configuration its template resolves to now (put through moto's own S3 backend, in the shape
of the S3 API: `Rules` -> `Rule`, `Id` -> `ID`), or none when it resolves to nothing (the
`PeerRegionReady` condition is false). Rehearsal-only; it proves that the rollout's join phase
turns replication on and the teardown's unpeer turns it off, not that S3 accepts the rule
(AWS CloudFormation User Guide, AWS::S3::Bucket ReplicationConfiguration; Amazon S3 API
Reference, PutBucketReplication).
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import models as cfn
from moto.cloudformation import parsing
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

BUCKET = "AWS::S3::Bucket"


def api_shape(configuration: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's ReplicationConfiguration -> PutBucketReplication's (pure)."""
    rules = []
    for rule in configuration.get("Rules", []):
        rule = dict(rule)
        if "Id" in rule:
            rule["ID"] = rule.pop("Id")
        rules.append(rule)
    return {"Role": configuration.get("Role"), "Rule": rules}


def reconcile(stack: cfn.Stack) -> None:
    resources = stack.resource_map
    for logical_id, resource in stack.template_dict.get("Resources", {}).items():
        bucket = resources._parsed_resources.get(logical_id)
        if resource.get("Type") != BUCKET or not isinstance(bucket, FakeBucket):
            continue
        wanted = resource.get("Properties", {}).get("ReplicationConfiguration")
        resolved = parsing.clean_json(wanted, resources) if wanted is not None else None
        backend = s3_backends[stack.account_id][get_partition(stack.region_name)]
        if resolved:
            backend.put_bucket_replication(bucket.name, api_shape(resolved))
        elif getattr(bucket, "replication", None):
            backend.delete_bucket_replication(bucket.name)


_create_resources, _update = cfn.Stack.create_resources, cfn.Stack.update


def create_resources(self: cfn.Stack) -> None:
    _create_resources(self)
    reconcile(self)


def update(self: cfn.Stack, *args: Any, **kwargs: Any) -> None:
    _update(self, *args, **kwargs)
    reconcile(self)


PATCHES = (
    (cfn.Stack, "create_resources", create_resources),
    (cfn.Stack, "update", update),
)
