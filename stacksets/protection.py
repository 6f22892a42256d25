"""Turning deletion protection off for a confirmed teardown, one resource at a time.

The templates protect what holds payment data: the Aurora clusters (DeletionProtection, and
DeletionPolicy Snapshot: CloudFormation snapshots the cluster, then deletes it, which fails
while it is protected), the global cluster, the table replicas (DeletionProtectionEnabled:
removing a replica fails while it is protected) and, in production, the global stack
(termination protection). `destroy` calls these only after its refusal checks, in teardown
order, and prints each change. Each returns what it did, or None when there was nothing to do.
"""

from __future__ import annotations

from typing import Any, Callable

from botocore.exceptions import ClientError

from toolkit.aws import Aws, error_code

GONE = ("DBClusterNotFoundFault", "GlobalClusterNotFoundFault", "ResourceNotFoundException")


def _absent(error: ClientError) -> bool:
    return error_code(error) in GONE or "does not exist" in str(error)


def _release(aws: Aws, service: str, region: str, read: Callable[[Any], dict],
             flag: str, write: Callable[[Any], Any], message: str) -> str | None:
    """Read the resource; when `flag` is on, turn it off with `write`; say what was done."""
    client = aws.client(service, region)
    try:
        found = read(client)
    except ClientError as error:
        if _absent(error):
            return None
        raise
    if not found.get(flag):
        return None
    write(client)
    return message


def stack(aws: Aws, region: str, name: str) -> str | None:
    return _release(
        aws, "cloudformation", region,
        lambda c: aws.call(c.describe_stacks, StackName=name)["Stacks"][0],
        "EnableTerminationProtection",
        lambda c: aws.call(c.update_termination_protection, StackName=name,
                           EnableTerminationProtection=False),
        f"termination protection off for stack {name} ({region})")


def cluster(aws: Aws, region: str, identifier: str) -> str | None:
    return _release(
        aws, "rds", region,
        lambda c: aws.call(c.describe_db_clusters,
                           DBClusterIdentifier=identifier)["DBClusters"][0],
        "DeletionProtection",
        lambda c: aws.call(c.modify_db_cluster, DBClusterIdentifier=identifier,
                           DeletionProtection=False, ApplyImmediately=True),
        f"deletion protection off for Aurora cluster {identifier} ({region})")


def global_cluster(aws: Aws, region: str, identifier: str) -> str | None:
    return _release(
        aws, "rds", region,
        lambda c: aws.call(c.describe_global_clusters,
                           GlobalClusterIdentifier=identifier)["GlobalClusters"][0],
        "DeletionProtection",
        lambda c: aws.call(c.modify_global_cluster, GlobalClusterIdentifier=identifier,
                           DeletionProtection=False),
        f"deletion protection off for Aurora global cluster {identifier}")


def table_replica(aws: Aws, region: str, table: str) -> str | None:
    return _release(
        aws, "dynamodb", region,
        lambda c: aws.call(c.describe_table, TableName=table)["Table"],
        "DeletionProtectionEnabled",
        lambda c: aws.call(c.update_table, TableName=table, DeletionProtectionEnabled=False),
        f"deletion protection off for the {table} replica in {region}")
