"""Physical names of the resources that operators look at, as `Fn::Sub` text, defined once.

The regional template names its resources with these patterns in `${AWS::Region}`; the global
stack's dashboard and Region switch plan name the same resources in `${HomeRegion}` and
`${RecoveryRegion}`. Both sides come from here, so the dashboard cannot drift from what the
regional stacks create (tests/test_dashboard.py holds the regional template to these patterns).

Each function returns `Fn::Sub` *text* (not a `Sub` object) so a caller can compose it into a
larger string, such as the dashboard body, or wrap it with `physical()`. The operator tools
name the same resources of one deployed environment with `concrete()`, which fills in the
values the stacks were given (`toolkit/resource_names.py`): one definition of every name.
"""

import re
from collections.abc import Mapping

from troposphere import Sub

from . import names

THIS_REGION = "${AWS::Region}"
PREFIX = f"${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}"


def physical(text: str) -> Sub:
    """A name pattern from this module as a `Fn::Sub`."""
    return Sub(text)


_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:]+)\}")


def concrete(text: str, values: Mapping[str, str]) -> str:
    """A pattern of this module with its `${...}` variables filled in, as CloudFormation would
    (`values` by parameter or pseudo-parameter name, e.g. `AWS::AccountId`). An unknown
    variable is an error, never left in a name."""
    def value(match: re.Match) -> str:
        if match[1] not in values:
            raise KeyError(f"{text}: no value for ${{{match[1]}}}")
        return str(values[match[1]])
    return _VARIABLE.sub(value, text)


def function_name(key: str) -> str:
    """Lambda function `<prefix>-<env>-<key>` (processor, health, reconcile): the same in every
    region."""
    return f"{PREFIX}-{key}"


def metric_namespace() -> str:
    """`<prefix>/<env>`: the namespace of the metrics the regional stack's log filters make."""
    return f"${{{names.NAME_PREFIX}}}/${{{names.ENVIRONMENT_NAME}}}"


def api_name() -> str:
    """The payment API's name, the same in both regions. For a REST API this is CloudWatch's
    `ApiName` dimension (AWS/ApiGateway metrics of REST APIs are keyed by name and stage)."""
    return f"{PREFIX}-payments"


# REST API stage that serves the payment API and carries the WAF association. The REST API
# branch must name its stage with this constant (AWS/ApiGateway `Stage` dimension).
REST_API_STAGE_NAME = "live"


def web_acl_name() -> str:
    """The regional WAFv2 web ACL in front of the REST API. AWS/WAFV2 metrics carry the web
    ACL's *metric name* as the `WebACL` dimension, so the web ACL must use this both as its
    `Name` and as `VisibilityConfig.MetricName` (with CloudWatch metrics enabled)."""
    return f"{PREFIX}-waf"


def db_cluster_identifier(region: str = THIS_REGION) -> str:
    """The Aurora cluster of one region: `<prefix>-<env>-<region>`."""
    return f"{PREFIX}-{region}"


def global_cluster_identifier() -> str:
    """The Aurora global cluster: `<prefix>-<env>-global` (one name for both regions)."""
    return f"{PREFIX}-global"


def secret_name(kind: str = "master") -> str:
    """Secrets Manager secret `<prefix>-<env>/aurora/<kind>` (master, migrator, app): the same
    name in the home region and in its replica."""
    return f"{PREFIX}/aurora/{kind}"


def health_host(region: str = THIS_REGION) -> str:
    """A region's own API host, `<region>.<ApiDomainName>`: its custom domain that Route 53's
    health check probes (the failover name serves whichever region DNS prefers)."""
    return f"{region}.${{{names.API_DOMAIN_NAME}}}"


def table_name() -> str:
    """The DynamoDB global table, the same name in every replica region."""
    return f"{PREFIX}-payments"


def bucket_name(region: str = THIS_REGION, kind: str = "") -> str:
    """`<prefix>-<env>[-kind]-<account>-<region>`: receipts bucket, or its `logs` sibling."""
    middle = f"-{kind}" if kind else ""
    return f"{PREFIX}{middle}-${{AWS::AccountId}}-{region}"


def artifact_bucket_name(region: str = THIS_REGION) -> str:
    """The artifact bucket a region's functions read their code from,
    `<ArtifactBucketPrefix>-<region>` (the rollout tool creates and fills it)."""
    return f"${{{names.ARTIFACT_BUCKET_PREFIX}}}-{region}"


def artifact_bucket_prefix() -> str:
    """The artifact bucket prefix when the config sets none:
    `<prefix>-<env>-artifacts-<account>` (globally unique, deterministic)."""
    return f"{PREFIX}-artifacts-${{AWS::AccountId}}"


# The operator tool's own stacks (no template names them): the StackSet of the regional
# template and the global stack.
def stack_set_name() -> str:
    return f"{PREFIX}-regional"


def global_stack_name() -> str:
    return f"{PREFIX}-global"


# The id of the receipts bucket's cross-region replication rule (S3 `RuleId` dimension).
S3_REPLICATION_RULE_ID = "to-peer-region"


def alarm_name(logical_id: str) -> str:
    """Alarms carry `<prefix>-<env>-<logical id>` so the dashboard can list them by ARN."""
    return f"{PREFIX}-{logical_id}"


def region_switch_plan_name() -> str:
    """ARC Region switch plan (1-32 of letters, digits and hyphens)."""
    return f"{PREFIX}-dr"
