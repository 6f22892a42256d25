"""The edge of the regional template: REST API, WAF, custom domains, the key authorizer."""

import importlib.util
import json
from pathlib import Path

import pytest

from templates import api as api_module
from templates import waf

ROOT = Path(__file__).resolve().parent.parent
JWT = {"AuthMode": "jwt",
       "JwtUserPoolArns": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_A,"
                          "arn:aws:cognito-idp:us-west-2:123456789012:userpool/us-west-2_B"}
MODES = {"api-key": {}, "jwt": JWT, "iam": {"AuthMode": "iam"}}
# <region>.<ApiDomainName> (tests/cfn.py resolves Ref, not Fn::Sub)
HEALTH_HOST = {"Fn::Sub": "${AWS::Region}.${ApiDomainName}"}


def lambda_module(name: str):
    """A module of the Lambda package `payments` (lambda/payments/)."""
    return importlib.import_module(f"payments.{name}")


# --- REST API -------------------------------------------------------------------------------
def test_rest_api_is_regional_and_only_reachable_through_the_custom_domains(regional):
    props = regional.props("RestApi")
    assert props["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert props["DisableExecuteApiEndpoint"] is True
    assert regional.count("AWS::ApiGatewayV2::Api") == 0


def test_default_auth_is_merchant_api_keys(regional):
    assert regional.doc["Parameters"]["AuthMode"]["Default"] == "api-key"
    assert set(regional.doc["Parameters"]["AuthMode"]["AllowedValues"]) == set(MODES)


@pytest.mark.parametrize("mode, authorization, authorizer", [
    ("api-key", "CUSTOM", "MerchantKeyAuthorizer"),
    ("jwt", "COGNITO_USER_POOLS", "JwtAuthorizer"),
    ("iam", "AWS_IAM", None),
])
def test_process_method_authorisation_per_mode(in_region, mode, authorization, authorizer):
    cfn = in_region("primary", **MODES[mode])
    method = cfn.props("ProcessMethod")
    assert method["HttpMethod"] == "POST"
    assert method["AuthorizationType"] == authorization
    assert method.get("AuthorizerId") == ({"Ref": authorizer} if authorizer else None)
    assert set(cfn.of_type("AWS::ApiGateway::Authorizer")) == ({authorizer} if authorizer
                                                               else set())


def test_jwt_mode_accepts_a_user_pool_per_region(in_region):
    jwt = in_region("primary", **JWT).props("JwtAuthorizer")
    assert jwt["ProviderARNs"] == {"Fn::Split": [",", JWT["JwtUserPoolArns"]]}
    assert jwt["IdentitySource"] == "method.request.header.Authorization"


def test_process_method_validates_headers_and_body(regional):
    method = regional.props("ProcessMethod")
    assert method["RequestParameters"] == {"method.request.header.Idempotency-Key": True}
    assert method["RequestValidatorId"] == {"Ref": "RequestValidator"}
    validator = regional.props("RequestValidator")
    assert validator["ValidateRequestBody"] is True and validator["ValidateRequestParameters"]
    assert method["RequestModels"] == {"application/json": {"Ref": "PaymentRequestModel"}}
    schema = json.loads(regional.props("PaymentRequestModel")["Schema"])
    assert schema["type"] == "object" and schema["maxProperties"] >= 5
    assert set(schema["required"]) <= lambda_module("validation").FIELDS


def test_health_method_is_open_and_is_what_route53_probes(regional, global_template):
    health = regional.props("HealthMethod")
    assert health["HttpMethod"] == "GET" and health["AuthorizationType"] == "NONE"
    assert regional.props("HealthResource")["PathPart"] == "health"
    for check in global_template.of_type("AWS::Route53::HealthCheck").values():
        assert check["Properties"]["HealthCheckConfig"]["ResourcePath"] == "/health"


def test_any_other_method_on_health_is_answered_by_api_gateway_as_a_missing_route(regional):
    """Review 18 (F7): the REST API defines GET on /health and nothing else, so API Gateway
    answers any other method itself, as it answers an undefined route (MISSING_AUTHENTICATION_TOKEN:
    "including the cases when the client attempts to invoke an unsupported API method or
    resource", API Gateway Developer Guide, "Gateway response types"): here a JSON 404
    `not_found`. The handler's own 405 (`allow: GET`) answers a direct invocation only
    (tests/handlers/test_health_and_outages.py); docs/payment-api.md says both."""
    health_methods = {
        props["HttpMethod"]
        for props in (r["Properties"] for r in regional.of_type("AWS::ApiGateway::Method").values())
        if props["ResourceId"] == {"Ref": "HealthResource"}
    }
    assert health_methods == {"GET"}
    (missing,) = [r["Properties"] for r in regional.of_type("AWS::ApiGateway::GatewayResponse").values()
                  if r["Properties"]["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"]
    body = json.loads(missing["ResponseTemplates"]["application/json"])
    assert missing["StatusCode"] == "404" and body["error"]["code"] == "not_found"
    assert "GET /health" in body["error"]["message"]


def test_methods_are_lambda_proxy_integrations(regional):
    for method, function in (("ProcessMethod", "ProcessorFunction"),
                             ("HealthMethod", "HealthFunction")):
        integration = regional.props(method)["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        assert integration["Uri"]["Fn::Sub"][1] == {"Arn": {"Fn::GetAtt": [function, "Arn"]}}


@pytest.mark.parametrize("mode", MODES)
def test_the_stage_serves_exactly_one_deployment_the_one_of_the_auth_mode(in_region, mode):
    cfn = in_region("primary", **MODES[mode])
    deployments = cfn.of_type("AWS::ApiGateway::Deployment")
    assert len(deployments) == 1
    (lid, deployment), = deployments.items()
    assert cfn.props("ApiStage")["DeploymentId"] == {"Ref": lid}
    # Everything the stage serves (issue 15, defect 3; the rule is tests/aws_rules.py).
    assert {"ProcessMethod", "HealthMethod", "AuthorizerFailureResponse",
            "RequestValidator"} <= set(deployment["DependsOn"])
    assert ("MerchantKeyAuthorizer" in deployment["DependsOn"]) == (mode == "api-key")


def test_stage_traces_logs_and_throttles_without_logging_bodies(regional):
    stage = regional.props("ApiStage")
    assert stage["TracingEnabled"] is True
    assert stage["AccessLogSetting"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    access = json.loads(stage["AccessLogSetting"]["Format"])
    assert access["requestId"] == "$context.requestId"
    assert access["merchantId"] == "$context.authorizer.merchant_id"
    (settings,) = stage["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    assert set(regional.resources["ApiStage"]["DependsOn"]) == {"ApiGatewayAccount",
                                                                "ApiExecutionLogGroup"}


def test_gateway_errors_are_json_with_fixed_messages(regional):
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in regional.of_type("AWS::ApiGateway::GatewayResponse").values()}
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "AUTHORIZER_FAILURE", "BAD_REQUEST_BODY",
            "BAD_REQUEST_PARAMETERS", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    assert responses["AUTHORIZER_FAILURE"]["StatusCode"] == "503"
    for props in responses.values():
        template = props["ResponseTemplates"]["application/json"]
        body = json.loads(template)
        assert set(body) == {"error", "correlation_id"}
        # $context.error.message / validationErrorString can echo request content.
        assert "$context.error" not in template


# --- WAF ------------------------------------------------------------------------------------
EXPECTED_RULES = [
    (0, "AWSManagedRulesAmazonIpReputationList"),
    (1, "RateLimitPerClientIp"),
    (2, "BodyLargerThanHandlerLimit"),
    (3, "AWSManagedRulesCommonRuleSet"),
    (4, "AWSManagedRulesKnownBadInputsRuleSet"),
]


def test_web_acl_rules_in_order(regional):
    acl = regional.props("WebAcl")
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    assert [(r["Priority"], r["Name"]) for r in acl["Rules"]] == EXPECTED_RULES
    for rule in acl["Rules"]:
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        managed = rule["Statement"].get("ManagedRuleGroupStatement")
        if managed:
            assert managed["VendorName"] == "AWS" and rule["OverrideAction"] == {"None": {}}
        else:
            assert rule["Action"] == {"Block": {}}


def test_body_size_rule_matches_the_handler_limit(regional):
    limit = lambda_module("http").MAX_BODY_BYTES
    (rule,) = [r for r in regional.props("WebAcl")["Rules"]
               if r["Name"] == "BodyLargerThanHandlerLimit"]
    size = rule["Statement"]["SizeConstraintStatement"]
    assert size["ComparisonOperator"] == "GT" and size["Size"] == limit == waf.max_body_bytes()
    # A body beyond what WAF inspects is "oversize": it must match (be blocked), not pass.
    assert size["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}
    assert regional.props("WebAcl")["AssociationConfig"] == {
        "RequestBody": {"API_GATEWAY": {"DefaultSizeInspectionLimit": "KB_16"}}}
    assert limit <= 16 * 1024


def test_common_rule_set_leaves_body_size_to_our_rule(regional):
    (rule,) = [r for r in regional.props("WebAcl")["Rules"]
               if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    overrides = rule["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


def test_rate_rule_counts_per_client_ip(regional):
    (rule,) = [r for r in regional.props("WebAcl")["Rules"] if r["Name"] == "RateLimitPerClientIp"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate == {"AggregateKeyType": "IP", "Limit": {"Ref": "WafRateLimit"},
                    "EvaluationWindowSec": 300}


def test_web_acl_is_associated_with_the_stage(regional):
    props = regional.props("WebAclAssociation")
    assert props["WebACLArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    text, variables = props["ResourceArn"]["Fn::Sub"]
    assert text.endswith("::/restapis/${RestApi}/stages/${Stage}")
    assert variables == {"RestApi": {"Ref": "RestApi"}, "Stage": {"Ref": "ApiStage"}}


def test_waf_logs_to_an_encrypted_aws_waf_logs_group_with_secrets_redacted(regional):
    group = regional.props("WafLogGroup")
    assert group["LogGroupName"]["Fn::Sub"].startswith("aws-waf-logs-")
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    logging = regional.props("WafLogging")
    assert logging["ResourceArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    (destination,) = logging["LogDestinationConfigs"]
    text, variables = destination["Fn::Sub"]
    assert text.endswith(":log-group:${Group}") and variables == {"Group": {"Ref": "WafLogGroup"}}
    redacted = {f["SingleHeader"]["Name"].lower() for f in logging["RedactedFields"]
                if "SingleHeader" in f}
    assert {"authorization", "idempotency-key", "referer"} <= redacted


def test_waf_logs_redact_the_query_string_and_the_uri_path(regional):
    """Review 18 (F3): WAF logs every request it inspects before the handler runs ("Log fields
    for protection pack (web ACL) traffic", AWS WAF Developer Guide: `uri`, `args`, `headers`):
    GET /health?pan=4111111111111111 (public, unauthenticated) would be kept 365 days. The
    schema's FieldToMatch takes an empty object for both (cfn-lint's resource schema)."""
    redacted = regional.props("WafLogging")["RedactedFields"]
    assert {"QueryString": {}} in redacted and {"UriPath": {}} in redacted


def test_the_web_acl_substitutes_the_query_string_and_redacted_headers_everywhere(regional):
    """RedactedFields covers the logs only, not request sampling (WAFV2 API Reference,
    LoggingConfiguration); the web ACL's DataProtectionConfig covers sampling and rule match
    details too (API_DataProtectionConfig). WAF has no URI path field type there."""
    protections = regional.props("WebAcl")["DataProtectionConfig"]["DataProtections"]
    assert {"Field": {"FieldType": "QUERY_STRING"}, "Action": "SUBSTITUTION"} in protections
    (headers,) = [p for p in protections if p["Field"]["FieldType"] == "SINGLE_HEADER"]
    assert headers["Action"] == "SUBSTITUTION"
    assert set(headers["Field"]["FieldKeys"]) == set(waf.REDACTED_HEADERS)


def test_every_log_group_a_request_can_reach_masks_card_numbers(regional):
    """A data protection policy with AWS's managed identifier for credit card numbers, audit
    and mask ("Help protect sensitive log data with masking", CloudWatch Logs User Guide): on
    the WAF, API access and execution, and every function's log group; VPC flow logs carry no
    request content."""
    protected = {lid for lid, group in regional.of_type("AWS::Logs::LogGroup").items()
                 if "DataProtectionPolicy" in group["Properties"]}
    assert protected == {"WafLogGroup", "ApiAccessLogGroup", "ApiExecutionLogGroup",
                         "ProcessorLogGroup", "HealthLogGroup", "MigrateLogGroup",
                         "AuthorizerLogGroup", "ReconcileLogGroup"}
    assert set(regional.of_type("AWS::Logs::LogGroup")) - protected == {"FlowLogGroup"}
    identifier = {"Fn::Sub": "arn:${AWS::Partition}:dataprotection::aws:data-identifier/"
                             "CreditCardNumber"}
    for lid in protected:
        policy = regional.props(lid)["DataProtectionPolicy"]
        assert policy["Version"] == "2021-06-01", lid
        audit, mask = policy["Statement"]
        assert audit["DataIdentifier"] == mask["DataIdentifier"] == [identifier], lid
        assert audit["Operation"] == {"Audit": {"FindingsDestination": {}}}, lid
        assert mask["Operation"] == {"Deidentify": {"MaskConfig": {}}}, lid


# --- custom domains and the health host -----------------------------------------------------
def test_each_region_serves_the_failover_name_and_its_own_health_host(in_region):
    cfn = in_region("secondary")
    assert cfn.props("ApiDomain")["DomainName"] == "api.pay.example.com"
    assert cfn.props("HealthDomain")["DomainName"] == HEALTH_HOST
    for lid in ("ApiDomain", "HealthDomain"):
        props = cfn.props(lid)
        assert props["SecurityPolicy"] == "TLS_1_2"
        assert props["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
        assert props["RegionalCertificateArn"] == {"Ref": "ApiCertificate"}
    for mapping in ("ApiBasePathMapping", "HealthBasePathMapping"):
        assert cfn.props(mapping)["Stage"] == {"Ref": "ApiStage"}
        assert "BasePath" not in cfn.props(mapping)  # the root: /process, /health
    record = cfn.props("HealthDomainRecord")
    assert record["Type"] == "A" and record["HostedZoneId"] == "Z0123456789ABC"
    assert record["AliasTarget"]["DNSName"] == {
        "Fn::GetAtt": ["HealthDomain", "RegionalDomainName"]}


def test_certificate_validation_records_each_have_one_owner(in_region):
    primary = in_region("primary").props("ApiCertificate")
    secondary = in_region("secondary").props("ApiCertificate")
    zone = "Z0123456789ABC"
    assert primary["DomainValidationOptions"] == [
        {"DomainName": "api.pay.example.com", "HostedZoneId": zone},
        {"DomainName": HEALTH_HOST, "HostedZoneId": zone}]
    assert secondary["DomainValidationOptions"] == [
        {"DomainName": HEALTH_HOST, "HostedZoneId": zone}]
    # Defect 1 of issue 15: the DomainName must have a validation option, so in the recovery
    # region the health host is the DomainName and the failover name a SAN.
    assert (primary["DomainName"], primary["SubjectAlternativeNames"]) == (
        "api.pay.example.com", [HEALTH_HOST])
    assert (secondary["DomainName"], secondary["SubjectAlternativeNames"]) == (
        HEALTH_HOST, ["api.pay.example.com"])


def test_outputs_the_global_stack_needs(regional):
    outputs = regional.doc["Outputs"]
    assert outputs["ApiDomainTarget"]["Value"] == {
        "Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}
    assert outputs["ApiDomainHostedZoneId"]["Value"] == {
        "Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]}
    assert outputs["ApiEndpointHost"]["Value"] == HEALTH_HOST


def test_invoke_permissions_are_scoped_to_route_and_authorizer(regional):
    for lid, suffix in (("ProcessorInvokePermission", "/*/POST/process"),
                        ("HealthInvokePermission", "/*/GET/health"),
                        ("AuthorizerInvokePermission", "/authorizers/${MerchantKeyAuthorizer}")):
        props = regional.props(lid)
        text, variables = props["SourceArn"]["Fn::Sub"]
        assert text.endswith("${RestApi}" + suffix), lid
        assert variables == {"RestApi": {"Ref": "RestApi"}}
        assert props["Principal"] == "apigateway.amazonaws.com"


# --- the authorizer -------------------------------------------------------------------------
def test_authorizer_caches_per_authorization_header_briefly(regional):
    props = regional.props("MerchantKeyAuthorizer")
    assert props["Type"] == "REQUEST"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == api_module.AUTHORIZER_CACHE_SECONDS == 30
    assert props["AuthorizerUri"]["Fn::Sub"][1] == {
        "Arn": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}}


def test_authorizer_role_reads_key_records_only(regional):
    (policy,) = regional.props("AuthorizerRole")["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"WriteOwnLogs", "ManageVpcNetworkInterfaces", "PublishTraces",
                               "ReadMerchantKeyRecords", "DecryptTableThroughDynamoDb"}
    read = statements["ReadMerchantKeyRecords"]
    assert read["Action"] == ["dynamodb:GetItem"]
    assert read["Resource"][0]["Fn::Sub"][0].endswith(":table/${Name}")
    decrypt = statements["DecryptTableThroughDynamoDb"]
    assert decrypt["Action"] == ["kms:Decrypt"]
    assert decrypt["Resource"] == [{"Fn::GetAtt": ["Key", "Arn"]}]
    (via,) = decrypt["Condition"]["StringEquals"]["kms:ViaService"]
    assert via["Fn::Sub"].startswith("dynamodb.")


def test_authorizer_function_environment_is_what_its_code_reads(regional):
    props = regional.props("AuthorizerFunction")
    assert set(props["Environment"]["Variables"]) == lambda_module("authorizer").ENV_VARS
    assert props["Handler"] == "payments.handlers.authorizer"
    assert props["Code"]["S3Key"] == {"Ref": "FunctionCodeKey"}
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "LambdaSecurityGroup"}]
    assert props["ReservedConcurrentExecutions"] > 0


# --- alarms ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lid, metric", [("Api5xxAlarm", "5XXError"),
                                         ("ApiLatencyP99Alarm", "Latency")])
def test_api_alarms_use_rest_api_metric_names_and_dimensions(regional, lid, metric):
    props = regional.props(lid)
    assert props["Namespace"] == "AWS/ApiGateway" and props["MetricName"] == metric
    dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
    assert dimensions == {"ApiName": regional.props("RestApi")["Name"],
                          "Stage": regional.props("ApiStage")["StageName"]}


def test_the_certificate_uses_rsa_2048_which_api_gateway_serves(regional):
    """ECDSA support for API Gateway regional custom domains is not documented where we could
    check; ACM's default, RSA 2048, is."""
    assert regional.props("ApiCertificate")["KeyAlgorithm"] == "RSA_2048"
