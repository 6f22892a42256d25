"""The global stack's dashboard learns the two regions and the reservations from the config."""

import dataclasses

from templates import names

from stacksets import plan
from stacksets.context import desired

OUTPUTS = {names.OUT_API_DOMAIN_TARGET: "d-abc.execute-api.us-east-1.amazonaws.com",
           names.OUT_API_DOMAIN_ZONE_ID: "Z1UJRXOUMOOFQ8",
           names.OUT_API_ENDPOINT_HOST: "abc.execute-api.us-east-1.amazonaws.com"}


def test_global_stack_gets_both_regions(example_config, bundle):
    values = plan.global_parameters(example_config, desired(example_config, bundle),
                                    {"home": OUTPUTS, "recovery": OUTPUTS})
    assert values[names.HOME_REGION] == "us-east-1"
    assert values[names.RECOVERY_REGION] == "us-west-2"
    assert "ProcessorReservedConcurrency" not in values  # not set: the template's default


def test_global_stack_repeats_the_configured_reservation(example_config, bundle):
    config = dataclasses.replace(example_config, parameters={
        **example_config.parameters, "ProcessorReservedConcurrency": "80"})
    values = plan.global_parameters(config, desired(config, bundle),
                                    {"home": OUTPUTS, "recovery": OUTPUTS})
    assert values["ProcessorReservedConcurrency"] == "80"
