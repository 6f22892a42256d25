"""Aurora global clusters in the rehearsal: what moto 5.2 lacks for a teardown.

moto's RDS API keeps every global cluster in its us-east-1 backend (as AWS, where a global
cluster is not regional) but `RemoveFromGlobalCluster` looks it up, and the member, in the
calling region only, and silently does nothing otherwise (a bare `except: pass`): the recovery
region's cluster never left, and `destroy` waited for ever. moto also has no
`ModifyGlobalCluster`, through which `destroy` turns the global cluster's deletion protection
off. Both are supplied here, for the rehearsal only (RDS API Reference:
RemoveFromGlobalCluster, ModifyGlobalCluster).

moto has neither `SwitchoverGlobalCluster` nor `FailoverGlobalCluster`, which `dr switchover`,
`dr failback` and `dr failover` call. Here both move the writer flag between the mirrored moto
clusters at once, keeping the topology (the old writer stays a member, as a secondary: Aurora
rejoins it when its region is back). They check what AWS checks before a move (the target is a
member and not the writer; `FailoverGlobalCluster` takes `AllowDataLoss` or `Switchover`, not
both)
and nothing else: the rehearsal proves the runbook's order and its refusals, not Aurora's
replication (RDS API Reference: SwitchoverGlobalCluster, FailoverGlobalCluster).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend, rds_backends
from moto.rds.responses import RDSResponse

HOME_OF_GLOBAL_CLUSTERS = "us-east-1"  # where moto's RDS API stores them


class GlobalClusterNotFoundFault(RDSClientError):
    def __init__(self, identifier: str):
        super().__init__("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found")


def _global_cluster(account_id: str, identifier: str) -> Any:
    found = rds_backends[account_id][HOME_OF_GLOBAL_CLUSTERS].global_clusters.get(identifier)
    if found is None:
        raise GlobalClusterNotFoundFault(identifier)
    return found


def remove_from_global_cluster(self: RDSBackend, global_cluster_identifier: str,
                               db_cluster_identifier: str) -> Any:
    global_cluster = _global_cluster(self.account_id, global_cluster_identifier)
    for member in list(global_cluster.members):
        if db_cluster_identifier in (member.db_cluster_arn, member.db_cluster_identifier):
            global_cluster.members.remove(member)
            member.global_cluster_identifier = ""
            member.is_writer = True  # a standalone cluster takes writes
            if global_cluster.members:
                global_cluster.members[0].is_writer = True
    return global_cluster


def modify_global_cluster(self: RDSResponse) -> ActionResult:
    global_cluster = _global_cluster(self.current_account,
                                     self.params["GlobalClusterIdentifier"])
    if "DeletionProtection" in self.params:
        global_cluster.deletion_protection = \
            str(self.params["DeletionProtection"]).lower() == "true"
    return ActionResult({"GlobalCluster": global_cluster})


def _move_writer(self: RDSResponse, action: str) -> ActionResult:
    global_cluster = _global_cluster(self.current_account, self.params["GlobalClusterIdentifier"])
    target = self.params["TargetDbClusterIdentifier"]
    members = {m.db_cluster_arn: m for m in global_cluster.members}
    chosen = members.get(target) or next(
        (m for m in global_cluster.members if m.db_cluster_identifier == target), None)
    if chosen is None:
        raise RDSClientError("DBClusterNotFoundFault", f"{target} is not a member of "
                             f"{global_cluster.global_cluster_identifier} ({action})")
    if chosen.is_writer:
        raise RDSClientError("InvalidGlobalClusterStateFault",
                             f"{target} is already the writer of "
                             f"{global_cluster.global_cluster_identifier}")
    for member in global_cluster.members:
        member.is_writer = member is chosen
    return ActionResult({"GlobalCluster": global_cluster})


def switchover_global_cluster(self: RDSResponse) -> ActionResult:
    return _move_writer(self, "SwitchoverGlobalCluster")


def failover_global_cluster(self: RDSResponse) -> ActionResult:
    allow = str(self.params.get("AllowDataLoss", "false")).lower() == "true"
    switchover = str(self.params.get("Switchover", "false")).lower() == "true"
    if allow and switchover:  # without either it is a switchover (RDS API Reference)
        raise RDSClientError("InvalidParameterCombination", "AllowDataLoss can't be "
                             "specified together with Switchover")
    return _move_writer(self, "FailoverGlobalCluster")


PATCHES = (
    (RDSBackend, "remove_from_global_cluster", remove_from_global_cluster),
    (RDSResponse, "modify_global_cluster", modify_global_cluster),
    (RDSResponse, "switchover_global_cluster", switchover_global_cluster),
    (RDSResponse, "failover_global_cluster", failover_global_cluster),
)
