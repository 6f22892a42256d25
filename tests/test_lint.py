"""The real linters over the built templates: cfn-lint and checkov must report nothing.

checkov pins an old boto3, so it lives in its own virtual environment (`.venv-checkov`, made by
the README's test command); set CHECKOV to use another executable.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_REGIONS = ["us-east-1", "us-west-2"]

pytestmark = pytest.mark.lint


def cfn_lint_executable() -> str:
    beside_python = Path(sys.executable).parent / "cfn-lint"
    found = str(beside_python) if beside_python.exists() else shutil.which("cfn-lint")
    if not found:
        pytest.fail("cfn-lint not found: install the test extra (pip install -e '.[test]')",
                    pytrace=False)
    return found


def with_drills_on(built, out: Path) -> list[str]:
    """Copies of both templates whose EnableDrills defaults to true, so the linters also see
    the drills' conditional resources switched on."""
    paths = []
    for name in ("regional.json", "global.json"):
        doc = json.loads((built / name).read_text())
        doc["Parameters"]["EnableDrills"]["Default"] = "true"
        path = out / f"drills-on-{name}"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True))
        paths.append(str(path))
    return paths


def test_cfn_lint_reports_nothing(built, tmp_path):
    result = subprocess.run(
        [cfn_lint_executable(), "--format", "parseable", "--regions", *LINT_REGIONS,
         "--", str(built / "regional.json"), str(built / "global.json"),
         *with_drills_on(built, tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.stdout == "" and result.returncode == 0, result.stdout + result.stderr


def checkov_executable() -> str:
    candidates = [os.environ.get("CHECKOV"), str(ROOT / ".venv-checkov" / "bin" / "checkov"),
                  shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("checkov not found: run the README's test command (it creates .venv-checkov) "
                "or set CHECKOV=/path/to/checkov", pytrace=False)


def test_checkov_reports_no_failed_check(built, tmp_path):
    scan = tmp_path / "templates"
    scan.mkdir()
    for name in ("regional.json", "global.json"):
        shutil.copy(built / name, scan / name)
    with_drills_on(built, scan)  # checkov drops resources whose Condition is false by default
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}  # offline: no guideline download
    result = subprocess.run(
        [checkov_executable(), "--directory", str(scan), "--framework", "cloudformation",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    (report,) = [r for r in reports if r.get("check_type") == "cloudformation"]
    failed = [(c["check_id"], c["resource"], c["check_name"])
              for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > 0
    scanned = {c["resource"] for c in report["results"]["passed_checks"]}
    assert {"AWS::IAM::Role.DrillRole", "AWS::S3::Bucket.DrillConfigBucket",
            "AWS::IAM::Role.RegionSwitchRole"} <= scanned
    skipped = report["results"].get("skipped_checks", [])
    for check in skipped:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 10, f"skip {check['check_id']} on {check['resource']} needs a reason"
    # A declared skip that checkov never applied is stale: it hides nothing and misleads.
    declared = {(r["Type"], lid, skip["id"])
                for name in ("regional.json", "global.json")
                for lid, r in json.loads((built / name).read_text())["Resources"].items()
                for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", [])}
    applied = {tuple(c["resource"].split(".", 1)) + (c["check_id"],) for c in skipped}
    assert declared == applied, f"declared but unused: {sorted(declared - applied)}"


# What each function's dead-letter-queue skip says about its invoker, and the invoker the
# template wires (a Lambda permission for that service principal); no permission: the rollout
# tool's or the runbook's own synchronous Invoke.
INVOKER_WORDS = {"apigateway.amazonaws.com": "API Gateway", "events.amazonaws.com": "EventBridge"}


def _function_of(reference) -> str | None:
    if isinstance(reference, dict):
        return reference.get("Ref") or (reference.get("Fn::GetAtt") or [None])[0]
    return None


def test_each_dead_letter_queue_skip_names_the_invoker_the_template_wires(regional):
    principals: dict[str, set[str]] = {}
    for permission in regional.of_type("AWS::Lambda::Permission").values():
        function = _function_of(permission["Properties"]["FunctionName"])
        principals.setdefault(function, set()).add(permission["Properties"]["Principal"])
    checked = 0
    for logical, function in regional.of_type("AWS::Lambda::Function").items():
        skips = function.get("Metadata", {}).get("checkov", {}).get("skip", [])
        reason = next((s["comment"] for s in skips if s["id"] == "CKV_AWS_116"), None)
        if reason is None:
            continue
        wired = principals.get(logical, set())
        for principal, word in INVOKER_WORDS.items():
            assert (word in reason) == (principal in wired), (logical, reason, wired)
        if not wired:
            assert "rollout tool" in reason or "runbook" in reason, (logical, reason)
        checked += 1
    assert checked == regional.count("AWS::Lambda::Function")
