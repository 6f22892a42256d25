"""Parameters and conditions every regional concern shares.

The regional template is the same bytes in every region. Which role a region plays is derived
from `AWS::Region` against the `HomeRegion` / `RecoveryRegion` parameters; values that
differ between the two regions are passed as a home/recovery pair that both stack instances
receive, so one StackSet operation can update both regions at once (no per-region override is
needed for the template to know its peer).
"""

from dataclasses import dataclass

from troposphere import And, Condition, Equals, If, Not, Or, Ref, Template

from . import names
from .parameters import CIDR16_PATTERN, EMAIL_OR_EMPTY_PATTERN, REGION_PATTERN, ParameterSet

GROUP_ENVIRONMENT = "Environment"
GROUP_NETWORK = "Network"
GROUP_OPERATIONS = "Operations"


@dataclass(frozen=True)
class Regional:
    """What every regional concern needs: the template, its parameters, and the role refs."""

    template: Template
    params: ParameterSet
    vpc_cidr: If
    peer_vpc_cidr: If
    peer_region: If


def add_environment_parameters(params: ParameterSet) -> None:
    """Name prefix, environment and alarm e-mail: shared by the regional and global templates."""
    params.add(
        names.NAME_PREFIX, group=GROUP_ENVIRONMENT, label="Name prefix",
        description="Prefix of every physical name (bucket, key alias, cluster). "
                    "Lower-case letters, digits and single hyphens, 2-12 characters.",
        # Aurora cluster identifiers may neither end with a hyphen nor hold two in a row
        # (RDS API Reference, CreateDBCluster DBClusterIdentifier): `<prefix>-<env>-<region>`.
        Default="payments", AllowedPattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
        MinLength=2, MaxLength=12,
        ConstraintDescription="2-12 of a-z, 0-9 and single inner hyphens, starting with a "
                              "letter (e.g. payments, pay-eu)",
    )
    params.add(
        names.ENVIRONMENT_NAME, group=GROUP_ENVIRONMENT, label="Environment",
        description="Environment name, part of every physical name (e.g. prod, staging).",
        AllowedPattern=r"^[a-z][a-z0-9]{1,9}$",
        ConstraintDescription="2-10 of a-z and 0-9, starting with a letter",
    )
    params.add(
        names.ALARM_EMAIL, group=GROUP_OPERATIONS, label="Alarm e-mail",
        description="Address subscribed to the alarm topic (confirm the subscription e-mail). "
                    "Empty for no e-mail subscription.",
        Default="", AllowedPattern=EMAIL_OR_EMPTY_PATTERN,
        ConstraintDescription="empty or an e-mail address",
    )

    params.template.add_condition(names.HAS_ALARM_EMAIL,
                                  Not(Equals(Ref(names.ALARM_EMAIL), "")))


def add_regional_parameters(template: Template) -> Regional:
    params = ParameterSet(template)
    add_environment_parameters(params)
    for name, label, role in (
        (names.HOME_REGION, "Home region",
         "declares the global database, the table and the secret; fixed for the life of the "
         "deployment (the writer may move to the recovery region, the home region does not)"),
        (names.RECOVERY_REGION, "Recovery region",
         "joins the home region's global resources; takes over writes after a failover"),
    ):
        params.add(
            name, group=GROUP_ENVIRONMENT, label=label,
            description=f"{label}: {role}. The stack derives its own role by comparing "
                        "AWS::Region with it.",
            AllowedPattern=REGION_PATTERN,
            ConstraintDescription="an AWS region name, e.g. us-east-1",
        )
    for name, default, label in ((names.HOME_VPC_CIDR, "10.0.0.0/16", "Home VPC CIDR"),
                                 (names.RECOVERY_VPC_CIDR, "10.1.0.0/16", "Recovery VPC CIDR")):
        params.add(
            name, group=GROUP_NETWORK, label=label,
            description=f"{label} (a /16; the two must differ so peering can route).",
            Default=default, AllowedPattern=CIDR16_PATTERN,
            ConstraintDescription="an IPv4 /16 such as 10.0.0.0/16",
        )
    params.add(
        names.RECOVERY_VPC_ID, group=GROUP_NETWORK, label="Recovery VPC id",
        description="The recovery region's VPC id, read by the home region to request "
                    "peering. Empty on the first pass, before that VPC exists.",
        Default="", AllowedPattern=r"^$|^vpc-[0-9a-f]{8,17}$",
        ConstraintDescription="empty or a VPC id (vpc-...)",
    )
    params.add(
        names.PEERING_CONNECTION_ID, group=GROUP_NETWORK, label="Peering connection id",
        description="The peering connection the home region created, read by the recovery "
                    "region to add its routes. Empty until the home region has created it.",
        Default="", AllowedPattern=r"^$|^pcx-[0-9a-f]{8,17}$",
        ConstraintDescription="empty or a peering connection id (pcx-...)",
    )
    params.add(
        names.EGRESS_MODE, group=GROUP_NETWORK, label="Egress mode",
        description="Internet egress of the private subnets: a NAT gateway per AZ (resilient), "
                    "one NAT gateway (cheaper, one AZ), or none (interface endpoints only).",
        Default="nat-per-az", AllowedValues=["nat-per-az", "single-nat", "none"],
    )
    params.add(
        names.PEER_REGION_READY, group=GROUP_ENVIRONMENT, label="Peer region ready",
        description="true once the other region's first pass is complete (its key alias and "
                    "bucket exist): adds the secret replica, the second table replica, S3 "
                    "replication and, in the recovery region, the cluster joining the global "
                    "database.",
        Default="false", AllowedValues=["false", "true"],
    )

    region = Ref("AWS::Region")
    template.add_condition(names.IS_HOME, Equals(region, Ref(names.HOME_REGION)))
    template.add_condition(names.IS_RECOVERY, Equals(region, Ref(names.RECOVERY_REGION)))
    template.add_condition(names.PEER_READY, Equals(Ref(names.PEER_REGION_READY), "true"))
    template.add_condition(names.HOME_WITH_PEER, And(Condition(names.IS_HOME),
                                                        Condition(names.PEER_READY)))
    template.add_condition(names.RECOVERY_WITH_PEER, And(Condition(names.IS_RECOVERY),
                                                          Condition(names.PEER_READY)))
    template.add_rule("RegionRoles", {
        "Assertions": [{
            "Assert": Or(Equals(region, Ref(names.HOME_REGION)),
                         Equals(region, Ref(names.RECOVERY_REGION))),
            "AssertDescription": "deploy only to HomeRegion or RecoveryRegion",
        }, {
            "Assert": Not(Equals(Ref(names.HOME_REGION), Ref(names.RECOVERY_REGION))),
            "AssertDescription": "HomeRegion and RecoveryRegion must differ",
        }, {
            "Assert": Not(Equals(Ref(names.HOME_VPC_CIDR), Ref(names.RECOVERY_VPC_CIDR))),
            "AssertDescription": "HomeVpcCidr and RecoveryVpcCidr must differ (both are /16s, "
                                 "so differing means not overlapping)",
        }],
    })

    def by_role(home_value, recovery_value) -> If:
        return If(names.IS_HOME, home_value, recovery_value)

    return Regional(
        template=template,
        params=params,
        vpc_cidr=by_role(Ref(names.HOME_VPC_CIDR), Ref(names.RECOVERY_VPC_CIDR)),
        peer_vpc_cidr=by_role(Ref(names.RECOVERY_VPC_CIDR), Ref(names.HOME_VPC_CIDR)),
        peer_region=by_role(Ref(names.RECOVERY_REGION), Ref(names.HOME_REGION)),
    )

