"""A fake AWS for the DR runbook tests: RDS global cluster moves (moto has neither switchover
nor failover), CloudWatch lag metrics and the processors' regional-durability metric, API
Gateway, Route 53, Secrets Manager, DynamoDB, the reconcile function (Lambda Invoke) and the
global stack, all held in one `Cloud`.

Every call goes through a client made for one (service, region); its parameters are validated
against botocore's own service model (the offline source of truth for API shapes) before the
fake answers, and each call is recorded with its region. A region in `cloud.down` answers every
call with a connection error, as a lost region would.
"""

from __future__ import annotations

import datetime
import io
import json
from typing import Any

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.validate import ParamValidator

from toolkit.aws import Aws
from templates import names as tn

from tests.stubs import FakeClock

ACCOUNT = "123456789012"
GLOBAL_ID = "payments-example-global"
_MODELS: dict[str, Any] = {}


def cluster_arn(region: str) -> str:
    return f"arn:aws:rds:{region}:{ACCOUNT}:cluster:payments-example-{region}"


def domain_target(region: str) -> str:
    """A region's regional domain name, the failover alias target (templates/api.py)."""
    return f"d-{region}.execute-api.{region}.amazonaws.com"


def api_host(region: str) -> str:
    """A region's health host, `<region>.<ApiDomainName>` (templates/api.py)."""
    return f"{region}.api.example.com"


class Cloud:
    def __init__(self, home: str, recovery: str):
        self.home, self.recovery = home, recovery
        self.writer = home
        self.members = {home: "connected", recovery: "connected"}
        self.status = "available"
        self.move: dict[str, Any] | None = None    # a switchover/failover in progress
        self.move_polls = 2                        # DescribeGlobalClusters until it completes
        self.lag = {"AuroraGlobalDBReplicationLag": 25.0, "AuroraGlobalDBRPOLag": 800.0}
        self.api_up = {home: True, recovery: True}
        self.route53 = {home: True, recovery: True}
        self.preferred = home
        self.secret = "InSync"
        self.tables = {home: "ACTIVE", recovery: "ACTIVE"}
        self.down: set[str] = set()
        self.s3_failed: dict[str, float] = {}
        self.settling: dict[str, int] = {}        # /health answers 503 this many more times
        self.calls: list[tuple[str, str, str, dict]] = []
        self.global_status = "UPDATE_COMPLETE"
        self.global_events: list[dict[str, Any]] = []   # DescribeStackEvents, newest first
        self.deployed: dict[str, Any] | None = None   # what `deploy` left (see `deploy`)
        self.regional_durability: dict[str, float] = {}  # requests/5 min, per region
        # Projections missing in each region's stores, (receipts, status items), as the
        # reconcile function finds them; a region in `reconcile_fails` fails the invocation.
        self.missing: dict[str, tuple[int, int]] = {}
        self.reconcile_fails: set[str] = set()
        # How many more runs of the reconcile function in a region stop early (complete:
        # false, the function's time ran out), each region's next runs first.
        self.stops_early: dict[str, int] = {}

    def deploy(self, config, desired) -> None:
        """The global stack and the stack instances as `deploy` leaves them for `config` and
        `desired`: each region's outputs, and the global stack's template and parameters
        computed by the rollout's own functions (PRIMARY at home)."""
        from stacksets import plan

        outputs = {region: {tn.OUT_API_DOMAIN_TARGET: domain_target(region),
                            tn.OUT_API_DOMAIN_ZONE_ID: f"Z-{region}",
                            tn.OUT_API_ENDPOINT_HOST: api_host(region)}
                   for region in (self.home, self.recovery)}
        values = plan.global_parameters(config, desired, {"home": outputs[self.home],
                                                          "recovery": outputs[self.recovery]})
        self.deployed = {"config": config, "desired": desired, "outputs": outputs,
                         "values": values,
                         "template": desired.global_template, "version": "2026-01-01"}

    # --- what a test inspects --------------------------------------------------------------
    def writes(self) -> list[tuple[str, str, str]]:
        return [(s, r, o) for s, r, o, p in self.calls
                if o in ("switchover_global_cluster", "failover_global_cluster", "update_stack")
                or (o == "invoke" and json.loads(p["Payload"])["repair"])]

    def regions_called(self) -> set[str]:
        return {r for _, r, _, _ in self.calls}

    def health(self, url: str) -> tuple[int, dict]:
        assert url.startswith("https://") and url.endswith("/health"), url
        region = url.split("//", 1)[1].split(".", 1)[0]
        if region in self.down or not self.api_up[region]:
            return (0, {}) if region in self.down else (503, {"status": "unhealthy"})
        if self.settling.get(region):
            self.settling[region] -= 1
            return 503, {"status": "unhealthy", "region": region,
                         "checks": {"database": "failing", "dynamodb": "ok", "s3": "ok"}}
        # Both regions write through the global writer endpoint: healthy means writable
        # (lambda/payments/health.py), and the public body says only ok / failing.
        return 200, {"status": "healthy", "region": region,
                     "checks": {"database": "ok", "dynamodb": "ok", "s3": "ok"}}

    # --- rds -------------------------------------------------------------------------------
    def rds_describe_global_clusters(self, region, GlobalClusterIdentifier):
        if self.move:
            self.move["polls"] -= 1
            if self.move["polls"] <= 0:
                old, self.writer = self.writer, self.move["to"]
                if self.move["kind"] == "failover":
                    self.members.pop(old, None)  # rejoins later, when its region is back
                self.settling[self.writer] = 1  # the endpoint just moved: writes settle
                self.move, self.status = None, "available"
        members = [{"DBClusterArn": cluster_arn(r), "IsWriter": r == self.writer,
                    "Readers": [], **({"SynchronizationStatus": s} if r != self.writer else {})}
                   for r, s in self.members.items()]
        cluster = {"GlobalClusterIdentifier": GLOBAL_ID, "Status": self.status,
                   "GlobalClusterMembers": members}
        if self.move:
            cluster["FailoverState"] = {"Status": "failing-over",
                                        "FromDbClusterArn": cluster_arn(self.writer),
                                        "ToDbClusterArn": cluster_arn(self.move["to"]),
                                        "IsDataLossAllowed": self.move["kind"] == "failover"}
        return {"GlobalClusters": [cluster]}

    def _start_move(self, kind, region, target):
        to = target.split(":")[3]
        if self.move or to == self.writer or to not in self.members:
            raise ClientError({"Error": {"Code": "InvalidGlobalClusterStateFault",
                                         "Message": "not now"}}, kind)
        self.move = {"kind": kind, "to": to, "polls": self.move_polls}
        self.status = "switching-over" if kind == "switchover" else "failing-over"
        return {"GlobalCluster": {"GlobalClusterIdentifier": GLOBAL_ID}}

    def rds_switchover_global_cluster(self, region, GlobalClusterIdentifier,
                                      TargetDbClusterIdentifier):
        return self._start_move("switchover", region, TargetDbClusterIdentifier)

    def rds_failover_global_cluster(self, region, GlobalClusterIdentifier,
                                    TargetDbClusterIdentifier, AllowDataLoss=False,
                                    Switchover=False):
        assert AllowDataLoss and not Switchover
        return self._start_move("failover", region, TargetDbClusterIdentifier)

    # --- the rest --------------------------------------------------------------------------
    def cloudwatch_get_metric_statistics(self, region, MetricName, Namespace, Statistics, **_):
        now = datetime.datetime.now(datetime.timezone.utc)
        if MetricName == "RegionalDurabilityRequests":
            assert Namespace == "payments/example" and Statistics == ["Sum"]
            value = self.regional_durability.get(region)
            return {"Datapoints": [] if value is None else [{"Timestamp": now, "Sum": value}]}
        if Namespace == "AWS/S3":
            value = self.s3_failed.get(region, 0.0) if Statistics == ["Sum"] else 12.0
            return {"Datapoints": [{"Timestamp": now, Statistics[0]: value}]}
        return {"Datapoints": [{"Timestamp": now, "Maximum": self.lag[MetricName]}]}

    def _parameters(self):
        if self.deployed:
            from stacksets import plan

            values = self.deployed["values"]
            return plan.swap_preference(values) if self.preferred == self.recovery else values
        other = self.recovery if self.preferred == self.home else self.home
        return {tn.PRIMARY_API_TARGET: f"d-1.execute-api.{self.preferred}.amazonaws.com",
                tn.SECONDARY_API_TARGET: f"d-2.execute-api.{other}.amazonaws.com",
                tn.PRIMARY_API_TARGET_ZONE: "Z1", tn.SECONDARY_API_TARGET_ZONE: "Z2",
                tn.PRIMARY_HEALTH_HOST: api_host(self.preferred),
                tn.SECONDARY_HEALTH_HOST: api_host(other), tn.DOMAIN_NAME: "api.example.com"}

    def cloudformation_describe_stacks(self, region, StackName):
        if StackName.startswith("arn:"):  # a stack instance's stack
            return {"Stacks": [{
                "StackName": StackName, "StackId": StackName, "StackStatus": "UPDATE_COMPLETE",
                "CreationTime": datetime.datetime(2026, 1, 1),
                "Outputs": [{"OutputKey": k, "OutputValue": v}
                            for k, v in self.deployed["outputs"][region].items()]}]}
        other = self.recovery if self.preferred == self.home else self.home
        return {"Stacks": [{
            "StackName": StackName, "StackStatus": self.global_status,
            "StackId": f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{StackName}/1",
            "CreationTime": datetime.datetime(2026, 1, 1),
            "LastUpdatedTime": datetime.datetime(2026, 1, 2),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v}
                           for k, v in self._parameters().items()],
            "Outputs": [{"OutputKey": tn.OUT_PRIMARY_HEALTH_CHECK_ID,
                         "OutputValue": f"hc-{self.preferred}"},
                        {"OutputKey": tn.OUT_SECONDARY_HEALTH_CHECK_ID,
                         "OutputValue": f"hc-{other}"}]}]}

    def cloudformation_update_stack(self, region, StackName, Parameters, **_):
        values = {p["ParameterKey"]: p.get("ParameterValue") for p in Parameters}
        self.preferred = values[tn.PRIMARY_API_TARGET].split(".")[2]
        return {"StackId": "stack"}

    def cloudformation_describe_stack_events(self, region, StackName, **_):
        return {"StackEvents": self.global_events}

    def cloudformation_get_template(self, region, StackName):
        return {"TemplateBody": json.dumps(self.deployed["template"] if self.deployed else {})}

    def _stack_set_known(self, StackSetName):
        if self.deployed is None:
            raise ClientError({"Error": {"Code": "StackSetNotFoundException",
                                         "Message": f"{StackSetName} not found"}},
                              "ListStackInstances")

    def cloudformation_list_stack_instances(self, region, StackSetName, **_):
        self._stack_set_known(StackSetName)
        return {"Summaries": [{"StackSetId": f"{StackSetName}:1", "Region": r,
                               "Account": ACCOUNT, "Status": "CURRENT"}
                              for r in (self.home, self.recovery)]}

    def cloudformation_describe_stack_instance(self, region, StackSetName, StackInstanceAccount,
                                               StackInstanceRegion, **_):
        self._stack_set_known(StackSetName)
        return {"StackInstance": {
            "StackSetId": f"{StackSetName}:1", "Region": StackInstanceRegion,
            "Account": StackInstanceAccount, "Status": "CURRENT",
            "StackId": f"arn:aws:cloudformation:{StackInstanceRegion}:{ACCOUNT}:stack/"
                       f"StackSet-{StackSetName}/1"}}

    def route53_get_health_check_status(self, region, HealthCheckId):
        ok = self.route53[HealthCheckId.removeprefix("hc-")]
        status = "Success: HTTP Status Code 200" if ok else "Failure: Connection timed out"
        return {"HealthCheckObservations": [
            {"Region": r, "IPAddress": "192.0.2.1",
             "StatusReport": {"Status": status}}
            for r in ("us-east-1", "eu-west-1", "ap-southeast-1")]}

    def lambda_invoke(self, region, FunctionName, InvocationType, Payload):
        """The reconcile function (lambda/payments/reconcile.py): counts, or repairs."""
        assert FunctionName == "payments-example-reconcile" and InvocationType == \
            "RequestResponse"
        event = json.loads(Payload)
        if region in self.reconcile_fails:
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(
                b'{"errorMessage": "reconcile in ' + region.encode() + b' stopped after 0 '
                b'rows: database: connection failed: OSError"}')}
        receipts, statuses = self.missing.get(region, (0, 0))
        complete = self.stops_early.get(region, 0) <= 0
        self.stops_early[region] = self.stops_early.get(region, 0) - 1
        if event["repair"] and complete:
            self.missing[region] = (0, 0)
        report = {"region": region, "rows_checked": 40 if complete else 25,
                  "missing_receipts": receipts, "missing_status_items": statuses,
                  "complete": complete, **event}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(report).encode())}

    def secretsmanager_describe_secret(self, region, SecretId):
        return {"Name": SecretId, "ReplicationStatus": [
            {"Region": self.recovery, "Status": self.secret}]}

    def dynamodb_describe_table(self, region, TableName):
        return {"Table": {"TableName": TableName, "TableStatus": self.tables[region]}}


class FakeClient:
    def __init__(self, cloud: Cloud, service: str, region: str):
        self.cloud, self.service, self.region = cloud, service, region
        if service not in _MODELS:
            _MODELS[service] = boto3.client(service, region_name="us-east-1")
        self.model = _MODELS[service]

    def __getattr__(self, operation: str):
        api_name = self.model.meta.method_to_api_mapping[operation]
        shape = self.model.meta.service_model.operation_model(api_name).input_shape

        def call(**params):
            report = ParamValidator().validate(params, shape) if shape else None
            assert report is None or not report.has_errors(), report.generate_report()
            self.cloud.calls.append((self.service, self.region, operation, params))
            if self.region in self.cloud.down:
                raise EndpointConnectionError(endpoint_url=f"https://{self.service}."
                                                           f"{self.region}.amazonaws.com")
            return getattr(self.cloud, f"{self.service}_{operation}")(self.region, **params)

        return call


class FakeAws(Aws):
    def __init__(self, cloud: Cloud):
        super().__init__(clock=FakeClock())
        self.cloud = cloud
        self.asked: list[tuple[str, str]] = []

    def client(self, service: str, region: str):
        self.asked.append((service, region))
        return FakeClient(self.cloud, service, region)
