"""Config validation: one test per rule; every error names field, value and what is allowed."""

import copy

import pytest

from toolkit import config as config_module
from toolkit.config import ConfigError


def problems(raw, bundle):
    with pytest.raises(ConfigError) as caught:
        config_module.validate(raw, "env.yaml", bundle.regional.parameters)
    return caught.value.problems


def changed(raw, path, value):
    raw = copy.deepcopy(raw)
    node = raw
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return raw


def test_the_example_is_valid(example_config):
    assert example_config.regions == ("us-east-1", "us-west-2")
    assert example_config.stack_set_name == "payments-example-regional"
    assert example_config.global_stack_name == "payments-example-global"


@pytest.mark.parametrize("path, value, expected", [
    ("colour", "blue", ["colour: unknown key; allowed keys here:", "alarm_email"]),
    ("regions.tertiary", "eu-west-1", ["regions.tertiary: unknown key", "recovery"]),
    ("regions.recovery", "us-east-1", ["regions.recovery: got 'us-east-1', the same as "
                                        "regions.home"]),
    ("regions.home", "us-middle-7", ["regions.home: got 'us-middle-7'", "eu-west-1"]),
    ("target.account", "12345", ["target.account: got '12345'; expected 12 digits"]),
    ("parameters.RecoveryVpcCidr", "10.0.0.0/16",
     ["parameters.RecoveryVpcCidr: 10.0.0.0/16 overlaps HomeVpcCidr 10.0.0.0/16"]),
    ("parameters.TurboMode", "on", ["parameters.TurboMode: the regional template declares no "
                                    "such parameter; declared:", "EgressMode"]),
    ("parameters.EgressMode", "lots", ["parameters.EgressMode: got 'lots'; allowed values: "
                                       "nat-per-az, single-nat, none"]),
    ("parameters.EnvironmentName", "x", ["parameters.EnvironmentName: set by the tool from "
                                         "environment"]),
    ("parameters.RecoveryVpcId", "vpc-12345678", ["parameters.RecoveryVpcId: set by the "
                                                   "rollout phases"]),
    ("region_overrides.us-west-2.HomeVpcCidr", "10.9.0.0/16",
     ["region_overrides.us-west-2.HomeVpcCidr: both regions must see the same value"]),
    ("region_overrides.eu-west-1", {"EgressMode": "none"},
     ["region_overrides.eu-west-1: got region 'eu-west-1'; allowed: the configured regions "
      "us-east-1, us-west-2"]),
    ("target.permission_model", "service-managed",
     ["target.organizational_units: required with permission_model service-managed"]),
    ("target.permission_model", "borrowed", ["target.permission_model: got 'borrowed'; "
                                             "allowed values: self-managed, service-managed"]),
    ("environment", "Prod_1", ["environment: got 'Prod_1'; must be 2-10 of a-z and 0-9, "
                               "starting with a letter"]),
    ("parameters.HomeVpcCidr", "10.0.0.0/8", ["parameters.HomeVpcCidr: got '10.0.0.0/8'; must "
                                              "be an IPv4 /16 such as 10.0.0.0/16"]),
    ("regions.primary", "us-east-1", ["regions.primary: renamed to regions.home"]),
    ("regions.secondary", "us-west-2", ["regions.secondary: renamed to regions.recovery"]),
    ("regoins", {}, ["regoins: unknown key; did you mean 'regions'?"]),
    ("target.acount", "1", ["target.acount: unknown key; did you mean 'account'?"]),
    ("operation_preferences.max_concurrent_percentage", 150,
     ["operation_preferences.max_concurrent_percentage: got 150; allowed: 1..100"]),
    ("production", "yes", ["production: got 'yes', expected bool"]),
    ("operation_preferences.failure_tolerance_count", 1,
     ["operation_preferences.failure_tolerance_count: got 1; allowed: 0. FailureToleranceCount "
      "counts failed stack instances per region"]),
    ("region_overrides.us-west-2.ApiDomainName", "x.example.com",
     ["region_overrides.us-west-2.ApiDomainName: set by the tool from domain.name"]),
])
def test_each_rule_names_field_value_and_allowed(raw_example, bundle, path, value, expected):
    found = "\n".join(problems(changed(raw_example, path, value), bundle))
    for fragment in expected:
        assert fragment in found


def test_required_fields(raw_example, bundle):
    raw = copy.deepcopy(raw_example)
    del raw["production"]
    del raw["regions"]["recovery"]
    del raw["regions"]["administration"]
    found = problems(raw, bundle)
    assert "production: required" in found
    assert "regions.recovery: required (the standby region)" in found
    assert any(p.startswith("regions.administration: required (where the stack set lives")
               and "independent of the home and recovery regions" in p for p in found)


def test_old_region_keys_name_the_new_ones_instead_of_being_required(raw_example, bundle):
    raw = copy.deepcopy(raw_example)
    raw["regions"] = {"primary": "us-east-1", "secondary": "us-west-2",
                      "administration": "us-east-1"}
    found = problems(raw, bundle)
    assert [p.split(":")[0] for p in found] == ["regions.primary", "regions.secondary"]
    assert "renamed to regions.home" in found[0] and "renamed to regions.recovery" in found[1]


def test_the_administration_region_is_its_own_setting(raw_example, bundle):
    raw = changed(raw_example, "regions.administration", "eu-west-1")
    config = config_module.validate(raw, "env.yaml", bundle.regional.parameters)
    assert (config.home_region, config.recovery_region, config.administration_region) == \
        ("us-east-1", "us-west-2", "eu-west-1")
    assert config.role_of("us-east-1") == "home" and config.role_of("us-west-2") == "recovery"


def test_all_problems_are_reported_at_once(raw_example, bundle):
    raw = changed(changed(raw_example, "colour", 1), "target.account", "x")
    assert len(problems(raw, bundle)) == 2


def test_yaml_numbers_and_booleans_become_parameter_strings(raw_example, bundle):
    raw = changed(raw_example, "parameters.DbBackupRetentionDays", 14)
    if "DbBackupRetentionDays" not in bundle.regional.parameters:
        pytest.skip("the regional template does not declare DbBackupRetentionDays")
    config = config_module.validate(raw, "env.yaml", bundle.regional.parameters)
    assert config.parameters["DbBackupRetentionDays"] == "14"


def test_an_override_of_a_parameter_without_default_needs_a_stack_set_value(raw_example, bundle):
    declared = {**bundle.regional.parameters, "PagerKey": {"Type": "String"}}
    raw = changed(raw_example, "region_overrides.us-west-2.PagerKey", "k2")
    with pytest.raises(ConfigError) as caught:
        config_module.validate(raw, "env.yaml", declared)
    assert caught.value.problems == [
        "region_overrides.us-west-2.PagerKey: the template has no default for it, so the stack "
        "set needs a value too (AWS only overrides parameters the stack set has); set "
        "parameters.PagerKey as well"]
    config_module.validate(changed(raw, "parameters.PagerKey", "k1"), "env.yaml", declared)


# --- the file itself: what a config must not be (issue 16, "Operator robustness") -----------
BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
                    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]"
                    for i in range(8)]) + "\nenvironment: *i\n"


@pytest.mark.parametrize("content, expected", [
    (BOMB.encode(), "line 1: anchor &a: anchors and aliases are not allowed"),
    (b"a: [1]\nb: *a\n", "line 2: alias *a: anchors and aliases are not allowed"),
    (b"environment: &e example\nproduction: false\n", "line 1: anchor &e: anchors and aliases"),
    (b"environment: example\nproduction: false\nenvironment: prod\n",
     "line 3: duplicate key 'environment' (first on line 1); each key may appear once"),
    (b"regions:\n  home: us-east-1\n  home: us-west-2\n", "line 3: duplicate key 'home'"),
    (b"environment: caf\xe9\n", "not UTF-8 text (byte 16: b'\\xe9'); save the file as UTF-8"),
    (b"parameters: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested more than 16 levels deep"),
    (b"a: " + b"x" * (300 * 1024) + b"\n", "larger than 262144 bytes"),
    (b"- just\n- a list\n", "top level: got list, expected a mapping"),
    (b"environment: [unclosed\n", "not valid YAML"),
    (b"? [a, b]\n: c\n", "a key must be a plain value"),
])
def test_a_config_file_that_is_not_a_plain_yaml_mapping_is_refused(tmp_path, content, expected):
    path = tmp_path / "env.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        config_module.read(path)
    assert expected in str(caught.value)
    assert len(str(caught.value)) < 400  # the message never echoes an expanded value


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    """Before the fix, `plan` grew to 1.6 GB in 20 s building repr() of the expanded value."""
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    started = time.perf_counter()
    with pytest.raises(ConfigError):
        config_module.read(path)
    assert time.perf_counter() - started < 0.5


def test_large_values_are_shortened_in_messages(raw_example, bundle):
    found = problems(changed(raw_example, "production", ["x" * 50] * 1000), bundle)
    assert found == ["production: got ['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', "
                     "'xxxxxxxxxxxxxxxxxxxxxxxx... (54000 characters), expected bool"]


@pytest.mark.parametrize("environment, token", [
    ("prod", "prod"), ("production", "production"), ("prd", "prd"), ("live", "live"),
    ("prod-eu", "prod"), ("prod2", "prod"), ("prodeu", "prod"), ("produs", "prod"),
    ("euprod", "prod"), ("liveus", "live"), ("prd2eu", "prd"), ("preprodprd", "prd"),
    ("olive", "live")])  # a word that contains a token: refused on purpose (docs/rollout.md)
def test_a_production_name_needs_production_true(raw_example, bundle, environment, token):
    raw = changed(raw_example, "environment", environment)
    declared = {k: v for k, v in bundle.regional.parameters.items() if k != "EnvironmentName"}
    with pytest.raises(ConfigError) as caught:
        config_module.validate(raw, "env.yaml", declared)
    assert caught.value.problems == [
        f"production: false, but environment '{environment}' names a production environment "
        f"(it contains '{token}': prod, prd, production or live anywhere in the name); set "
        "production: true (a production environment refuses teardown without "
        "--confirm-production), or name the environment for what it is without them (e.g. "
        "staging, test, dev)"]
    config_module.validate(changed(raw, "production", True), "env.yaml", declared)


@pytest.mark.parametrize("environment", ["staging", "product", "dev", "preprod", "example",
                                         "nonprod", "prelive", "produce"])
def test_other_names_may_be_non_production(raw_example, bundle, environment):
    raw = changed(raw_example, "environment", environment)
    declared = {k: v for k, v in bundle.regional.parameters.items() if k != "EnvironmentName"}
    assert config_module.validate(raw, "env.yaml", declared).environment == environment
