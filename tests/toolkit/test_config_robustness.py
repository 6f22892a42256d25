"""Config files the validator must refuse with exit 2 (bad input, named), not crash on (exit 1,
"unexpected error") or let through to CloudFormation: sections of the wrong type, integers
beyond Python's digit limit, Number parameters that are not plain numbers in range, and
production environments by name. Each with what is still accepted."""

from __future__ import annotations

import json

import pytest

from payments_dr import cli
from tests.conftest import EXAMPLE, edited_example
from toolkit import config as config_module
from toolkit.aws import Aws

PARAMETERS = ("parameters:                  # stack-set level: both regions\n"
              "  EgressMode: single-nat\n  HomeVpcCidr: 10.0.0.0/16\n"
              "  RecoveryVpcCidr: 10.1.0.0/16\n")
OVERRIDES = ("region_overrides:            # per region, on top of the above\n  us-west-2:\n"
             "    EgressMode: none         # the warm standby runs without NAT (interface "
             "endpoints instead)\n")


@pytest.mark.parametrize("old, new, named", [
    (PARAMETERS, "parameters: [EgressMode]\n", "parameters: got ['EgressMode']"),
    (OVERRIDES, "region_overrides: [us-west-2]\n", "region_overrides: got ['us-west-2']"),
    ("permission_model: self-managed", "permission_model: [self-managed]",
     "target.permission_model: got ['self-managed'], expected str"),
    ("health_check_failure_threshold: 3", "health_check_failure_threshold: " + "9" * 5000,
     "health_check_failure_threshold: an integer of 5000 characters"),
    ("health_check_failure_threshold: 3", "health_check_failure_threshold: [" + "9" * 5000
     + "]", "an integer of 5000 characters"),
    ("environment: example", "environment: [example]", "environment: got ['example']"),
])
def test_a_wrongly_typed_config_exits_2_naming_the_field(capsys, monkeypatch, tmp_path,
                                                         build_dir, old, new, named):
    monkeypatch.setattr(Aws, "client", lambda *a, **k: pytest.fail("an AWS call was made"))
    monkeypatch.setattr(Aws, "identity", lambda *a, **k: pytest.fail("an AWS call was made"))
    path = edited_example(tmp_path, old, new)
    status = cli.main(["plan", "--config", str(path), "--build-dir", str(build_dir),
                       "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 2, document["error"]["message"]
    assert not document["error"]["message"].startswith("unexpected error")
    assert named in document["error"]["message"]
    assert len(document["error"]["message"]) < 2000  # the value is shortened, not echoed


@pytest.mark.parametrize("value", [".nan", "NaN", "5.5", "1_0", "1e2", "inf", " 50", "901",
                                   "-1", "+5", "0x10", "9" * 5000])
def test_a_number_parameter_that_is_not_a_number_in_range_is_refused(bundle, value):
    """A float() check let 'nan' through MinValue/MaxValue (every comparison with NaN is
    false), '5.5' through for a count, and read '1_0' as 10."""
    raw = config_module.read(EXAMPLE)
    raw["parameters"]["ProcessorReservedConcurrency"] = \
        float("nan") if value == ".nan" else value
    with pytest.raises(config_module.ConfigError):
        config_module.validate(raw, "env.yaml", bundle.regional.parameters)


@pytest.mark.parametrize("environment", ["prodeu", "produs", "euprod", "liveus"])
def test_a_production_name_with_production_false_is_refused(bundle, environment):
    raw = config_module.read(EXAMPLE)
    raw["environment"] = environment
    assert raw["production"] is False
    with pytest.raises(config_module.ConfigError, match="names a production environment"):
        config_module.validate(raw, "env.yaml", bundle.regional.parameters)


@pytest.mark.parametrize("value", ["0", "50", "900", 50, "050"])
def test_a_whole_number_in_range_is_accepted(bundle, value):
    raw = config_module.read(EXAMPLE)
    raw["parameters"]["ProcessorReservedConcurrency"] = value
    config = config_module.validate(raw, "env.yaml", bundle.regional.parameters)
    assert config.parameters["ProcessorReservedConcurrency"] == str(value)


@pytest.mark.parametrize("value, problem", [
    ("1.25", None), ("0.5", None), ("2", None), ("2.5", "MaxValue is 2"),
    ("0.25", "MinValue is 0.5"), ("1e0", "expected a number written with digits")])
def test_a_number_whose_template_allows_fractions_takes_them(value, problem):
    declaration = {"Type": "Number", "Default": "1.0", "MinValue": 0.5, "MaxValue": 2}
    found = config_module.check_parameter("Ratio", value, declaration)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.parametrize("environment", ["staging", "product", "nonprod", "preprod", "dev2eu"])
def test_a_name_that_only_looks_like_production_is_accepted(bundle, environment):
    raw = config_module.read(EXAMPLE)
    raw["environment"] = environment
    assert config_module.validate(raw, "env.yaml", bundle.regional.parameters).environment == \
        environment

