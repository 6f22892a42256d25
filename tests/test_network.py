"""What must hold for the network in every egress mode and in both roles."""

import pytest

EGRESS_MODES = ["nat-per-az", "single-nat", "none"]
ROLES = ["primary", "secondary"]
RECOVERY_VPC_ID = "vpc-0123456789abcdef0"
PEERING_ID = "pcx-0123456789abcdef0"


def route_table_of(cfn, subnet_id):
    for assoc in cfn.of_type("AWS::EC2::SubnetRouteTableAssociation").values():
        if assoc["Properties"]["SubnetId"] == {"Ref": subnet_id}:
            return assoc["Properties"]["RouteTableId"]["Ref"]
    raise AssertionError(f"{subnet_id} has no route table")


def routes_of(cfn, route_table_id):
    return [r["Properties"] for r in cfn.of_type("AWS::EC2::Route").values()
            if r["Properties"]["RouteTableId"] == {"Ref": route_table_id}]


def lambda_subnets(cfn):
    """The subnets the Lambda functions may use: those of every Lambda VpcConfig, or (before
    the payment service exists) every private subnet."""
    configs = [r["Properties"].get("VpcConfig") for r in cfn.of_type("AWS::Lambda::Function").values()]
    ids = {s["Ref"] for c in configs if c for s in c["SubnetIds"]}
    return ids or {lid for lid in cfn.of_type("AWS::EC2::Subnet") if lid.startswith("Private")}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("mode", EGRESS_MODES)
def test_lambda_subnets_reach_the_internet_only_through_nat(in_region, role, mode):
    cfn = in_region(role, EgressMode=mode)
    nat_ids = set(cfn.of_type("AWS::EC2::NatGateway"))
    subnets = lambda_subnets(cfn)
    assert len(subnets) >= 2
    for subnet in subnets:
        defaults = [r for r in routes_of(cfn, route_table_of(cfn, subnet))
                    if r["DestinationCidrBlock"] == "0.0.0.0/0"]
        if mode == "none":
            assert defaults == [], f"{subnet} has a default route with egress mode none"
            continue
        assert len(defaults) == 1, subnet
        assert "GatewayId" not in defaults[0], f"{subnet} routes to the internet gateway"
        assert defaults[0]["NatGatewayId"]["Ref"] in nat_ids


@pytest.mark.parametrize("mode, nats, public_subnets", [
    ("nat-per-az", 2, 2), ("single-nat", 1, 2), ("none", 0, 0)])
def test_egress_mode_decides_nat_gateways(in_region, mode, nats, public_subnets):
    cfn = in_region("primary", EgressMode=mode)
    assert cfn.count("AWS::EC2::NatGateway") == nats
    assert cfn.count("AWS::EC2::InternetGateway") == (1 if nats else 0)
    public = [s for s in cfn.of_type("AWS::EC2::Subnet") if s.startswith("Public")]
    assert len(public) == public_subnets


def test_nat_per_az_uses_each_zones_own_nat(in_region):
    cfn = in_region("primary", EgressMode="nat-per-az")
    targets = {r["Properties"]["NatGatewayId"]["Ref"]
               for lid, r in cfn.of_type("AWS::EC2::Route").items()
               if lid.startswith("PrivateDefaultRoute")}
    assert targets == {"NatGatewayA", "NatGatewayB"}


def test_internet_gateway_routes_only_from_public_subnets(in_region):
    cfn = in_region("primary")
    igw_routes = [r["Properties"] for r in cfn.of_type("AWS::EC2::Route").values()
                  if "GatewayId" in r["Properties"]]
    assert [r["RouteTableId"] for r in igw_routes] == [{"Ref": "PublicRouteTable"}]
    public_tables = {route_table_of(cfn, s) for s in cfn.of_type("AWS::EC2::Subnet")
                     if s.startswith("Public")}
    assert public_tables == {"PublicRouteTable"}
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False
               for s in cfn.of_type("AWS::EC2::Subnet").values())


def test_subnets_span_two_zones_without_naming_them(regional):
    zones = [s["Properties"]["AvailabilityZone"]
             for lid, s in regional.of_type("AWS::EC2::Subnet").items() if lid.startswith("Private")]
    assert zones == [{"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                     {"Fn::Select": [1, {"Fn::GetAZs": ""}]}]


@pytest.mark.parametrize("role", ROLES)
def test_gateway_endpoints_always_serve_every_private_route_table(in_region, role):
    cfn = in_region(role, EgressMode="none")
    tables = [{"Ref": lid} for lid in cfn.of_type("AWS::EC2::RouteTable") if lid.startswith("Private")]
    gateways = [e["Properties"] for e in cfn.of_type("AWS::EC2::VPCEndpoint").values()
                if e["Properties"]["VpcEndpointType"] == "Gateway"]
    services = sorted(g["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1] for g in gateways)
    assert services == ["dynamodb", "s3"]
    assert len(tables) == 2
    assert all(g["RouteTableIds"] == tables for g in gateways)


@pytest.mark.parametrize("mode, expected", [("none", 4), ("single-nat", 0), ("nat-per-az", 0)])
def test_interface_endpoints_only_without_nat(in_region, mode, expected):
    cfn = in_region("primary", EgressMode=mode)
    interface = cfn.matching("AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Interface"})
    assert len(interface) == expected
    services = {e["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]
                for e in interface.values()}
    if expected:
        assert "secretsmanager" in services
        assert all(e["Properties"]["PrivateDnsEnabled"] for e in interface.values())


def test_peering_before_ids_are_known_creates_nothing(in_region):
    for role in ROLES:
        cfn = in_region(role)
        assert cfn.count("AWS::EC2::VPCPeeringConnection") == 0
        assert not [lid for lid in cfn.of_type("AWS::EC2::Route") if lid.startswith("PeerRoute")]


def test_primary_requests_peering_with_peer_region_and_routes_to_secondary(in_region):
    cfn = in_region("primary", RecoveryVpcId=RECOVERY_VPC_ID, PeeringConnectionId=PEERING_ID)
    (peering,) = cfn.of_type("AWS::EC2::VPCPeeringConnection").values()
    assert peering["Properties"]["PeerRegion"] == "us-west-2"
    assert peering["Properties"]["PeerVpcId"] == RECOVERY_VPC_ID
    assert "PeerRoleArn" not in peering["Properties"]  # same account: no accepter role
    routes = [r["Properties"] for lid, r in cfn.of_type("AWS::EC2::Route").items()
              if lid.startswith("PeerRoute")]
    assert len(routes) == 2
    assert {r["DestinationCidrBlock"] for r in routes} == {"10.1.0.0/16"}
    assert all(r["VpcPeeringConnectionId"] == {"Ref": "PeeringConnection"} for r in routes)
    assert {r["RouteTableId"]["Ref"] for r in routes} == {"PrivateRouteTableA", "PrivateRouteTableB"}
    assert "PeeringConnectionId" in cfn.doc["Outputs"]


def test_secondary_routes_to_primary_once_given_the_peering_id(in_region):
    cfn = in_region("secondary", RecoveryVpcId=RECOVERY_VPC_ID, PeeringConnectionId=PEERING_ID)
    assert cfn.count("AWS::EC2::VPCPeeringConnection") == 0
    routes = [r["Properties"] for lid, r in cfn.of_type("AWS::EC2::Route").items()
              if lid.startswith("PeerRoute")]
    assert {r["RouteTableId"]["Ref"] for r in routes} == {"PrivateRouteTableA", "PrivateRouteTableB"}
    assert {r["DestinationCidrBlock"] for r in routes} == {"10.0.0.0/16"}
    assert {r["VpcPeeringConnectionId"] for r in routes} == {PEERING_ID}


@pytest.mark.parametrize("role, own, peer", [("primary", "10.0.0.0/16", "10.1.0.0/16"),
                                             ("secondary", "10.1.0.0/16", "10.0.0.0/16")])
def test_each_role_takes_its_own_cidr_and_admits_the_peer_to_the_database(in_region, role, own, peer):
    cfn = in_region(role)
    assert cfn.props("Vpc")["CidrBlock"] == own
    ingress = cfn.props("DatabaseSecurityGroup")["SecurityGroupIngress"]
    assert [(r["CidrIp"], r["FromPort"]) for r in ingress] == [(peer, 5432)]
    (from_lambda,) = cfn.of_type("AWS::EC2::SecurityGroupIngress").values()
    assert from_lambda["Properties"]["SourceSecurityGroupId"] == {"Ref": "LambdaSecurityGroup"}
    assert from_lambda["Properties"]["GroupId"] == {"Ref": "DatabaseSecurityGroup"}


def test_no_security_group_admits_the_internet(regional):
    for lid, group in regional.of_type("AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0", lid
        assert group["Properties"].get("SecurityGroupEgress"), f"{lid} would allow all egress"


def test_vpc_flow_logs_go_to_an_encrypted_log_group_with_retention(regional):
    regional.has_resource_properties("AWS::EC2::FlowLog", {
        "ResourceId": {"Ref": "Vpc"}, "TrafficType": "ALL",
        "LogGroupName": {"Ref": "FlowLogGroup"}})
    group = regional.props("FlowLogGroup")
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert group["RetentionInDays"] >= 365
