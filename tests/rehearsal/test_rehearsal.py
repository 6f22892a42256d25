"""The rollout rehearsed end to end under moto (in-process), both regions, real templates.

One module-scoped rehearsal (deploy, deploy again, plan, destroy) in one moto session feeds the
read-only assertions; its facts are captured as plain data while the session is open. Tests
that interrupt or break a rollout get their own session."""

import contextlib
import io
import json
import re
import time
from types import SimpleNamespace
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from templates import names

from payments_dr import cli
from stacksets.operations import RolloutError, Runner
from rehearsal.account import local_aws
from tests.conftest import EXAMPLE

ACCOUNT = "123456789012"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"
STACK_SET = "payments-example-regional"
ARTIFACTS = "payments-example-artifacts-123456789012-{}"


def in_this_session():
    """The CLI's --local inside the moto session the test holds: no new moto, and no saved
    state to replay into it (tests/stacksets/test_local_state.py covers the saved state)."""
    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch("rehearsal.account.local_aws",
                                   lambda *a, **k: contextlib.nullcontext()))
    stack.enter_context(mock.patch("rehearsal.account.resume", lambda *a, **k: 0))
    stack.enter_context(mock.patch("rehearsal.account.journal.recording",
                                   lambda *a, **k: contextlib.nullcontext()))
    return stack


def run(build_dir, *argv, config=EXAMPLE):
    """One CLI run inside the already active moto session; returns (status, JSON document)."""
    out = io.StringIO()
    with in_this_session(), contextlib.redirect_stdout(out):
        status = cli.main([argv[0], "--config", str(config), "--local", "--build-dir",
                           str(build_dir), "--output", "json", *argv[1:]])
    return status, json.loads(out.getvalue())


def instance_stack(region):
    cfn = boto3.client("cloudformation", region_name=PRIMARY)
    summary = [s for s in cfn.list_stack_instances(StackSetName=STACK_SET)["Summaries"]
               if s["Region"] == region][0]
    stack = boto3.client("cloudformation", region_name=region).describe_stacks(
        StackName=summary["StackId"])["Stacks"][0]
    return ({p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]},
            {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})


def facts_after_deploy():
    facts = {"parameters": {}, "outputs": {}, "nat_gateways": {}, "functions": {},
             "artifact_keys": {}}
    for region in (PRIMARY, SECONDARY):
        facts["parameters"][region], facts["outputs"][region] = instance_stack(region)
        ec2 = boto3.client("ec2", region_name=region)
        facts["nat_gateways"][region] = [n for n in ec2.describe_nat_gateways()["NatGateways"]
                                         if n["State"] != "deleted"]
        facts["functions"][region] = boto3.client("lambda", region_name=region).list_functions()[
            "Functions"]
        facts["artifact_keys"][region] = {o["Key"] for o in boto3.client(
            "s3", region_name=region).list_objects_v2(Bucket=ARTIFACTS.format(region))["Contents"]}
        facts.setdefault("replication", {})[region] = boto3.client(
            "s3", region_name=region).get_bucket_replication(
            Bucket=facts["outputs"][region][names.OUT_BUCKET_NAME])["ReplicationConfiguration"]
        facts.setdefault("peer_routes", {})[region] = [
            r for t in ec2.describe_route_tables()["RouteTables"] for r in t["Routes"]
            if r.get("VpcPeeringConnectionId")]
    stack = boto3.client("cloudformation", region_name=PRIMARY).describe_stacks(
        StackName="payments-example-global")["Stacks"][0]
    facts["global_parameters"] = {p["ParameterKey"]: p["ParameterValue"]
                                  for p in stack["Parameters"]}
    return facts


def leftovers():
    found = {}
    for region in (PRIMARY, SECONDARY):
        ec2 = boto3.client("ec2", region_name=region)
        cfn = boto3.client("cloudformation", region_name=region)
        found[region] = {
            "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]],
            "stacks": [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
                       if s["StackStatus"] != "DELETE_COMPLETE"],
            "peering": [p["VpcPeeringConnectionId"] for p in
                        ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
                        if p["Status"]["Code"] != "deleted"]}
    found["stack_sets"] = [s["StackSetName"] for s in boto3.client(
        "cloudformation", region_name=PRIMARY).list_stack_sets()["Summaries"]
        if s["Status"] != "DELETED"]
    return found


@pytest.fixture(scope="module")
def rehearsal(build_dir):
    with local_aws(ACCOUNT):
        started = time.perf_counter()
        deployed = run(build_dir, "deploy")
        deploy_seconds = time.perf_counter() - started
        facts = facts_after_deploy() if deployed[0] == 0 else {}
        again = run(build_dir, "deploy")
        planned = run(build_dir, "plan")
        started = time.perf_counter()
        destroyed = run(build_dir, "destroy", "--empty-buckets")
        destroy_seconds = time.perf_counter() - started
        left = leftovers()
    print(f"\nrehearsal: deploy {deploy_seconds:.1f}s, destroy {destroy_seconds:.1f}s")
    return SimpleNamespace(deployed=deployed, facts=facts, again=again, planned=planned,
                           destroyed=destroyed, left=left)


@pytest.fixture
def moto_session():
    with local_aws(ACCOUNT):
        yield


def test_full_rollout_is_one_operation_per_phase_and_override_set(rehearsal):
    status, document = rehearsal.deployed
    assert status == 0, document
    assert [(p["phase"], p["regions"]) for p in document["phases"]] == [
        ("foundation", []),  # create_stack_set (synchronous, not an operation)
        ("foundation", [PRIMARY]), ("foundation", [SECONDARY]),  # EgressMode differs
        ("join", [PRIMARY, SECONDARY]),
        ("peer-routes", [PRIMARY, SECONDARY]),
        ("global", []),
    ]
    assert document["sequential_operations"] == 5


def test_each_region_keeps_its_override_through_the_shared_phase_operations(rehearsal):
    parameters, outputs = rehearsal.facts["parameters"], rehearsal.facts["outputs"]
    assert parameters[PRIMARY][names.EGRESS_MODE] == "single-nat"
    assert parameters[SECONDARY][names.EGRESS_MODE] == "none"
    # ...and the resources follow: a NAT gateway in the primary only
    assert len(rehearsal.facts["nat_gateways"][PRIMARY]) == 1
    assert rehearsal.facts["nat_gateways"][SECONDARY] == []
    for region in (PRIMARY, SECONDARY):
        assert parameters[region][names.RECOVERY_VPC_ID] == outputs[SECONDARY][names.OUT_VPC_ID]
        assert parameters[region][names.PEERING_CONNECTION_ID] == \
            outputs[PRIMARY][names.OUT_PEERING_CONNECTION_ID]
        assert parameters[region][names.PEER_REGION_READY] == "true"


def test_after_the_join_each_receipts_bucket_replicates_to_the_other_region(rehearsal):
    """moto leaves ReplicationConfiguration out of a template's bucket: the rehearsal applies
    it (rehearsal/account/bucket_replication.py), so `status` sees the rule the join added."""
    outputs = rehearsal.facts["outputs"]
    for region, peer in ((PRIMARY, SECONDARY), (SECONDARY, PRIMARY)):
        (rule,) = rehearsal.facts["replication"][region]["Rules"]
        assert (rule["ID"], rule["Status"]) == ("to-peer-region", "Enabled")
        assert rule["Destination"]["Bucket"] == \
            f"arn:aws:s3:::{outputs[peer][names.OUT_BUCKET_NAME]}"


def test_the_secondary_routes_to_the_primary_over_the_peering(rehearsal):
    pcx = rehearsal.facts["outputs"][PRIMARY][names.OUT_PEERING_CONNECTION_ID]
    routes = rehearsal.facts["peer_routes"]
    assert {(r["DestinationCidrBlock"], r["VpcPeeringConnectionId"]) for r in routes[SECONDARY]} \
        == {("10.0.0.0/16", pcx)}
    assert {(r["DestinationCidrBlock"], r["VpcPeeringConnectionId"]) for r in routes[PRIMARY]} \
        == {("10.1.0.0/16", pcx)}


def test_lambda_code_keys_are_the_manifest_paths_uploaded_in_each_region(rehearsal, bundle):
    (manifest_path,) = bundle.zips
    for region in (PRIMARY, SECONDARY):
        key = rehearsal.facts["parameters"][region][names.FUNCTION_CODE_KEY]
        assert key == manifest_path
        assert re.fullmatch(r"lambda/functions-[0-9a-f]{64}\.zip", key)
        assert key in rehearsal.facts["artifact_keys"][region]
    for region in (PRIMARY, SECONDARY):
        assert rehearsal.facts["functions"][region], region


def test_the_global_stack_received_the_regional_outputs(rehearsal):
    values, outputs = rehearsal.facts["global_parameters"], rehearsal.facts["outputs"]
    assert values[names.PRIMARY_API_TARGET] == outputs[PRIMARY][names.OUT_API_DOMAIN_TARGET]
    assert values[names.SECONDARY_HEALTH_HOST] == outputs[SECONDARY][names.OUT_API_ENDPOINT_HOST]
    assert values[names.SECONDARY_API_TARGET_ZONE] == "Z2OJLYMUO9EFXC"


def test_a_second_deploy_is_a_no_op_and_plan_agrees(rehearsal):
    status, again = rehearsal.again
    assert status == 0
    assert again["result"] == "no changes" and again["sequential_operations"] == 0
    assert "phases" not in again
    status, planned = rehearsal.planned
    assert status == 0 and planned["next"] is None and planned["sequential_operations"] == 0


def test_destroy_order_and_what_is_left(rehearsal):
    status, document = rehearsal.destroyed
    assert status == 0, document
    assert [(p["phase"], p["action"], p["regions"]) for p in document["phases"]] == [
        ("global", "delete_stack", []),
        ("leave-global-cluster", "remove_from_global_cluster", [SECONDARY]),
        ("leave-global-cluster", "remove_from_global_cluster", [PRIMARY]),  # writer last
        ("release", "modify_db_cluster", [SECONDARY]),
        ("release", "modify_db_cluster", [PRIMARY]),
        ("release", "update_table", [SECONDARY]),
        ("release", "modify_global_cluster", [PRIMARY]),
        ("unpeer", "update_stack_instances", [PRIMARY, SECONDARY]),
        ("destroy", "delete_stack_instances", [SECONDARY]),
        ("destroy", "delete_stack_instances", [PRIMARY]),
        ("stack-set", "delete_stack_set", []),
    ]
    retained = document["retained"]
    assert f"{SECONDARY} {STACK_SET}: ReceiptsBucket" in retained
    assert f"{PRIMARY} {STACK_SET}: GlobalCluster" in retained
    assert f"{SECONDARY} {STACK_SET}: GlobalCluster" not in retained  # primary-only resource
    assert retained[-2:] == [f"artifact bucket {ARTIFACTS.format(r)}" for r in (PRIMARY, SECONDARY)]
    assert rehearsal.left == {PRIMARY: {"vpcs": [], "stacks": [], "peering": []},
                              SECONDARY: {"vpcs": [], "stacks": [], "peering": []},
                              "stack_sets": []}


def test_after_a_failover_status_is_normal_plan_is_empty_and_protection_is_enforced(
        moto_session, build_dir):
    """One deployed session: the writer moves to the recovery region (what
    FailoverGlobalCluster does; moto lacks it); status reports it as a normal state, plan has
    nothing to do; then a teardown that skipped turning deletion protection off is refused by
    moto, as DynamoDB and RDS would refuse it."""
    assert run(build_dir, "deploy")[0] == 0
    from moto.rds.models import rds_backends
    for region in (PRIMARY, SECONDARY):
        for cluster in rds_backends[ACCOUNT][region].clusters.values():
            cluster.is_writer = region == SECONDARY
    out = io.StringIO()
    with in_this_session(), contextlib.redirect_stdout(out):
        cli.main(["status", "--config", str(EXAMPLE), "--local", "--build-dir", str(build_dir)])
    text = out.getvalue()
    assert "aurora: writer in us-west-2, home us-east-1: the database runs in the recovery " \
           "region after a failover or switchover. This is a supported state" in text
    assert "swap" not in text and "regions.home" not in text
    status, planned = run(build_dir, "plan")
    assert status == 0 and planned["next"] is None  # deploy would change nothing

    with mock.patch("stacksets.teardown.release_step", lambda config, state: None):
        status, document = run(build_dir, "destroy")
    assert status == 1, document
    # the first protected resource the unpeer removes: the recovery table replica
    assert "be deleted while DeletionProtectionEnabled is set to True" in \
        document["error"]["message"]
    cluster = boto3.client("rds", region_name=SECONDARY).describe_db_clusters()["DBClusters"][0]
    assert cluster["DeletionProtection"] is True


def test_interrupted_between_phases_resumes_where_it_stopped(moto_session, build_dir, tmp_path):
    """Also the operation count without region overrides: 1 create + join + peer-routes +
    global."""
    config = tmp_path / "no-overrides.yaml"
    text = EXAMPLE.read_text()
    config.write_text(text[:text.index("region_overrides:")] +
                      text[text.index("operation_preferences:"):])
    real_wait, calls = Runner.wait, []

    def interrupted(self, operation_id, label, fail=True):
        calls.append(label)
        if label == "peer-routes":
            raise KeyboardInterrupt  # Ctrl-C while the peer-routes operation runs
        return real_wait(self, operation_id, label, fail)

    with mock.patch.object(Runner, "wait", interrupted):
        status, document = run(build_dir, "deploy", config=config)
    assert status == 130
    assert calls == ["foundation", "join", "peer-routes"]
    assert document["result"] == "interrupted"
    message = document["error"]["message"]
    assert re.fullmatch(r"interrupted: operation \S+ \(peer-routes\) on "
                        r"payments-example-regional keeps running in AWS CloudFormation; "
                        r"re-running deploy resumes it \(it waits for that operation first\)",
                        message), message
    assert [p["phase"] for p in document["phases"]] == ["foundation", "foundation", "join"]

    status, document = run(build_dir, "deploy", config=config)
    assert status == 0
    assert [p["phase"] for p in document["phases"]] == ["global"]  # peer-routes had finished
    assert 2 + 1 + document["sequential_operations"] == 4


def test_failed_operation_stops_the_rollout_with_exit_status_1(moto_session, build_dir):
    real_wait = Runner.wait

    def failing(self, operation_id, label, fail=True):
        if label == "join":
            raise RolloutError("join: operation x FAILED",
                               ["us-west-2 (123456789012): FAILED: ResourceLogicalId:Cluster"])
        return real_wait(self, operation_id, label, fail)

    with mock.patch.object(Runner, "wait", failing):
        status, document = run(build_dir, "deploy")
    assert status == 1
    assert document["result"] == "failed"
    assert "ResourceLogicalId:Cluster" in document["error"]["details"][0]
    assert [p["phase"] for p in document["phases"]] == ["foundation"] * 3  # nothing after join


def test_plan_writes_nothing(moto_session, build_dir):
    status, document = run(build_dir, "plan")
    assert status == 0
    assert document["next"]["action"] == "create_stack_set"
    assert document["sequential_operations"] == 5  # what the deploy then runs (see above)
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("cloudformation").list_stack_sets()["Summaries"] == []
    secondary = {r["name"]: r for r in document["regions"][SECONDARY]["parameters"]}
    assert secondary[names.EGRESS_MODE] == {"name": names.EGRESS_MODE, "value": "none",
                                            "source": "override (region)"}


@pytest.mark.parametrize("flags, message", [
    ([], "refusing to destroy without --confirm-production example"),
    (["--confirm-production", "example", "--empty-buckets"], "--empty-buckets is refused"),
])
def test_destroy_refuses_production(moto_session, build_dir, tmp_path, flags, message):
    production = tmp_path / "prod.yaml"
    production.write_text(EXAMPLE.read_text().replace("production: false", "production: true"))
    with mock.patch.object(Runner, "run", side_effect=AssertionError("no operation")):
        status, document = run(build_dir, "destroy", *flags, config=production)
    assert status == 1
    assert message in document["error"]["message"]


def test_a_rehearsal_starts_from_an_empty_account_even_inside_another_mock():
    """moto resets its backends only for the outermost mock: another package's mock (or a
    leaked one) must not leak its resources into a rehearsal."""
    with mock_aws():
        boto3.client("s3", region_name=PRIMARY).create_bucket(Bucket="someone-elses")
        with local_aws(ACCOUNT):
            assert boto3.client("s3", region_name=PRIMARY).list_buckets()["Buckets"] == []


def test_moto_answers_get_account_settings_with_the_default_quota(moto_session):
    """moto 5.2 has no GetAccountSettings: the rehearsal's route answers AWS's default."""
    for region in (PRIMARY, SECONDARY):
        limit = boto3.client("lambda", region_name=region).get_account_settings()["AccountLimit"]
        assert limit["ConcurrentExecutions"] == 1000


def test_a_small_lambda_quota_refuses_plan_and_deploy_before_any_write(moto_session, build_dir,
                                                                      monkeypatch):
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "100")
    for command in ("plan", "deploy"):
        status, document = run(build_dir, command)
        assert status == 1, document
        assert [d.split(" ")[0] for d in document["error"]["details"]] == [PRIMARY, SECONDARY]
        assert "quota is 100" in document["error"]["details"][0]
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("cloudformation").list_stack_sets()["Summaries"] == []
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_an_interrupted_destroy_resumes_from_what_aws_holds(moto_session, build_dir):
    """Ctrl-C after the clusters left the global cluster; the re-run continues with deletion
    protection and repeats nothing (every interruption point: tests/stacksets/test_destroy.py)."""
    from stacksets.commands.destroy import TeardownWorld

    assert run(build_dir, "deploy")[0] == 0
    real_act, acted = TeardownWorld.act, []

    def interrupted(self, step):
        record = real_act(self, step)
        acted.append(step.action)
        if len(acted) == 3:
            raise KeyboardInterrupt
        return record

    with mock.patch.object(TeardownWorld, "act", interrupted):
        status, document = run(build_dir, "destroy", "--empty-buckets")
    assert status == 130
    assert acted == ["delete_stack", "remove_from_global_cluster", "remove_from_global_cluster"]
    status, document = run(build_dir, "destroy", "--empty-buckets")
    assert status == 0, document
    assert [(p["phase"], p["action"]) for p in document["phases"]] == [
        ("release", "modify_db_cluster"), ("release", "modify_db_cluster"),
        ("release", "update_table"), ("release", "modify_global_cluster"),
        ("unpeer", "update_stack_instances"),
        ("destroy", "delete_stack_instances"), ("destroy", "delete_stack_instances"),
        ("stack-set", "delete_stack_set")]
    assert leftovers() == {PRIMARY: {"vpcs": [], "stacks": [], "peering": []},
                           SECONDARY: {"vpcs": [], "stacks": [], "peering": []},
                           "stack_sets": []}
