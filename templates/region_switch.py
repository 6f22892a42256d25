"""An ARC Region switch plan in the global stack (off by default, like the drills).

The plan moves the Aurora global database's writer to the region being activated: a
switchover (no data loss) when run graceful, a failover (`AllowDataLoss`) when run ungraceful
because the old primary does not answer. DNS needs no step: the Route 53 failover records move
traffic by themselves on the health checks, and the plan carries those checks' alarms as its
application-health alarms, so the console shows the regions' health beside the plan.

When to use it, and when the project's own `payments-dr dr ...` runbook: docs/operations.md,
"Drills: FIS experiments and the ARC Region switch plan".

Property names follow the CloudFormation schema of `AWS::ARCRegionSwitch::Plan` (as bundled
with cfn-lint); the execution role's permissions follow the ARC Developer Guide (see
templates/grants.py).
"""

from __future__ import annotations

from troposphere import Equals, Output, Ref, Sub, Template, arcregionswitch as arc, iam

from . import grants, names
from .budget import DEFAULT_RTO_TARGET_MINUTES, RTO_PARAMETER
from .parameters import ParameterSet
from .physical_names import PREFIX, db_cluster_identifier, global_cluster_identifier
from .physical_names import region_switch_plan_name

ENABLE_DRILLS = "EnableDrills"  # the same switch as the regional drills
PLAN_ENABLED = "RegionSwitchPlanEnabled"
RTO_MINUTES = RTO_PARAMETER
GROUP_DRILLS = "Drills"
DEFAULT_RTO_MINUTES = DEFAULT_RTO_TARGET_MINUTES  # the original requirement
AURORA_STEP_TIMEOUT_MINUTES = 30
HEALTH_ALARMS = ("PrimaryHealthCheckAlarm", "SecondaryHealthCheckAlarm")


def add_region_switch_parameters(params: ParameterSet) -> None:
    params.add(
        ENABLE_DRILLS, group=GROUP_DRILLS, label="Region switch plan",
        description="true creates the ARC Region switch plan (Aurora global database "
                    "switchover/failover) and its execution role. ARC bills a plan while it "
                    "exists.",
        Default="false", AllowedValues=["false", "true"],
    )
    params.add(
        RTO_MINUTES, group=GROUP_DRILLS, label="Recovery time objective (minutes)",
        description="The RTO the Region switch plan is held to and the DR budget is checked "
                    "against.",
        Type="Number", Default=str(DEFAULT_RTO_MINUTES), MinValue=1, MaxValue=10080,
    )
    params.template.add_condition(PLAN_ENABLED, Equals(Ref(ENABLE_DRILLS), "true"))


def _cluster_arn(region: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:rds:{region}:${{AWS::AccountId}}:cluster:"
               f"{db_cluster_identifier(region)}")


def _execution_role(t: Template, alarm_arns: list, cluster_arns: list) -> iam.Role:
    role_name = Sub(f"{PREFIX}-region-switch")
    global_cluster = Sub("arn:${AWS::Partition}:rds::${AWS::AccountId}:global-cluster:"
                         f"{global_cluster_identifier()}")
    plan_pattern = Sub("arn:${AWS::Partition}:arc-region-switch::${AWS::AccountId}:plan/"
                       f"{region_switch_plan_name()}:*")
    return t.add_resource(iam.Role(
        "RegionSwitchRole", Condition=PLAN_ENABLED,
        RoleName=role_name,
        Description="ARC Region switch evaluates and runs the payment API's plan",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("arc-region-switch")),
        Policies=[iam.Policy(PolicyName="region-switch", PolicyDocument=grants.policy(
            grants.arc_read_plan(plan_pattern),
            grants.arc_evaluate_own_role(Sub(
                f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{PREFIX}-region-switch")),
            *grants.arc_read_alarms(alarm_arns),
            *grants.arc_aurora_global_switch(global_cluster, cluster_arns),
        ))],
    ))


def _aurora_config(cluster_arns: list) -> arc.GlobalAuroraConfiguration:
    config = arc.GlobalAuroraConfiguration(
        Ungraceful=arc.GlobalAuroraUngraceful(Ungraceful="failover"),
        GlobalClusterIdentifier=Sub(global_cluster_identifier()),
        DatabaseClusterArns=cluster_arns,
        TimeoutMinutes=AURORA_STEP_TIMEOUT_MINUTES,
    )
    # The schema's Behavior is a string enum (switchoverOnly | failover); troposphere 4.11
    # types it as a dict (from the schema's allOf), so it is set past troposphere's check.
    config.properties["Behavior"] = "switchoverOnly"
    return config


def add_region_switch_plan(t: Template) -> arc.Plan:
    """Call after the health-check alarms exist (the plan names them)."""
    home, recovery = f"${{{names.HOME_REGION}}}", f"${{{names.RECOVERY_REGION}}}"
    alarms = {lid: t.resources[lid] for lid in HEALTH_ALARMS}
    alarm_arns = [alarm.get_att("Arn") for alarm in alarms.values()]
    cluster_arns = [_cluster_arn(home), _cluster_arn(recovery)]
    role = _execution_role(t, alarm_arns, cluster_arns)
    aurora = arc.Step(
        Name="aurora-global-database",
        Description="Move the Aurora global writer here: switchover when graceful, failover "
                    "with data loss allowed when ungraceful",
        ExecutionBlockType="AuroraGlobalDatabase",
        ExecutionBlockConfiguration=arc.ExecutionBlockConfiguration(
            GlobalAuroraConfig=_aurora_config(cluster_arns)),
    )
    plan = t.add_resource(arc.Plan(
        "RegionSwitchPlan", Condition=PLAN_ENABLED,
        Name=Sub(region_switch_plan_name()),
        Description="Payment API: move the Aurora global writer to the activated region "
                    "(DNS follows the Route 53 health checks by itself)",
        ExecutionRole=role.get_att("Arn"),
        RecoveryApproach="activePassive",
        PrimaryRegion=Ref(names.HOME_REGION),
        Regions=[Ref(names.HOME_REGION), Ref(names.RECOVERY_REGION)],
        RecoveryTimeObjectiveMinutes=Ref(RTO_MINUTES),
        AssociatedAlarms={
            lid: arc.AssociatedAlarm(AlarmType="applicationHealth",
                                     ResourceIdentifier=alarm.get_att("Arn"))
            for lid, alarm in alarms.items()},
        Workflows=[arc.Workflow(WorkflowTargetAction="activate",
                                WorkflowDescription="Activate a region: its Aurora cluster "
                                                    "becomes the writer",
                                Steps=[aurora])],
        Tags={"Environment": Ref(names.ENVIRONMENT_NAME), "Project": Ref(names.NAME_PREFIX)},
    ))
    t.add_output(Output("RegionSwitchPlanArn", Condition=PLAN_ENABLED,
                        Description="ARC Region switch plan (console: ARC > Region switch)",
                        Value=plan.get_att("Arn")))
    return plan
