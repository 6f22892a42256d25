"""Data tier in each role: what the primary and the secondary each get, before and after the
peer region is ready (the rollout's second pass)."""

import json

import pytest

READY = {"PeerRegionReady": "true"}


@pytest.fixture(scope="module")
def primary(in_region):
    return in_region("primary", **READY)


@pytest.fixture(scope="module")
def secondary(in_region):
    return in_region("secondary", **READY)


@pytest.fixture(scope="module")
def secondary_first_pass(in_region):
    return in_region("secondary")


def dynamic_reference(value) -> bool:
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    return isinstance(text, str) and text.startswith("{{resolve:secretsmanager:")


@pytest.mark.parametrize("type_name", [
    "AWS::RDS::GlobalCluster", "AWS::SecretsManager::Secret", "AWS::DynamoDB::GlobalTable"])
def test_only_the_primary_declares_the_global_resources(primary, secondary, type_name):
    assert primary.count(type_name) == 1
    assert secondary.count(type_name) == 0


def test_primary_cluster_is_the_writer_with_credentials_from_the_secret(primary):
    cluster = primary.props("DbCluster")
    assert dynamic_reference(cluster["MasterUsername"])
    assert dynamic_reference(cluster["MasterUserPassword"])
    assert cluster["MasterUserPassword"]["Fn::Sub"].endswith(":SecretString:password}}")
    assert "${DbSecret}" in cluster["MasterUserPassword"]["Fn::Sub"]
    assert cluster["GlobalClusterIdentifier"] == {"Ref": "GlobalCluster"}
    assert cluster["DatabaseName"] == "payments"
    assert "ManageMasterUserPassword" not in cluster  # not supported for global clusters


def test_secondary_cluster_joins_by_identifier_and_carries_no_credentials(primary, secondary):
    cluster = secondary.props("DbCluster")
    for forbidden in ("MasterUsername", "MasterUserPassword", "DatabaseName",
                      "ManageMasterUserPassword", "MasterUserSecret"):
        assert forbidden not in cluster, forbidden
    joined = cluster["GlobalClusterIdentifier"]
    created = primary.props("GlobalCluster")["GlobalClusterIdentifier"]
    assert joined == created  # the same deterministic name, no cross-stack output needed
    assert cluster["EnableGlobalWriteForwarding"] is True
    # Joining an encrypted global cluster from another region needs the source region (RDS
    # builds the pre-signed URL from it); the home cluster must not carry it.
    assert cluster["SourceRegion"] == "us-east-1"  # the home region
    assert "SourceRegion" not in primary.props("DbCluster")


def test_secondary_waits_for_the_global_cluster_before_joining(secondary_first_pass):
    assert secondary_first_pass.count("AWS::RDS::DBCluster") == 0
    assert secondary_first_pass.count("AWS::RDS::DBInstance") == 0


@pytest.mark.parametrize("role, instances", [("primary", 2), ("secondary", 1)])
def test_instances_per_role(in_region, role, instances):
    cfn = in_region(role, **READY)
    found = cfn.of_type("AWS::RDS::DBInstance").values()
    assert len(found) == instances
    for instance in found:
        props = instance["Properties"]
        assert props["DBClusterIdentifier"] == {"Ref": "DbCluster"}
        assert props["PubliclyAccessible"] is False
        assert props["EnablePerformanceInsights"] is True
        assert props["MonitoringInterval"] > 0


def test_one_engine_version_everywhere(primary, secondary):
    versions = {r["Properties"]["EngineVersion"] for cfn in (primary, secondary)
                for t in ("AWS::RDS::GlobalCluster", "AWS::RDS::DBCluster")
                for r in cfn.of_type(t).values()}
    assert len(versions) == 1
    (version,) = versions
    assert int(version.split(".")[0]) >= 16  # write forwarding needs a current major


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_cluster_protection_in_each_role(in_region, role):
    cfn = in_region(role, **READY)
    cluster = cfn.resources["DbCluster"]
    props = cluster["Properties"]
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert props["DeletionProtection"] is True
    assert props["EnableIAMDatabaseAuthentication"] is True
    assert props["EnableCloudwatchLogsExports"] == ["postgresql"]
    assert props["BackupRetentionPeriod"] == "14"
    assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
    assert props["VpcSecurityGroupIds"] == [{"Ref": "DatabaseSecurityGroup"}]
    subnets = cfn.props("DbSubnetGroup")["SubnetIds"]
    assert subnets == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    parameters = cfn.props("DbClusterParameterGroup")["Parameters"]
    assert parameters["rds.force_ssl"] == "1"


def test_no_master_password_is_anything_but_a_dynamic_reference(templates):
    found = 0
    for cfn in templates.values():
        for lid, resource in cfn.resources.items():
            if "MasterUserPassword" in resource.get("Properties", {}):
                value = resource["Properties"]["MasterUserPassword"]
                branches = value["Fn::If"][1:] if "Fn::If" in value else [value]
                for branch in branches:
                    assert branch == {"Ref": "AWS::NoValue"} or dynamic_reference(branch), lid
                found += 1
    assert found == 1


def test_secret_is_generated_encrypted_and_replicated_once_the_peer_is_ready(in_region):
    first = in_region("primary").props("DbSecret")
    assert "SecretString" not in first
    generated = first["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert json.loads(generated["SecretStringTemplate"]) == {"username": "payments_admin"}
    assert generated["PasswordLength"] >= 32
    assert set("/@\"'") <= set(generated["ExcludeCharacters"])  # RDS refuses these
    assert generated.get("IncludeSpace") is not True
    assert first["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert "ReplicaRegions" not in first
    ready = in_region("primary", **READY).props("DbSecret")
    assert ready["ReplicaRegions"] == [{
        "Region": "us-west-2", "KmsKeyId": {"Fn::Sub": "alias/${NamePrefix}-${EnvironmentName}"}}]


def test_global_table_replicas_in_both_regions_with_pitr_and_their_own_keys(in_region):
    first = in_region("primary").props("PaymentsTable")
    assert [r["Region"] for r in first["Replicas"]] == ["us-east-1"]
    table = in_region("primary", **READY).props("PaymentsTable")
    assert [r["Region"] for r in table["Replicas"]] == ["us-east-1", "us-west-2"]
    home, recovery = table["Replicas"]
    # DynamoDB checks the key at CreateTable: the home replica references the key resource
    # (which orders the table after it); the recovery region's key exists since its foundation.
    assert home["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert recovery["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::Sub": "alias/${NamePrefix}-${EnvironmentName}"}
    for replica in table["Replicas"]:
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert replica["DeletionProtectionEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


@pytest.mark.parametrize("lid", ["PaymentsTable", "GlobalCluster", "DbSecret", "ReceiptsBucket",
                                 "AccessLogBucket", "Key"])
def test_stateful_resources_are_retained(primary, lid):
    resource = primary.resources[lid]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_every_bucket_is_versioned_encrypted_private_and_tls_only(in_region, role):
    cfn = in_region(role, **READY)
    buckets = cfn.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2
    policies = {p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]
                for p in cfn.of_type("AWS::S3::BucketPolicy").values()}
    for lid, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
        assert len(props["PublicAccessBlockConfiguration"]) == 4
        denies = [s for s in policies[lid]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    receipts = buckets["ReceiptsBucket"]["Properties"]
    rule = receipts["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}
    assert rule["BucketKeyEnabled"] is True
    assert receipts["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucket"}


def test_bucket_names_are_deterministic_and_unique_per_account_and_region(regional):
    name = regional.props("ReceiptsBucket")["BucketName"]
    assert name == {"Fn::Sub": "${NamePrefix}-${EnvironmentName}-${AWS::AccountId}-${AWS::Region}"}
    longest = "-".join(["a" * 12, "b" * 10, "logs", "1" * 12, "ap-southeast-5"])
    assert len(longest) <= 63  # S3's limit holds for the longest allowed prefix/environment


@pytest.mark.parametrize("role, peer", [("primary", "us-west-2"), ("secondary", "us-east-1")])
def test_replication_once_ready_names_the_peer_bucket_and_key(in_region, role, peer):
    assert "ReplicationConfiguration" not in in_region(role).props("ReceiptsBucket")
    assert "ReplicationRole" not in in_region(role).resources
    config = in_region(role, **READY).props("ReceiptsBucket")["ReplicationConfiguration"]
    (rule,) = config["Rules"]
    destination = rule["Destination"]
    assert destination["Bucket"]["Fn::Sub"][1]["Bucket"]["Fn::Sub"][1] == {"Region": peer}
    assert destination["EncryptionConfiguration"]["ReplicaKmsKeyID"]["Fn::Sub"][1]["Region"] == peer
    assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert destination["Metrics"]["Status"] == "Enabled"
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"] == {"Status": "Enabled"}
    assert config["Role"] == {"Fn::GetAtt": ["ReplicationRole", "Arn"]}


def test_replication_role_grants_only_replication(in_region):
    role = in_region("primary", **READY).props("ReplicationRole")
    (policy,) = role["Policies"]
    actions = sorted(a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"])
    assert actions == sorted([
        "s3:GetReplicationConfiguration", "s3:ListBucket", "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:ReplicateObject",
        "s3:ReplicateDelete", "s3:ReplicateTags", "kms:Decrypt", "kms:Encrypt",
        "kms:GenerateDataKey"])
    for statement in policy["PolicyDocument"]["Statement"]:
        if statement["Action"][0].startswith("kms:"):
            assert "kms:ViaService" in json.dumps(statement["Condition"])


def test_outputs_the_rollout_and_service_need(primary, secondary):
    for name in ("GlobalClusterIdentifier", "DbClusterIdentifier", "DbClusterEndpoint",
                 "DbSecretArn", "DbSecretName", "PaymentsTableName", "PaymentsTableStreamArn",
                 "ReceiptsBucketName", "ReceiptsBucketArn"):
        assert name in primary.doc["Outputs"], name
    assert "DbClusterEndpoint" in secondary.doc["Outputs"]
    assert "DbSecretArn" not in secondary.doc["Outputs"]  # the replica's ARN is not known here
