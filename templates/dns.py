"""Failover DNS of the global stack: health checks, PRIMARY/SECONDARY alias records, alarms.

Each record is an *alias* to its region's API Gateway custom domain (a CNAME to the
`execute-api` host would break TLS, and API Gateway answers 403 for a Host it does not know).
Alias records take no TTL: Route 53 answers with the target's addresses directly. Each health
check probes `GET /health` on its region's own endpoint, never the failover name, so a check
measures one region and not whichever region DNS currently points at.
"""

from dataclasses import dataclass

from troposphere import Equals, If, Join, Output, Ref, Tags, Template, cloudwatch, route53

from . import names
from .notifications import Topic, add_alarm
from .parameters import HOSTNAME_PATTERN, ZONE_ID_PATTERN, ParameterSet

GROUP_DNS = "DNS"
GROUP_HEALTH = "Health checks"

HEALTH_CHECK_INTERVAL_SECONDS = 10  # "fast" interval: detection in 10 s x threshold


@dataclass(frozen=True)
class RegionEndpoint:
    """One region's side of failover: what its alias points at and what its check probes."""

    role: str  # "Primary" / "Secondary": also Route 53's failover value in upper case
    target: str
    target_zone: str
    health_host: str
    health_check_output: str


ENDPOINTS = (
    RegionEndpoint("Primary", names.PRIMARY_API_TARGET, names.PRIMARY_API_TARGET_ZONE,
                   names.PRIMARY_HEALTH_HOST, names.OUT_PRIMARY_HEALTH_CHECK_ID),
    RegionEndpoint("Secondary", names.SECONDARY_API_TARGET, names.SECONDARY_API_TARGET_ZONE,
                   names.SECONDARY_HEALTH_HOST, names.OUT_SECONDARY_HEALTH_CHECK_ID),
)


def add_dns_parameters(params: ParameterSet) -> None:
    params.add(
        names.DOMAIN_NAME, group=GROUP_DNS, label="API domain name",
        description="Failover name of the payment API (e.g. api.payments.example.com); the "
                    "same name is the custom domain of the API in both regions.",
        AllowedPattern=HOSTNAME_PATTERN, ConstraintDescription="a lower-case DNS name",
    )
    params.add(
        names.HOSTED_ZONE_ID, group=GROUP_DNS, label="Existing hosted zone id",
        description="Public hosted zone that holds the domain name. Empty to create a zone "
                    "named by ZoneName (then delegate it from its parent).",
        Default="", AllowedPattern=rf"^$|{ZONE_ID_PATTERN}",
        ConstraintDescription="empty or a hosted zone id (Z...)",
    )
    params.add(
        names.ZONE_NAME, group=GROUP_DNS, label="Zone name (new zone only)",
        description="Name of the hosted zone to create when HostedZoneId is empty.",
        Default="", AllowedPattern=rf"^$|{HOSTNAME_PATTERN}",
        ConstraintDescription="empty or a lower-case DNS name",
    )
    for endpoint in ENDPOINTS:
        params.add(
            endpoint.target, group=GROUP_DNS, label=f"{endpoint.role} API domain target",
            description=f"Regional domain name of the {endpoint.role.lower()} API custom domain "
                        "(the regional stack's ApiDomainTarget output, d-....execute-api...).",
            AllowedPattern=HOSTNAME_PATTERN, ConstraintDescription="a lower-case DNS name",
        )
        params.add(
            endpoint.target_zone, group=GROUP_DNS,
            label=f"{endpoint.role} API domain hosted zone id",
            description=f"Hosted zone id of the {endpoint.role.lower()} regional domain name "
                        "(the regional stack's ApiDomainHostedZoneId output).",
            AllowedPattern=ZONE_ID_PATTERN, ConstraintDescription="a hosted zone id (Z...)",
        )
        params.add(
            endpoint.health_host, group=GROUP_HEALTH, label=f"{endpoint.role} health check host",
            description=f"Host of the {endpoint.role.lower()} region's own API endpoint "
                        "(the regional stack's ApiEndpointHost output, <region>.<domain>), "
                        "never the failover name.",
            AllowedPattern=HOSTNAME_PATTERN, ConstraintDescription="a lower-case DNS name",
        )
    params.add(
        names.HEALTH_CHECK_FAILURE_THRESHOLD, group=GROUP_HEALTH,
        label="Health check failure threshold",
        description="Consecutive failed probes (10 s apart) before a region counts as unhealthy.",
        Type="Number", Default="3", MinValue=1, MaxValue=10,
    )


def add_failover_dns(template: Template, topic: Topic) -> None:
    template.add_condition(names.CREATES_ZONE, Equals(Ref(names.HOSTED_ZONE_ID), ""))
    zone = template.add_resource(route53.HostedZone(
        "HostedZone", Condition=names.CREATES_ZONE, Name=Ref(names.ZONE_NAME),
        HostedZoneConfig=route53.HostedZoneConfiguration(
            Comment="Payment API failover zone"),
    ))
    zone_id = If(names.CREATES_ZONE, Ref(zone), Ref(names.HOSTED_ZONE_ID))

    for endpoint in ENDPOINTS:
        check = template.add_resource(route53.HealthCheck(
            f"{endpoint.role}HealthCheck",
            HealthCheckConfig=route53.HealthCheckConfig(
                Type="HTTPS",
                FullyQualifiedDomainName=Ref(endpoint.health_host),
                Port=443,
                ResourcePath=names.HEALTH_PATH,
                RequestInterval=HEALTH_CHECK_INTERVAL_SECONDS,
                FailureThreshold=Ref(names.HEALTH_CHECK_FAILURE_THRESHOLD),
                EnableSNI=True,
                MeasureLatency=True,
            ),
            HealthCheckTags=Tags(
                Name=Join("-", [Ref(names.DOMAIN_NAME), endpoint.role.lower()]),
                Environment=Ref(names.ENVIRONMENT_NAME),
            ),
        ))
        template.add_resource(route53.RecordSetType(
            f"{endpoint.role}FailoverRecord",
            HostedZoneId=zone_id,
            Name=Ref(names.DOMAIN_NAME),
            Type="A",
            SetIdentifier=endpoint.role.lower(),
            Failover=endpoint.role.upper(),
            HealthCheckId=Ref(check),
            AliasTarget=route53.AliasTarget(
                DNSName=Ref(endpoint.target),
                HostedZoneId=Ref(endpoint.target_zone),
                # The record's own health check decides; API Gateway domains expose no target
                # health to evaluate.
                EvaluateTargetHealth=False,
            ),
        ))
        add_alarm(
            template, f"{endpoint.role}HealthCheckAlarm", topic,
            description=f"The {endpoint.role.lower()} region's GET {names.HEALTH_PATH} is "
                        "failing from Route 53; DNS fails over while the primary is unhealthy.",
            Namespace="AWS/Route53",
            MetricName="HealthCheckStatus",
            Dimensions=[cloudwatch.MetricDimension(Name="HealthCheckId", Value=Ref(check))],
            Statistic="Minimum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching",
        )
        template.add_output(Output(
            endpoint.health_check_output,
            Description=f"{endpoint.role} region health check id", Value=Ref(check)))

    template.add_output(Output(names.OUT_HOSTED_ZONE_ID, Description="Hosted zone id",
                               Value=zone_id))
    template.add_output(Output(names.OUT_API_URL, Description="Failover URL of the payment API",
                               Value=Join("", ["https://", Ref(names.DOMAIN_NAME)])))
