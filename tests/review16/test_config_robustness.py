"""Review 16: config files the validator must refuse with exit 2 (bad input, named), not crash
on (exit 1, "unexpected error") or let through to CloudFormation."""

from __future__ import annotations

import json

import pytest

from payments_dr import cli
from tests.conftest import EXAMPLE
from toolkit import config as config_module
from toolkit.aws import Aws

PARAMETERS = ("parameters:                  # stack-set level: both regions\n"
              "  EgressMode: single-nat\n  HomeVpcCidr: 10.0.0.0/16\n"
              "  RecoveryVpcCidr: 10.1.0.0/16\n")
OVERRIDES = ("region_overrides:            # per region, on top of the above\n  us-west-2:\n"
             "    EgressMode: none         # the warm standby runs without NAT (interface "
             "endpoints instead)\n")


def _config(tmp_path, old, new):
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "env.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.xfail(strict=True, reason=(
    "review16 F6: a section of the wrong type (parameters: [a], region_overrides: [1], "
    "target.permission_model: [x]) or an integer over Python's 4300-digit limit raises "
    "AttributeError / TypeError / ValueError inside validate()/read(): exit 1 'unexpected "
    "error' instead of exit 2 naming the field"))
@pytest.mark.parametrize("old, new", [
    (PARAMETERS, "parameters: [EgressMode]\n"),
    (OVERRIDES, "region_overrides: [us-west-2]\n"),
    ("permission_model: self-managed", "permission_model: [self-managed]"),
    ("health_check_failure_threshold: 3", "health_check_failure_threshold: " + "9" * 5000),
])
def test_a_wrongly_typed_config_exits_2_naming_the_field(capsys, monkeypatch, tmp_path,
                                                         build_dir, old, new):
    monkeypatch.setattr(Aws, "client", lambda *a, **k: pytest.fail("an AWS call was made"))
    monkeypatch.setattr(Aws, "identity", lambda *a, **k: pytest.fail("an AWS call was made"))
    path = _config(tmp_path, old, new)
    status = cli.main(["plan", "--config", str(path), "--build-dir", str(build_dir),
                       "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 2, document["error"]["message"]
    assert not document["error"]["message"].startswith("unexpected error")


@pytest.mark.xfail(strict=True, reason=(
    "review16 F7: check_parameter() tests a Number parameter with float(): 'nan' passes "
    "MinValue/MaxValue (every comparison with NaN is false), '5.5' passes for a reserved "
    "concurrency and '1_0' is read as 10; plan exits 0 and CloudFormation gets the value"))
@pytest.mark.parametrize("value", [".nan", "NaN", "5.5", "1_0"])
def test_a_number_parameter_that_is_not_a_number_in_range_is_refused(bundle, value):
    raw = config_module.read(EXAMPLE)
    raw["parameters"]["ProcessorReservedConcurrency"] = \
        float("nan") if value == ".nan" else value
    with pytest.raises(config_module.ConfigError):
        config_module.validate(raw, "env.yaml", bundle.regional.parameters)


@pytest.mark.xfail(strict=True, reason=(
    "review16 F8: PRODUCTION_NAME only matches prod/prd/production/live followed by '-', '_' "
    "or digits, but EnvironmentName allows neither '-' nor '_' (2-10 of a-z0-9): the natural "
    "names of a production environment per region (prodeu, produs, euprod, liveus) pass with "
    "production: false, and destroy is then not guarded"))
@pytest.mark.parametrize("environment", ["prodeu", "produs", "euprod", "liveus"])
def test_a_production_name_with_production_false_is_refused(bundle, environment):
    raw = config_module.read(EXAMPLE)
    raw["environment"] = environment
    assert raw["production"] is False
    with pytest.raises(config_module.ConfigError, match="names a production environment"):
        config_module.validate(raw, "env.yaml", bundle.regional.parameters)


@pytest.mark.xfail(strict=True, reason=(
    "review16 F23: docs/rollout.md says `environment: prod` with `production: false` is "
    "refused before the build; the check is in validate(), which runs after the in-process "
    "build (cli.py _run: read, build, validate), so the build runs first"))
def test_a_production_name_with_production_false_is_refused_before_the_build(
        capsys, monkeypatch, tmp_path):
    from toolkit import bundle as bundle_module

    def never_build(*args, **kwargs):
        raise AssertionError("the build ran")

    monkeypatch.setattr(bundle_module, "build_in_memory", never_build)
    path = _config(tmp_path, "environment: example", "environment: prod")
    status = cli.main(["plan", "--config", str(path), "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 2 and "names a production environment" in document["error"]["message"]
