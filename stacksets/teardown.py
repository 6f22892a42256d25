"""The teardown as a pure function: what AWS holds -> the next teardown step.

Nothing here calls AWS. `next_teardown_step()` is the whole order of `destroy`, which runs it on
the decision kernel (`toolkit/kernel.py`), so an interrupted teardown re-run continues from what
AWS holds, as `deploy` does, and no step is repeated:

1. the global stack (DNS failover records, health checks) in us-east-1, once no operation
   on it is in progress (one made by a change set never executed, REVIEW_IN_PROGRESS, is
   deleted as it is); in production its termination protection goes off first;
2. every Aurora cluster leaves the global cluster, the writer last: a secondary leaves first,
   the writer when it is the only member (Aurora User Guide, "Deleting an Amazon Aurora global
   database"); a cluster that is still a member cannot be deleted (Aurora User Guide, "Removing
   a cluster from an Amazon Aurora global database"). Removal is asynchronous: the teardown
   waits until the member list no longer names the cluster;
3. deletion protection off, for what the teardown deletes (both clusters, whose Snapshot
   policy deletes them after a final snapshot, which fails while they are protected; the
   recovery region's table replica, which the next step removes) and for the retained, now
   empty, global cluster;
4. "unpeer": one UpdateStackInstances for both regions back to the foundation values, so the
   peering connection, the routes over it, the replicas and the replication rules go while
   both regions still exist;
5. the recovery region's stack instance, then the home region's (each receipts bucket emptied
   of every object version first with `--empty-buckets`, non-production only);
6. the stack set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from stacksets.plan import (FOUNDATION, GLOBAL, GLOBAL_REGION, REVIEW, Observed, deployment,
                            instances_args, kept_parameters, operation_id,
                            operation_preferences, phase_overrides, phase_values)
from toolkit.config import Config
from toolkit.kernel import Decision, Done, Step, Wait

UNPEER, LEAVE, RELEASE, DESTROY, STACK_SET, EMPTY = (
    "unpeer", "leave-global-cluster", "release", "destroy", "stack-set", "empty-bucket")


@dataclass(frozen=True)
class Cluster:
    """A region's Aurora cluster, as the teardown needs to know it."""
    region: str
    identifier: str
    arn: str
    member: bool               # still named in the global cluster's members
    deletion_protection: bool


@dataclass(frozen=True)
class Teardown:
    """What AWS holds, for the teardown: the rollout's observation plus the data tier's
    protection flags and memberships, and (with --empty-buckets) which buckets hold objects."""
    rollout: Observed
    global_protected: bool = False          # the global stack's termination protection
    clusters: Mapping[str, Cluster] = field(default_factory=dict)
    global_cluster: str | None = None       # its identifier, while it exists
    global_cluster_protected: bool = False
    table: str | None = None                # the global table's name
    replica_protected: bool = False         # the recovery region's replica
    buckets_with_objects: Mapping[str, str] = field(default_factory=dict)  # region -> bucket


def leave_order(config: Config, writer: str | None) -> tuple[str, ...]:
    """The regions whose clusters leave the global cluster, the writer's last. After a failover
    the writer is in the recovery region."""
    return tuple(sorted(config.regions, key=lambda region: region == writer))


def unpeer_step(config: Config, observed: Observed) -> Step | None:
    """Both regions back to the foundation phase values in one operation, or None when they
    already are."""
    declared = observed.stack_set.template.get("Parameters", {})
    foundation = phase_values(FOUNDATION, declared, {})
    regions = tuple(r for r in config.regions if r in observed.instances and any(
        phase_overrides(observed.instances[r]).get(k, v) != v for k, v in foundation.items()))
    if not regions:
        return None
    arguments = instances_args(config, UNPEER, regions, foundation, observed.last_operation,
                               kept_parameters(config, declared))
    return Step(UNPEER, "update_stack_instances", config.administration_region, arguments,
                f"{UNPEER}: foundation values in {', '.join(regions)}", regions)


def delete_instance_step(config: Config, region: str, stack_set_id: str) -> Step:
    arguments: dict[str, Any] = {
        "StackSetName": config.stack_set_name, **deployment(config), "Regions": [region],
        "RetainStacks": False, "OperationPreferences": operation_preferences(config, (region,)),
        **config.call_as}
    arguments["OperationId"] = operation_id(DESTROY, arguments, stack_set_id + region)
    return Step(DESTROY, "delete_stack_instances", config.administration_region, arguments,
                f"{DESTROY}: delete the stack instance in {region} ({config.role_of(region)})",
                (region,))


def global_stack_step(config: Config, state: Teardown) -> Step | Wait | None:
    stack = state.rollout.global_stack
    if stack is None:
        return None
    # REVIEW_IN_PROGRESS never ends by itself (a change set that was never executed: no
    # template, no resources); DeleteStack removes it (CloudFormation API Reference,
    # CreateChangeSet, DeleteStack).
    if stack.status.endswith("_IN_PROGRESS") and stack.status != REVIEW:
        return Wait(f"the global stack {config.global_stack_name} is {stack.status}")
    name = config.global_stack_name
    if state.global_protected:
        return Step(RELEASE, "update_termination_protection", GLOBAL_REGION,
                    {"StackName": name, "EnableTerminationProtection": False},
                    f"termination protection off for stack {name} ({GLOBAL_REGION})")
    return Step(GLOBAL, "delete_stack", GLOBAL_REGION, {"StackName": name},
                f"{GLOBAL}: delete {name}")


def leave_step(config: Config, state: Teardown) -> Step | None:
    for region in leave_order(config, state.rollout.writer_region or config.home_region):
        cluster = state.clusters.get(region)
        if cluster is not None and cluster.member:
            return Step(LEAVE, "remove_from_global_cluster", region,
                        {"GlobalClusterIdentifier": state.global_cluster,
                         "DbClusterIdentifier": cluster.arn},
                        f"{LEAVE}: {cluster.identifier} ({region}) leaves {state.global_cluster}",
                        (region,))
    return None


def release_step(config: Config, state: Teardown) -> Step | None:
    writer = state.rollout.writer_region or config.home_region
    for region in leave_order(config, writer):
        cluster = state.clusters.get(region)
        if cluster is not None and cluster.deletion_protection:
            return Step(RELEASE, "modify_db_cluster", region,
                        {"DBClusterIdentifier": cluster.identifier, "DeletionProtection": False,
                         "ApplyImmediately": True},
                        f"deletion protection off for Aurora cluster {cluster.identifier} "
                        f"({region})", (region,))
    if state.table and state.replica_protected:
        region = config.recovery_region
        return Step(RELEASE, "update_table", region,
                    {"TableName": state.table, "DeletionProtectionEnabled": False},
                    f"deletion protection off for the {state.table} replica in {region}",
                    (region,))
    if state.global_cluster and state.global_cluster_protected:
        return Step(RELEASE, "modify_global_cluster", writer,
                    {"GlobalClusterIdentifier": state.global_cluster,
                     "DeletionProtection": False},
                    f"deletion protection off for Aurora global cluster {state.global_cluster}",
                    (writer,))
    return None


def instance_step(config: Config, state: Teardown) -> Step | None:
    observed = state.rollout
    for region in reversed(config.regions):  # the recovery region first
        if region not in observed.instances:
            continue
        bucket = state.buckets_with_objects.get(region)
        if bucket:
            return Step(EMPTY, "empty_bucket", region, {"Bucket": bucket},
                        f"empty {bucket}: delete every object version", (region,))
        return delete_instance_step(config, region, observed.stack_set.stack_id)
    return None


def next_teardown_step(config: Config, state: Teardown) -> Decision:
    """The single next step of the teardown from what AWS holds, or Done."""
    observed = state.rollout
    if observed.running_operation:
        return Wait(f"operation {observed.running_operation} is running on "
                    f"{config.stack_set_name}")
    step = global_stack_step(config, state) or leave_step(config, state) or \
        release_step(config, state)
    if step is not None:
        return step
    if observed.stack_set is None:
        return Done("nothing left to tear down: no global stack, no stack set")
    step = unpeer_step(config, observed) or instance_step(config, state)
    if step is not None:
        return step
    return Step(STACK_SET, "delete_stack_set", config.administration_region,
                {"StackSetName": config.stack_set_name, **config.call_as},
                f"delete stack set {config.stack_set_name}")
