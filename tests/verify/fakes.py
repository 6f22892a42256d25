"""A fake account for `payments-dr verify`: the runbook's fake AWS (tests/runbook/fakes.py,
every call validated against botocore's service models and recorded with its region) plus
what verify reads and writes: Route 53 records, the stacks' alarms and CloudWatch's view of
them, the functions and the migrate function's tls-probe answer, the buckets' replication
rules, and the global table's key records per replica (with replication that can lag or stop).
"""

from __future__ import annotations

import copy
import io
import json

from botocore.exceptions import ClientError
from payments.tls import RULE_CLUSTER_ENDPOINT

from tests.runbook.fakes import ACCOUNT, Cloud, api_host
from toolkit import resource_names as names
from verify.in_region import expected_functions

ZONE = "Z0123456789EXAMPLE"  # the example config's domain.hosted_zone_id
DOMAIN = "api.example.com"
WRITER_ENDPOINT = "payments-example-global.global-q1w2e3r4t5.global.rds.amazonaws.com"
REGIONAL_ALARMS = ("Api5xxAlarm", "ApiLatencyP99Alarm", "ProcessorErrorsAlarm")
GLOBAL_ALARMS = ("PrimaryHealthCheckAlarm", "SecondaryHealthCheckAlarm")


def health_domain_target(region: str) -> str:
    """The regional name of a region's health host custom domain (its own alias target)."""
    return f"d-health.execute-api.{region}.amazonaws.com"


def cluster_endpoint(region: str) -> str:
    return f"payments-example-{region}.cluster-c7tj4example.{region}.rds.amazonaws.com"


def _error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class VerifyCloud(Cloud):
    def __init__(self, home: str, recovery: str, config):
        super().__init__(home, recovery)
        self.config = config
        regions = (home, recovery)
        self.items: dict[str, dict[str, dict]] = {r: {} for r in regions}
        self.replication_delay = 0          # get_item polls before a write reaches the peer
        self._in_flight: list[tuple[str, dict, int]] = []
        self.record_changes: dict[str, dict] = {}     # record role/host -> fields replaced
        self.functions = {r: {name: {"FunctionName": name, "Handler": entry, "State": "Active",
                                     "LastUpdateStatus": "Successful", "CodeSha256": "abc="}
                              for name, entry in expected_functions(config).items()}
                          for r in regions}
        self.alarms: dict[str, dict[str, dict]] = {r: {} for r in regions}
        self.declared: dict[str, list[str]] = {}
        for scope, region, logical in [(r, r, a) for r in regions for a in REGIONAL_ALARMS] + \
                [("global", "us-east-1", a) for a in GLOBAL_ALARMS]:
            name = f"payments-example-{logical}"
            self.declared.setdefault(scope, []).append(name)
            self.alarms.setdefault(region, {})[name] = {
                "AlarmName": name, "StateValue": "OK", "StateReason": "Threshold not crossed",
                "ActionsEnabled": True, "AlarmActions": [f"arn:aws:sns:{region}:{ACCOUNT}:t"],
                "OKActions": [f"arn:aws:sns:{region}:{ACCOUNT}:t"],
                "TreatMissingData": "breaching" if "HealthCheck" in logical else "notBreaching"}
        self.probes = {r: {"action": "tls-probe", "host": WRITER_ENDPOINT, "port": 5432,
                           "accepted": True, "stage": "accepted", "rule": RULE_CLUSTER_ENDPOINT,
                           "accepted_name": cluster_endpoint(home),
                           "certificate_names": [cluster_endpoint(home)],
                           "cname_chain": [WRITER_ENDPOINT, cluster_endpoint(home)],
                           "issuer": "Amazon RDS us-east-1 Subordinate CA", "region": r,
                           "tls_version": "TLSv1.3"} for r in regions}
        self.probe_error: dict[str, str] = {}
        self.rules = {r: {"ID": names.S3_REPLICATION_RULE, "Status": "Enabled"} for r in regions}

    def sts_get_caller_identity(self, region):
        return {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/operator",
                "UserId": "AIDAEXAMPLE"}

    # --- route 53 ---------------------------------------------------------------------------
    def _records(self) -> list[dict]:
        parameters = self._parameters()
        outputs = {o["OutputKey"]: o["OutputValue"] for o in self.cloudformation_describe_stacks(
            "us-east-1", "payments-example-global")["Stacks"][0]["Outputs"]}
        found = []
        for region, (role, check) in names.failover_records(parameters, outputs).items():
            target = names.failover_targets(parameters)[region]
            found.append({"Name": f"{DOMAIN}.", "Type": "A", "SetIdentifier": role.lower(),
                          "Failover": role, "HealthCheckId": check,
                          "AliasTarget": {"HostedZoneId": "Z1", "EvaluateTargetHealth": False,
                                          "DNSName": f"{target}."}})
        for region in (self.home, self.recovery):
            found.append({"Name": f"{api_host(region)}.", "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z1", "EvaluateTargetHealth": False,
                "DNSName": f"{health_domain_target(region)}."}})
        for record in found:
            record.update(self.record_changes.get(record.get("Failover") or record["Name"], {}))
        return [r for r in found if not r.get("deleted")]

    def route53_list_resource_record_sets(self, region, HostedZoneId, StartRecordName,
                                          StartRecordType, MaxItems):
        assert HostedZoneId == ZONE
        at = [r for r in self._records() if r["Name"].rstrip(".") == StartRecordName]
        return {"ResourceRecordSets": at, "IsTruncated": False, "MaxItems": MaxItems}

    # --- stacks and alarms ------------------------------------------------------------------
    def cloudformation_list_stack_resources(self, region, StackName, NextToken=None):
        scope = "global" if StackName == "payments-example-global" else region
        return {"StackResourceSummaries": [
            {"LogicalResourceId": n.rsplit("-", 1)[-1], "PhysicalResourceId": n,
             "ResourceType": "AWS::CloudWatch::Alarm", "ResourceStatus": "CREATE_COMPLETE",
             "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"} for n in self.declared[scope]]
            + [{"LogicalResourceId": "AlarmTopic", "PhysicalResourceId": "arn:aws:sns:x",
                "ResourceType": "AWS::SNS::Topic", "ResourceStatus": "CREATE_COMPLETE",
                "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"}]}

    def cloudwatch_describe_alarms(self, region, AlarmNames=(), MaxRecords=100,
                                   AlarmNamePrefix=None):
        wanted = [n for n in self.alarms[region] if n.startswith(AlarmNamePrefix)] \
            if AlarmNamePrefix else AlarmNames
        return {"MetricAlarms": [copy.deepcopy(self.alarms[region][n]) for n in wanted
                                 if n in self.alarms[region]]}

    # --- functions --------------------------------------------------------------------------
    def lambda_get_function_configuration(self, region, FunctionName):
        if FunctionName not in self.functions[region]:
            raise _error("ResourceNotFoundException", f"Function not found: {FunctionName}",
                         "GetFunctionConfiguration")
        return dict(self.functions[region][FunctionName])

    def lambda_invoke(self, region, FunctionName, InvocationType, Payload):
        assert InvocationType == "RequestResponse"
        if FunctionName == "payments-example-reconcile":  # the runbook's observation: a check
            assert json.loads(Payload)["repair"] is False
            report = {"region": region, "mode": "window", "repair": False,
                      "peer_region_lost": False, "rows_checked": 0, "missing_status_items": 0,
                      "missing_receipts": 0, "repaired_status_items": 0,
                      "repaired_receipts": 0, "receipts_left_to_replication": 0,
                      "complete": True, "repaired_payment_ids": [], "error": None}
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(report).encode())}
        assert FunctionName == "payments-example-migrate"
        assert json.loads(Payload) == {"action": "tls-probe"}
        if region in self.probe_error:
            body = {"errorMessage": self.probe_error[region], "errorType": "ConfigError"}
            return {"StatusCode": 200, "FunctionError": "Unhandled",
                    "Payload": io.BytesIO(json.dumps(body).encode())}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.probes[region]).encode())}

    # --- s3 ---------------------------------------------------------------------------------
    def s3_get_bucket_replication(self, region, Bucket):
        assert Bucket == names.bucket(self.config, region)
        if self.rules[region] is None:
            raise _error("ReplicationConfigurationNotFoundError", "none", "GetBucketReplication")
        return {"ReplicationConfiguration": {"Role": "arn:aws:iam::1:role/r",
                                             "Rules": [self.rules[region]]}}

    # --- the global table's key records -----------------------------------------------------
    def _deliver(self) -> None:
        still = []
        for region, item, polls in self._in_flight:
            if polls <= 0:
                self.items[region][item["pk"]["S"]] = item
            else:
                still.append((region, item, polls - 1))
        self._in_flight = still

    def _write(self, region, item) -> None:
        self.items[region][item["pk"]["S"]] = item
        if self.replication_delay is not None:
            self._in_flight.append((self.other(region), copy.deepcopy(item),
                                    self.replication_delay))
            self._deliver()

    def other(self, region):
        return self.recovery if region == self.home else self.home

    def dynamodb_put_item(self, region, TableName, Item, ConditionExpression):
        assert ConditionExpression == "attribute_not_exists(pk)"
        if Item["pk"]["S"] in self.items[region]:
            raise _error("ConditionalCheckFailedException", "exists", "PutItem")
        self._write(region, copy.deepcopy(Item))
        return {}

    def dynamodb_get_item(self, region, TableName, Key, ProjectionExpression):
        self._deliver()
        item = self.items[region].get(Key["pk"]["S"])
        return {"Item": {"key_status": item["key_status"]}} if item else {}

    def dynamodb_update_item(self, region, TableName, Key, UpdateExpression,
                             ConditionExpression, ExpressionAttributeValues):
        item = self.items[region].get(Key["pk"]["S"])
        if item is None or item["key_status"] != ExpressionAttributeValues[":active"]:
            raise _error("ConditionalCheckFailedException", "not active", "UpdateItem")
        item = {**item, "key_status": ExpressionAttributeValues[":revoked"],
                "revoked_at": ExpressionAttributeValues[":now"]}
        self._write(region, item)
        return {}

    def key_records(self) -> dict[str, list[dict]]:
        return {r: [i for i in items.values() if i["pk"]["S"].startswith("merchant-key#")]
                for r, items in self.items.items()}

