"""What several checks read, read once per run and only when a check asks for it.

Every AWS call goes through the runbook's adapter (`runbook/aws_adapter.py`), so a region
declared lost (`--lost`) is never called: the adapter refuses it before a client exists. The
DR state is the runbook's own observation (`AwsAdapter.observe()`: the global cluster, lag,
Route 53's view, the secret replica, the table replicas); the stacks are read with the
rollout's functions (`stacksets/state.py`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from runbook.aws_adapter import AwsAdapter, RegionGuard
from runbook.state import DrState
from stacksets import state as rollout_state
from stacksets.plan import Instance, Stack
from toolkit import resource_names as names
from toolkit.aws import Aws
from toolkit.config import Config

Probe = Callable[[str], tuple[int, dict[str, Any]]]


class Observations:
    def __init__(self, aws: Aws, config: Config, lost: str | None, probe: Probe):
        self.config, self.lost = config, lost
        self.adapter = AwsAdapter(aws, config, failed=lost, get=probe)
        self.aws = RegionGuard(self.adapter)  # what checks call through: never the lost region
        self._outputs: dict[str, dict[str, str]] = {}

    def client(self, service: str, region: str) -> Any:
        return self.adapter.client(service, region)

    @functools.cached_property
    def dr(self) -> DrState:
        return self.adapter.observe()

    @functools.cached_property
    def global_stack(self) -> Stack | None:
        return rollout_state.global_stack(self.aws, self.config)

    def global_parameters(self) -> dict[str, str]:
        return dict(self.global_stack.parameters) if self.global_stack else {}

    def global_outputs(self) -> dict[str, str]:
        return dict(self.global_stack.outputs) if self.global_stack else {}

    @functools.cached_property
    def instances(self) -> dict[str, Instance]:
        """The stack instances (from the administration region), without outputs."""
        return rollout_state.instances(self.aws, self.config, with_outputs=False)

    def stacks_readable(self, region: str) -> bool:
        """Whether the stack instance in `region` can be read: neither that region nor the
        administration region (which alone knows the instance's stack) is declared lost."""
        return self.adapter.allowed(region) and \
            self.adapter.allowed(self.config.administration_region)

    def stack_id(self, region: str) -> str | None:
        instance = self.instances.get(region)
        return instance.stack_id if instance else None

    def outputs(self, region: str) -> dict[str, str]:
        """The regional stack's outputs in `region` (read there, once)."""
        if region not in self._outputs:
            stack_id = self.stack_id(region)
            self._outputs[region] = rollout_state.stack_outputs(self.aws, region, stack_id) \
                if stack_id else {}
        return self._outputs[region]

    def failover_targets(self) -> dict[str, str]:
        return names.failover_targets(self.global_parameters())
