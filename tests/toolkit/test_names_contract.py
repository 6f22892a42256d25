"""The names contract: every physical name comes from templates/physical_names.py (filled in
by toolkit/resource_names.py or `concrete()`), read from the source of the operator tools and
the rehearsal; and the names the tools build that way are the ones the stacks use."""

from __future__ import annotations

import ast
import re
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("payments_dr", "toolkit", "stacksets", "runbook", "merchant_keys", "rehearsal")


NAME = re.compile(r"^f[\"']\{[^}]*prefix[^}]*\}[-/][^ ]*[\"']$")


def hand_built_names() -> list[str]:
    """f-strings that build a physical name from a prefix by hand: they start with a
    `{...prefix...}` value followed by '-' or '/' and contain no space (a name, not a
    sentence), e.g. f"{self.prefix}-payments", f"{prefix}-{region}", f"{prefix}/{kind}"."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text()
            for node in ast.walk(ast.parse(source, str(path))):
                if isinstance(node, ast.JoinedStr) and \
                        NAME.match(ast.get_source_segment(source, node) or ""):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_scan_finds_what_it_looks_for():
    """The scan itself can fail (a measurement that cannot come out differently is none)."""
    assert NAME.match('f"{self.prefix}-payments"') and NAME.match("f'{prefix}/{kind}'")
    assert not NAME.match('f"{config.name_prefix}-{config.environment}: payment API"')


def test_no_physical_name_is_built_by_hand():
    """Found once: the game day's table, bucket and secret (its secret was `{prefix}/{kind}`
    where the templates say `<prefix>-<env>/aurora/<kind>`), the stack names, the artifact
    bucket prefix and name."""
    assert hand_built_names() == []


def test_the_tools_names_are_the_stacks_names(example_config, regional):
    from stacksets import artifacts

    assert (example_config.stack_set_name, example_config.global_stack_name) == (
        "payments-example-regional", "payments-example-global")
    assert example_config.artifact_bucket_prefix == "payments-example-artifacts-123456789012"
    assert artifacts.bucket_name(example_config.artifact_bucket_prefix, "us-west-2") == \
        "payments-example-artifacts-123456789012-us-west-2"
    code = {r["Properties"]["Code"]["S3Bucket"]["Fn::Sub"]
            for r in regional.doc["Resources"].values() if r["Type"] == "AWS::Lambda::Function"}
    assert code == {"${ArtifactBucketPrefix}-${AWS::Region}"}


def test_the_game_days_names_are_the_templates():
    from rehearsal.gameday import local_world
    from templates import physical_names

    assert physical_names.concrete(physical_names.secret_name("app"), local_world.DRILL) == \
        "payments-drill/aurora/app"
    assert physical_names.concrete(physical_names.bucket_name("us-west-2"),
                                   local_world.DRILL) == "payments-drill-123456789012-us-west-2"
