"""AWS rules as template checks (issue 15): each rule in `tests/aws_rules.py` holds for the
templates as built, in both roles, with either region as home, and fails for the defect it
encodes."""

import copy

import pytest

from tests import aws_rules as rules
from tests.cfn import Cfn, render
from tests.conftest import BASE_PARAMETERS

DIRECTIONS = [("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")]
ROLE = {"primary": "home", "secondary": "recovery"}


def pair(doc, home, recovery, **parameters):
    values = {**BASE_PARAMETERS, "HomeRegion": home, "RecoveryRegion": recovery,
              "PeerRegionReady": "true", **parameters}
    return {"home": render(doc, region=home, parameters=values),
            "recovery": render(doc, region=recovery, parameters=values)}


# --- defect 1: the recovery certificate never issued -----------------------------------------
@pytest.mark.parametrize("home, recovery", DIRECTIONS)
def test_every_certificates_own_name_has_a_validation_option(regional, home, recovery):
    for role, cfn in pair(regional.doc, home, recovery).items():
        assert rules.certificate_problems(cfn) == [], role


@pytest.mark.parametrize("home, recovery", DIRECTIONS)
def test_each_validation_record_is_written_by_exactly_one_stack(regional, home, recovery):
    stacks = pair(regional.doc, home, recovery)
    assert rules.validation_record_problems(stacks) == []
    domain = BASE_PARAMETERS["ApiDomainName"]
    assert rules.certificate_names(stacks["home"])["owned"] == {domain, f"{home}.{domain}"}
    assert rules.certificate_names(stacks["recovery"])["owned"] == {f"{recovery}.{domain}"}
    for cfn in stacks.values():  # both regions serve the failover name and their own host
        assert domain in rules.certificate_names(cfn)["names"]


def test_the_certificate_rule_refuses_a_name_without_option(in_region):
    cfn = in_region("secondary", PeerRegionReady="true")
    broken = copy.deepcopy(cfn.doc)
    certificate = broken["Resources"]["ApiCertificate"]["Properties"]
    certificate["DomainName"] = BASE_PARAMETERS["ApiDomainName"]
    (problem,) = rules.certificate_problems(Cfn(broken, cfn.values))
    assert problem.startswith("ApiCertificate: DomainName \"api.pay.example.com\" has no "
                              "validation option")


def test_the_ownership_rule_refuses_a_record_written_twice_or_never():
    def stack(owned, names):
        return Cfn({"Resources": {"C": {"Type": "AWS::CertificateManager::Certificate",
                                        "Properties": {
            "DomainName": names[0], "SubjectAlternativeNames": names[1:],
            "ValidationMethod": "DNS", "DomainValidationOptions": [
                {"DomainName": n, "HostedZoneId": "Z1"} for n in owned]}}}})
    twice = {"home": stack(["a.x"], ["a.x"]), "recovery": stack(["a.x"], ["a.x"])}
    assert rules.validation_record_problems(twice) == [
        "a.x: validation record written by ['home', 'recovery']"]
    never = {"home": stack(["a.x"], ["a.x", "b.x"])}
    assert rules.validation_record_problems(never) == [
        "b.x: validation record written by no stack"]
