"""Failover DNS: alias records with the right roles, health checks on each region's own host."""

import pytest

from tests.cfn import render

PARAMS = {
    "EnvironmentName": "test", "DomainName": "api.pay.example.com", "HostedZoneId": "Z0123456789ABC",
    "PrimaryApiDomainTarget": "d-primary.execute-api.us-east-1.amazonaws.com",
    "PrimaryApiDomainHostedZoneId": "Z1UJRXOUMOOFQ8",
    "PrimaryHealthCheckHost": "abc123.execute-api.us-east-1.amazonaws.com",
    "SecondaryApiDomainTarget": "d-secondary.execute-api.us-west-2.amazonaws.com",
    "SecondaryApiDomainHostedZoneId": "Z2OJLYMUO9EFXC",
    "SecondaryHealthCheckHost": "def456.execute-api.us-west-2.amazonaws.com",
    "HomeRegion": "us-east-1", "RecoveryRegion": "us-west-2",
}


@pytest.fixture(scope="module")
def dns(global_template):
    return render(global_template.doc, region="us-east-1", parameters=PARAMS)


@pytest.mark.parametrize("role", ["Primary", "Secondary"])
def test_failover_records_are_alias_records_with_their_role(dns, role):
    record = dns.props(f"{role}FailoverRecord")
    assert record["Failover"] == role.upper()
    assert record["Type"] == "A"
    assert record["Name"] == PARAMS["DomainName"]
    assert record["AliasTarget"]["DNSName"] == PARAMS[f"{role}ApiDomainTarget"]
    assert record["AliasTarget"]["HostedZoneId"] == PARAMS[f"{role}ApiDomainHostedZoneId"]
    assert "TTL" not in record and "ResourceRecords" not in record  # alias records take no TTL
    assert record["HealthCheckId"] == {"Ref": f"{role}HealthCheck"}
    assert record["HostedZoneId"] == PARAMS["HostedZoneId"]


def test_exactly_one_primary_and_one_secondary(dns):
    records = dns.of_type("AWS::Route53::RecordSet").values()
    assert sorted(r["Properties"]["Failover"] for r in records) == ["PRIMARY", "SECONDARY"]
    assert len({r["Properties"]["SetIdentifier"] for r in records}) == 2


@pytest.mark.parametrize("role", ["Primary", "Secondary"])
def test_health_check_probes_the_regions_own_endpoint(dns, role):
    config = dns.props(f"{role}HealthCheck")["HealthCheckConfig"]
    assert config["FullyQualifiedDomainName"] == PARAMS[f"{role}HealthCheckHost"]
    assert config["FullyQualifiedDomainName"] != PARAMS["DomainName"]
    assert config == {**config, "Type": "HTTPS", "Port": 443, "ResourcePath": "/health",
                      "RequestInterval": 10, "EnableSNI": True, "MeasureLatency": True}
    assert config["FailureThreshold"] == "3"


def test_hosted_zone_is_created_only_without_an_existing_id(global_template):
    existing = render(global_template.doc, region="us-east-1", parameters=PARAMS)
    assert existing.count("AWS::Route53::HostedZone") == 0
    created = render(global_template.doc, region="us-east-1",
                     parameters={**PARAMS, "HostedZoneId": "", "ZoneName": "pay.example.com"})
    assert created.count("AWS::Route53::HostedZone") == 1
    assert created.props("PrimaryFailoverRecord")["HostedZoneId"] == {"Ref": "HostedZone"}


def test_each_health_check_has_an_alarm_on_its_status(dns):
    alarms = dns.of_type("AWS::CloudWatch::Alarm").values()
    watched = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms
               if a["Properties"]["MetricName"] == "HealthCheckStatus"}
    assert watched == {"PrimaryHealthCheck", "SecondaryHealthCheck"}
