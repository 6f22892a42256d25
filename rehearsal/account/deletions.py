"""Rehearsal-only: deleting the EC2 resources that moto 5.2 creates from a template but never
deletes.

Checked against moto 5.2.5: these models define neither `delete()` nor
`delete_from_cloudformation_json()`, so when a stack is deleted, or an update turns a resource's
`Condition` false, moto drops them from the stack but leaves the objects in EC2. The VPC then
keeps its route tables and `DeleteStack` fails with "DependencyViolation: The vpc ... has
dependencies" -- an error real CloudFormation does not raise, because it deletes every resource
of the stack (dependents first). Each method below does what CloudFormation does for that type,
through moto's own EC2 backend; moto's stack deletion already retries a resource whose
dependencies are still there, so the order takes care of itself.

Not covered, on purpose: `AWS::Lambda::Permission` and `AWS::EC2::SecurityGroupIngress` leave
nothing that blocks a deletion.
"""

from __future__ import annotations

from typing import Any, Callable

from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.flow_logs import FlowLogs
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment


def _ec2(account_id: str, region: str) -> Any:
    return ec2_backends[account_id][region]


def delete_route(self: Route, account_id: str, region: str) -> None:
    # By id, like moto's DeleteRoute; nothing to do when the table went first.
    self.route_table._routes.pop(self.id, None)


def delete_route_table(self: RouteTable, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_route_table(self.id)


def delete_association(self: SubnetRouteTableAssociation, account_id: str, region: str) -> None:
    _ec2(account_id, region).subnet_associations.pop(
        f"{self.route_table_id}:{self.subnet_id}", None)


def delete_endpoint(self: VPCEndPoint, account_id: str, region: str) -> None:
    # CloudFormation deletes a gateway endpoint before the route tables it references; moto's
    # retry loop may have deleted a table first, and moto's DeleteVpcEndpoints then fails on it.
    backend = _ec2(account_id, region)
    self.route_table_ids = [t for t in self.route_table_ids or [] if t in backend.route_tables]
    backend.delete_vpc_endpoints([self.id])


def delete_peering(self: VPCPeeringConnection, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_vpc_peering_connection(self.id)


def delete_nat_gateway(self: NatGateway, account_id: str, region: str) -> None:
    backend = _ec2(account_id, region)
    backend.delete_nat_gateway(self.id)
    backend.nat_gateways.pop(self.id, None)  # AWS lists a deleted one for an hour; gone here


def release_address(self: ElasticAddress, account_id: str, region: str) -> None:
    _ec2(account_id, region).release_address(allocation_id=self.allocation_id)


def delete_internet_gateway(self: InternetGateway, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_internet_gateway(self.id)


def detach_internet_gateway(self: VPCGatewayAttachment, account_id: str, region: str) -> None:
    backend = _ec2(account_id, region)
    if self.gateway_id in backend.internet_gateways and \
            backend.internet_gateways[self.gateway_id].vpc is not None:
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)


def delete_flow_log(self: FlowLogs, account_id: str, region: str) -> None:
    _ec2(account_id, region).delete_flow_logs([self.id])


DELETERS: tuple[tuple[type, Callable[..., None]], ...] = (
    (Route, delete_route), (RouteTable, delete_route_table),
    (SubnetRouteTableAssociation, delete_association), (VPCEndPoint, delete_endpoint),
    (VPCPeeringConnection, delete_peering), (NatGateway, delete_nat_gateway),
    (ElasticAddress, release_address), (InternetGateway, delete_internet_gateway),
    (VPCGatewayAttachment, detach_internet_gateway), (FlowLogs, delete_flow_log),
)
# (owner, attribute, replacement) like fidelity.PATCHES; `delete` does not exist on these
# classes, so the patch creates it (and removes it again when the rehearsal ends).
PATCHES = tuple((model, "delete", function) for model, function in DELETERS)
