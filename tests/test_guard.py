"""AWS Control Tower proactive controls as a gate: cfn-guard over both built templates.

The rules and the `cfn-guard` binary come from the npm package
`@cdklabs/cdk-validator-cfnguard`, pinned in `tests/guard/package.json` and its lockfile and
installed by the README's test command (`npm ci --prefix tests/guard`). Every failure must be
listed in `tests/guard_exemptions.py` with its reason, and every exemption must still match a
failure. Set CFN_GUARD_PACKAGE to use another copy of the package.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import pytest

from tests.guard_exemptions import EXEMPTIONS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(os.environ.get("CFN_GUARD_PACKAGE") or
               ROOT / "tests" / "guard" / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard")
TEMPLATES = ("regional", "global")

pytestmark = pytest.mark.lint


def guard_binary() -> Path:
    binary = PACKAGE / "bin" / "ubuntu" / platform.machine() / "cfn-guard"
    if not binary.exists():
        pytest.fail(f"cfn-guard not found at {binary}: run `npm ci --prefix tests/guard` "
                    "(the README's test command does) or set CFN_GUARD_PACKAGE", pytrace=False)
    return binary


def failing_resources(not_compliant: dict) -> set[str]:
    """Logical ids named in the paths of one rule's failed clauses."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            path = node.get("path")
            if isinstance(path, str) and path.startswith("/Resources/"):
                found.add(path.split("/")[2])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(not_compliant)
    return found


def run_guard(files: list[Path]) -> dict[tuple[str, str], set[str]]:
    """(template, rule) -> failing logical ids, for every rule that failed."""
    arguments = [str(guard_binary()), "validate", "--structured", "--output-format", "json",
                 "--show-summary", "none",
                 "--rules", str(PACKAGE / "rules" / "control-tower" / "cfn-guard")]
    for path in files:
        arguments += ["--data", str(path)]
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=120)
    # Exit status 19 means "some rule failed"; anything else non-zero is a broken run.
    assert result.returncode in (0, 19), result.stderr
    failures: dict[tuple[str, str], set[str]] = {}
    for report in json.loads(result.stdout):
        template = Path(report["name"]).stem
        for rule in report["not_compliant"]:
            name = rule["Rule"]["name"]
            failures.setdefault((template, name), set()).update(failing_resources(rule))
    return failures


@pytest.fixture(scope="module")
def failures(built) -> dict[tuple[str, str], set[str]]:
    return run_guard([built / f"{name}.json" for name in TEMPLATES])


def test_every_control_tower_failure_is_an_exemption_with_a_reason(failures):
    unexplained = {}
    for key, resources in failures.items():
        exempt, _reason = EXEMPTIONS.get(key, (frozenset(), ""))
        if resources - exempt or not resources:
            unexplained[key] = sorted(resources - exempt) or "(no resource named)"
    assert not unexplained, f"cfn-guard failures without an exemption: {unexplained}"


def test_every_exemption_still_matches_a_failure(failures):
    stale = {key: sorted(resources - failures.get(key, set()))
             for key, (resources, _reason) in EXEMPTIONS.items()
             if resources - failures.get(key, set())}
    assert not stale, f"exemptions that no longer match a failure (remove them): {stale}"


def test_every_exemption_gives_a_one_line_reason():
    for key, (resources, reason) in EXEMPTIONS.items():
        assert resources, key
        assert len(reason) > 20 and "\n" not in reason, key


def test_the_gate_fails_a_template_that_breaks_a_control(tmp_path):
    """The gate is real: a key without the grant restriction and a public Lambda permission
    are reported, by rule and resource."""
    bad = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "LooseKey": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {
            "Version": "2012-10-17", "Statement": [{
                "Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "*"},
                "Action": "kms:*", "Resource": "*"}]}}},
        "OpenPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*"}},
    }}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    failures = run_guard([path])
    assert failures[("bad", "kms_create_grant_aws_service_check")] == {"LooseKey"}
    assert failures[("bad", "lambda_function_public_access_prohibited_check")] == {
        "OpenPermission"}


def test_kms_keys_limit_grants_to_aws_services(templates):
    for name, cfn in templates.items():
        for lid, key in cfn.of_type("AWS::KMS::Key").items():
            (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                            if s["Sid"] == "DenyGrantsExceptForAwsResources"]
            assert statement["Effect"] == "Deny" and statement["Action"] == ["kms:CreateGrant"]
            assert statement["Principal"] == {"AWS": "*"}
            assert statement["Condition"] == {"BoolIfExists": {
                "kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}, \
                f"{name}:{lid}"
