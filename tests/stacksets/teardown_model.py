"""A deployed environment as the teardown sees it, for the decision kernel: `observe()` gives a
`Teardown`, `act()` changes the account as AWS would, and refuses what AWS refuses (a protected
stack, cluster or replica deleted; the writer removed before the secondary; a stack set with
instances deleted). Removal from the global cluster shows `lag` observations late."""

from __future__ import annotations

from templates import names

from stacksets.plan import FOUNDATION, Instance, Observed, Stack, phase_values
from stacksets.teardown import Cluster, Teardown
from tests.stubs import FakeClock

ACCOUNT = "123456789012"
GLOBAL_ID = "payments-{env}-global"
WRITER = "payments-example-global.global-0a.global.rds.amazonaws.com"
JOINED = {names.RECOVERY_VPC_ID: "vpc-0123456789abcdef0", names.PEER_REGION_READY: "true",
          names.PEERING_CONNECTION_ID: "pcx-0123456789abcdef0",
          names.GLOBAL_WRITER_ENDPOINT: WRITER}


class Interrupt(KeyboardInterrupt):
    """Ctrl-C right after a call was made."""


class Refused(Exception):
    pass


def cluster_arn(config, region: str) -> str:
    return f"arn:aws:rds:{region}:{ACCOUNT}:cluster:{config.name_prefix}-{config.environment}-" \
           f"{region}"


class Account:
    def __init__(self, config, wanted, *, writer: str | None = None, lag: int = 0,
                 empty_buckets: bool = False, nothing: bool = False):
        self.config, self.wanted, self.lag = config, wanted, lag
        self.writer = writer or config.home_region
        base = f"{config.name_prefix}-{config.environment}"
        self.global_id, self.table = f"{base}-global", f"{base}-payments"
        self.global_stack = None if nothing else Stack(
            "UPDATE_COMPLETE", wanted.global_template, {}, stack_id="arn:global")
        self.global_protected = False
        self.stack_set = not nothing
        self.instances = {} if nothing else {
            r: {**JOINED, **({"EgressMode": "none"} if r == config.recovery_region else {})}
            for r in config.regions}
        self.members = set() if nothing else set(config.regions)
        self.leaving: dict[str, int] = {}
        self.clusters_protected = set(self.members)
        self.global_cluster_protected = not nothing
        self.replica_protected = not nothing
        self.empty_buckets = empty_buckets
        self.objects = {r: 3 for r in self.instances}
        self.running: str | None = None
        self.done: list[tuple] = []
        self.interrupt_after: int | None = None
        self.clock = FakeClock()

    # --- the kernel's world ------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)

    def observe(self) -> Teardown:
        for region in list(self.leaving):
            self.leaving[region] -= 1
            if self.leaving[region] <= 0:
                del self.leaving[region]
                self.members.discard(region)
        config = self.config
        outputs = {r: {names.OUT_DB_CLUSTER_ID: f"{config.name_prefix}-{config.environment}-{r}",
                       names.OUT_GLOBAL_CLUSTER_ID: self.global_id,
                       names.OUT_TABLE_NAME: self.table, names.OUT_BUCKET_NAME: f"receipts-{r}"}
                   for r in self.instances}
        rollout = Observed(
            stack_set=Stack("ACTIVE", self.wanted.regional_template, {}, stack_id="arn:set:1")
            if self.stack_set else None,
            instances={r: Instance(r, overrides=o, outputs=outputs[r], stack_id=f"arn:{r}")
                       for r, o in self.instances.items()},
            running_operation=self.running, last_operation=f"op-{len(self.done)}",
            global_stack=self.global_stack, writer_region=self.writer)
        peered = any(o.get(names.PEER_REGION_READY) == "true" for o in self.instances.values())
        return Teardown(
            rollout, global_protected=self.global_protected,
            clusters={r: Cluster(r, outputs[r][names.OUT_DB_CLUSTER_ID], cluster_arn(config, r),
                                 r in self.members, r in self.clusters_protected)
                      for r in self.instances},
            global_cluster=self.global_id if self.instances else None,
            global_cluster_protected=self.global_cluster_protected,
            table=self.table if self.instances else None,
            replica_protected=self.replica_protected and peered,
            buckets_with_objects={r: f"receipts-{r}" for r in self.instances
                                  if self.empty_buckets and self.objects[r]})

    def act(self, step) -> dict:
        getattr(self, step.action)(step)
        self.done.append((step.name, step.action, step.targets))
        if self.interrupt_after is not None and len(self.done) >= self.interrupt_after:
            raise Interrupt
        return {"phase": step.name}

    def empty(self) -> bool:
        return (self.global_stack is None and not self.stack_set and not self.instances
                and not self.members and not self.global_cluster_protected)

    # --- what each call does -------------------------------------------------------------------
    def update_termination_protection(self, step) -> None:
        self.global_protected = step.arguments["EnableTerminationProtection"]

    def delete_stack(self, step) -> None:
        if self.global_protected:
            raise Refused("termination protection is enabled")
        self.global_stack = None

    def remove_from_global_cluster(self, step) -> None:
        region = step.arguments["DbClusterIdentifier"].split(":")[3]
        if region == self.writer and self.members - {region}:
            raise Refused("the writer cannot leave while a secondary is a member")
        if self.lag:
            self.leaving[region] = self.lag
        else:
            self.members.discard(region)

    def modify_db_cluster(self, step) -> None:
        self.clusters_protected.discard(step.region)

    def update_table(self, step) -> None:
        self.replica_protected = False

    def modify_global_cluster(self, step) -> None:
        self.global_cluster_protected = False

    def update_stack_instances(self, step) -> None:  # unpeer: the replica and peering go
        if self.replica_protected:
            raise Refused("the table replica has deletion protection")
        declared = self.wanted.regional_parameters
        for region in step.targets:
            kept = {k: v for k, v in self.instances[region].items() if k == "EgressMode"}
            self.instances[region] = {**phase_values(FOUNDATION, declared, {}), **kept}

    def empty_bucket(self, step) -> None:
        self.objects[step.region] = 0

    def delete_stack_instances(self, step) -> None:
        (region,) = step.targets
        if region in self.members or region in self.clusters_protected:
            raise Refused(f"the cluster in {region} is a member or protected")
        del self.instances[region]

    def delete_stack_set(self, step) -> None:
        if self.instances:
            raise Refused("the stack set has instances")
        self.stack_set = False
