"""The migrate function's environment: what the template sets is what the code reads, and
the regions' networks are checked before anything connects."""

from __future__ import annotations

import pytest
from payments import schema_deploy
from payments.config import ConfigError

from tests.conftest import BASE_PARAMETERS

GOOD = {
    "DB_HOST": "db.example", "DB_PORT": "5432", "DB_NAME": "payments",
    "DB_TLS_CA_FILE": "/var/task/certs/rds-ca-bundle.pem",
    "DB_CLUSTER_IDENTIFIERS": "payments-test-us-east-1,payments-test-us-west-2",
    "LOG_LEVEL": "INFO", "AWS_REGION": "us-east-1",
    "DB_MASTER_SECRET_ARN": "m", "DB_MIGRATOR_SECRET_ARN": "g", "DB_SECRET_ARN": "a",
    "HOME_REGION": "us-east-1", "HOME_VPC_CIDR": "10.0.0.0/16",
    "RECOVERY_REGION": "us-west-2", "RECOVERY_VPC_CIDR": "10.1.0.0/16",
}


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_the_template_sets_exactly_the_variables_the_migrate_step_reads(in_region, role):
    """Both regions' stacks give their migrate function the same pair (either may run it)."""
    variables = in_region(role, HomeVpcCidr="10.20.0.0/16", RecoveryVpcCidr="10.21.0.0/16").props(
        "MigrateFunction")["Environment"]["Variables"]
    assert set(variables) == schema_deploy.ENV_VARS
    assert {name: variables[name] for name in ("HOME_REGION", "HOME_VPC_CIDR", "RECOVERY_REGION",
                                               "RECOVERY_VPC_CIDR")} == {
        "HOME_REGION": BASE_PARAMETERS["HomeRegion"], "HOME_VPC_CIDR": "10.20.0.0/16",
        "RECOVERY_REGION": BASE_PARAMETERS["RecoveryRegion"], "RECOVERY_VPC_CIDR": "10.21.0.0/16"}


def test_the_networks_are_read_from_the_environment() -> None:
    config = schema_deploy.MigrateConfig.from_environ(GOOD)
    assert [(n.region, n.network) for n in config.networks] == [
        ("us-east-1", "10.0.0.0/16"), ("us-west-2", "10.1.0.0/16")]


@pytest.mark.parametrize("changes, problem", [
    ({"HOME_VPC_CIDR": "10.0.0.1/16"}, "HOME_REGION/HOME_VPC_CIDR: '10.0.0.1/16' is not a CIDR"),
    ({"RECOVERY_VPC_CIDR": "ten"}, "RECOVERY_REGION/RECOVERY_VPC_CIDR: 'ten' is not a CIDR"),
    ({"RECOVERY_REGION": "US-WEST-2"}, "'US-WEST-2' is not an AWS region name"),
    ({"RECOVERY_REGION": "us-east-1"}, "HOME_REGION and RECOVERY_REGION must differ"),
    ({"HOME_REGION": ""}, "HOME_REGION is required"),
], ids=["host-bits", "not-a-cidr", "region-case", "same-region", "missing"])
def test_a_bad_network_is_refused_naming_the_variable(changes, problem) -> None:
    with pytest.raises(ConfigError, match="invalid environment") as error:
        schema_deploy.MigrateConfig.from_environ({**GOOD, **changes})
    assert problem in str(error.value)
