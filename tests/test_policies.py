"""Checks across every policy document either template emits (IAM, KMS, SNS, S3, ...)."""

import pytest

from tests.policy_allowlist import RESOURCE_STAR, SERVICE_WILDCARD_ACTIONS


def policy_documents(name, cfn):
    """(template, logical id, path, document) for every dict with a Statement, anywhere."""
    found = []

    def walk(node, lid, path):
        if isinstance(node, dict):
            # A policy's Statement is a list; a WAF rule's Statement is a match expression; a
            # log group's DataProtectionPolicy is not a permission (templates/log_protection.py,
            # tests/test_edge.py checks it).
            if isinstance(node.get("Statement"), list) and not path.endswith(
                    ".DataProtectionPolicy"):
                found.append((name, lid, path, node))
            for key, value in node.items():
                walk(value, lid, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, lid, f"{path}[{index}]")

    for lid, resource in cfn.resources.items():
        walk(resource.get("Properties", {}), lid, lid)
    return found


@pytest.fixture(scope="module")
def documents(templates):
    docs = [d for name, cfn in templates.items() for d in policy_documents(name, cfn)]
    assert len(docs) >= 6
    return docs


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_policy_has_version_and_unique_sids(documents):
    for name, _lid, path, doc in documents:
        assert doc.get("Version") == "2012-10-17", path
        sids = [s.get("Sid") for s in doc["Statement"]]
        assert all(sids), f"{name}:{path} has a statement without Sid"
        assert len(set(sids)) == len(sids), f"{name}:{path} repeats a Sid: {sids}"


def test_no_wildcard_actions_outside_the_allowlist(documents):
    for name, lid, path, doc in documents:
        for statement in doc["Statement"]:
            if statement["Effect"] == "Deny":
                continue  # denying every action (e.g. without TLS) only narrows
            actions = as_list(statement.get("Action", []))
            assert "*" not in actions, f"{name}:{path}:{statement['Sid']} allows every action"
            assert "NotAction" not in statement, f"{name}:{path}:{statement['Sid']}"
            if any(isinstance(a, str) and a.endswith(":*") for a in actions):
                assert (name, lid, statement["Sid"]) in SERVICE_WILDCARD_ACTIONS, (
                    f"{name}:{path}:{statement['Sid']} uses {actions}")


def test_resource_star_only_where_listed_with_a_reason(documents):
    for name, lid, path, doc in documents:
        for statement in doc["Statement"]:
            if statement["Effect"] == "Deny":
                continue  # a Deny over "*" only narrows
            if "*" in as_list(statement.get("Resource", [])):
                reason = RESOURCE_STAR.get((name, lid, statement["Sid"]))
                assert reason, f"{name}:{path}:{statement['Sid']} grants on Resource \"*\""


def test_no_allow_to_anonymous_principals(documents):
    for name, _lid, path, doc in documents:
        for statement in doc["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement.get("Principal") not in ("*", {"AWS": "*"}), (
                    f"{name}:{path}:{statement['Sid']} allows anyone")


def test_allowlists_hold_no_stale_entries(documents):
    present = {(name, lid, s["Sid"]) for name, lid, _, doc in documents for s in doc["Statement"]}
    stale = (set(RESOURCE_STAR) | set(SERVICE_WILDCARD_ACTIONS)) - present
    assert not stale, f"allowlist entries that match no statement: {sorted(stale)}"


def test_every_role_is_assumed_by_one_aws_service(templates):
    """Only services assume these roles. Whether the trust carries `aws:SourceAccount` follows
    what each service documents (tests/test_aws_rules.py, issue 15 defect 6)."""
    for name, cfn in templates.items():
        for lid, role in cfn.of_type("AWS::IAM::Role").items():
            (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert list(statement["Principal"]) == ["Service"], f"{name}:{lid}"
            assert statement["Action"] == ["sts:AssumeRole"], f"{name}:{lid}"
