"""The runbook's adapter for AWS: observe into a `DrState`, act on a `Step`.

Every client is made for a named region (`Aws.client(service, region)`), and a region marked
`failed` is refused before any client for it exists: `dr failover` observes and acts only in the
surviving region, plus Route 53 / CloudFormation in us-east-1 when us-east-1 is not the failed
region. The failed region's own `/health` host is still probed from this machine (an HTTPS GET,
no AWS API): what it answers is the evidence a failover needs, so an unanswered probe of that
region is asked again (`NO_ANSWER_RETRIES` times, `NO_ANSWER_INTERVAL_SECONDS` apart, unless
its Route 53 check already fails) before it counts as no answer. Read-only calls that fail are
noted in the state (`notes`), never guessed. Once the writer reports writable, the reconcile
function's check runs there (a synchronous Lambda Invoke with `repair: false`: it reads the
ledger and the projections, writes nothing) and its counts are part of the state. Before each
call that starts something the adapter says what it started (`toolkit.in_flight`), so a Ctrl-C
right after it names it.
"""

from __future__ import annotations

import datetime
import http.client
import json
import urllib.error
import urllib.request
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from toolkit import route53 as route53_health
from toolkit.aws import Aws, error_code
from toolkit.in_flight import CURRENT as IN_FLIGHT
from toolkit.config import Config
from toolkit import resource_names as names
from runbook.decide import GLOBAL_REGION, reconcile_event
from runbook.state import MOVING_STATUSES, DrState, Member, Projections
from toolkit.kernel import Step
from stacksets import operations, plan, state as rollout_state
from stacksets.plan import Desired, Observed, Stack
from stacksets.schema import invocation_payload
from templates.durability_alarm import METRIC_NAME as REGIONAL_DURABILITY_METRIC

HEALTH_TIMEOUT_SECONDS = 5.0
HEALTH_BODY_BYTES = 64 * 1024  # the handler's body is a few hundred bytes
# The lost region's /health counts as unanswered only after it stayed silent for 30 s: three
# more asks, 10 s apart (Route 53 itself calls an endpoint unhealthy after 3 failures of its
# 10 s interval: Route 53 Developer Guide, "How Amazon Route 53 determines whether a health
# check is healthy"). The waiting is on the runbook's clock, inside its RTO budget.
NO_ANSWER_RETRIES = 3
NO_ANSWER_INTERVAL_SECONDS = 10.0


class FailedRegionCall(RuntimeError):
    """A call in the region declared failed: a bug, never attempted."""


class ReconcileFailed(RuntimeError):
    """The reconcile function could not be invoked, or it failed (its message)."""


def http_health(url: str) -> tuple[int, dict[str, Any]]:
    """GET url -> (status, body); status 0 when nothing answered (no connection, no HTTP
    response in time). The body is the JSON object the region sent, or {} when it sent
    anything else: an answer is an answer, whatever its body."""
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_SECONDS) as response:
            return response.status, _json_object(lambda: response.read(HEALTH_BODY_BYTES))
    except urllib.error.HTTPError as error:
        return error.code, _json_object(lambda: error.read(HEALTH_BODY_BYTES))
    except (OSError, ValueError, http.client.HTTPException):
        return 0, {}


def _json_object(read: Callable[[], bytes]) -> dict[str, Any]:
    try:
        body = json.loads(read() or b"{}")
    except (OSError, ValueError, http.client.HTTPException):
        return {}
    return body if isinstance(body, dict) else {}


def writable_from(body: Any) -> bool | None:
    """Whether the region's /health proved a write. The public body says per dependency only
    "ok" or "failing", and the database check is "ok" only after a committed heartbeat write
    (lambda/payments/health.py); a body with an explicit `writable` flag is read as such.
    Anything that is not such an object proves nothing (None)."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("writable"), bool):
        return body["writable"]
    checks = body.get("checks")
    database = checks.get("database") if isinstance(checks, dict) else None
    if isinstance(database, dict):
        database = database.get("writable")
        return database if isinstance(database, bool) else None
    return {"ok": True, "failing": False}.get(database) if isinstance(database, str) else None


class RegionGuard:
    """The `Aws` that code shared with the rollout (`stacksets.state`) reads through: every
    client comes from the adapter's `client()`, which refuses the failed region."""

    def __init__(self, adapter: "AwsAdapter"):
        self._adapter = adapter

    def client(self, service: str, region: str) -> Any:
        return self._adapter.client(service, region)

    def cfn(self, region: str) -> Any:
        return self.client("cloudformation", region)

    def __getattr__(self, name: str) -> Any:  # call, pages, clock
        return getattr(self._adapter.aws, name)


class AwsAdapter:
    def __init__(self, aws: Aws, config: Config, *, desired: Desired | None = None,
                 failed: str | None = None,
                 get: Callable[[str], tuple[int, dict[str, Any]]] = http_health,
                 caveats: tuple[str, ...] = ()):
        self.aws, self.config, self.failed, self.get = aws, config, failed, get
        self.desired, self.caveats = desired, caveats
        self.home, self.recovery = names.home(config), names.recovery(config)
        self.called: set[str] = set()
        self.silent: set[str] = set()   # failed regions whose /health stayed silent for 30 s

    # --- plumbing --------------------------------------------------------------------------
    def client(self, service: str, region: str) -> Any:
        if region == self.failed:
            raise FailedRegionCall(f"{service} in {region}: that region is declared failed")
        self.called.add(region)
        return self.aws.client(service, region)

    def allowed(self, region: str) -> bool:
        return region != self.failed

    def now(self) -> float:
        return self.aws.clock.now()

    def sleep(self, seconds: float) -> None:
        self.aws.clock.sleep(seconds)

    # --- observe ---------------------------------------------------------------------------
    def observe(self) -> DrState:
        notes: list[str] = []
        self.called = set()
        rds_region = self.home if self.allowed(self.home) else self.recovery
        cluster = self._global_cluster(rds_region, notes)
        members = tuple(
            Member(names.region_of_arn(m["DBClusterArn"]), m["DBClusterArn"],
                   bool(m.get("IsWriter")), m.get("SynchronizationStatus", ""))
            for m in cluster.get("GlobalClusterMembers", []))
        failover = cluster.get("FailoverState") or {}
        writer = next((m.region for m in members if m.is_writer), None)
        secondary = next((r for r in (self.home, self.recovery) if r != writer), None)
        lag = rpo = None
        if secondary and self.allowed(secondary):
            lag = self._metric(secondary, "AuroraGlobalDBReplicationLag", notes)
            rpo = self._metric(secondary, "AuroraGlobalDBRPOLag", notes)
        elif secondary:
            notes.append(f"replication lag not read: {secondary} is declared failed")
        stack = self._global_stack(notes) if self.allowed(GLOBAL_REGION) else None
        checks, preferred = self._route53(stack, notes) if stack else ({}, None)
        if not self.allowed(GLOBAL_REGION):
            notes.append("Route 53 and the global stack not read: their control plane is in "
                         f"{GLOBAL_REGION}, declared failed; DNS moves by health checks")
        # Every region's own /health host, the lost one included: an HTTPS GET from this
        # machine is no AWS API call in that region, and it is the evidence a failover needs.
        # While Route 53's checkers find the failed region failing, its silence is not asked
        # again: their 3 failures x 10 s are that wait already.
        healthy, writable, statuses, urls = {}, {}, {}, {}
        for region in (self.home, self.recovery):
            answer = self._health(region, notes, retry=checks.get(region) is not False)
            if answer is not None:
                statuses[region], body = answer
                healthy[region], writable[region] = statuses[region] == 200, \
                    writable_from(body)
            else:
                healthy[region] = writable[region] = None
            urls[region] = names.health_url(self.config, region) or ""
        updates, pending = self._dns_updates(stack, notes)
        moving = cluster.get("Status", "") in MOVING_STATUSES
        projections = {} if moving else self._projections(writer, writable, notes)
        return DrState(
            home=self.home, recovery=self.recovery, global_cluster=names.global_cluster(
                self.config), global_status=cluster.get("Status", ""),
            failover_status=failover.get("Status", ""),
            failover_to=names.region_of_arn(failover.get("ToDbClusterArn", "")),
            members=members, replication_lag_ms=lag, rpo_lag_ms=rpo, healthy=healthy,
            health_urls=urls, writable=writable, health_status=statuses,
            health_checks=checks, dns_preferred=preferred,
            dns_updates=updates, global_stack_status=stack.status if stack else None,
            global_stack_failure=self._stack_failure(stack, notes) if stack else None,
            global_stack_pending=pending,
            secret_replica=self._secret(notes), table_replicas=self._tables(notes),
            s3_replication=self._s3_replication(notes),
            regional_durability=self._regional_durability(notes), projections=projections,
            observed_regions=tuple(sorted(self.called)), notes=tuple(notes),
            caveats=self.caveats)

    def _global_cluster(self, region: str, notes: list[str]) -> dict[str, Any]:
        rds = self.client("rds", region)
        try:
            found = self.aws.call(rds.describe_global_clusters,
                                  GlobalClusterIdentifier=names.global_cluster(self.config))
            return found["GlobalClusters"][0] if found["GlobalClusters"] else {}
        except (ClientError, BotoCoreError) as error:
            notes.append(f"DescribeGlobalClusters in {region}: {_why(error)}")
            return {}

    def _metric(self, region: str, metric: str, notes: list[str]) -> float | None:
        """Latest 1-minute Maximum of an Aurora global metric of the secondary cluster (AWS/RDS,
        dimension DBClusterIdentifier; Aurora User Guide, "Amazon CloudWatch metrics for
        Amazon Aurora")."""
        return self._statistic(region, "AWS/RDS", metric, {
            "DBClusterIdentifier": names.cluster(self.config, region)}, "Maximum", 5, notes)

    def _statistic(self, region: str, namespace: str, metric: str,
                   dimensions: dict[str, str], statistic: str, minutes: int,
                   notes: list[str]) -> float | None:
        """The newest 1-minute datapoint (Maximum) or the sum over the window (Sum)."""
        end = datetime.datetime.now(datetime.timezone.utc)
        try:
            points = self.aws.call(
                self.client("cloudwatch", region).get_metric_statistics, Namespace=namespace,
                MetricName=metric,
                Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
                StartTime=end - datetime.timedelta(minutes=minutes), EndTime=end, Period=60,
                Statistics=[statistic])["Datapoints"]
        except (ClientError, BotoCoreError) as error:
            notes.append(f"{metric} in {region}: {_why(error)}")
            return None
        if statistic == "Sum":
            return float(sum(p["Sum"] for p in points)) if points else 0.0
        latest = max(points, key=lambda p: p["Timestamp"], default=None)
        return None if latest is None else float(latest[statistic])

    def _s3_replication(self, notes: list[str]) -> dict[str, dict[str, float | None]]:
        """S3 Replication Time Control metrics of each reachable region's outgoing rule
        (AWS/S3, dimensions SourceBucket, DestinationBucket, RuleId; S3 User Guide,
        "Monitoring replication with Amazon S3 Replication metrics")."""
        found = {}
        for source in (self.home, self.recovery):
            if not self.allowed(source):
                continue
            other = self.recovery if source == self.home else self.home
            dimensions = {"SourceBucket": names.bucket(self.config, source),
                          "DestinationBucket": names.bucket(self.config, other),
                          "RuleId": names.S3_REPLICATION_RULE}
            found[source] = {
                "failed": self._statistic(source, "AWS/S3", "OperationsFailedReplication",
                                          dimensions, "Sum", 15, notes),
                "latency_s": self._statistic(source, "AWS/S3", "ReplicationLatency",
                                             dimensions, "Maximum", 15, notes)}
        return found

    def _regional_durability(self, notes: list[str]) -> dict[str, float | None]:
        """Requests answered with regional durability only in the last 5 minutes, per reachable
        region (the processor's log metric filter: templates/durability_alarm.py; no
        dimensions)."""
        namespace = names.metric_namespace(self.config)
        return {region: self._statistic(region, namespace, REGIONAL_DURABILITY_METRIC, {}, "Sum",
                                        5, notes)
                for region in (self.home, self.recovery) if self.allowed(region)}

    def _projections(self, writer: str | None, writable: dict[str, bool | None],
                     notes: list[str]) -> dict[str, Projections | None]:
        """The reconcile function's check in the writer's region, once it reports writable
        (before, the function could not read the ledger either)."""
        if writer is None or not self.allowed(writer) or writable.get(writer) is not True:
            return {}
        try:
            report = self.reconcile(writer, reconcile_event(
                repair=False, peer_region_lost=self.failed is not None))
        except ReconcileFailed as error:
            notes.append(f"reconcile check in {writer}: {error}")
            return {writer: None}
        return {writer: Projections.from_report(report)}

    def reconcile(self, region: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke the reconcile function in `region` and wait for its report."""
        function = names.function(self.config, "reconcile")
        try:
            response = self.aws.call(self.client("lambda", region).invoke,
                                     FunctionName=function, InvocationType="RequestResponse",
                                     Payload=json.dumps(event).encode())
        except (ClientError, BotoCoreError) as error:
            raise ReconcileFailed(f"Invoke {function} in {region}: {_why(error)}") from None
        report = invocation_payload(response)
        if response.get("FunctionError") or not isinstance(report, dict) \
                or "missing_receipts" not in report:
            message = report.get("errorMessage") if isinstance(report, dict) else None
            raise ReconcileFailed(f"{function} in {region} failed: "
                                  f"{message or response.get('FunctionError') or report!r}")
        return report

    def _health(self, region: str, notes: list[str], retry: bool = True
                ) -> tuple[int, dict[str, Any]] | None:
        """(HTTP status, body) of the region's GET /health, status 0 for no answer; None when
        there is no URL to ask. With `retry`, the failed region is asked again while it stays
        silent, until it has been silent for 30 s once (then once per observation)."""
        url = names.health_url(self.config, region)
        if url is None:
            notes.append(f"/health of {region}: the config has no domain.name")
            return None
        status, body = self.get(url)
        if status or not retry or region != self.failed or region in self.silent:
            if status:
                self.silent.discard(region)
            return status, body
        for _ in range(NO_ANSWER_RETRIES):
            self.sleep(NO_ANSWER_INTERVAL_SECONDS)
            status, body = self.get(url)
            if status:
                return status, body
        self.silent.add(region)
        notes.append(f"GET {url}: no answer in {NO_ANSWER_RETRIES + 1} tries over "
                     f"{NO_ANSWER_RETRIES * NO_ANSWER_INTERVAL_SECONDS:.0f} s")
        return 0, {}

    def _global_stack(self, notes: list[str]) -> Stack | None:
        """The global stack (parameters, outputs, template), read once per observation."""
        try:
            stack = rollout_state.global_stack(RegionGuard(self), self.config)
        except (ClientError, BotoCoreError) as error:
            notes.append(f"global stack: {_why(error)}")
            return None
        if stack is None:
            notes.append(f"no global stack {self.config.global_stack_name}: run deploy")
        return stack

    def _stack_failure(self, stack: Stack, notes: list[str]) -> str | None:
        """The first failed resource of the global stack's last operation, when it failed or
        rolled back (CloudFormation User Guide, "Stack status codes")."""
        if operations.stack_state(stack.status) != operations.FAILED or not stack.stack_id:
            return None
        try:
            return operations.first_failed_event(RegionGuard(self), GLOBAL_REGION,
                                                 stack.stack_id, stack.version)
        except (ClientError, BotoCoreError) as error:
            notes.append(f"global stack events: {_why(error)}")
            return None

    def _route53(self, stack: Stack, notes: list[str]
                 ) -> tuple[dict[str, bool | None], str | None]:
        parameters, outputs = stack.parameters, stack.outputs
        preferred = names.preferred_region(parameters)
        checks: dict[str, bool | None] = {}
        route53 = self.client("route53", GLOBAL_REGION)
        for region, (_, check) in names.failover_records(parameters, outputs).items():
            if not check:
                continue
            try:
                seen = self.aws.call(route53.get_health_check_status,
                                     HealthCheckId=check)["HealthCheckObservations"]
            except (ClientError, BotoCoreError) as error:
                notes.append(f"GetHealthCheckStatus {region}: {_why(error)}")
                checks[region] = None
                continue
            checks[region] = route53_health.is_healthy(seen)
        return checks, preferred or None

    def _dns_updates(self, stack: Stack | None, notes: list[str]
                     ) -> tuple[dict[str, dict[str, Any]], str | None]:
        """(the DNS step's arguments per preferred region, what a deploy would change in the
        global stack besides the preference), from the regional outputs and the rollout's own
        planning function. Only with both regions reachable: a switchover or failback makes
        the DNS step, a failover does not."""
        if self.failed or self.desired is None or stack is None:
            if self.desired is None:
                notes.append("the DNS step is not prepared: no build given")
            return {}, None
        try:
            instances = rollout_state.instances(RegionGuard(self), self.config)
        except (ClientError, BotoCoreError) as error:
            notes.append(f"regional outputs: {_why(error)}")
            return {}, None
        observed = Observed(global_stack=stack)
        outputs = {self.config.role_of(r): i.outputs for r, i in instances.items()}
        pending = plan.next_global_step(self.config, self.desired, observed, outputs)
        updates = {}
        for region in self.config.regions:
            step = plan.next_global_step(self.config, self.desired, observed, outputs,
                                         prefer=region)
            if isinstance(step, Step) and step.action == "update_stack":
                updates[region] = dict(step.arguments)
        if pending is None:
            return updates, ""
        return updates, pending.summary if isinstance(pending, Step) else pending.reason

    def _secret(self, notes: list[str]) -> str | None:
        if not self.allowed(self.home):
            notes.append("secret replica status not read: it is reported by the primary "
                         f"secret in {self.home}, declared failed")
            return None
        try:
            found = self.aws.call(self.client("secretsmanager", self.home).describe_secret,
                                  SecretId=names.secret(self.config))
        except (ClientError, BotoCoreError) as error:
            notes.append(f"DescribeSecret in {self.home}: {_why(error)}")
            return None
        return next((r.get("Status") for r in found.get("ReplicationStatus", [])
                     if r.get("Region") == self.recovery), None)

    def _tables(self, notes: list[str]) -> dict[str, str]:
        statuses: dict[str, str] = {}
        for region in (self.home, self.recovery):
            if not self.allowed(region):
                continue
            try:
                table = self.aws.call(self.client("dynamodb", region).describe_table,
                                      TableName=names.table(self.config))["Table"]
            except (ClientError, BotoCoreError) as error:
                notes.append(f"DescribeTable in {region}: {_why(error)}")
                continue
            statuses[region] = table.get("TableStatus", "")
        return statuses

    # --- act -------------------------------------------------------------------------------
    def act(self, step: Step) -> Any:
        return getattr(self, step.action)(step)

    def switchover_global_cluster(self, step: Step) -> None:
        rds = self.client("rds", step.region)
        IN_FLIGHT.started(f"SwitchoverGlobalCluster of {step.arguments['GlobalClusterIdentifier']}"
                          f" to {step.region}", "RDS")
        self.aws.call(rds.switchover_global_cluster, **step.arguments)

    def failover_global_cluster(self, step: Step) -> None:
        rds = self.client("rds", step.region)
        IN_FLIGHT.started(f"FailoverGlobalCluster (AllowDataLoss) of "
                          f"{step.arguments['GlobalClusterIdentifier']} to {step.region}", "RDS")
        self.aws.call(rds.failover_global_cluster, **step.arguments)

    def reconcile_projections(self, step: Step) -> dict[str, Any]:
        """The reconcile function with `repair: true`: what it rebuilt is the step's record.
        A repeat is harmless (it rebuilds only what is still missing)."""
        IN_FLIGHT.started(f"the reconcile function's repair in {step.region}", "Lambda")
        return self.reconcile(step.region, dict(step.arguments))

    def prefer_dns(self, step: Step) -> None:
        """UpdateStack of the global stack with the arguments the rollout plans for that
        preference (template source, capabilities, every parameter: deploy's global phase)."""
        cfn = self.client("cloudformation", step.region)
        IN_FLIGHT.started(f"UpdateStack of {step.arguments.get('StackName')} (DNS prefers "
                          f"{', '.join(step.targets)})", "CloudFormation")
        try:
            self.aws.call(cfn.update_stack, **step.arguments)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise


def _why(error: Exception) -> str:
    return error_code(error) if isinstance(error, ClientError) else type(error).__name__
