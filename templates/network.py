"""Network of one region: VPC, subnets in two AZs, egress, endpoints, flow logs, peering.

Lambda functions and the database live in private subnets whose only default route is a NAT
gateway (or nothing, with egress mode `none`); the internet gateway is attached to the public
subnets only, which hold nothing but NAT gateways. Gateway endpoints for S3 and DynamoDB are
always there (they are free and keep data-plane traffic off the NAT).
"""

from dataclasses import dataclass

from troposphere import (
    And, Cidr, Condition, Equals, GetAZs, If, Join, Not, Output, Ref, Select, Sub, Template, ec2,
    iam, logs,
)

from . import grants, names
from .keys import Key
from .regional_params import Regional
from .tagging import name, tags

# Two AZs; a key is part of every per-AZ logical ID ("PrivateSubnetA"), so IDs derive from
# meaning (first/second AZ), not list positions that shift.
ZONES = ("A", "B")

# Fn::Cidr of the /16 into four /20s: public A, public B, private A, private B.
SUBNET_COUNT = 4
SUBNET_BITS = 12

FLOW_LOG_RETENTION_DAYS = 365  # PCI DSS 10.5.1: keep audit trail history for at least a year

# Interface endpoints the code needs when there is no NAT (egress mode `none`).
INTERFACE_ENDPOINT_SERVICES = {
    "SecretsManager": "secretsmanager",
    "Kms": "kms",
    "Logs": "logs",
    "Sts": "sts",
}

POSTGRES_PORT = 5432
HTTPS_PORT = 443

# A security group with no egress rule allows all egress; this rule matches nothing (CDK's
# `allowAllOutbound: false` does the same) so the group allows no egress at all.
NO_EGRESS_RULE = ec2.SecurityGroupRule(
    Description="Disallow all egress (matches no traffic)",
    IpProtocol="icmp", FromPort=252, ToPort=86, CidrIp="255.255.255.255/32",
)


@dataclass(frozen=True)
class Network:
    vpc: ec2.VPC
    private_subnets: tuple[ec2.Subnet, ...]
    private_route_tables: tuple[ec2.RouteTable, ...]
    lambda_security_group: ec2.SecurityGroup
    database_security_group: ec2.SecurityGroup

    @property
    def private_subnet_ids(self) -> list[Ref]:
        return [Ref(s) for s in self.private_subnets]


def _az(index: int) -> Select:
    # The region's AZs by position: no AZ name baked in, the same template in every region.
    return Select(index, GetAZs(""))


def _subnet_cidr(regional: Regional, index: int) -> Select:
    return Select(index, Cidr(regional.vpc_cidr, SUBNET_COUNT, SUBNET_BITS))


def add_network(regional: Regional, key: Key) -> Network:
    t = regional.template
    egress = Ref(names.EGRESS_MODE)
    t.add_condition(names.HAS_NAT, Not(Equals(egress, "none")))
    t.add_condition(names.NAT_PER_AZ, Equals(egress, "nat-per-az"))
    t.add_condition(names.NO_EGRESS, Equals(egress, "none"))

    vpc = t.add_resource(ec2.VPC(
        "Vpc", CidrBlock=regional.vpc_cidr, EnableDnsHostnames=True, EnableDnsSupport=True,
        Tags=tags("vpc"),
    ))
    nats = _public_tier(t, regional, vpc)
    subnets, route_tables = _private_tier(t, regional, vpc, nats)
    _gateway_endpoints(t, vpc, route_tables)
    _flow_logs(t, vpc, key)
    lambda_sg, db_sg = _security_groups(t, regional, vpc)
    _interface_endpoints(t, vpc, subnets, lambda_sg)
    _peering(t, vpc, route_tables)

    t.add_output(Output(names.OUT_VPC_ID, Description="VPC id", Value=Ref(vpc)))
    t.add_output(Output(names.OUT_VPC_CIDR, Description="VPC CIDR", Value=regional.vpc_cidr))
    t.add_output(Output(names.OUT_PRIVATE_SUBNET_IDS, Description="Private subnet ids",
                        Value=Join(",", [Ref(s) for s in subnets])))
    t.add_output(Output(names.OUT_LAMBDA_SECURITY_GROUP_ID, Description="Lambda security group",
                        Value=Ref(lambda_sg)))
    t.add_output(Output(names.OUT_DATABASE_SECURITY_GROUP_ID,
                        Description="Database security group", Value=Ref(db_sg)))
    return Network(vpc=vpc, private_subnets=subnets, private_route_tables=route_tables,
                   lambda_security_group=lambda_sg, database_security_group=db_sg)


def _public_tier(t: Template, regional: Regional, vpc: ec2.VPC) -> dict[str, ec2.NatGateway]:
    igw = t.add_resource(ec2.InternetGateway("InternetGateway", Condition=names.HAS_NAT,
                                             Tags=tags("igw")))
    attachment = t.add_resource(ec2.VPCGatewayAttachment(
        "InternetGatewayAttachment", Condition=names.HAS_NAT, VpcId=Ref(vpc),
        InternetGatewayId=Ref(igw),
    ))
    public_rt = t.add_resource(ec2.RouteTable("PublicRouteTable", Condition=names.HAS_NAT,
                                              VpcId=Ref(vpc), Tags=tags("public")))
    t.add_resource(ec2.Route(
        "PublicDefaultRoute", Condition=names.HAS_NAT, DependsOn=attachment,
        RouteTableId=Ref(public_rt), DestinationCidrBlock="0.0.0.0/0", GatewayId=Ref(igw),
    ))
    nats = {}
    for index, zone in enumerate(ZONES):
        subnet = t.add_resource(ec2.Subnet(
            f"PublicSubnet{zone}", Condition=names.HAS_NAT, VpcId=Ref(vpc),
            AvailabilityZone=_az(index), CidrBlock=_subnet_cidr(regional, index),
            MapPublicIpOnLaunch=False, Tags=tags(f"public-{zone.lower()}", Tier="public"),
        ))
        t.add_resource(ec2.SubnetRouteTableAssociation(
            f"PublicSubnet{zone}RouteTable", Condition=names.HAS_NAT,
            SubnetId=Ref(subnet), RouteTableId=Ref(public_rt),
        ))
        # The first AZ's NAT exists in both NAT modes; the others only with one NAT per AZ.
        condition = names.HAS_NAT if index == 0 else names.NAT_PER_AZ
        eip = t.add_resource(ec2.EIP(f"NatEip{zone}", Condition=condition, Domain="vpc",
                                     DependsOn=attachment, Tags=tags(f"nat-{zone.lower()}")))
        nats[zone] = t.add_resource(ec2.NatGateway(
            f"NatGateway{zone}", Condition=condition, SubnetId=Ref(subnet),
            AllocationId=eip.get_att("AllocationId"), Tags=tags(f"nat-{zone.lower()}"),
        ))
    return nats


def _private_tier(t: Template, regional: Regional, vpc: ec2.VPC,
                  nats: dict[str, ec2.NatGateway]):
    first_nat = Ref(nats[ZONES[0]])
    subnets, route_tables = [], []
    for index, zone in enumerate(ZONES):
        subnet = t.add_resource(ec2.Subnet(
            f"PrivateSubnet{zone}", VpcId=Ref(vpc), AvailabilityZone=_az(index),
            CidrBlock=_subnet_cidr(regional, len(ZONES) + index), MapPublicIpOnLaunch=False,
            Tags=tags(f"private-{zone.lower()}", Tier="private"),
        ))
        route_table = t.add_resource(ec2.RouteTable(
            f"PrivateRouteTable{zone}", VpcId=Ref(vpc), Tags=tags(f"private-{zone.lower()}"),
        ))
        t.add_resource(ec2.SubnetRouteTableAssociation(
            f"PrivateSubnet{zone}RouteTable", SubnetId=Ref(subnet),
            RouteTableId=Ref(route_table),
        ))
        # Default route to this AZ's NAT (per-AZ mode) or to the first AZ's NAT (single mode);
        # with egress `none` there is no default route at all.
        nat = first_nat if index == 0 else If(names.NAT_PER_AZ, Ref(nats[zone]), first_nat)
        t.add_resource(ec2.Route(
            f"PrivateDefaultRoute{zone}", Condition=names.HAS_NAT,
            RouteTableId=Ref(route_table), DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat,
        ))
        subnets.append(subnet)
        route_tables.append(route_table)
    return tuple(subnets), tuple(route_tables)


def _gateway_endpoints(t: Template, vpc: ec2.VPC, route_tables) -> None:
    for logical, service in (("S3", "s3"), ("DynamoDb", "dynamodb")):
        t.add_resource(ec2.VPCEndpoint(
            f"{logical}GatewayEndpoint", VpcId=Ref(vpc), VpcEndpointType="Gateway",
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            RouteTableIds=[Ref(rt) for rt in route_tables],
        ))


def _flow_logs(t: Template, vpc: ec2.VPC, key: Key) -> None:
    log_group = t.add_resource(logs.LogGroup(
        "FlowLogGroup",
        LogGroupName=Sub(f"/${{{names.NAME_PREFIX}}}/${{{names.ENVIRONMENT_NAME}}}/vpc-flow-logs"),
        RetentionInDays=FLOW_LOG_RETENTION_DAYS,
        KmsKeyId=key.arn,
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    ))
    role = t.add_resource(iam.Role(
        "FlowLogRole",
        Description="VPC flow logs deliver to the flow log group",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("vpc-flow-logs")),
        Policies=[iam.Policy(
            PolicyName="deliver-flow-logs",
            PolicyDocument=grants.policy(*grants.log_delivery(log_group.get_att("Arn"))),
        )],
        Tags=tags("flow-logs"),
    ))
    t.add_resource(ec2.FlowLog(
        "VpcFlowLog", ResourceId=Ref(vpc), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogGroupName=Ref(log_group),
        DeliverLogsPermissionArn=role.get_att("Arn"), MaxAggregationInterval=60,
        Tags=tags("flow-log"),
    ))


def _security_groups(t: Template, regional: Regional, vpc: ec2.VPC):
    lambda_sg = t.add_resource(ec2.SecurityGroup(
        "LambdaSecurityGroup", VpcId=Ref(vpc), GroupName=name("lambda"),
        GroupDescription="Payment Lambda functions: HTTPS to AWS APIs, PostgreSQL to the database",
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            Description="HTTPS to AWS service endpoints (NAT, gateway or interface endpoints)",
            IpProtocol="tcp", FromPort=HTTPS_PORT, ToPort=HTTPS_PORT, CidrIp="0.0.0.0/0",
        ), ec2.SecurityGroupRule(
            # The global writer endpoint leads to the other region's writer whenever that
            # region's cluster is the primary (docs/architecture.md, "Write path in every DR state"). A
            # security group cannot be referenced across regions, even over peering: use the
            # peer VPC's CIDR (VPC Peering Guide, "Update your security groups to reference
            # peer security groups").
            Description="PostgreSQL to the peer region's writer, across the peering",
            IpProtocol="tcp", FromPort=POSTGRES_PORT, ToPort=POSTGRES_PORT,
            CidrIp=regional.peer_vpc_cidr,
        )],
        Tags=tags("lambda"),
    ))
    db_sg = t.add_resource(ec2.SecurityGroup(
        "DatabaseSecurityGroup", VpcId=Ref(vpc), GroupName=name("database"),
        GroupDescription="Aurora PostgreSQL: reachable from the Lambda group and the peer VPC only",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            Description="PostgreSQL from the peer region's VPC (cross-region access, runbook)",
            IpProtocol="tcp", FromPort=POSTGRES_PORT, ToPort=POSTGRES_PORT,
            CidrIp=regional.peer_vpc_cidr,
        )],
        SecurityGroupEgress=[NO_EGRESS_RULE],
        Tags=tags("database"),
    ))
    # Separate rule resources: two groups that name each other inline would be a cycle.
    t.add_resource(ec2.SecurityGroupIngress(
        "DatabaseIngressFromLambda", GroupId=Ref(db_sg), SourceSecurityGroupId=Ref(lambda_sg),
        IpProtocol="tcp", FromPort=POSTGRES_PORT, ToPort=POSTGRES_PORT,
        Description="PostgreSQL from the payment Lambda functions",
    ))
    t.add_resource(ec2.SecurityGroupEgress(
        "LambdaEgressToDatabase", GroupId=Ref(lambda_sg), DestinationSecurityGroupId=Ref(db_sg),
        IpProtocol="tcp", FromPort=POSTGRES_PORT, ToPort=POSTGRES_PORT,
        Description="PostgreSQL to the regional Aurora cluster",
    ))
    return lambda_sg, db_sg


def _interface_endpoints(t: Template, vpc: ec2.VPC, subnets, lambda_sg) -> None:
    endpoint_sg = t.add_resource(ec2.SecurityGroup(
        "EndpointSecurityGroup", Condition=names.NO_EGRESS, VpcId=Ref(vpc),
        GroupName=name("endpoints"),
        GroupDescription="Interface endpoints: HTTPS from the Lambda functions only",
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            Description="HTTPS from the payment Lambda functions",
            IpProtocol="tcp", FromPort=HTTPS_PORT, ToPort=HTTPS_PORT,
            SourceSecurityGroupId=Ref(lambda_sg),
        )],
        SecurityGroupEgress=[NO_EGRESS_RULE],
        Tags=tags("endpoints"),
    ))
    for logical, service in INTERFACE_ENDPOINT_SERVICES.items():
        t.add_resource(ec2.VPCEndpoint(
            f"{logical}InterfaceEndpoint", Condition=names.NO_EGRESS, VpcId=Ref(vpc),
            VpcEndpointType="Interface", PrivateDnsEnabled=True,
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            SubnetIds=[Ref(s) for s in subnets], SecurityGroupIds=[Ref(endpoint_sg)],
        ))


def _peering(t: Template, vpc: ec2.VPC, route_tables) -> None:
    """The primary requests peering with `PeerRegion` once it knows the secondary VPC id; in
    one account a cross-region request needs no accepter role (Amazon VPC Peering Guide,
    "Create a VPC peering connection"). Each side routes the peer CIDR from its private route
    tables: the primary at once, the secondary when the rollout passes it the connection id."""
    t.add_condition(names.REQUESTS_PEERING, And(
        Condition(names.IS_HOME), Not(Equals(Ref(names.RECOVERY_VPC_ID), "")),
    ))
    t.add_condition(names.ROUTES_TO_PEERING, And(
        Condition(names.IS_RECOVERY), Not(Equals(Ref(names.PEERING_CONNECTION_ID), "")),
    ))
    peering = t.add_resource(ec2.VPCPeeringConnection(
        "PeeringConnection", Condition=names.REQUESTS_PEERING, VpcId=Ref(vpc),
        PeerVpcId=Ref(names.RECOVERY_VPC_ID), PeerRegion=Ref(names.RECOVERY_REGION),
        Tags=tags("peering"),
    ))
    for zone, route_table in zip(ZONES, route_tables, strict=True):
        t.add_resource(ec2.Route(
            f"PeerRoute{zone}", Condition=names.REQUESTS_PEERING, RouteTableId=Ref(route_table),
            DestinationCidrBlock=Ref(names.RECOVERY_VPC_CIDR),
            VpcPeeringConnectionId=Ref(peering),
        ))
        t.add_resource(ec2.Route(
            f"PeerRouteFromRecovery{zone}", Condition=names.ROUTES_TO_PEERING,
            RouteTableId=Ref(route_table), DestinationCidrBlock=Ref(names.HOME_VPC_CIDR),
            VpcPeeringConnectionId=Ref(names.PEERING_CONNECTION_ID),
        ))
    t.add_output(Output(names.OUT_PEERING_CONNECTION_ID, Condition=names.REQUESTS_PEERING,
                        Description="Peering connection id, passed to the secondary",
                        Value=Ref(peering)))
