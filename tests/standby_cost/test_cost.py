"""Standby cost: counts from the built templates per region and egress mode, prices from the
dated table in the repository, printed by `plan` with the three egress modes side by side."""

import dataclasses
import json
import re

import pytest

from payments_dr import cli
from standby_cost import estimate as cost

HOME, RECOVERY = "us-east-1", "us-west-2"
ROUND = {  # round prices, so every expected figure below is checkable by hand
    "nat_gateway_hour": 0.1, "public_ipv4_hour": 0.01, "interface_endpoint_az_hour": 0.02,
    "kms_key_month": 1.0, "secret_month": 0.5, "waf_web_acl_month": 5.0,
    "waf_rule_month": 1.0, "cloudwatch_alarm_month": 0.1, "cloudwatch_dashboard_month": 3.0,
    "route53_health_check_month": 1.0, "route53_health_check_feature_month": 2.0,
    "route53_hosted_zone_month": 0.5, "aurora_serverless_acu_hour": 0.2,
}


@pytest.fixture
def round_prices():
    items = {k: {"usd": v} for k, v in ROUND.items()}
    items["aurora_instance_hour"] = {"db.r7g.large": {"usd": 0.3}}
    return cost.Prices(retrieved="2026-11-30", currency="USD", hours_per_month=100,
                       regions={HOME: items, RECOVERY: {"same_as": HOME}}, path="round.json")


@pytest.fixture
def docs(bundle):
    return bundle.regional.document, bundle.global_.document


def priced(docs, prices, home_parameters=None, recovery_parameters=None, **global_parameters):
    return cost.standby_cost(
        *docs, prices, home=HOME, recovery=RECOVERY,
        parameters={HOME: home_parameters or {}, RECOVERY: recovery_parameters or {}},
        global_parameters={"HomeRegion": HOME, "RecoveryRegion": RECOVERY,
                           "HostedZoneId": "Z0123456789EXAMPLE", **global_parameters},
        global_region=HOME)


def lines(result, region, mode):
    return {line["item"]: line["usd"] for line in result["regions"][region]["modes"][mode]["lines"]}


def test_home_region_per_egress_mode(docs, round_prices):
    result = priced(docs, round_prices)
    assert lines(result, HOME, "nat-per-az") == {
        "NAT gateways + public IPv4: 2 + 2": 22.0,        # 2 x (0.1 + 0.01) x 100 h
        "interface endpoints: 0 endpoint-AZs": 0.0,
        "Aurora: 2 x db.r7g.large": 60.0,                  # writer + reader, 2 x 0.3 x 100 h
        "KMS keys: 1": 1.0,
        "Secrets Manager: 3 secret(s)": 1.5,                # master, migrator, app
        "WAF: 1 web ACL, 5 rules": 10.0,                   # the template's own web ACL
        # incl. the Aurora lag, database role, reconcile errors and regional durability alarms
        "CloudWatch alarms: 14": 1.4,
    }
    assert lines(result, HOME, "single-nat")["NAT gateways + public IPv4: 1 + 1"] == 11.0
    none = lines(result, HOME, "none")
    assert none["NAT gateways + public IPv4: 0 + 0"] == 0.0
    # Secrets Manager, KMS, CloudWatch Logs and STS endpoints in two AZs.
    assert none["interface endpoints: 8 endpoint-AZs"] == 16.0
    assert result["regions"][HOME]["modes"]["nat-per-az"]["total"] == 95.9


def test_recovery_region_has_one_reader_and_the_secret_replica(docs, round_prices):
    recovery = lines(priced(docs, round_prices), RECOVERY, "nat-per-az")
    assert recovery["Aurora: 1 x db.r7g.large"] == 30.0
    assert recovery["Secrets Manager: 3 secret(s)"] == 1.5  # the replicas, billed here
    assert recovery["CloudWatch alarms: 14"] == 1.4         # + the Aurora lag alarm


def test_global_stack_and_the_sum(docs, round_prices):
    result = priced(docs, round_prices)
    assert {line["item"]: line["usd"] for line in result["global"]["lines"]} == {
        # 2 HTTPS checks, each with HTTPS, fast interval and latency measurement
        "Route 53 health checks: 2, 6 optional features": 14.0,
        "hosted zones created: 0": 0.0,
        "KMS keys: 1": 1.0, "CloudWatch alarms: 2": 0.2, "CloudWatch dashboards: 1": 3.0,
    }
    totals = {mode: sum(result["regions"][r]["modes"][mode]["total"] for r in (HOME, RECOVERY))
              + result["global"]["total"] for mode in cost.EGRESS_MODES}
    assert result["both_regions_and_global"] == pytest.approx(totals)


def test_a_created_hosted_zone_is_priced(docs, round_prices):
    result = priced(docs, round_prices, HostedZoneId="")
    assert "hosted zones created: 1" in {line["item"] for line in result["global"]["lines"]}


def test_configured_modes_pick_their_column(docs, round_prices):
    result = priced(docs, round_prices, {"EgressMode": "single-nat"}, {"EgressMode": "none"})
    expected = (result["regions"][HOME]["modes"]["single-nat"]["total"]
                + result["regions"][RECOVERY]["modes"]["none"]["total"]
                + result["global"]["total"])
    assert result["configured_total"] == pytest.approx(expected)


def test_serverless_is_priced_at_the_minimum_capacity(docs, round_prices):
    result = priced(docs, round_prices, {"DbInstanceClass": "db.serverless"},
                    {"DbInstanceClass": "db.serverless"})
    # 0.5 ACU (the template's minimum) x 0.2 x 100 h per instance
    assert lines(result, HOME, "none")["Aurora: 2 x db.serverless at 0.5 ACU"] == 20.0


def test_a_web_acl_in_the_template_replaces_the_assumption(docs, round_prices):
    regional, global_ = json.loads(json.dumps(docs[0])), docs[1]
    regional["Resources"]["WebAcl"] = {"Type": "AWS::WAFv2::WebACL", "Properties": {
        "Rules": [{"Name": "a"}, {"Name": "b"}, {"Name": "c"}]}}
    result = priced((regional, global_), round_prices)
    assert lines(result, HOME, "none")["WAF: 1 web ACL, 3 rules"] == 8.0


def test_an_unpriced_instance_class_or_region_is_named(docs, round_prices):
    with pytest.raises(cost.CostError, match="no list price for aurora_instance_hour "
                                             "db.r8g.large in us-east-1"):
        priced(docs, round_prices, {"DbInstanceClass": "db.r8g.large"})
    with pytest.raises(cost.CostError, match="has no prices for eu-west-1"):
        round_prices.usd("eu-west-1", "kms_key_month")


def test_the_price_table_is_dated_and_sourced():
    prices = cost.load_prices()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.retrieved)
    assert prices.hours_per_month == 730
    home = prices.regions[HOME]
    for item, entry in home.items():
        entries = entry.values() if item == "aurora_instance_hour" else [entry]
        for one in entries:
            assert one["source"].startswith("https://aws.amazon.com/"), item
            assert len(one["checked"]) > 20, item
            assert one["usd"] > 0, item
    assert prices.regions[RECOVERY]["same_as"] == HOME
    assert set(ROUND) <= set(home)  # the model prices nothing the table lacks


def test_the_default_instance_class_is_priced(bundle):
    default = bundle.regional.document["Parameters"]["DbInstanceClass"]["Default"]
    assert cost.load_prices().usd(HOME, "aurora_instance_hour", default) > 0


def test_an_unreadable_price_table_is_a_clear_error(tmp_path):
    broken = tmp_path / "prices.json"
    broken.write_text("{")
    with pytest.raises(cost.CostError, match="cannot read the price table"):
        cost.load_prices(broken)


def test_describe_puts_the_three_modes_side_by_side(docs, round_prices):
    text = "\n".join(cost.describe(priced(docs, round_prices)))
    header = [line for line in text.splitlines() if "nat-per-az" in line][0]
    assert header.split() == list(cost.EGRESS_MODES)
    assert "both regions + global" in text and "usage excluded" in text
    assert "total us-east-1" in text and "total us-west-2" in text


def test_plan_local_prints_the_cost_table(build_dir, capsys):
    status = cli.main(["plan", "--config", "stacksets/environments/example.yaml", "--local",
                       "--build-dir", str(build_dir)])
    assert status == 0
    out = capsys.readouterr().out
    assert "standby cost: idle monthly list prices in USD" in out
    assert re.search(r"both regions \+ global\s+\d+\.\d\d\s+\d+\.\d\d\s+\d+\.\d\d", out)
    assert "as configured (us-east-1 single-nat, us-west-2 none)" in out


def test_plan_warns_instead_of_failing_when_a_price_is_missing(example_config, build_dir,
                                                               capsys, monkeypatch):
    empty = cost.Prices(retrieved="2026-11-30", currency="USD", hours_per_month=730,
                        regions={}, path="empty.json")
    monkeypatch.setattr(cost, "load_prices", lambda: empty)
    status = cli.main(["plan", "--config", "stacksets/environments/example.yaml", "--local",
                       "--build-dir", str(build_dir), "--output", "json"])
    captured = capsys.readouterr()
    assert status == 0
    assert "standby cost not priced: empty.json has no prices for us-east-1" in captured.err
    assert "error" in json.loads(captured.out)["standby_cost"]


def test_effective_parameters_apply_region_overrides(example_config):
    config = dataclasses.replace(example_config, parameters={"EgressMode": "single-nat"},
                                 region_overrides={RECOVERY: {"EgressMode": "none"}})
    assert cost.effective_parameters(config) == {HOME: {"EgressMode": "single-nat"},
                                                 RECOVERY: {"EgressMode": "none"}}
