"""Drills as code: AWS FIS experiment templates in the regional template, off by default.

They are off (`EnableDrills=false`) because running one costs money and breaks payments in a
region on purpose: turning them on is a decision, and starting one is another
(`aws fis start-experiment --experiment-template-id <output>`), always in the standby region
first.

- **Processor invocation errors** (`aws:lambda:invocation-error`, FIS actions reference): a
  share of the processor's invocations fail without running. It proves that the errors and 5xx
  alarms page someone; it stops as soon as they do (stop conditions on those alarms), so the
  blast radius is "until detection", bounded by the duration.
- **Private subnets isolated** (`aws:network:disrupt-connectivity`, scope `all`): FIS swaps a
  deny-all network ACL onto the region's private subnets, so Lambda and Aurora in this region
  are cut off: a region failure as the payment path sees it. Route 53 should move traffic to the
  other region within the DR budget (`python build.py` prints it); the drill stops if this
  region's API keeps answering 5xx or slowly, which means traffic did not move.

The Lambda action works through the FIS Lambda extension: the function needs the extension
layer, `AWS_FIS_CONFIGURATION_LOCATION` and `AWS_LAMBDA_EXEC_WRAPPER`, and may read the
configuration bucket below. `lambda_fault_injection()` returns exactly those pieces for the
function's definition (templates/service.py) to apply under the `DrillsEnabled` condition.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Statement
from troposphere import Equals, GetAtt, If, Output, Ref, Sub, Template, fis, iam, s3

from . import grants, names
from .arns import arn
from .keys import Key
from .network import Network
from .physical_names import bucket_name
from .regional_params import Regional
from .storage import eventbridge_notifications, tls_only_policy
from .tagging import tags

ENABLE_DRILLS = "EnableDrills"
DRILLS_ENABLED = "DrillsEnabled"
GROUP_DRILLS = "Drills"
FAULT_CONFIG_PREFIX = "FisConfigs/"
DRILL_DURATION = "PT5M"  # ISO 8601, as FIS takes it
INVOCATION_ERROR_PERCENTAGE = 25
# The FIS extension layer ARN for arm64 functions, published by AWS as a public SSM parameter
# (FIS User Guide, "Available versions of the AWS FIS extension for Lambda").
FIS_EXTENSION_LAYER_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x"
FIS_EXEC_WRAPPER = "/opt/aws-fis/bootstrap"

# Stop conditions, by the alarms' logical ids (looked up in the template: a rename fails the
# build instead of leaving a drill without a brake).
LAMBDA_DRILL_STOPS = ("ProcessorErrorsAlarm", "Api5xxAlarm")
NETWORK_DRILL_STOPS = ("Api5xxAlarm", "ApiLatencyP99Alarm")


@dataclass(frozen=True)
class Drills:
    bucket: s3.Bucket
    role: iam.Role
    lambda_errors: fis.ExperimentTemplate
    network: fis.ExperimentTemplate

    @property
    def config_location(self) -> Sub:
        return Sub(f"arn:${{AWS::Partition}}:s3:::${{Bucket}}/{FAULT_CONFIG_PREFIX}",
                   Bucket=Ref(self.bucket))


@dataclass(frozen=True)
class LambdaFaultInjection:
    """What a function needs for the FIS Lambda actions, each piece `If(DrillsEnabled, ...)`."""

    layers: If
    environment: dict
    condition: str  # the role's extra policy exists only under this condition
    statement: Statement


def add_drills_parameter(regional: Regional) -> None:
    regional.params.add(
        ENABLE_DRILLS, group=GROUP_DRILLS, label="Fault-injection drills",
        description="true creates the AWS FIS experiment templates (processor invocation errors, "
                    "private subnets isolated) and their role and bucket. Creating them costs "
                    "nothing; running one costs money and breaks payments here on purpose.",
        Default="false", AllowedValues=["false", "true"],
    )
    regional.template.add_condition(DRILLS_ENABLED, Equals(Ref(ENABLE_DRILLS), "true"))


def _config_bucket(t: Template, key: Key, log_bucket: s3.Bucket) -> s3.Bucket:
    """Where FIS writes the fault configuration the Lambda extension polls: encrypted with the
    regional key, versioned, private, TLS only, logged; only fault settings, never payment data."""
    bucket = t.add_resource(s3.Bucket(
        "DrillConfigBucket", Condition=DRILLS_ENABLED,
        BucketName=Sub(bucket_name(kind="fis")),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(
                ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                    SSEAlgorithm="aws:kms", KMSMasterKeyID=key.arn),
                BucketKeyEnabled=True)]),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
            RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[
            s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LoggingConfiguration=s3.LoggingConfiguration(
            DestinationBucketName=Ref(log_bucket), LogFilePrefix="fis-config/"),
        NotificationConfiguration=eventbridge_notifications(),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-fault-configuration", Status="Enabled", ExpirationInDays=7,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                DaysAfterInitiation=1))]),
        Tags=tags("fis-config"),
    ))
    tls_only_policy(t, "DrillConfigBucketPolicy", bucket, condition=DRILLS_ENABLED)
    return bucket


def _role(t: Template, key: Key, network: Network, bucket: s3.Bucket, processor) -> iam.Role:
    network_acls = arn("ec2", "network-acl/*")
    subnets = [arn("ec2", "subnet/${Subnet}", Subnet=Ref(s)) for s in network.private_subnets]
    statements = [
        *grants.fis_create_network_acl(arn("ec2", "vpc/${Vpc}", Vpc=Ref(network.vpc)),
                                       network_acls),
        grants.fis_swap_subnet_network_acls(subnets, network_acls),
        grants.fis_describe_network(),
        *grants.fis_write_lambda_fault_config(
            Sub(f"${{Arn}}/{FAULT_CONFIG_PREFIX}*", Arn=bucket.get_att("Arn")), key.arn),
        *grants.fis_read_lambda_targets([processor.get_att("Arn")]),
    ]
    role = t.add_resource(iam.Role(
        "DrillRole", Condition=DRILLS_ENABLED,
        Description="AWS FIS runs this region's drills: processor faults, subnet isolation",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("fis")),
        Policies=[iam.Policy(PolicyName="run-drills", PolicyDocument=grants.policy(*statements))],
        Tags=tags("drills"),
    ))
    return role


def _stop_conditions(t: Template, logical_ids: tuple[str, ...]) -> list:
    return [fis.ExperimentTemplateStopCondition(
        Source="aws:cloudwatch:alarm", Value=GetAtt(t.resources[lid], "Arn"))
        for lid in logical_ids]


def _experiment(t: Template, logical_id: str, description: str, role: iam.Role, action,
                target, stops: tuple[str, ...], role_tag: str) -> fis.ExperimentTemplate:
    return t.add_resource(fis.ExperimentTemplate(
        logical_id, Condition=DRILLS_ENABLED,
        Description=description,
        RoleArn=role.get_att("Arn"),
        Actions={"inject": action},
        Targets={"targets": target},
        StopConditions=_stop_conditions(t, stops),
        ExperimentOptions=fis.ExperimentTemplateExperimentOptions(
            AccountTargeting="single-account", EmptyTargetResolutionMode="fail"),
        Tags={"Name": Sub(f"${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}-{role_tag}"),
              "Environment": Ref(names.ENVIRONMENT_NAME)},
    ))


def add_drills(regional: Regional, key: Key, network: Network, processor,
               log_bucket: s3.Bucket) -> Drills:
    """The drills of one region. Call after the alarms exist (the stop conditions name them)."""
    add_drills_parameter(regional)
    t = regional.template
    bucket = _config_bucket(t, key, log_bucket)
    role = _role(t, key, network, bucket, processor)
    lambda_errors = _experiment(
        t, "ProcessorInvocationErrorDrill",
        f"Drill: {INVOCATION_ERROR_PERCENTAGE}% of payment processor invocations fail without "
        "running; stops when the errors or 5xx alarm fires",
        role,
        fis.ExperimentTemplateAction(
            ActionId="aws:lambda:invocation-error",
            Description="Fail processor invocations before the handler runs",
            Parameters={"duration": DRILL_DURATION,
                        "invocationPercentage": str(INVOCATION_ERROR_PERCENTAGE),
                        "preventExecution": "true"},
            Targets={"Functions": "targets"}),
        fis.ExperimentTemplateTarget(ResourceType="aws:lambda:function",
                                     ResourceArns=[processor.get_att("Arn")],
                                     SelectionMode="ALL"),
        LAMBDA_DRILL_STOPS, "drill-processor-errors")
    network_drill = _experiment(
        t, "PrivateSubnetIsolationDrill",
        "Drill: isolate this region's private subnets (Lambda, Aurora); DNS must move traffic "
        "to the other region; stops if this region's API keeps failing",
        role,
        fis.ExperimentTemplateAction(
            ActionId="aws:network:disrupt-connectivity",
            Description="Deny all traffic in and out of the private subnets",
            Parameters={"duration": DRILL_DURATION, "scope": "all"},
            Targets={"Subnets": "targets"}),
        fis.ExperimentTemplateTarget(
            ResourceType="aws:ec2:subnet",
            ResourceArns=[arn("ec2", "subnet/${Subnet}", Subnet=Ref(s))
                          for s in network.private_subnets],
            SelectionMode="ALL"),
        NETWORK_DRILL_STOPS, "drill-subnet-isolation")
    for logical_id, experiment in (("ProcessorInvocationErrorDrillId", lambda_errors),
                                   ("PrivateSubnetIsolationDrillId", network_drill)):
        t.add_output(Output(logical_id, Condition=DRILLS_ENABLED, Value=Ref(experiment),
                            Description="FIS experiment template id (aws fis start-experiment)"))
    return Drills(bucket=bucket, role=role, lambda_errors=lambda_errors, network=network_drill)


def lambda_fault_injection(drills: Drills) -> LambdaFaultInjection:
    """For the processor's definition: the FIS extension layer, its two environment variables
    and the statement that lets the function read its fault configuration, all conditional."""
    bucket_arn = drills.bucket.get_att("Arn")
    return LambdaFaultInjection(
        layers=If(DRILLS_ENABLED,
                  [f"{{{{resolve:ssm:{FIS_EXTENSION_LAYER_PARAMETER}}}}}"], Ref("AWS::NoValue")),
        environment={
            "AWS_FIS_CONFIGURATION_LOCATION": If(DRILLS_ENABLED, drills.config_location,
                                                 Ref("AWS::NoValue")),
            "AWS_LAMBDA_EXEC_WRAPPER": If(DRILLS_ENABLED, FIS_EXEC_WRAPPER, Ref("AWS::NoValue")),
        },
        condition=DRILLS_ENABLED,
        statement=grants.lambda_read_fault_config(
            bucket_arn, Sub(f"${{Arn}}/{FAULT_CONFIG_PREFIX}*", Arn=bucket_arn)),
    )
