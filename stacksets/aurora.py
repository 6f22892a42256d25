"""The Aurora global cluster as the rollout, `status` and the teardown read it: asked in either
region (a region that is down does not answer; the other still knows the global cluster)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from toolkit.aws import Aws, error_code


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
