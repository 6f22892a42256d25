"""The payment service in the regional template: functions, roles, API, domain, alarms."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE_PARAMETERS

ROOT = Path(__file__).resolve().parent.parent
READY = {"PeerRegionReady": "true"}
FUNCTIONS = ["ProcessorFunction", "HealthFunction"]


def handler_config():
    """lambda/payments/config.py, loaded by path (lambda/ is not a package)."""
    spec = importlib.util.spec_from_file_location("handler_config",
                                                  ROOT / "lambda" / "payments" / "config.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lid", FUNCTIONS)
def test_template_sets_exactly_the_variables_the_code_reads(in_region, lid):
    config = handler_config()
    # Drills off (the default): the FIS extension's two variables are absent.
    variables = set(in_region("primary").props(lid)["Environment"]["Variables"])
    assert variables == set(config.ENV_VARS)
    assert not variables & set(config.RUNTIME_ENV_VARS)


@pytest.mark.parametrize("role", ["primary", "secondary"])
@pytest.mark.parametrize("lid", FUNCTIONS)
def test_functions_run_in_private_subnets_on_arm64_with_tracing(in_region, role, lid):
    props = in_region(role, **READY).props(lid)
    assert props["VpcConfig"] == {"SubnetIds": [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}],
                                  "SecurityGroupIds": [{"Ref": "LambdaSecurityGroup"}]}
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"].startswith("python3.1")
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["KmsKeyArn"] == {"Fn::GetAtt": ["Key", "Arn"]}
    env = in_region(role, **READY, GlobalWriterEndpoint=WRITER).props(lid)["Environment"]
    # Both regions reach the writer through the global writer endpoint, wherever it is.
    assert env["Variables"]["DB_HOST"] == WRITER


WRITER = "payments-prod-global.global-abc123.global.rds.amazonaws.com"


def test_until_the_join_phase_the_home_region_uses_its_own_cluster_and_recovery_has_none(
    in_region,
):
    home = in_region("primary").props("ProcessorFunction")["Environment"]["Variables"]
    assert home["DB_HOST"] == {"Fn::GetAtt": ["DbCluster", "Endpoint.Address"]}
    recovery = in_region("secondary").props("ProcessorFunction")["Environment"]["Variables"]
    assert recovery["DB_HOST"] == ""


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_reserved_concurrency_is_a_parameter_and_zero_means_no_reservation(in_region, role):
    default = in_region(role)
    assert default.props("ProcessorFunction")["ReservedConcurrentExecutions"] == "50"
    assert "ReservedConcurrentExecutions" not in default.props("HealthFunction")
    chosen = in_region(role, ProcessorReservedConcurrency="0", HealthReservedConcurrency="3")
    assert "ReservedConcurrentExecutions" not in chosen.props("ProcessorFunction")
    assert chosen.props("HealthFunction")["ReservedConcurrentExecutions"] == "3"


def test_reservation_bounds_leave_the_unreserved_hundred_of_the_default_quota(regional):
    for name in ("ProcessorReservedConcurrency", "HealthReservedConcurrency"):
        parameter = regional.doc["Parameters"][name]
        assert (parameter["MinValue"], parameter["MaxValue"]) == (0, 900)
    assert regional.doc["Parameters"]["HealthReservedConcurrency"]["Default"] == "0"


@pytest.mark.parametrize("lid", ["ProcessorFunction", "HealthFunction", "MigrateFunction",
                                 "AuthorizerFunction"])
def test_code_comes_from_the_regional_artifact_bucket_by_content_hash(in_region, lid):
    code = in_region("primary").props(lid)["Code"]
    assert code == {"S3Bucket": {"Fn::Sub": "${ArtifactBucketPrefix}-${AWS::Region}"},
                    "S3Key": BASE_PARAMETERS["FunctionCodeKey"]}


@pytest.mark.parametrize("lid", ["ProcessorLogGroup", "HealthLogGroup", "AuthorizerLogGroup",
                                 "ApiAccessLogGroup", "ApiExecutionLogGroup", "WafLogGroup"])
def test_log_groups_are_encrypted_and_kept(regional, lid):
    props = regional.props(lid)
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert props["RetentionInDays"] >= 365


def role_actions(cfn, role):
    """The role's own policy (the drills' conditional policy is tested in test_drills)."""
    policy = cfn.props(role)["Policies"][0]
    return {s["Sid"]: (sorted(s["Action"]), s["Resource"])
            for s in policy["PolicyDocument"]["Statement"]}


BASE = {"WriteOwnLogs", "ManageVpcNetworkInterfaces", "PublishTraces"}


def test_processor_role_grants_exactly_what_the_processor_calls(regional):
    statements = role_actions(regional, "ProcessorRole")
    assert set(statements) - BASE == {"IdempotencyAndStatusItems", "WriteReceipts",
                                      "ReadDatabaseSecret", "UseRegionalKey"}
    actions, resources = statements["IdempotencyAndStatusItems"]
    assert actions == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
                       "dynamodb:UpdateItem"]
    assert "table/${Name}" in resources[0]["Fn::Sub"][0]
    actions, resources = statements["WriteReceipts"]
    assert actions == ["s3:PutObject"]
    assert resources[0]["Fn::Sub"][0] == "${Arn}/receipts/*"
    actions, resources = statements["ReadDatabaseSecret"]
    assert actions == ["secretsmanager:GetSecretValue"]
    assert resources[0]["Fn::Sub"][0].endswith("secret:${Name}-??????")
    assert statements["UseRegionalKey"] == (["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                                            [{"Fn::GetAtt": ["Key", "Arn"]}])
    policy = regional.props("ProcessorRole")["Policies"][0]
    (key_use,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "UseRegionalKey"]
    services = [v["Fn::Sub"].split(".")[0] for v in
                key_use["Condition"]["StringEquals"]["kms:ViaService"]]
    assert services == ["secretsmanager", "s3", "dynamodb"]  # never the key directly


def test_health_role_can_only_probe_its_own_region_s_item_and_object(regional):
    """Review 18 (F6): /health proves the writes a payment makes, so its role may write, but
    only the region's health item (its partition key, `dynamodb:LeadingKeys`) and the region's
    health object, with the KMS calls S3 and DynamoDB make for them."""
    statements = role_actions(regional, "HealthRole")
    probes = {sid: actions for sid, (actions, _) in statements.items() if sid not in BASE}
    assert probes == {"ProveTableWrites": ["dynamodb:GetItem", "dynamodb:PutItem"],
                      "ProbeBucket": ["s3:ListBucket"],
                      "ProveReceiptWrites": ["s3:PutObject"],
                      "ReadDatabaseSecret": ["secretsmanager:GetSecretValue"],
                      "UseRegionalKey": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]}
    policy = regional.props("HealthRole")["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {statement["Sid"]: statement for statement in policy}
    assert by_sid["ProveTableWrites"]["Condition"] == {"ForAllValues:StringEquals": {
        "dynamodb:LeadingKeys": [{"Fn::Sub": "health#${AWS::Region}"}]}}
    (obj,) = by_sid["ProveReceiptWrites"]["Resource"]
    assert obj == {"Fn::Sub": ["${Arn}/health/${AWS::Region}",
                               {"Arn": {"Fn::GetAtt": ["ReceiptsBucket", "Arn"]}}]}
    services = [v["Fn::Sub"].split(".")[0] for v in
                by_sid["UseRegionalKey"]["Condition"]["StringEquals"]["kms:ViaService"]]
    assert services == ["secretsmanager", "s3", "dynamodb"]  # never the key directly


def test_the_health_objects_old_versions_expire_and_only_receipts_replicate(in_region):
    """The health object is rewritten every few seconds per container: its noncurrent versions
    expire after a day, and replication takes receipts only."""
    bucket = in_region("primary", **READY).props("ReceiptsBucket")
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    health = rules["expire-health-probe-versions"]
    assert (health["Prefix"], health["NoncurrentVersionExpiration"]) == (
        "health/", {"NoncurrentDays": 1})
    (replicated,) = bucket["ReplicationConfiguration"]["Rules"]
    assert replicated["Filter"] == {"Prefix": "receipts/"}


# The REST API, WAF, custom domains and the authorizer: tests/test_edge.py.


ALWAYS = {"ProcessorErrorsAlarm", "ProcessorThrottlesAlarm", "HealthErrorsAlarm",
          "HealthThrottlesAlarm", "AuthorizerErrorsAlarm", "AuthorizerThrottlesAlarm",
          "Api5xxAlarm", "ApiLatencyP99Alarm", "DatabaseRoleRefusedAlarm", "ReconcileErrorsAlarm"}
REPLICATION = {"DynamoDbReplicationLatencyAlarm", "S3ReplicationFailedAlarm",
               "RegionalDurabilityAlarm"}


@pytest.mark.parametrize("role, ready, expected", [
    ("primary", False, ALWAYS),
    # The lag alarm in both regions: the secondary moves with the writer (issue 15, defect 7;
    # tests/test_replication_lag_alarms.py).
    ("primary", True, ALWAYS | REPLICATION | {"AuroraGlobalReplicationLagAlarm"}),
    ("secondary", False, ALWAYS),
    ("secondary", True, ALWAYS | REPLICATION | {"AuroraGlobalReplicationLagAlarm"}),
])
def test_alarms_per_role_and_phase(in_region, role, ready, expected):
    cfn = in_region(role, **(READY if ready else {}))
    assert set(cfn.of_type("AWS::CloudWatch::Alarm")) == expected


def test_replication_alarms_watch_the_peer_region(in_region):
    cfn = in_region("primary", **READY)
    dims = {d["Name"]: d["Value"] for d in
            cfn.props("DynamoDbReplicationLatencyAlarm")["Dimensions"]}
    assert dims["ReceivingRegion"] == "us-west-2"
    api = cfn.props("ApiLatencyP99Alarm")
    assert api["ExtendedStatistic"] == "p99"
