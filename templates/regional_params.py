"""Parameters and conditions every regional concern shares.

The regional template is the same bytes in every region. Which role a region plays is derived
from `AWS::Region` against the `PrimaryRegion` / `SecondaryRegion` parameters; values that
differ between the two regions are passed as a primary/secondary pair that both stack instances
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
                    "Lower-case letters, digits and hyphens, 2-12 characters.",
        Default="payments", AllowedPattern=r"^[a-z][a-z0-9-]{1,11}$",
        ConstraintDescription="2-12 of a-z, 0-9 and '-', starting with a letter",
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
    for name, label in ((names.PRIMARY_REGION, "Primary region"),
                        (names.SECONDARY_REGION, "Secondary region")):
        params.add(
            name, group=GROUP_ENVIRONMENT, label=label,
            description=f"{label}: where the {'writer' if 'Primary' in name else 'standby'} "
                        "runs. The stack derives its own role by comparing AWS::Region with it.",
            AllowedPattern=REGION_PATTERN,
            ConstraintDescription="an AWS region name, e.g. us-east-1",
        )
    for name, default, label in ((names.PRIMARY_VPC_CIDR, "10.0.0.0/16", "Primary VPC CIDR"),
                                 (names.SECONDARY_VPC_CIDR, "10.1.0.0/16", "Secondary VPC CIDR")):
        params.add(
            name, group=GROUP_NETWORK, label=label,
            description=f"{label} (a /16; the two must differ so peering can route).",
            Default=default, AllowedPattern=CIDR16_PATTERN,
            ConstraintDescription="an IPv4 /16 such as 10.0.0.0/16",
        )
    params.add(
        names.SECONDARY_VPC_ID, group=GROUP_NETWORK, label="Secondary VPC id",
        description="The secondary region's VPC id, read by the primary to request peering. "
                    "Empty on the first pass, before the secondary VPC exists.",
        Default="", AllowedPattern=r"^$|^vpc-[0-9a-f]{8,17}$",
        ConstraintDescription="empty or a VPC id (vpc-...)",
    )
    params.add(
        names.PEERING_CONNECTION_ID, group=GROUP_NETWORK, label="Peering connection id",
        description="The peering connection the primary created, read by the secondary to add "
                    "its routes. Empty until the primary has created it.",
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
                    "replication and, in the secondary, the cluster joining the global database.",
        Default="false", AllowedValues=["false", "true"],
    )

    region = Ref("AWS::Region")
    template.add_condition(names.IS_PRIMARY, Equals(region, Ref(names.PRIMARY_REGION)))
    template.add_condition(names.IS_SECONDARY, Equals(region, Ref(names.SECONDARY_REGION)))
    template.add_condition(names.PEER_READY, Equals(Ref(names.PEER_REGION_READY), "true"))
    template.add_condition(names.PRIMARY_WITH_PEER, And(Condition(names.IS_PRIMARY),
                                                        Condition(names.PEER_READY)))
    template.add_condition(names.SECONDARY_WITH_PEER, And(Condition(names.IS_SECONDARY),
                                                          Condition(names.PEER_READY)))
    template.add_rule("RegionRoles", {
        "Assertions": [{
            "Assert": Or(Equals(region, Ref(names.PRIMARY_REGION)),
                         Equals(region, Ref(names.SECONDARY_REGION))),
            "AssertDescription": "deploy only to PrimaryRegion or SecondaryRegion",
        }, {
            "Assert": Not(Equals(Ref(names.PRIMARY_REGION), Ref(names.SECONDARY_REGION))),
            "AssertDescription": "PrimaryRegion and SecondaryRegion must differ",
        }, {
            "Assert": Not(Equals(Ref(names.PRIMARY_VPC_CIDR), Ref(names.SECONDARY_VPC_CIDR))),
            "AssertDescription": "PrimaryVpcCidr and SecondaryVpcCidr must differ (both are /16s, "
                                 "so differing means not overlapping)",
        }],
    })

    def by_role(primary_value, secondary_value) -> If:
        return If(names.IS_PRIMARY, primary_value, secondary_value)

    return Regional(
        template=template,
        params=params,
        vpc_cidr=by_role(Ref(names.PRIMARY_VPC_CIDR), Ref(names.SECONDARY_VPC_CIDR)),
        peer_vpc_cidr=by_role(Ref(names.SECONDARY_VPC_CIDR), Ref(names.PRIMARY_VPC_CIDR)),
        peer_region=by_role(Ref(names.SECONDARY_REGION), Ref(names.PRIMARY_REGION)),
    )

