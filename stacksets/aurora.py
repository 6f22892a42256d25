"""Aurora global database steps of a teardown: the secondary cluster leaves the global cluster
before its stack is touched (a cluster that is still a member of a global cluster cannot be
deleted: RemoveFromGlobalCluster first, Aurora User Guide "Removing a cluster from an Amazon
Aurora global database"). Removal is asynchronous: the member list is polled until the
cluster is gone from it."""

from __future__ import annotations

from typing import Mapping

from botocore.exceptions import ClientError

from templates import names

from toolkit.aws import Aws, error_code
from toolkit.errors import RolloutError

NOT_MEMBER = ("DBClusterNotFoundFault", "GlobalClusterNotFoundFault",
              "InvalidGlobalClusterStateFault")


def _members(aws: Aws, region: str, identifier: str) -> list[str]:
    rds = aws.client("rds", region)
    try:
        clusters = aws.call(rds.describe_global_clusters,
                            GlobalClusterIdentifier=identifier)["GlobalClusters"]
    except ClientError as error:
        if error_code(error) == "GlobalClusterNotFoundFault":
            return []
        raise
    return [m["DBClusterArn"] for c in clusters for m in c.get("GlobalClusterMembers", [])]


def global_cluster(aws: Aws, regions: tuple[str, ...], identifier: str) -> dict | None:
    """DescribeGlobalClusters, asked in each of `regions` in turn (a region that is down does
    not answer; the other still knows the global cluster). None when no region knows it."""
    last_error = None
    for region in regions:
        try:
            clusters = aws.call(aws.client("rds", region).describe_global_clusters,
                                GlobalClusterIdentifier=identifier)["GlobalClusters"]
        except ClientError as error:
            if error_code(error) == "GlobalClusterNotFoundFault":
                return None
            last_error = error
            continue
        return clusters[0] if clusters else None
    if last_error is not None:
        raise last_error
    return None


def writer_region(aws: Aws, regions: tuple[str, ...], identifier: str) -> str | None:
    """The region of the global cluster's writer; None when there is no global cluster or no
    writer."""
    found = global_cluster(aws, regions, identifier) or {}
    writers = [m["DBClusterArn"].split(":")[3] for m in found.get("GlobalClusterMembers", [])
               if m.get("IsWriter")]
    return writers[0] if writers else None


def leave_global_cluster(aws: Aws, region: str, outputs: Mapping[str, str],
                         timeout: float = 1800, first_delay: float = 5.0) -> str:
    """Remove the cluster of the stack in `region` (its outputs name it and the global
    cluster) from the global cluster and wait until it is no longer a member. Returns what
    happened, for the report."""
    identifier = outputs.get(names.OUT_GLOBAL_CLUSTER_ID)
    cluster = outputs.get(names.OUT_DB_CLUSTER_ID)
    if not identifier or not cluster:
        return "no global database member in the stack's outputs"
    rds = aws.client("rds", region)
    try:
        arn = aws.call(rds.describe_db_clusters,
                       DBClusterIdentifier=cluster)["DBClusters"][0]["DBClusterArn"]
        if arn not in _members(aws, region, identifier):
            return f"{cluster} is not a member of {identifier}"
        aws.call(rds.remove_from_global_cluster, GlobalClusterIdentifier=identifier,
                 DbClusterIdentifier=arn)
    except ClientError as error:
        if error_code(error) in NOT_MEMBER:
            return f"{cluster}: not a member ({error_code(error)})"
        raise
    started, delay = aws.clock.now(), first_delay
    while arn in _members(aws, region, identifier):
        if aws.clock.now() - started > timeout:
            raise RolloutError(f"{cluster} is still a member of {identifier} after "
                               f"{timeout:.0f}s; check the RDS console, then re-run destroy")
        aws.clock.sleep(delay)
        delay = min(30.0, delay * 1.5)
    return f"{cluster} removed from {identifier}"
