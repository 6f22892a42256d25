"""AWS WAF in front of the payment API: a regional web ACL per region, on the API stage.

PCI DSS 4.0 requirement 6.4.2 expects an automated technical solution that detects and prevents
web-based attacks in front of a public-facing web application. WAF attaches to REST APIs (API
Gateway v1) stages, not to HTTP APIs, which is why the API is a REST API.

Rules, in evaluation order (lower priority first; the first terminating match wins):

| priority | rule | action |
| --- | --- | --- |
| 0 | `AWSManagedRulesAmazonIpReputationList` (bots, scanners, DDoS sources known to AWS) | block |
| 1 | `RateLimitPerClientIp`: more than `WafRateLimit` requests per 5 minutes from one IP | block |
| 2 | `BodyLargerThanHandlerLimit`: a body over the handler's 16 KiB limit | block |
| 3 | `AWSManagedRulesCommonRuleSet` (OWASP-style: XSS, LFI, RFI, bad bots...) | block |
| 4 | `AWSManagedRulesKnownBadInputsRuleSet` (Log4j, Java deserialisation, ...) | block |
| - | default | allow |

The common rule set's own `SizeRestrictions_BODY` blocks bodies over 8 KB; it is set to count,
because rule 2 enforces the handler's real limit and a 14 KB body must reach the handler to be
answered with a precise 4xx. WAF inspects at most 16 KB of an API Gateway body by default
(`AssociationConfig`, set explicitly here); a larger body is "oversize" and rule 2 matches it.

Logs go to a CloudWatch log group whose name starts with `aws-waf-logs-` (WAF requires the
prefix), KMS-encrypted. WAF logs the URI, the query string and the headers of every request it
inspects ("Log fields for protection pack (web ACL) traffic", AWS WAF Developer Guide), before
the handler can refuse anything, and the health check is public: `GET /health?pan=...` would
keep a card number for 365 days. So the logging configuration redacts the URI path and the
query string (the handler logs the route it served) and the headers that may carry a secret
or card data: `Authorization` (the merchant's secret key), `Idempotency-Key` (client-chosen)
and `Referer` (a URL, with its query). Redaction covers the logs only, not request sampling
(`RedactedFields`, WAFV2 API Reference); the web ACL's own data protection (`DataProtectionConfig`:
"alters the data that's available for any other data collection activity, including your AWS
WAF logging destinations, web ACL request sampling") substitutes the query string and those
headers everywhere else, rule match details included. Any other header (`User-Agent`, a
made-up `X-Card`) stays in the log, where the log group's data protection policy masks what
CloudWatch recognises as a card number (templates/log_protection.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from payments import http
from troposphere import GetAtt, Output, Ref, Sub, logs, wafv2

from . import names
from .physical_names import web_acl_name
from .keys import Key
from .log_protection import card_number_masking
from .regional_params import Regional
from .tagging import tags

GROUP_WAF = "Web application firewall"
LOG_RETENTION_DAYS = 365
RATE_WINDOW_SECONDS = 300
DEFAULT_RATE_LIMIT = 2000  # requests per client IP per 5 minutes (about 6.7 per second)
REDACTED_HEADERS = ("authorization", "idempotency-key", "referer")
INSPECTION_LIMIT = "KB_16"


def max_body_bytes() -> int:
    """`MAX_BODY_BYTES` of the handler (lambda/payments/http.py), imported so the WAF rule and
    the handler cannot disagree."""
    return http.MAX_BODY_BYTES


@dataclass(frozen=True)
class ManagedGroup:
    name: str
    priority: int
    counted_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Firewall:
    web_acl: wafv2.WebACL
    log_group: logs.LogGroup


MANAGED_GROUPS = (
    ManagedGroup("AWSManagedRulesAmazonIpReputationList", 0),
    ManagedGroup("AWSManagedRulesCommonRuleSet", 3, counted_rules=("SizeRestrictions_BODY",)),
    ManagedGroup("AWSManagedRulesKnownBadInputsRuleSet", 4),
)
RATE_RULE_PRIORITY = 1
BODY_RULE_PRIORITY = 2


def _visibility(metric: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric,
                                  SampledRequestsEnabled=True)


def _managed_rule(group: ManagedGroup) -> wafv2.WebACLRule:
    statement = wafv2.ManagedRuleGroupStatement(VendorName="AWS", Name=group.name)
    if group.counted_rules:
        statement.RuleActionOverrides = [
            wafv2.RuleActionOverride(Name=rule,
                                     ActionToUse=wafv2.RuleAction(Count=wafv2.CountAction()))
            for rule in group.counted_rules]
    return wafv2.WebACLRule(
        Name=group.name, Priority=group.priority,
        OverrideAction=wafv2.OverrideAction(**{"None": {}}),
        Statement=wafv2.Statement(ManagedRuleGroupStatement=statement),
        VisibilityConfig=_visibility(group.name),
    )


def _rate_rule() -> wafv2.WebACLRule:
    return wafv2.WebACLRule(
        Name="RateLimitPerClientIp", Priority=RATE_RULE_PRIORITY,
        Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
        Statement=wafv2.Statement(RateBasedStatement=wafv2.RateBasedStatement(
            AggregateKeyType="IP", Limit=Ref(names.WAF_RATE_LIMIT),
            EvaluationWindowSec=RATE_WINDOW_SECONDS)),
        VisibilityConfig=_visibility("RateLimitPerClientIp"),
    )


def _body_size_rule() -> wafv2.WebACLRule:
    return wafv2.WebACLRule(
        Name="BodyLargerThanHandlerLimit", Priority=BODY_RULE_PRIORITY,
        Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
        Statement=wafv2.Statement(SizeConstraintStatement=wafv2.SizeConstraintStatement(
            ComparisonOperator="GT", Size=max_body_bytes(),
            FieldToMatch=wafv2.FieldToMatch(Body=wafv2.Body(OversizeHandling="MATCH")),
            TextTransformations=[wafv2.TextTransformation(Priority=0, Type="NONE")])),
        VisibilityConfig=_visibility("BodyLargerThanHandlerLimit"),
    )


def web_acl_rules() -> list[wafv2.WebACLRule]:
    rules = [_managed_rule(group) for group in MANAGED_GROUPS] + [_rate_rule(), _body_size_rule()]
    return sorted(rules, key=lambda rule: rule.Priority)


def redacted_fields() -> list[wafv2.LoggingConfigurationFieldToMatch]:
    """What the logging configuration keeps out of the WAF logs (see the module docstring)."""
    return [wafv2.LoggingConfigurationFieldToMatch(UriPath={}),
            wafv2.LoggingConfigurationFieldToMatch(QueryString={}),
            *[wafv2.LoggingConfigurationFieldToMatch(SingleHeader=wafv2.SingleHeader(Name=header))
              for header in REDACTED_HEADERS]]


def data_protection() -> wafv2.DataProtectionConfig:
    """The web ACL's data protection: the query string and the redacted headers substituted
    in request sampling and rule match details too (WAF has no URI path field type here)."""
    return wafv2.DataProtectionConfig(DataProtections=[
        wafv2.DataProtect(Field=wafv2.FieldToProtect(FieldType="QUERY_STRING"),
                          Action="SUBSTITUTION"),
        wafv2.DataProtect(Field=wafv2.FieldToProtect(FieldType="SINGLE_HEADER",
                                                     FieldKeys=list(REDACTED_HEADERS)),
                          Action="SUBSTITUTION"),
    ])


def add_waf_parameters(regional: Regional) -> None:
    regional.params.add(
        names.WAF_RATE_LIMIT, group=GROUP_WAF, label="Requests per client IP per 5 minutes",
        description="WAF blocks a client IP above this many requests in a 5-minute window "
                    "(merchants calling from one NAT address need headroom).",
        Type="Number", Default=str(DEFAULT_RATE_LIMIT), MinValue=100, MaxValue=2000000000,
    )


def add_waf(regional: Regional, key: Key, stage_arn: Sub) -> Firewall:
    """The web ACL, its association with the API stage and its logging."""
    add_waf_parameters(regional)
    t = regional.template
    web_acl = t.add_resource(wafv2.WebACL(
        # WAF publishes metrics under the web ACL's metric name (the WebACL dimension): name
        # and metric name are one, so the dashboard can name it (templates/physical_names.py).
        "WebAcl", Name=Sub(web_acl_name()), Scope="REGIONAL",
        Description="Payment API: IP reputation, rate limit, body size, common and known-bad "
                    "inputs",
        DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
        Rules=web_acl_rules(),
        AssociationConfig=wafv2.AssociationConfig(RequestBody={
            "API_GATEWAY": {"DefaultSizeInspectionLimit": INSPECTION_LIMIT}}),
        DataProtectionConfig=data_protection(),
        VisibilityConfig=_visibility(Sub(web_acl_name())),
        Tags=tags("waf"),
    ))
    # stage_arn refers to the stage, so the association waits for it.
    t.add_resource(wafv2.WebACLAssociation(
        "WebAclAssociation", ResourceArn=stage_arn, WebACLArn=web_acl.get_att("Arn"),
    ))
    log_group = t.add_resource(logs.LogGroup(
        "WafLogGroup",
        # WAF delivers only to log groups whose name starts with aws-waf-logs-.
        LogGroupName=Sub(f"aws-waf-logs-${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}"),
        RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=key.arn,
        DataProtectionPolicy=card_number_masking(),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))
    t.add_resource(wafv2.LoggingConfiguration(
        "WafLogging",
        ResourceArn=web_acl.get_att("Arn"),
        # WAF wants the log group ARN without the ":*" that GetAtt Arn carries.
        LogDestinationConfigs=[Sub("arn:${AWS::Partition}:logs:${AWS::Region}:"
                                   "${AWS::AccountId}:log-group:${Group}", Group=Ref(log_group))],
        RedactedFields=redacted_fields(),
    ))
    t.add_output(Output(names.OUT_WEB_ACL_ARN, Description="WAF web ACL on the API stage",
                        Value=GetAtt(web_acl, "Arn")))
    return Firewall(web_acl=web_acl, log_group=log_group)

