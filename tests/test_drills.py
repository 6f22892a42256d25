"""Drills as code: FIS experiment templates (regional) and the ARC Region switch plan (global),
both off by default, with stop conditions on real alarms and least-privilege roles."""

import json

import pytest

from templates import build_regional, drills, region_switch
from templates.drills import LAMBDA_DRILL_STOPS, NETWORK_DRILL_STOPS
from tests.cfn import render
from tests.conftest import PRIMARY
from tests.test_dashboard import GLOBAL_PARAMETERS
from tests.test_dns import PARAMS as DNS_PARAMETERS

DRILL_TYPES = ("AWS::FIS::ExperimentTemplate", "AWS::S3::Bucket", "AWS::IAM::Role")


@pytest.fixture(scope="module")
def drills_on(in_region):
    return {role: in_region(role, EnableDrills="true", PeerRegionReady="true")
            for role in ("primary", "secondary")}


@pytest.fixture(scope="module")
def plan_on(global_template):
    return render(global_template.doc, region=PRIMARY,
                  parameters={**DNS_PARAMETERS, **GLOBAL_PARAMETERS, "EnableDrills": "true"})


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_no_drill_resource_exists_by_default(in_region, role):
    cfn = in_region(role)
    assert cfn.count("AWS::FIS::ExperimentTemplate") == 0
    assert "DrillRole" not in cfn.resources and "DrillConfigBucket" not in cfn.resources
    assert not any(lid.endswith("DrillId") for lid in cfn.doc["Outputs"])


def test_no_region_switch_plan_by_default(global_template):
    cfn = render(global_template.doc, region=PRIMARY,
                 parameters={**DNS_PARAMETERS, **GLOBAL_PARAMETERS})
    assert cfn.count("AWS::ARCRegionSwitch::Plan") == 0 and "RegionSwitchRole" not in cfn.resources


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_processor_drill_fails_a_share_of_invocations_until_detected(drills_on, role):
    props = drills_on[role].props("ProcessorInvocationErrorDrill")
    (action,) = props["Actions"].values()
    assert action["ActionId"] == "aws:lambda:invocation-error"
    assert action["Parameters"] == {"duration": "PT5M", "invocationPercentage": "25",
                                    "preventExecution": "true"}
    (target,) = props["Targets"].values()
    assert target == {"ResourceType": "aws:lambda:function", "SelectionMode": "ALL",
                      "ResourceArns": [{"Fn::GetAtt": ["ProcessorFunction", "Arn"]}]}
    assert list(action["Targets"].values()) == list(props["Targets"])
    assert props["ExperimentOptions"] == {"AccountTargeting": "single-account",
                                          "EmptyTargetResolutionMode": "fail"}


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_network_drill_isolates_exactly_the_private_subnets(drills_on, role):
    props = drills_on[role].props("PrivateSubnetIsolationDrill")
    (action,) = props["Actions"].values()
    assert action["ActionId"] == "aws:network:disrupt-connectivity"
    assert action["Parameters"] == {"duration": "PT5M", "scope": "all"}
    (target,) = props["Targets"].values()
    assert target["ResourceType"] == "aws:ec2:subnet"
    subnets = [arn["Fn::Sub"][1]["Subnet"]["Ref"] for arn in target["ResourceArns"]]
    assert subnets == ["PrivateSubnetA", "PrivateSubnetB"]


@pytest.mark.parametrize("role", ["primary", "secondary"])
@pytest.mark.parametrize("drill,stops", [("ProcessorInvocationErrorDrill", LAMBDA_DRILL_STOPS),
                                         ("PrivateSubnetIsolationDrill", NETWORK_DRILL_STOPS)])
def test_every_drill_stops_on_alarms_that_exist_in_that_region(drills_on, role, drill, stops):
    cfn = drills_on[role]
    conditions = cfn.props(drill)["StopConditions"]
    assert conditions and all(c["Source"] == "aws:cloudwatch:alarm" for c in conditions)
    named = [c["Value"]["Fn::GetAtt"] for c in conditions]
    assert named == [[lid, "Arn"] for lid in stops]
    for lid in stops:
        assert cfn.resources[lid]["Type"] == "AWS::CloudWatch::Alarm"


def test_drill_role_is_trusted_by_fis_for_this_account_only(drills_on):
    trust = drills_on["primary"].props("DrillRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust[0]["Principal"] == {"Service": {"Fn::Sub": "fis.${AWS::URLSuffix}"}}
    assert "aws:SourceAccount" in json.dumps(trust)


def test_drill_role_writes_only_to_this_vpc_and_fis_tagged_acls(drills_on):
    (policy,) = drills_on["primary"].props("DrillRole")["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    text = json.dumps(statements)
    assert "ec2:*" not in text and "s3:*" not in text
    assert statements["CreateNetworkAclInThisVpc"]["Resource"][0]["Fn::Sub"][1] == {
        "Vpc": {"Ref": "Vpc"}}
    for sid in ("CreateTaggedNetworkAcl", "TagNetworkAclOnCreate", "ManageOwnNetworkAcls"):
        assert "managedByFIS" in json.dumps(statements[sid]["Condition"]), sid
    swapped = statements["SwapSubnetNetworkAcl"]["Resource"]
    assert [r["Fn::Sub"][1]["Subnet"]["Ref"] for r in swapped[:2]] == [
        "PrivateSubnetA", "PrivateSubnetB"]
    assert statements["ReadTargetFunctions"]["Resource"] == [
        {"Fn::GetAtt": ["ProcessorFunction", "Arn"]}]
    written = json.dumps(statements["WriteFaultConfiguration"]["Resource"])
    assert "DrillConfigBucket" in written and "FisConfigs/*" in written
    writes = [s for s in statements.values()
              if any(a.split(":")[1].startswith(("Create", "Delete", "Replace", "Put"))
                     for a in s["Action"])]
    assert all("*" not in s["Resource"] for s in writes)


def test_fault_configuration_bucket_is_private_encrypted_versioned_and_logged(drills_on):
    props = drills_on["primary"].props("DrillConfigBucket")
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "fis-config/"
    policy = drills_on["primary"].props("DrillConfigBucketPolicy")["PolicyDocument"]
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_lambda_fault_injection_pieces_are_conditional():
    template = build_regional()
    built = drills.Drills(bucket=template.resources["DrillConfigBucket"],
                          role=template.resources["DrillRole"],
                          lambda_errors=template.resources["ProcessorInvocationErrorDrill"],
                          network=template.resources["PrivateSubnetIsolationDrill"])
    pieces = drills.lambda_fault_injection(built)
    layers = pieces.layers.to_dict()["Fn::If"]
    assert layers[0] == drills.DRILLS_ENABLED
    assert layers[1] == [f"{{{{resolve:ssm:{drills.FIS_EXTENSION_LAYER_PARAMETER}}}}}"]
    assert set(pieces.environment) == {"AWS_FIS_CONFIGURATION_LOCATION",
                                       "AWS_LAMBDA_EXEC_WRAPPER"}
    condition, policy, otherwise = pieces.policy.to_dict()["Fn::If"]
    assert (condition, otherwise) == (drills.DRILLS_ENABLED, {"Ref": "AWS::NoValue"})
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["s3:GetObject", "s3:ListBucket"]


def test_processor_carries_the_fis_extension_when_drills_are_on(drills_on):
    processor = drills_on["primary"].props("ProcessorFunction")
    assert "AWS_LAMBDA_EXEC_WRAPPER" in processor["Environment"]["Variables"]
    assert processor.get("Layers")
    policies = drills_on["primary"].props("ProcessorRole")["Policies"]
    assert "fis-fault-configuration" in [p["PolicyName"] for p in policies]


def test_processor_carries_nothing_of_fis_when_drills_are_off(in_region):
    off = in_region("primary", PeerRegionReady="true")
    processor = off.props("ProcessorFunction")
    assert "Layers" not in processor
    assert not {"AWS_LAMBDA_EXEC_WRAPPER", "AWS_FIS_CONFIGURATION_LOCATION"} & set(
        processor["Environment"]["Variables"])
    assert "fis-fault-configuration" not in [
        p["PolicyName"] for p in off.props("ProcessorRole")["Policies"]]


# ---- the Region switch plan ---------------------------------------------------------------
def test_region_switch_plan_moves_the_aurora_writer(plan_on):
    props = plan_on.props("RegionSwitchPlan")
    assert props["RecoveryApproach"] == "activePassive"
    assert props["Regions"] == ["us-east-1", "us-west-2"] and props["PrimaryRegion"] == "us-east-1"
    assert props["RecoveryTimeObjectiveMinutes"] == "30"
    (workflow,) = props["Workflows"]
    assert workflow["WorkflowTargetAction"] == "activate"
    (step,) = workflow["Steps"]
    assert step["ExecutionBlockType"] == "AuroraGlobalDatabase"
    aurora = step["ExecutionBlockConfiguration"]["GlobalAuroraConfig"]
    assert aurora["Behavior"] == "switchoverOnly"           # graceful: switchover
    assert aurora["Ungraceful"] == {"Ungraceful": "failover"}  # ungraceful: failover
    assert aurora["GlobalClusterIdentifier"] == {
        "Fn::Sub": "${NamePrefix}-${EnvironmentName}-global"}
    clusters = [c["Fn::Sub"] for c in aurora["DatabaseClusterArns"]]
    assert clusters == [
        "arn:${AWS::Partition}:rds:${HomeRegion}:${AWS::AccountId}:cluster:"
        "${NamePrefix}-${EnvironmentName}-${HomeRegion}",
        "arn:${AWS::Partition}:rds:${RecoveryRegion}:${AWS::AccountId}:cluster:"
        "${NamePrefix}-${EnvironmentName}-${RecoveryRegion}"]


def test_region_switch_plan_carries_the_health_alarms(plan_on):
    alarms = plan_on.props("RegionSwitchPlan")["AssociatedAlarms"]
    assert alarms == {lid: {"AlarmType": "applicationHealth",
                            "ResourceIdentifier": {"Fn::GetAtt": [lid, "Arn"]}}
                      for lid in region_switch.HEALTH_ALARMS}
    for lid in region_switch.HEALTH_ALARMS:
        assert plan_on.props(lid)["MetricName"] == "HealthCheckStatus"


def test_region_switch_role_may_switch_only_this_global_database(plan_on):
    role = plan_on.props("RegionSwitchRole")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": {"Fn::Sub": "arc-region-switch.${AWS::URLSuffix}"}}
    (policy,) = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    switch = statements["SwitchOrFailOverGlobalDatabase"]
    assert switch["Action"] == ["rds:SwitchoverGlobalCluster", "rds:FailoverGlobalCluster"]
    resources = [r["Fn::Sub"] for r in switch["Resource"]]
    assert resources[0].endswith("global-cluster:${NamePrefix}-${EnvironmentName}-global")
    assert len(resources) == 3 and "*" not in json.dumps(switch["Resource"])
    assert statements["PlanEvaluation"]["Resource"][0]["Fn::Sub"].endswith(
        ":role/${NamePrefix}-${EnvironmentName}-region-switch")
    assert role["RoleName"]["Fn::Sub"] == "${NamePrefix}-${EnvironmentName}-region-switch"


# The linters run with the drills switched on as well: tests/test_lint.py (with_drills_on).


def test_drill_parameters_default_to_off(regional, global_template):
    for cfn in (regional, global_template):
        spec = cfn.doc["Parameters"]["EnableDrills"]
        assert spec["Default"] == "false" and spec["AllowedValues"] == ["false", "true"]

