"""The DR budget: computed from the templates' own values, so changing a health check or an
alarm moves it; printed by build.py and written into manifest.json."""

import copy
import json
import subprocess
import sys

import pytest

from templates import budget
from tests.conftest import ROOT


@pytest.fixture
def docs(regional, global_template):
    return copy.deepcopy(global_template.doc), copy.deepcopy(regional.doc)


def test_budget_of_the_built_templates(docs):
    result = budget.dr_budget(*docs)
    api = result["api_failover"]
    assert (api["health_check_interval_seconds"], api["failure_threshold"]) == (10, 3)
    assert api["detection_seconds"] == 30 and api["dns_ttl_seconds"] == 60
    assert api["seconds"] == 90
    assert result["database_promotion"]["seconds"] == 60
    assert "Aurora User Guide" in result["database_promotion"]["source"]
    assert result["rto"] == {"total_seconds": 150, "target_seconds": 1800,
                             "within_target": True, "headroom_seconds": 1650}
    rpo = result["rpo"]
    assert rpo["aurora_global"]["alarm_bound_seconds"] == 5
    assert rpo["dynamodb_global_tables"]["alarm_bound_seconds"] == 5
    assert rpo["s3_rtc"]["sla_seconds"] == 900 and rpo["s3_rtc"]["sla_percentile"] == 99.99


def test_a_higher_failure_threshold_moves_the_budget(docs):
    global_doc, regional_doc = docs
    global_doc["Parameters"]["HealthCheckFailureThreshold"]["Default"] = "5"
    result = budget.dr_budget(global_doc, regional_doc)
    assert result["api_failover"]["detection_seconds"] == 50
    assert result["api_failover"]["seconds"] == 110
    assert result["rto"]["total_seconds"] == 170


def test_the_environments_threshold_overrides_the_default(docs):
    result = budget.dr_budget(*docs, parameters={"HealthCheckFailureThreshold": "1"})
    assert result["api_failover"]["seconds"] == 70


def test_the_slowest_health_check_bounds_detection(docs):
    global_doc, regional_doc = docs
    global_doc["Resources"]["SecondaryHealthCheck"]["Properties"]["HealthCheckConfig"][
        "RequestInterval"] = 30
    assert budget.dr_budget(global_doc, regional_doc)["api_failover"]["detection_seconds"] == 90


def test_a_record_with_a_ttl_uses_it(docs):
    global_doc, regional_doc = docs
    record = global_doc["Resources"]["PrimaryFailoverRecord"]["Properties"]
    record.pop("AliasTarget")
    record.update(TTL="300", ResourceRecords=["203.0.113.10"])
    api = budget.dr_budget(global_doc, regional_doc)["api_failover"]
    assert api["dns_ttl_seconds"] == 300 and api["dns_ttl_source"] == "record TTL"


def test_a_looser_replication_alarm_loosens_the_rpo_bound(docs):
    global_doc, regional_doc = docs
    regional_doc["Resources"]["AuroraGlobalReplicationLagAlarm"]["Properties"]["Threshold"] = 30000
    assert budget.dr_budget(global_doc, regional_doc)["rpo"]["aurora_global"][
        "alarm_bound_seconds"] == 30


def test_acknowledged_payments_have_no_rpo_with_zero_loss_and_aurora_s_without(docs):
    acknowledged = budget.dr_budget(*docs)["rpo"]["acknowledged_payments"]
    assert (acknowledged["zero_loss"], acknowledged["bound_seconds"],
            acknowledged["degrade_after_seconds"]) == (True, 0, 10)
    assert any(line.startswith("  RPO acknowledged    0 s (ZeroLoss on") and "after 10 s" in line
               for line in budget.describe(budget.dr_budget(*docs)))
    slower = budget.dr_budget(*docs, parameters={"ZeroLossDegradeAfterSeconds": "60"})
    assert slower["rpo"]["acknowledged_payments"]["degrade_after_seconds"] == 60
    off = budget.dr_budget(*docs, parameters={"ZeroLoss": "off"})["rpo"]["acknowledged_payments"]
    assert (off["zero_loss"], off["bound_seconds"]) == (False, 5)  # the Aurora lag alarm's


def test_a_tight_target_is_reported_over(docs):
    result = budget.dr_budget(*docs, rto_target_minutes=2)
    assert result["rto"]["within_target"] is False and result["rto"]["headroom_seconds"] == -30
    assert any("OVER the target of 2 min" in line for line in budget.describe(result))


@pytest.mark.parametrize("mutate,message", [
    (lambda g, r: g["Resources"].pop("PrimaryHealthCheck") and
     g["Resources"].pop("SecondaryHealthCheck"), "no Route 53 health check"),
    (lambda g, r: [g["Resources"].pop(k) for k in ("PrimaryFailoverRecord",
                                                   "SecondaryFailoverRecord")],
     "no failover record"),
    (lambda g, r: r["Resources"].pop("AuroraGlobalReplicationLagAlarm"),
     "no alarm on AuroraGlobalDBReplicationLag"),
    (lambda g, r: g["Parameters"]["HealthCheckFailureThreshold"].pop("Default"),
     "HealthCheckFailureThreshold has no value"),
])
def test_missing_inputs_are_named(docs, mutate, message):
    mutate(*docs)
    with pytest.raises(budget.BudgetError, match=message):
        budget.dr_budget(*docs)


def test_a_non_positive_target_is_refused(docs):
    with pytest.raises(budget.BudgetError, match="must be positive"):
        budget.dr_budget(*docs, rto_target_minutes=0)


def test_manifest_carries_the_budget_build_printed(built, regional, global_template):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["dr_budget"] == json.loads(json.dumps(
        budget.dr_budget(global_template.doc, regional.doc)))


def test_build_prints_the_budget_against_the_given_target(tmp_path):
    result = subprocess.run([sys.executable, "build.py", "--out", str(tmp_path),
                             "--rto-minutes", "2"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "API failover          90 s = health check 10 s x 3 failures + DNS TTL 60 s" \
        in result.stdout
    assert "OVER the target of 2 min" in result.stdout
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["dr_budget"]["rto"]["target_seconds"] == 120


def test_build_refuses_a_non_positive_target(tmp_path):
    result = subprocess.run([sys.executable, "build.py", "--out", str(tmp_path),
                             "--rto-minutes", "0"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--rto-minutes must be positive" in result.stderr


def test_the_target_is_the_region_switch_plans_rto(docs):
    global_doc, regional_doc = docs
    assert budget.dr_budget(global_doc, regional_doc)["rto"]["target_seconds"] == 1800
    global_doc["Parameters"]["RecoveryTimeObjectiveMinutes"]["Default"] = "2"
    assert budget.dr_budget(global_doc, regional_doc)["rto"]["within_target"] is False
    assert budget.dr_budget(global_doc, regional_doc, parameters={
        "RecoveryTimeObjectiveMinutes": "10"})["rto"]["target_seconds"] == 600
