"""Network reachability in every DR state (issue 15, "Make the rules executable").

For each row of the "Write path in every DR state" table (docs/architecture.md) table, with either region as home
and in every egress mode, the functions of each region that serves payments must be able to
open a TCP connection to the writer cluster the global writer endpoint points at, as the
templates of both regions allow it after the last rollout phase (`tests/reachability.py`).
The model's own tests show that each layer it checks can refuse.
"""

import pytest

from stacksets import plan
from templates import names
from tests import reachability as net
from tests.conftest import BASE_PARAMETERS

DIRECTIONS = [("us-east-1", "us-west-2"), ("us-west-2", "us-east-1")]
EGRESS_MODES = ["nat-per-az", "single-nat", "none"]


@pytest.fixture(scope="module")
def build_world(regional):
    def built(home="us-east-1", recovery="us-west-2", egress="nat-per-az", **kwargs):
        modes = egress if isinstance(egress, dict) else {"home": egress, "recovery": egress}
        return net.world(regional.doc, home, recovery, BASE_PARAMETERS, modes, **kwargs)
    return built


@pytest.mark.parametrize("mode", EGRESS_MODES)
@pytest.mark.parametrize("home, recovery", DIRECTIONS)
@pytest.mark.parametrize("state", sorted(net.DR_STATES))
def test_every_serving_region_reaches_the_writer(build_world, state, home, recovery, mode):
    writer, serving = net.DR_STATES[state]
    world = build_world(home, recovery, mode)
    if writer is None:
        # Home lost, nothing promoted yet: there is no writer to reach; recovery's /health
        # must still answer (503 with Retry-After), so its AWS APIs stay reachable.
        for role in serving:
            site = world.site(role)
            for function in net.writer_functions(site):
                for eni in net.function_enis(site, function):
                    for service in net.services_called(site, function):
                        assert net.api_denials(world, eni, service) == [], (function, service)
        return
    for caller in serving:
        denials = net.writer_denials(world, caller, writer)
        assert denials and set(denials) >= {"ProcessorFunction", "HealthFunction"}
        assert all(reasons == [] for reasons in denials.values()), (caller, writer, denials)


@pytest.mark.parametrize("mode", EGRESS_MODES)
@pytest.mark.parametrize("home, recovery", DIRECTIONS)
@pytest.mark.parametrize("role", ["home", "recovery"])
def test_every_function_reaches_every_aws_api_it_calls(build_world, role, home, recovery,
                                                       mode):
    world = build_world(home, recovery, mode)
    site = world.site(role)
    functions = site.cfn.of_type("AWS::Lambda::Function")
    assert len(functions) >= 4
    for function in functions:
        called = net.services_called(site, function)
        assert called, function
        for eni in net.function_enis(site, function):
            for service in called:
                assert net.api_denials(world, eni, service) == [], (function, service)


def test_what_the_functions_call_is_read_from_their_roles(build_world):
    site = build_world().home
    assert net.services_called(site, "ProcessorFunction") >= {"dynamodb", "s3",
                                                              "secretsmanager"}
    assert net.services_called(site, "AuthorizerFunction") == {"dynamodb"}
    assert not {"ec2", "logs", "xray"} & net.services_called(site, "ProcessorFunction")


# --- the model can refuse: each layer, one test -------------------------------------------------
def test_before_the_peer_routes_phase_recovery_cannot_reach_the_home_writer(build_world):
    world = build_world(phase=plan.JOIN)
    reasons = net.writer_denials(world, "recovery", "home")["ProcessorFunction"]
    assert any("no route" in r or "peering" in r for r in reasons), reasons
    assert net.writer_denials(world, "home", "home")["ProcessorFunction"] == []


def test_a_security_group_named_across_regions_admits_nothing(build_world):
    """Defect 2's shape: a Lambda group that sends PostgreSQL only to the database *group*
    reaches its own region's writer and never the other region's."""
    def only_group_egress(role, doc):
        doc["Resources"]["LambdaSecurityGroup"]["Properties"]["SecurityGroupEgress"] = [
            r for r in doc["Resources"]["LambdaSecurityGroup"]["Properties"][
                "SecurityGroupEgress"] if r["FromPort"] != 5432]
    world = build_world(mutate=only_group_egress)
    assert net.writer_denials(world, "home", "home")["ProcessorFunction"] == []
    reasons = net.writer_denials(world, "recovery", "home")["ProcessorFunction"]
    assert any("no egress" in r for r in reasons), reasons


def test_the_database_must_admit_the_peer_cidr(build_world):
    def no_peer_ingress(role, doc):
        doc["Resources"]["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"] = []
    reasons = net.writer_denials(build_world(mutate=no_peer_ingress), "recovery",
                                 "home")["HealthFunction"]
    assert any("no ingress" in r for r in reasons), reasons


def test_the_return_route_is_needed_too(build_world):
    def home_forgets_the_peer_route(role, doc):
        if role == "home":
            for zone in "AB":
                del doc["Resources"][f"PeerRoute{zone}"]
    reasons = net.writer_denials(build_world(mutate=home_forgets_the_peer_route), "recovery",
                                 "home")["ProcessorFunction"]
    assert any(r.startswith("home PrivateSubnet") and ("no route" in r or "not to the peering"
                                                        in r) for r in reasons), reasons


def test_a_peering_connection_to_another_vpc_does_not_count(build_world):
    def other_vpc(role, doc):
        if role == "home":
            doc["Resources"]["PeeringConnection"]["Properties"]["PeerVpcId"] = \
                "vpc-0ddddddddddddddd4"
    reasons = net.writer_denials(build_world(mutate=other_vpc), "recovery",
                                 "home")["ProcessorFunction"]
    assert "no peering connection joins the two VPCs" in reasons


def test_a_network_acl_can_deny(build_world):
    def deny_postgres(role, doc):
        if role != "recovery":
            return
        resources = doc["Resources"]
        resources["TestAcl"] = {"Type": "AWS::EC2::NetworkAcl",
                                "Properties": {"VpcId": {"Ref": "Vpc"}}}
        for number, (egress, action, ports) in enumerate((
                (True, "deny", (5432, 5432)), (True, "allow", (0, 65535)),
                (False, "allow", (0, 65535))), start=1):
            resources[f"TestAclEntry{number}"] = {"Type": "AWS::EC2::NetworkAclEntry",
                                                  "Properties": {
                "NetworkAclId": {"Ref": "TestAcl"}, "RuleNumber": number * 100,
                "Protocol": 6, "RuleAction": action, "Egress": egress,
                "CidrBlock": "0.0.0.0/0", "PortRange": {"From": ports[0], "To": ports[1]}}}
        for zone in "AB":
            resources[f"TestAclAssociation{zone}"] = {
                "Type": "AWS::EC2::SubnetNetworkAclAssociation",
                "Properties": {"SubnetId": {"Ref": f"PrivateSubnet{zone}"},
                               "NetworkAclId": {"Ref": "TestAcl"}}}
    world = build_world(mutate=deny_postgres)
    reasons = net.writer_denials(world, "recovery", "home")["ProcessorFunction"]
    assert any("network ACL denies out" in r for r in reasons), reasons
    assert net.writer_denials(world, "home", "home")["ProcessorFunction"] == []


def test_without_nat_and_without_an_interface_endpoint_secrets_manager_is_unreachable(
        build_world):
    def no_endpoint(role, doc):
        del doc["Resources"]["SecretsManagerInterfaceEndpoint"]
    world = build_world(egress="none", mutate=no_endpoint)
    (eni, *_) = net.function_enis(world.home, "ProcessorFunction")
    reasons = net.api_denials(world, eni, "secretsmanager")
    assert any("no default route to a NAT gateway" in r for r in reasons), reasons
    assert net.api_denials(world, eni, "dynamodb") == []  # the gateway endpoint remains


def test_phase_parameters_come_from_the_rollout_plan(build_world):
    world = build_world()
    peer_routes = [r["Properties"] for lid, r in world.recovery.cfn.of_type(
        "AWS::EC2::Route").items() if lid.startswith("PeerRoute")]
    assert {r["VpcPeeringConnectionId"] for r in peer_routes} == {net.PEERING_ID}
    env = world.recovery.props("ProcessorFunction")["Environment"]["Variables"]
    assert env["DB_HOST"] == net.WRITER_ENDPOINT
    assert names.GLOBAL_WRITER_ENDPOINT in world.home.cfn.doc["Parameters"]
