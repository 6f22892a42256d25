"""What `dr status|switchover|failover|failback --local` needs that no moto service has.
Rehearsal-only, and every piece is named in the runbook's output as a stand-in.

- Each region's `/health` (the runbook GETs `https://<region>.<domain>/health`; there is no
  HTTP server in the rehearsal): a model. A region answers 200 while the stack set has an
  instance there and it is not marked lost; its database check is "ok" (the body the runbook
  reads as writable) while the global cluster has a writer in a region that is not lost, since
  both regions' functions write through the global writer endpoint. A lost region answers
  nothing (status 0). Route 53's health checks report what the same model answers for the host
  they probe (moto always answers "Success").
- A lost region (`--local-lose REGION`, for rehearsing a failover): besides its `/health`, every
  AWS API call made in it fails as an unreachable endpoint would (EndpointConnectionError), so
  a runbook that touches it fails here as it would in an outage.
- Aurora's replication lag (CloudWatch `AuroraGlobalDBReplicationLag`, `AuroraGlobalDBRPOLag`
  of each cluster): moto has no Aurora and so no metrics. A stand-in datapoint of 0 ms is put
  for each region's cluster at the start of the command; without one, a switchover would be
  refused for want of a datapoint. The value is not a measurement.
- The reconcile function (the runbook invokes it in the writer's region, to check and to
  rebuild missing receipts and status items): moto cannot run Lambda code, so an Invoke of it
  answers the report of a run that found nothing missing. A call in a lost region still fails
  first, as an unreachable endpoint would.

What this proves: the runbook's order, its waits and refusals, and that a failover calls no
API in the lost region, against the same rehearsed account as the rollout. It does not prove
that Aurora moves the writer, that the API answers, or how long any of it takes.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from unittest import mock

import botocore.client
from botocore.exceptions import EndpointConnectionError
from moto.cloudformation.models import cloudformation_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.rds.models import rds_backends
from botocore.response import StreamingBody
from moto.route53.responses import Route53

from rehearsal.account.rds_global import HOME_OF_GLOBAL_CLUSTERS
from toolkit import resource_names as names

STAND_IN_LAG_MS = 0.0
LAG_METRICS = ("AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag")


@dataclass(frozen=True)
class RunbookModel:
    get: Callable[[str], tuple[int, dict[str, Any]]]   # the /health probe
    caveats: tuple[str, ...]                            # printed with every state


def _writer_region(config) -> str | None:
    found = rds_backends[config.target.account][HOME_OF_GLOBAL_CLUSTERS].global_clusters.get(
        names.global_cluster(config))
    writers = [m.db_cluster_arn.split(":")[3] for m in (found.members if found else [])
               if m.is_writer]
    return writers[0] if writers else None


def _has_instance(config, region: str) -> bool:
    backend = cloudformation_backends[config.target.account][config.administration_region]
    return any(s.name == config.stack_set_name and s.status != "DELETED"
               and s.instances.get_instance(config.target.account, region) is not None
               for s in backend.stacksets.values())


def health(config, lost: str | None) -> Callable[[str], tuple[int, dict[str, Any]]]:
    """GET https://<region>.<domain>/health, as the model answers it (read from moto's
    backends directly: no API call, so a lost region's refusal does not apply)."""
    def get(url: str) -> tuple[int, dict[str, Any]]:
        region = names.region_of_host(url.split("//", 1)[-1].split("/", 1)[0])
        if region == lost or not _has_instance(config, region):
            return 0, {}
        writer = _writer_region(config)
        database = "ok" if writer and writer != lost else "failing"
        body = {"status": "healthy" if database == "ok" else "unhealthy", "region": region,
                "checks": {"database": database, "dynamodb": "ok", "s3": "ok"}}
        return (200 if database == "ok" else 503), body
    return get


@contextlib.contextmanager
def route53_follows(get: Callable[[str], tuple[int, dict[str, Any]]]) -> Iterator[None]:
    """GetHealthCheckStatus reports what `get` answers for the check's host."""
    def status(self: Route53) -> Any:
        check = self.backend.get_health_check(self._get_param("HealthCheckId"))
        code, _ = get(f"https://{check.fqdn}{check.resource_path or '/health'}")
        text = (f"Success: HTTP Status Code: {code}" if code == 200 else
                "Failure: Connection timed out" if code == 0 else
                f"Failure: HTTP Status Code: {code}")
        return ActionResult({"HealthCheckObservations": [{
            "Region": "us-east-1", "IPAddress": "127.0.13.37",
            "StatusReport": {"Status": text,
                             "CheckedTime": datetime.datetime.now(datetime.timezone.utc)}}]})
    with mock.patch.object(Route53, "get_health_check_status", status):
        yield


@contextlib.contextmanager
def region_lost(region: str | None) -> Iterator[None]:
    """Every AWS call made in `region` fails as an unreachable endpoint."""
    if region is None:
        yield
        return
    previous = botocore.client.BaseClient._make_api_call

    def unreachable(client: Any, operation: str, params: dict) -> Any:
        if client.meta.region_name == region:
            raise EndpointConnectionError(
                endpoint_url=f"https://{client.meta.service_model.endpoint_prefix}."
                             f"{region}.amazonaws.com (the rehearsal marks {region} lost)")
        return previous(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", unreachable):
        yield


@contextlib.contextmanager
def reconcile_stand_in(config) -> Iterator[None]:
    """An Invoke of the reconcile function answers a report with nothing missing."""
    function = names.function(config, "reconcile")
    previous = botocore.client.BaseClient._make_api_call

    def invoke(client: Any, operation: str, params: dict) -> Any:
        if operation == "Invoke" and params.get("FunctionName") == function:
            event = json.loads(params.get("Payload") or b"{}")
            report = json.dumps({"region": client.meta.region_name, "mode": "window",
                                 "rows_checked": 0, "missing_receipts": 0,
                                 "missing_status_items": 0, "complete": True,
                                 "stand_in": True, **event}).encode()
            return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(report),
                                                                 len(report))}
        return previous(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", invoke):
        yield


def put_stand_in_lag(config) -> None:
    """A datapoint of `STAND_IN_LAG_MS` for each region's cluster, now (moto's CloudWatch
    backend directly: not journaled, and not refused in a lost region)."""
    # A minute old (naive UTC, as moto keeps them): moto drops a query's end time to the whole
    # second, so a datapoint stamped now would fall after it.
    stamp = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
        datetime.timedelta(minutes=1)
    for region in config.regions:
        cloudwatch_backends[config.target.account][region].put_metric_data("AWS/RDS", [
            {"MetricName": metric, "Value": STAND_IN_LAG_MS, "Unit": "Milliseconds",
             "Timestamp": stamp,
             "Dimensions": [{"Name": "DBClusterIdentifier",
                             "Value": names.cluster(config, region)}]}
            for metric in LAG_METRICS])


@contextlib.contextmanager
def rehearsed(config, lost: str | None) -> Iterator[RunbookModel]:
    """Inside an active rehearsal (`rehearsal.account.local_aws`): the runbook's stand-ins."""
    get = health(config, lost)
    put_stand_in_lag(config)
    caveats = (f"rehearsal: replication and RPO lag are a stand-in {STAND_IN_LAG_MS:.0f} ms "
               "datapoint, not a measurement (moto has no Aurora)",
               "rehearsal: /health and Route 53's checks are a model: healthy while the "
               "region has its stack instance and is not marked lost, writable while the "
               "global cluster has a writer outside a lost region",
               "rehearsal: the reconcile function's check and step are a stand-in that finds "
               "nothing missing (moto cannot run Lambda code)")
    if lost:
        caveats += (f"rehearsal: {lost} is marked lost (--local-lose): its /health answers "
                    "nothing and every AWS call there fails",)
    # The stand-in is patched first, so a call in a lost region fails before it is answered.
    with route53_follows(get), reconcile_stand_in(config), region_lost(lost):
        yield RunbookModel(get, caveats)
