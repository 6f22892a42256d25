"""Turning deletion protection off for a confirmed teardown, one resource at a time.

The templates protect what holds payment data: the Aurora clusters (DeletionProtection, and
DeletionPolicy Snapshot: CloudFormation snapshots the cluster, then deletes it, which fails
while it is protected), the global cluster, the table replicas (DeletionProtectionEnabled:
removing a replica fails while it is protected) and, in production, the global stack
(termination protection). `destroy` calls these only after its refusal checks, in teardown
order, and prints each change. Each returns what it did, or None when there was nothing to do.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from stacksets.aws import Aws, error_code

GONE = ("DBClusterNotFoundFault", "GlobalClusterNotFoundFault", "ResourceNotFoundException")


def _absent(error: ClientError) -> bool:
    return error_code(error) in GONE or "does not exist" in str(error)


def stack(aws: Aws, region: str, name: str) -> str | None:
    cfn = aws.cfn(region)
    try:
        found = aws.call(cfn.describe_stacks, StackName=name)["Stacks"][0]
    except ClientError as error:
        if _absent(error):
            return None
        raise
    if not found.get("EnableTerminationProtection"):
        return None
    aws.call(cfn.update_termination_protection, StackName=name,
             EnableTerminationProtection=False)
    return f"termination protection off for stack {name} ({region})"


def cluster(aws: Aws, region: str, identifier: str) -> str | None:
    rds = aws.client("rds", region)
    try:
        found = aws.call(rds.describe_db_clusters,
                         DBClusterIdentifier=identifier)["DBClusters"][0]
    except ClientError as error:
        if _absent(error):
            return None
        raise
    if not found.get("DeletionProtection"):
        return None
    aws.call(rds.modify_db_cluster, DBClusterIdentifier=identifier, DeletionProtection=False,
             ApplyImmediately=True)
    return f"deletion protection off for Aurora cluster {identifier} ({region})"


def global_cluster(aws: Aws, region: str, identifier: str) -> str | None:
    rds = aws.client("rds", region)
    try:
        found = aws.call(rds.describe_global_clusters,
                         GlobalClusterIdentifier=identifier)["GlobalClusters"][0]
    except ClientError as error:
        if _absent(error):
            return None
        raise
    if not found.get("DeletionProtection"):
        return None
    aws.call(rds.modify_global_cluster, GlobalClusterIdentifier=identifier,
             DeletionProtection=False)
    return f"deletion protection off for Aurora global cluster {identifier}"


def table_replica(aws: Aws, region: str, table: str) -> str | None:
    dynamodb = aws.client("dynamodb", region)
    try:
        found = aws.call(dynamodb.describe_table, TableName=table)["Table"]
    except ClientError as error:
        if _absent(error):
            return None
        raise
    if not found.get("DeletionProtectionEnabled"):
        return None
    aws.call(dynamodb.update_table, TableName=table, DeletionProtectionEnabled=False)
    return f"deletion protection off for the {table} replica in {region}"
