"""Can a function open a TCP connection to where it must? A small model over the rendered
templates of both regions.

It answers "allowed by the configuration", not "works": it knows what the templates declare
and the VPC rules below, nothing about DNS, TLS, quotas or whether AWS runs the resource. What
it checks, for a TCP connection from a function's ENI to a destination ENI:

- the source security group admits the connection out, the destination's admits it in;
  security groups are stateful, so replies pass (Amazon VPC User Guide, "Security group rules").
  A rule that names a security group matches only ENIs of that group in the same VPC: a group
  cannot be referenced across regions, even over peering (VPC Peering Guide, "Update your
  security groups to reference peer security groups": "use the CIDR block of the peer VPC");
- the route table of each side's subnet routes the other side's subnet, by longest prefix:
  the VPC's local route, or a route to the peering connection that joins exactly these two
  VPCs (VPC Peering Guide, "Update your route tables for a VPC peering connection"), both ways;
- network ACLs of both subnets, both ways (a subnet with no ACL in the template has the VPC's
  default ACL, which allows all traffic; Amazon VPC User Guide, "Default network ACL").

For AWS APIs it follows the egress mode: a gateway endpoint in the subnet's route table (S3,
DynamoDB), an interface endpoint with private DNS whose security group admits the function, or
a default route to a NAT gateway in a public subnet whose route table reaches an attached
internet gateway.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterator

from stacksets import plan
from templates import names
from tests.cfn import Cfn, render

Network = ipaddress.IPv4Network
ANYWHERE = ipaddress.ip_network("0.0.0.0/0")
HTTPS = 443
EPHEMERAL = (1024, 65535)

# The rows of the "Write path in every DR state" table (docs/architecture.md): where the writer is, and which
# regions' functions serve payments (and so must reach it).
DR_STATES = {
    "normal": ("home", ("home", "recovery")),
    "api-only-failure-in-home": ("home", ("recovery",)),
    "home-lost-before-promotion": (None, ("recovery",)),
    "after-failover": ("recovery", ("recovery", "home")),  # home: once it is back
    "after-switchover": ("recovery", ("home", "recovery")),
    "after-failback": ("home", ("home", "recovery")),
}

# The Lambda service itself makes these calls for a function (ENI management, log delivery,
# trace delivery by its X-Ray daemon), not the function's code through its ENI (Lambda
# Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC"; "Sending
# Lambda function logs to CloudWatch Logs"); KMS calls conditioned on kms:ViaService are made
# by the named service.
CALLED_BY_LAMBDA_SERVICE = frozenset({"ec2", "logs", "xray"})

VPC_IDS = {"home": "vpc-0aaaaaaaaaaaaaaa1", "recovery": "vpc-0bbbbbbbbbbbbbbb2"}
PEERING_ID = "pcx-0ccccccccccccccc3"
WRITER_ENDPOINT = "payments-test-global.global-0a1b2c3d.global.rds.amazonaws.com"


@dataclass(frozen=True)
class Site:
    """One region's stack as CloudFormation resolves it, with the physical ids of what the
    other region's stack or the rollout names (the VPC, the peering connection)."""
    role: str
    region: str
    cfn: Cfn
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict]:
        return self.cfn.resources

    def props(self, lid: str) -> dict:
        return self.cfn.props(lid)

    def physical(self, node: Any) -> Any:
        """A literal id as it is; a Ref to one of our resources as its physical id."""
        if isinstance(node, dict) and "Ref" in node:
            return self.ids.get(node["Ref"], f"{self.role}:{node['Ref']}")
        return node


@dataclass(frozen=True)
class Eni:
    site: Site
    subnet: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class World:
    home: Site
    recovery: Site

    def site(self, role: str) -> Site:
        return {"home": self.home, "recovery": self.recovery}[role]


def world(regional_doc: dict, home: str, recovery: str, base: dict[str, str],
          egress: dict[str, str], phase: str = plan.PEER_ROUTES,
          mutate=None) -> World:
    """Both regions' stacks with the parameters the rollout gives them after `phase`
    (`plan.phase_values`), the home region in `home`. `mutate(role, doc)` may change a
    region's template before it is rendered (the model's own tests)."""
    declared = regional_doc["Parameters"]
    outputs = {"home": {names.OUT_VPC_ID: VPC_IDS["home"],
                        names.OUT_PEERING_CONNECTION_ID: PEERING_ID},
               "recovery": {names.OUT_VPC_ID: VPC_IDS["recovery"]}}
    values = plan.phase_values(phase, declared, outputs, WRITER_ENDPOINT)
    sites = {}
    for role, region in (("home", home), ("recovery", recovery)):
        doc = regional_doc
        if mutate:
            doc = copy.deepcopy(regional_doc)
            mutate(role, doc)
        cfn = render(doc, region=region, parameters={
            **base, names.HOME_REGION: home, names.RECOVERY_REGION: recovery,
            names.EGRESS_MODE: egress[role], **values})
        ids = {"Vpc": VPC_IDS[role]}
        if "PeeringConnection" in cfn.resources:
            ids["PeeringConnection"] = PEERING_ID
        sites[role] = Site(role, region, cfn, ids)
    return World(**sites)


# --- addresses -------------------------------------------------------------------------------
def _cidr(site: Site, node: Any) -> Network:
    """A CIDR as rendered: a literal, or `Fn::Select` of `Fn::Cidr` over the VPC CIDR."""
    if isinstance(node, str):
        return ipaddress.ip_network(node)
    index, (block, count, bits) = node["Fn::Select"][0], node["Fn::Select"][1]["Fn::Cidr"]
    subnets = list(ipaddress.ip_network(block).subnets(new_prefix=32 - int(bits)))
    return subnets[:int(count)][int(index)]


def vpc_cidr(site: Site) -> Network:
    return _cidr(site, site.props("Vpc")["CidrBlock"])


def subnet_cidr(site: Site, subnet: str) -> Network:
    return _cidr(site, site.props(subnet)["CidrBlock"])


# --- security groups -------------------------------------------------------------------------
def _rules(site: Site, group: str, direction: str) -> list[dict]:
    inline_key = "SecurityGroupEgress" if direction == "egress" else "SecurityGroupIngress"
    kind = "AWS::EC2::SecurityGroupEgress" if direction == "egress" \
        else "AWS::EC2::SecurityGroupIngress"
    inline = site.props(group).get(inline_key)
    rules = list(inline or [])
    rules += [r["Properties"] for r in site.cfn.of_type(kind).values()
              if r["Properties"]["GroupId"] == {"Ref": group}]
    if direction == "egress" and inline is None:
        # A group created without SecurityGroupEgress keeps the default allow-all rule
        # (CloudFormation AWS::EC2::SecurityGroup, SecurityGroupEgress).
        rules.append({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"})
    return rules


def _rule_admits(rule: dict, port: int, peer: Eni, rule_site: Site) -> bool:
    protocol = str(rule["IpProtocol"])
    if protocol not in ("tcp", "6", "-1"):
        return False
    if protocol != "-1" and not int(rule["FromPort"]) <= port <= int(rule["ToPort"]):
        return False
    if "CidrIp" in rule:
        return subnet_cidr(peer.site, peer.subnet).subnet_of(ipaddress.ip_network(rule["CidrIp"]))
    for key in ("DestinationSecurityGroupId", "SourceSecurityGroupId"):
        if key in rule:
            # Only a group of the rule's own VPC: never across regions.
            return peer.site is rule_site and rule[key].get("Ref") in peer.groups
    return False


def group_admits(eni: Eni, direction: str, port: int, peer: Eni) -> bool:
    return any(_rule_admits(rule, port, peer, eni.site)
               for group in eni.groups for rule in _rules(eni.site, group, direction))


# --- routes and network ACLs -----------------------------------------------------------------
def route_table(site: Site, subnet: str) -> str | None:
    for assoc in site.cfn.of_type("AWS::EC2::SubnetRouteTableAssociation").values():
        if assoc["Properties"]["SubnetId"] == {"Ref": subnet}:
            return assoc["Properties"]["RouteTableId"]["Ref"]
    return None  # the VPC's main route table: local route only (none is declared here)


def routes(site: Site, subnet: str) -> list[tuple[Network, dict]]:
    """(destination, target) of the subnet's route table, the implicit local route first."""
    found = [(vpc_cidr(site), {"local": True})]
    table = route_table(site, subnet)
    for route in site.cfn.of_type("AWS::EC2::Route").values():
        p = route["Properties"]
        if table and p["RouteTableId"] == {"Ref": table} and "DestinationCidrBlock" in p:
            found.append((ipaddress.ip_network(p["DestinationCidrBlock"]), p))
    return found


def best_route(site: Site, subnet: str, destination: Network) -> dict | None:
    matches = [(net, target) for net, target in routes(site, subnet)
               if destination.subnet_of(net)]
    return max(matches, key=lambda m: m[0].prefixlen)[1] if matches else None


def peering_between(world_: World, a: Site, b: Site) -> str | None:
    """The id of a peering connection declared by either stack that joins exactly the VPCs of
    `a` and `b` (PeerRegion, when given, names the accepter's region)."""
    for site in (world_.home, world_.recovery):
        for lid, peering in site.cfn.of_type("AWS::EC2::VPCPeeringConnection").items():
            p = peering["Properties"]
            ends = {site.physical(p["VpcId"]), p["PeerVpcId"]}
            accepter = b if site.physical(p["VpcId"]) == a.ids["Vpc"] else a
            region_ok = p.get("PeerRegion", site.region) == accepter.region
            if ends == {a.ids["Vpc"], b.ids["Vpc"]} and region_ok:
                return site.ids.get(lid)
    return None


def _routes_to(world_: World, src: Eni, dst: Eni) -> str | None:
    """Why `src`'s subnet does not route to `dst`'s subnet, or None."""
    target = best_route(src.site, src.subnet, subnet_cidr(dst.site, dst.subnet))
    if target is None:
        return f"{src.site.role} {src.subnet}: no route to {subnet_cidr(dst.site, dst.subnet)}"
    if target.get("local"):
        return None if src.site is dst.site else \
            f"{src.site.role} {src.subnet}: {dst.site.role}'s subnet falls in the local route"
    if src.site is dst.site:
        return f"{src.site.role} {src.subnet}: the local VPC is routed away"
    pcx = peering_between(world_, src.site, dst.site)
    if pcx is None:
        return "no peering connection joins the two VPCs"
    if src.site.physical(target.get("VpcPeeringConnectionId")) != pcx:
        return (f"{src.site.role} {src.subnet}: {subnet_cidr(dst.site, dst.subnet)} is routed "
                f"to {target}, not to the peering connection")
    return None


def _acl_entries(site: Site, subnet: str, egress: bool) -> list[dict] | None:
    for assoc in site.cfn.of_type("AWS::EC2::SubnetNetworkAclAssociation").values():
        if assoc["Properties"]["SubnetId"] == {"Ref": subnet}:
            acl = assoc["Properties"]["NetworkAclId"]["Ref"]
            return sorted((e["Properties"] for e in site.cfn.of_type(
                "AWS::EC2::NetworkAclEntry").values()
                if e["Properties"]["NetworkAclId"] == {"Ref": acl}
                and bool(e["Properties"].get("Egress", False)) == egress),
                key=lambda e: int(e["RuleNumber"]))
    return None  # the default network ACL: allows all traffic


def acl_allows(site: Site, subnet: str, egress: bool, peer: Network,
               ports: tuple[int, int]) -> bool:
    entries = _acl_entries(site, subnet, egress)
    if entries is None:
        return True
    for entry in entries:  # lowest rule number first; the first match decides
        protocol = str(entry["Protocol"])
        if protocol not in ("6", "-1"):
            continue
        if not peer.subnet_of(ipaddress.ip_network(entry["CidrBlock"])):
            continue
        if protocol == "6":
            low, high = int(entry["PortRange"]["From"]), int(entry["PortRange"]["To"])
            if not (low <= ports[0] and ports[1] <= high):
                continue
        return entry["RuleAction"] == "allow"
    return False  # the implicit final deny


# --- connections -----------------------------------------------------------------------------
def tcp_denials(world_: World, src: Eni, dst: Eni, port: int) -> list[str]:
    """Every reason the configuration refuses a TCP connection from `src` to `dst` on `port`
    (empty: allowed)."""
    src_net, dst_net = subnet_cidr(src.site, src.subnet), subnet_cidr(dst.site, dst.subnet)
    reasons = []
    if not group_admits(src, "egress", port, dst):
        reasons.append(f"{src.site.role} {list(src.groups)}: no egress to "
                       f"{dst.site.role} {dst_net} on {port}")
    if not group_admits(dst, "ingress", port, src):
        reasons.append(f"{dst.site.role} {list(dst.groups)}: no ingress from "
                       f"{src.site.role} {src_net} on {port}")
    reasons += [r for r in (_routes_to(world_, src, dst), _routes_to(world_, dst, src)) if r]
    for site, subnet, egress, peer, ports in (
            (src.site, src.subnet, True, dst_net, (port, port)),
            (dst.site, dst.subnet, False, src_net, (port, port)),
            (dst.site, dst.subnet, True, src_net, EPHEMERAL),
            (src.site, src.subnet, False, dst_net, EPHEMERAL)):
        if not acl_allows(site, subnet, egress, peer, ports):
            reasons.append(f"{site.role} {subnet}: network ACL denies "
                           f"{'out' if egress else 'in'} {peer} {ports}")
    return reasons


def function_enis(site: Site, function: str) -> list[Eni]:
    config = site.props(function)["VpcConfig"]
    groups = tuple(g["Ref"] for g in config["SecurityGroupIds"])
    return [Eni(site, s["Ref"], groups) for s in config["SubnetIds"]]


def writer_functions(site: Site) -> dict[str, int]:
    """Functions that connect to the database: logical id -> port (their DB_HOST / DB_PORT)."""
    return {lid: int(f["Properties"]["Environment"]["Variables"]["DB_PORT"])
            for lid, f in site.cfn.of_type("AWS::Lambda::Function").items()
            if "DB_HOST" in f["Properties"].get("Environment", {}).get("Variables", {})}


def writer_enis(site: Site) -> list[Eni]:
    """The writer cluster's instances: in the DB subnet group's subnets, with its groups."""
    cluster = site.props("DbCluster")
    subnet_group = site.props(cluster["DBSubnetGroupName"]["Ref"])
    groups = tuple(g["Ref"] for g in cluster["VpcSecurityGroupIds"])
    return [Eni(site, s["Ref"], groups) for s in subnet_group["SubnetIds"]]


def writer_denials(world_: World, caller: str, writer: str) -> dict[str, list[str]]:
    """For each database function of the `caller` region: why it cannot reach the writer
    cluster in the `writer` region (every pair of subnets)."""
    src_site, dst_site = world_.site(caller), world_.site(writer)
    if "DbCluster" not in dst_site.resources:
        return {"(writer)": [f"{writer} has no Aurora cluster in this phase"]}
    port = int(dst_site.props("DbCluster")["Port"])
    found = {}
    for function, function_port in writer_functions(src_site).items():
        reasons = [] if function_port == port else [f"DB_PORT {function_port} != {port}"]
        for src in function_enis(src_site, function):
            for dst in writer_enis(dst_site):
                reasons += tcp_denials(world_, src, dst, port)
        found[function] = sorted(set(reasons))
    return found


# Every address outside the VPCs: what an AWS API's public endpoint is, from a function.
INTERNET = Eni(Site("internet", "", Cfn({"Resources": {"Internet": {
    "Type": "AWS::EC2::Subnet", "Properties": {"CidrBlock": "0.0.0.0/0"}}}})), "Internet", ())


# --- AWS APIs --------------------------------------------------------------------------------
def _service_of(endpoint: dict) -> str:
    return endpoint["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]


def _statements(site: Site, role: str) -> Iterator[dict]:
    for policy in site.props(role).get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def services_called(site: Site, function: str) -> set[str]:
    """The AWS services a function's code calls: its role's Allow actions, less what the
    Lambda service or a KMS-using service calls for it."""
    role = site.props(function)["Role"]["Fn::GetAtt"][0]
    found = set()
    for statement in _statements(site, role):
        actions = statement["Action"] if isinstance(statement["Action"], list) \
            else [statement["Action"]]
        for service in {a.split(":")[0] for a in actions}:
            via_service = "kms:ViaService" in str(statement.get("Condition", {}))
            if statement["Effect"] == "Allow" and service not in CALLED_BY_LAMBDA_SERVICE \
                    and not (service == "kms" and via_service):
                found.add(service)
    return found


def _endpoint_eni(site: Site, lid: str) -> Eni:
    p = site.props(lid)
    return Eni(site, p["SubnetIds"][0]["Ref"], tuple(g["Ref"] for g in p["SecurityGroupIds"]))


def api_denials(world_: World, src: Eni, service: str) -> list[str]:
    """Why `src` cannot reach `service`'s regional API over HTTPS, or [] if some path works."""
    site, attempts = src.site, []
    table = route_table(site, src.subnet)
    for lid, endpoint in site.cfn.of_type("AWS::EC2::VPCEndpoint").items():
        p = endpoint["Properties"]
        if _service_of(p) != service:
            continue
        if p["VpcEndpointType"] == "Gateway":
            if {"Ref": table} not in p.get("RouteTableIds", []):
                attempts.append(f"gateway endpoint {lid} is not in {table}")
            elif not (group_admits(src, "egress", HTTPS, INTERNET)
                      or _egress_to_prefix_list(src)):
                attempts.append(f"{list(src.groups)}: no HTTPS egress to the {service} "
                                "prefix list")
            else:
                return []
        elif p["VpcEndpointType"] == "Interface":
            if not p.get("PrivateDnsEnabled"):
                attempts.append(f"interface endpoint {lid} has no private DNS")
                continue
            reasons = tcp_denials(world_, src, _endpoint_eni(site, lid), HTTPS)
            if not reasons:
                return []
            attempts += reasons
    nat_reason = _nat_denial(site, src)
    if nat_reason is None:
        return []
    return attempts + [nat_reason]


def _egress_to_prefix_list(src: Eni) -> bool:
    """A rule to a managed prefix list (a gateway endpoint's service addresses) on HTTPS."""
    return any("DestinationPrefixListId" in r and str(r["IpProtocol"]) in ("tcp", "6", "-1")
               and int(r.get("FromPort", 0)) <= HTTPS <= int(r.get("ToPort", 65535))
               for g in src.groups for r in _rules(src.site, g, "egress"))


def _nat_denial(site: Site, src: Eni) -> str | None:
    target = best_route(site, src.subnet, ANYWHERE)
    if not target or "NatGatewayId" not in target:
        return f"{src.subnet}: no default route to a NAT gateway"
    nat = site.props(target["NatGatewayId"]["Ref"])
    public = best_route(site, nat["SubnetId"]["Ref"], ANYWHERE)
    if not public or "GatewayId" not in public:
        return f"the NAT gateway's subnet {nat['SubnetId']['Ref']} has no internet route"
    attached = [a for a in site.cfn.of_type("AWS::EC2::VPCGatewayAttachment").values()
                if a["Properties"].get("InternetGatewayId") == public["GatewayId"]
                and a["Properties"]["VpcId"] == {"Ref": "Vpc"}]
    if not attached:
        return "the internet gateway is not attached to the VPC"
    if not group_admits(src, "egress", HTTPS, INTERNET):
        return f"{list(src.groups)}: no HTTPS egress to the internet"
    return None
