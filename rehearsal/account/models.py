"""Rehearsal-only stand-ins for resource types moto's CloudFormation does not implement.

Checked against moto 5.2.5: without these, moto skips the type with a warning, `Ref` yields the
string "None" and `Fn::GetAtt` raises, so a template that wires outputs from them cannot be
rehearsed. Each stand-in returns attributes shaped like the real ones (identifiers, ARNs,
endpoints) and nothing more: they prove that the rollout wires outputs to parameters, never
that the real service accepts the properties. The Aurora global cluster and clusters, and each
global-table replica, are mirrored by real moto objects with their deletion protection, so a
teardown that forgot to turn it off fails in the rehearsal as it would in AWS.
`AWS::RDS::DBInstance` replaces moto's own model, which ignores `DBClusterIdentifier` and
cannot create an Aurora cluster member.

Never used outside `--local`: the classes register themselves with moto when this module is
imported, and only `rehearsal.account` imports it.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.cloudwatch.models import cloudwatch_backends
from moto.dynamodb.models import dynamodb_backends
from moto.rds.exceptions import InvalidParameterCombination
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

# Route 53 alias hosted zone ids of API Gateway regional endpoints ("Amazon API Gateway
# endpoints and quotas", AWS General Reference). Other regions get a well-formed fake.
API_GATEWAY_ZONE_IDS = {
    "us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE", "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD", "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-central-1": "Z1U9ULNL0V5AJ3", "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134", "ap-northeast-1": "Z1YSHQZHG15GKL",
}


def _token(*parts: str, length: int = 10) -> str:
    """A short lowercase id, stable for the same inputs (so an update keeps it)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class StandIn(CloudFormationModel):
    """A resource that only remembers its name and answers `Ref` and `Fn::GetAtt`."""

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""  # the property that names the resource, if any
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, properties: dict[str, Any], account_id: str, region: str):
        self.name = name
        self.properties = properties
        self.account_id = account_id
        self.region = region

    # --- moto's model protocol -------------------------------------------------------------
    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self.attribute(attribute_name)

    @property
    def physical_resource_id(self) -> str:
        return self.ref()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str, **kwargs: Any):
        properties = cloudformation_json.get("Properties") or {}
        resource = cls(cls.physical_name(resource_name, properties), properties, account_id,
                       region_name)
        resource.created()
        return resource

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str):
        properties = cloudformation_json.get("Properties") or {}
        name = (properties.get(cls.NAME_PROPERTY) if cls.NAME_PROPERTY else None) \
            or original_resource.name
        resource = cls(cls.normalise(name), properties, account_id, region_name)
        resource.updated(original_resource)
        return resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> None:
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        self.deleted()

    # --- what subclasses vary ----------------------------------------------------------------
    @classmethod
    def physical_name(cls, generated: str, properties: dict[str, Any]) -> str:
        explicit = properties.get(cls.NAME_PROPERTY) if cls.NAME_PROPERTY else None
        return cls.normalise(explicit or generated)

    @staticmethod
    def normalise(name: str) -> str:
        return name

    def ref(self) -> str:
        return self.name

    def attribute(self, name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    def created(self) -> None:
        """Hook: create real moto objects, if the stand-in mirrors any."""

    def updated(self, original: "StandIn") -> None:
        """Hook: reconcile real moto objects after an update."""

    def deleted(self) -> None:
        """Hook: delete real moto objects."""

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


class _LowercaseIdentifier(StandIn):
    @staticmethod
    def normalise(name: str) -> str:  # RDS stores identifiers in lowercase
        return name.lower().replace(":", "-").replace("_", "-")


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


class _MirroredInRds(_LowercaseIdentifier):
    """Mirrored by a real moto RDS object, so the rollout's Aurora calls (writer region,
    leaving the global cluster, deletion protection) run against moto, and moto's own
    deletion-protection check refuses to delete a protected cluster, as RDS does."""

    def backend(self):
        return rds_backends[self.account_id][self.region]

    def updated(self, original: StandIn) -> None:
        self.created()


class GlobalCluster(_MirroredInRds):
    """Kept in moto's us-east-1 RDS backend, where moto's API looks global clusters up."""

    TYPE = "AWS::RDS::GlobalCluster"
    NAME_PROPERTY = "GlobalClusterIdentifier"
    ATTRIBUTES = ("GlobalEndpoint.Address",)

    def attribute(self, name: str) -> Any:
        return f"{self.name}.global-{_token(self.name, length=8)}.global.rds.amazonaws.com"

    def backend(self):
        return rds_backends[self.account_id]["us-east-1"]

    def created(self) -> None:
        if self.name not in self.backend().global_clusters:
            self.backend().create_global_cluster(
                self.name, None, self.properties.get("Engine", "aurora-postgresql"),
                self.properties.get("EngineVersion"),
                _flag(self.properties.get("StorageEncrypted")),
                _flag(self.properties.get("DeletionProtection")))

    def deleted(self) -> None:
        global_cluster = self.backend().global_clusters.get(self.name)
        if global_cluster is not None and global_cluster.deletion_protection:
            raise InvalidParameterCombination(
                "Cannot delete protected Global Cluster, please disable deletion protection "
                "and try again.")
        if global_cluster is not None:
            self.backend().delete_global_cluster(self.name)


class DBCluster(_MirroredInRds):
    TYPE = "AWS::RDS::DBCluster"
    NAME_PROPERTY = "DBClusterIdentifier"
    ATTRIBUTES = ("Endpoint.Address", "Endpoint.Port", "ReadEndpoint.Address", "DBClusterArn",
                  "DBClusterResourceId")

    def attribute(self, name: str) -> Any:
        suffix = f"{_token(self.account_id, self.region, length=12)}.{self.region}.rds.amazonaws.com"
        return {
            "Endpoint.Address": f"{self.name}.cluster-{suffix}",
            "Endpoint.Port": str(self.properties.get("Port", 5432)),
            "ReadEndpoint.Address": f"{self.name}.cluster-ro-{suffix}",
            "DBClusterArn": self.arn("rds", f"cluster:{self.name}"),
            "DBClusterResourceId": f"cluster-{_token(self.arn('rds', self.name), length=26).upper()}",
        }[name]

    def created(self) -> None:
        if self.name not in self.backend().clusters:
            self.backend().create_db_cluster({
                "db_cluster_identifier": self.name,
                "engine": self.properties.get("Engine", "aurora-postgresql"),
                "engine_version": self.properties.get("EngineVersion"),
                "storage_encrypted": _flag(self.properties.get("StorageEncrypted")),
                "deletion_protection": _flag(self.properties.get("DeletionProtection")),
                "global_cluster_identifier": self.properties.get("GlobalClusterIdentifier"),
                "master_username": "rehearsal" if "MasterUsername" in self.properties else None,
            })

    def deleted(self) -> None:
        if self.name in self.backend().clusters:  # moto refuses a protected cluster
            self.backend().delete_db_cluster(self.name)


class DBInstance(_LowercaseIdentifier):
    TYPE = "AWS::RDS::DBInstance"
    NAME_PROPERTY = "DBInstanceIdentifier"
    ATTRIBUTES = ("Endpoint.Address", "Endpoint.Port", "DBInstanceArn")

    def attribute(self, name: str) -> Any:
        suffix = f"{_token(self.account_id, self.region, length=12)}.{self.region}.rds.amazonaws.com"
        return {
            "Endpoint.Address": f"{self.name}.{suffix}",
            "Endpoint.Port": str(self.properties.get("Port", 5432)),
            "DBInstanceArn": self.arn("rds", f"db:{self.name}"),
        }[name]


class GlobalTable(StandIn):
    """Creates a real moto table in every replica region, so `status` can describe them."""

    TYPE = "AWS::DynamoDB::GlobalTable"
    NAME_PROPERTY = "TableName"
    ATTRIBUTES = ("Arn", "StreamArn", "TableId")

    def replica_regions(self) -> list[str]:
        return [r["Region"] for r in self.properties.get("Replicas", []) if r]  # Fn::If NoValue -> None

    def backend(self, region: str):
        return dynamodb_backends[self.account_id][region]

    def table(self, region: str):
        return self.backend(region).tables.get(self.name)

    def created(self) -> None:
        for region in self.replica_regions():
            if self.table(region) is None:
                self.backend(region).create_table(
                    self.name,
                    schema=self.properties.get("KeySchema", []),
                    throughput=None,
                    attr=self.properties.get("AttributeDefinitions", []),
                    global_indexes=self.properties.get("GlobalSecondaryIndexes"),
                    indexes=self.properties.get("LocalSecondaryIndexes"),
                    streams=self.properties.get("StreamSpecification"),
                    billing_mode=self.properties.get("BillingMode", "PAY_PER_REQUEST"),
                    sse_specification=None, tags=[],
                    deletion_protection_enabled=self.protected(region), warm_throughput=None)

    def protected(self, region: str) -> bool:
        """The replica's DeletionProtectionEnabled: moto's DeleteTable then refuses it."""
        return any(_flag(r.get("DeletionProtectionEnabled")) for r in
                   self.properties.get("Replicas", []) if r and r.get("Region") == region)

    def updated(self, original: StandIn) -> None:
        self.created()
        for region in set(original.replica_regions()) - set(self.replica_regions()):
            self.backend(region).delete_table(self.name)

    def deleted(self) -> None:
        for region in self.replica_regions():
            if self.table(region) is not None:
                self.backend(region).delete_table(self.name)

    def attribute(self, name: str) -> Any:
        table = self.table(self.region)
        arn = table.table_arn if table else self.arn("dynamodb", f"table/{self.name}")
        stream = table.describe()["TableDescription"].get("LatestStreamArn") if table else None
        return {"Arn": arn, "StreamArn": stream or f"{arn}/stream/rehearsal",
                "TableId": str(uuid.UUID(_token(arn, length=32)))}[name]


class Secret(StandIn):
    """Mirrored by a real moto secret with its replicas (`ReplicaRegions`), so the runbook can
    read the replica's status (DescribeSecret `ReplicationStatus`). No value is stored: the
    rehearsal never connects to a database. Retained (DeletionPolicy Retain): a teardown
    leaves it, and a secret an earlier rehearsal left is taken over."""

    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id",)

    def ref(self) -> str:  # Ref on a secret is its ARN
        return self.arn("secretsmanager", f"secret:{self.name}-{_token(self.name, length=6)}")

    def attribute(self, name: str) -> Any:
        return self.ref()

    def replicas(self) -> list[dict[str, str]]:
        return [{"Region": r["Region"], **({"KmsKeyId": r["KmsKeyId"]} if r.get("KmsKeyId")
                                            else {})}
                for r in self.properties.get("ReplicaRegions") or [] if r]

    def created(self) -> None:
        backend = secretsmanager_backends[self.account_id][self.region]
        if self.name not in backend.secrets:
            backend.create_secret(self.name, secret_string=None, secret_binary=None,
                                  description=self.properties.get("Description"), tags=[],
                                  kms_key_id=None, client_request_token=None,
                                  replica_regions=[], force_overwrite=False)
        self.updated(self)

    def updated(self, original: StandIn) -> None:
        backend = secretsmanager_backends[self.account_id][self.region]
        if self.name not in backend.secrets:
            return self.created()
        present = {r.region for r in backend.secrets[self.name].replicas}
        missing = [r for r in self.replicas() if r["Region"] not in present]
        if missing:
            backend.replicate_secret_to_regions(self.name, missing, force_overwrite=False)


class SecretTargetAttachment(StandIn):
    TYPE = "AWS::SecretsManager::SecretTargetAttachment"

    def ref(self) -> str:
        return str(self.properties.get("SecretId", self.name))


class RestApiDomainName(StandIn):
    """API Gateway (REST) custom domain: its regional domain name and hosted zone."""
    TYPE = "AWS::ApiGateway::DomainName"
    NAME_PROPERTY = "DomainName"
    ATTRIBUTES = ("RegionalDomainName", "RegionalHostedZoneId")

    def attribute(self, name: str) -> Any:
        zone = API_GATEWAY_ZONE_IDS.get(self.region) or "Z" + _token(self.region, length=12).upper()
        return {"RegionalDomainName":
                f"d-{_token(self.account_id, self.region, self.name)}.execute-api."
                f"{self.region}.amazonaws.com",
                "RegionalHostedZoneId": zone}[name]


class Certificate(StandIn):
    TYPE = "AWS::CertificateManager::Certificate"

    def ref(self) -> str:
        return self.arn("acm", f"certificate/{uuid.UUID(_token(self.name, length=32))}")


class Alarm(StandIn):
    """Mirrored by a real moto CloudWatch alarm with the template's definition and actions, so
    `verify --local` reads the alarms a stack declares as CloudWatch holds them. moto never
    evaluates an alarm (it reads OK from the start): its state means nothing here."""
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    def attribute(self, name: str) -> Any:
        return self.arn("cloudwatch", f"alarm:{self.name}")

    def backend(self):
        return cloudwatch_backends[self.account_id][self.region]

    def created(self) -> None:
        p = self.properties
        number = lambda key: None if p.get(key) is None else int(p[key])  # noqa: E731
        self.backend().put_metric_alarm(
            name=self.name, namespace=p.get("Namespace", ""), metric_name=p.get("MetricName", ""),
            comparison_operator=p.get("ComparisonOperator", ""),
            evaluation_periods=int(p.get("EvaluationPeriods", 1)), period=number("Period"),
            threshold=float(p.get("Threshold", 0)), statistic=p.get("Statistic"),
            extended_statistic=p.get("ExtendedStatistic"),
            description=p.get("AlarmDescription", ""), dimensions=p.get("Dimensions", []),
            alarm_actions=list(p.get("AlarmActions", [])),
            ok_actions=list(p.get("OKActions", [])),
            datapoints_to_alarm=number("DatapointsToAlarm"),
            actions_enabled=_flag(p.get("ActionsEnabled", True)),
            treat_missing_data=p.get("TreatMissingData"))

    def updated(self, original: StandIn) -> None:
        if original.name != self.name:
            original.deleted()
        self.created()

    def deleted(self) -> None:
        self.backend().delete_alarms([self.name])


class WebAcl(StandIn):
    TYPE = "AWS::WAFv2::WebACL"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "Id")

    def attribute(self, name: str) -> Any:
        identifier = str(uuid.UUID(_token(self.account_id, self.region, self.name, length=32)))
        return {"Arn": self.arn("wafv2", f"regional/webacl/{self.name}/{identifier}"),
                "Id": identifier}[name]


def _ref_only(type_name: str) -> type[StandIn]:
    """API Gateway parts referenced only by `Ref` (an opaque id, or a stage's name)."""
    class RefOnly(StandIn):
        TYPE = type_name

        def ref(self) -> str:
            return self.properties.get("StageName") or _token(self.region, self.name, length=7)
    RefOnly.__name__ = RefOnly.__qualname__ = type_name.split("::")[-1]
    return RefOnly


REF_ONLY = tuple(_ref_only(t) for t in (
    # moto models Deployment, but refuses one for an API whose methods it has not seen yet.
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage", "AWS::ApiGateway::Authorizer", "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Model", "AWS::ApiGateway::GatewayResponse", "AWS::ApiGateway::Account",
    "AWS::ApiGateway::BasePathMapping", "AWS::WAFv2::WebACLAssociation",
    "AWS::WAFv2::LoggingConfiguration"))

STAND_INS: tuple[type[StandIn], ...] = (
    GlobalCluster, DBCluster, DBInstance, GlobalTable, Secret, SecretTargetAttachment,
    RestApiDomainName, WebAcl, Certificate, Alarm, *REF_ONLY)
