"""The migrate function's environment: what the template sets is what the code reads, the
regions' networks are checked before anything connects, and its log line is written."""

from __future__ import annotations

import json
import logging
import os

import pytest
from payments import handlers, schema_deploy
from payments.config import ConfigError

from rehearsal.localpg import DATABASE
from tests.conftest import BASE_PARAMETERS

from .conftest import LOOPBACK, OTHER_REGION, OTHER_REGION_CIDR, REGION, SECRET_ARNS, Api

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
    ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL='CHATTY' must be one of"),
], ids=["host-bits", "not-a-cidr", "region-case", "same-region", "missing", "log-level"])
def test_a_bad_network_is_refused_naming_the_variable(changes, problem) -> None:
    with pytest.raises(ConfigError, match="invalid environment") as error:
        schema_deploy.MigrateConfig.from_environ({**GOOD, **changes})
    assert problem in str(error.value)


def test_the_migrate_function_writes_its_json_log_line(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review 18 (F8): a fresh container's package logger has no handler, so an INFO line
    falls through to the root logger (WARNING) and is dropped, and anything it wrote would
    bypass the JSON formatter and its card-number scan. The migrate handler configures the
    logger from its config, as the payment functions do (``wiring.config``)."""
    package_logger = logging.getLogger("payments")
    # A fresh container: nothing configured the package logger yet.
    monkeypatch.setattr(package_logger, "handlers", [])
    monkeypatch.setattr(package_logger, "propagate", True)
    monkeypatch.setattr(package_logger, "level", logging.NOTSET)
    for name, value in {"DB_NAME": DATABASE, "AWS_REGION": REGION,
                        "DB_MASTER_SECRET_ARN": SECRET_ARNS["master"],
                        "DB_MIGRATOR_SECRET_ARN": SECRET_ARNS["migrator"],
                        "DB_SECRET_ARN": SECRET_ARNS["app"],
                        "HOME_REGION": REGION, "HOME_VPC_CIDR": LOOPBACK,
                        "RECOVERY_REGION": OTHER_REGION,
                        "RECOVERY_VPC_CIDR": OTHER_REGION_CIDR}.items():
        monkeypatch.setenv(name, value)
    assert os.environ["DB_HOST"]
    capsys.readouterr()

    outcome = handlers.migrate({}, None)

    lines = [json.loads(t) for t in capsys.readouterr().out.splitlines() if t.startswith("{")]
    assert "databases_open_to_every_role" in outcome
    assert [line["message"] for line in lines] == ["schema deployed"], lines
    assert lines[0]["databases_open_to_every_role"] == outcome["databases_open_to_every_role"]
