"""Template-wide rules: parameters documented and constrained, no literal ARNs, regions or AZs,
outputs described."""

import json
import re

import pytest


def test_no_literal_arn_partition(templates):
    for name, cfn in templates.items():
        text = json.dumps(cfn.doc)
        assert "arn:aws:" not in text, f"{name} has a literal arn:aws: (use ${{AWS::Partition}})"


def test_no_region_or_zone_name_baked_in(templates):
    region = re.compile(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|"
                        r"northeast|southeast|northwest|southwest)-\d[a-z]?\b")
    for name, cfn in templates.items():
        text = json.dumps([cfn.doc.get(k) for k in ("Resources", "Outputs", "Conditions", "Rules")])
        assert not region.findall(text), f"{name} names a region/AZ: {region.findall(text)}"


@pytest.mark.parametrize("which", ["regional", "global"])
def test_every_parameter_is_described_constrained_and_grouped(templates, which):
    doc = templates[which].doc
    interface = doc["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [p for g in interface["ParameterGroups"] for p in g["Parameters"]]
    assert sorted(grouped) == sorted(doc["Parameters"]), "each parameter in exactly one group"
    assert set(interface["ParameterLabels"]) == set(doc["Parameters"])
    for name, spec in doc["Parameters"].items():
        assert len(spec.get("Description", "")) > 20, name
        constrained = "AllowedValues" in spec or "AllowedPattern" in spec or (
            spec["Type"] == "Number" and "MinValue" in spec and "MaxValue" in spec)
        assert constrained, f"{name} accepts anything"
        if "Default" in spec and "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], spec["Default"]), f"{name} default"
        if "Default" in spec and "AllowedValues" in spec:
            assert spec["Default"] in spec["AllowedValues"], name


@pytest.mark.parametrize("which", ["regional", "global"])
def test_every_output_is_described(templates, which):
    for name, output in templates[which].doc["Outputs"].items():
        assert output.get("Description"), name


def test_regional_role_rule_rejects_a_third_region_and_equal_cidrs(regional):
    assertions = regional.doc["Rules"]["RegionRoles"]["Assertions"]
    text = json.dumps(assertions)
    assert "AWS::Region" in text and "HomeVpcCidr" in text
    assert len(assertions) == 3


def test_customer_keys_rotate_and_have_a_deterministic_alias(templates):
    for cfn in templates.values():
        (key,) = cfn.of_type("AWS::KMS::Key").values()
        assert key["Properties"]["EnableKeyRotation"] is True
        (alias,) = cfn.of_type("AWS::KMS::Alias").values()
        assert alias["Properties"]["AliasName"]["Fn::Sub"].startswith(
            "alias/${NamePrefix}-${EnvironmentName}")
