"""The rehearsal's emulation of CloudFormation's ParameterOverrides semantics
(UpdateStackInstances, API Reference) -- the rollout's operation count depends on it."""

import pytest

from rehearsal.account.fidelity import merged_overrides


def values(**items):
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in items.items()]


PRESENT = values(EgressMode="none", RecoveryVpcId="vpc-1")


@pytest.mark.parametrize("given, expected", [
    (None, PRESENT),  # no list: every override stays
    (values(RecoveryVpcId="vpc-2", EgressMode="none"), values(RecoveryVpcId="vpc-2",
                                                               EgressMode="none")),
    # UsePreviousValue keeps the present override; a parameter left out goes back to the
    # stack set's value (is no longer overridden)
    ([{"ParameterKey": "EgressMode", "UsePreviousValue": True}, *values(PeerRegionReady="true")],
     values(EgressMode="none", PeerRegionReady="true")),
    # UsePreviousValue on a parameter this instance does not override: still not overridden
    ([{"ParameterKey": "AuthMode", "UsePreviousValue": "true"}, *values(RecoveryVpcId="vpc-1")],
     values(RecoveryVpcId="vpc-1")),
])
def test_update_stack_instances_override_semantics(given, expected):
    assert merged_overrides(PRESENT, given) == expected
