"""The payment API: a regional REST API (API Gateway v1) behind WAF, and its custom domains.

Why a REST API: AWS WAF attaches to REST API stages, not to HTTP APIs (PCI DSS 6.4.2 expects a
web-attack filter in front of a public payment API; see `waf.py`).

- `POST /process` is authorised by the merchant API key authorizer (`AuthMode=api-key`,
  default; `authorizer.py`), or by Cognito user pools (`jwt`), or by IAM (`iam`: SigV4
  signatures name their region and do not survive a DNS failover; for internal callers only).
  A request validator requires the `Idempotency-Key` header and a JSON object body.
- `GET /health` is open: Route 53 probes it.
- The default `execute-api` endpoint is disabled, so every request goes through a custom
  domain with the TLS 1.2 policy and the web ACL. Each region serves two names with one
  certificate: the failover name (`ApiDomainName`, the same in both regions, what the global
  stack's alias records serve) and its own health host `<region>.<ApiDomainName>` (an alias
  record this stack owns), which the global stack's health check probes, so a region is judged
  by its own endpoint, never by the failover name.

ACM's DNS-validation record for a name is the same CNAME in every region of an account. The
home region's certificate owns the failover name's record (`DomainValidationOptions` with the
hosted zone); the recovery region's names the failover name as a SAN and validates against
that existing record. Each region's own health host has its own record, owned by that region's
certificate (in the recovery region, the certificate's DomainName).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from awacs import logs as logs_actions
from awacs.aws import Allow, Statement
from troposphere import (
    And, Condition, Equals, If, Not, Output, Ref, Split, Sub, Template, apigateway,
    awslambda, certificatemanager, iam, logs, route53,
)

from . import grants, names
from .physical_names import REST_API_STAGE_NAME
from .physical_names import api_name as physical_api_name
from .arns import arn
from .authorizer import Authorizer
from .checks import skip_checkov
from .keys import Key
from .log_protection import card_number_masking
from .parameters import HOSTNAME_PATTERN, ZONE_ID_PATTERN
from .regional_params import Regional
from .service import LOG_RETENTION_DAYS, Functions
from .tagging import tags
from .waf import Firewall, add_waf

GROUP_API = "API"
CERTIFICATE_KEY_ALGORITHM = "RSA_2048"
STAGE_NAME = REST_API_STAGE_NAME  # the dashboard's Stage dimension
PROCESS_PATH = "process"
HEALTH_PATH_PART = names.HEALTH_PATH.strip("/")
THROTTLE_RATE = 100  # requests per second, steady state, per region
THROTTLE_BURST = 200
# The authorizer's answer for one Authorization header is cached this long: a revoked key stops
# working within this time (plus global-table replication, typically under a second).
AUTHORIZER_CACHE_SECONDS = 30
AUTH_MODES = ("api-key", "jwt", "iam")
IDEMPOTENCY_HEADER = "method.request.header.Idempotency-Key"
AUTHORIZATION_HEADER = "method.request.header.Authorization"
# A payment request has five fields; far more is refused at the edge before any Lambda runs.
# Field rules and their precise errors are the handler's job.
PAYMENT_REQUEST_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "PaymentRequest",
    "type": "object",
    "required": ["amount", "currency", "source"],
    "maxProperties": 16,
}
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status",
    "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "authorizerLatency": "$context.authorizer.latency",
    "merchantId": "$context.authorizer.merchant_id", "keyId": "$context.authorizer.key_id",
    "wafStatus": "$context.waf.status", "domainName": "$context.domainName",
    "errorType": "$context.error.responseType",
}, separators=(",", ":"), sort_keys=True)
# API Gateway's own error answers, in the handler's JSON error shape, with fixed messages: the
# default messages of some (e.g. body validation) echo parts of the request, which might be
# card data.
GATEWAY_RESPONSES = {
    "UNAUTHORIZED": (401, "unauthorized",
                     "send your secret key as Authorization: Bearer sk_..."),
    "ACCESS_DENIED": (403, "forbidden", "the credentials are not valid for this API"),
    "AUTHORIZER_FAILURE": (503, "service_unavailable",
                           "the credentials could not be checked; retry with the same "
                           "Idempotency-Key"),
    "AUTHORIZER_CONFIGURATION_ERROR": (503, "service_unavailable",
                                       "the credentials could not be checked; retry with the "
                                       "same Idempotency-Key"),
    "BAD_REQUEST_BODY": (400, "malformed_body",
                         "the body must be a JSON object with amount, currency and source"),
    "BAD_REQUEST_PARAMETERS": (400, "missing_idempotency_key",
                               "the Idempotency-Key header is required"),
    "REQUEST_TOO_LARGE": (413, "payload_too_large", "the request body is too large"),
    # Requests WAF blocks get DEFAULT_4XX (troposphere does not know WAF_FILTERED yet).
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found",
                                     "no such route: POST /process, GET /health"),
    "THROTTLED": (429, "too_many_requests", "slow down and retry with the same Idempotency-Key"),
    "DEFAULT_4XX": (None, "bad_request", "the request was refused"),
    "DEFAULT_5XX": (None, "service_unavailable", "retry with the same Idempotency-Key"),
}


@dataclass(frozen=True)
class Api:
    api: apigateway.RestApi
    stage: apigateway.Stage
    name: Sub
    stage_name: str
    firewall: Firewall


def add_api_parameters(regional: Regional) -> None:
    params = regional.params
    params.add(
        names.API_DOMAIN_NAME, group=GROUP_API, label="API domain name",
        description="Custom domain of the API, the same in both regions: the failover name "
                    "that the global stack's records serve (e.g. api.payments.example.com). "
                    "Each region also serves <region>.<this name> for its health check.",
        AllowedPattern=HOSTNAME_PATTERN,
        ConstraintDescription="a lower-case DNS name",
    )
    params.add(
        names.API_HOSTED_ZONE_ID, group=GROUP_API, label="Hosted zone id",
        description="Public hosted zone of the domain: certificate validation records and each "
                    "region's health host record go there.",
        AllowedPattern=ZONE_ID_PATTERN, ConstraintDescription="a hosted zone id (Z...)",
    )
    params.add(
        names.AUTH_MODE, group=GROUP_API, label="Authorisation of POST /process",
        description="api-key: merchant secret keys checked by the authorizer (default; valid in "
                    "both regions); jwt: Cognito user pools (JwtUserPoolArns); iam: SigV4, "
                    "region-bound (fails after a DNS failover), internal callers only.",
        Default="api-key", AllowedValues=list(AUTH_MODES),
    )
    params.add(
        names.JWT_USER_POOL_ARNS, group=GROUP_API, label="JWT user pools",
        description="AuthMode jwt: comma-separated Cognito user pool ARNs whose tokens are "
                    "accepted. A user pool lives in one region: list one per region.",
        Default="", AllowedPattern=r"^$|^arn:[a-z-]+:cognito-idp:[a-z0-9-]+:\d{12}:userpool/"
                                   r"[\w-]+(,arn:[a-z-]+:cognito-idp:[a-z0-9-]+:\d{12}:"
                                   r"userpool/[\w-]+)*$",
        ConstraintDescription="empty or comma-separated user pool ARNs",
    )
    t = regional.template
    t.add_condition(names.USES_API_KEYS, Equals(Ref(names.AUTH_MODE), "api-key"))
    t.add_condition(names.USES_JWT, Equals(Ref(names.AUTH_MODE), "jwt"))
    t.add_condition(names.USES_IAM, And(Not(Condition(names.USES_API_KEYS)),
                                       Not(Condition(names.USES_JWT))))
    t.add_rule("JwtSettings", {
        "RuleCondition": Equals(Ref(names.AUTH_MODE), "jwt"),
        "Assertions": [{
            "Assert": Not(Equals(Ref(names.JWT_USER_POOL_ARNS), "")),
            "AssertDescription": "AuthMode jwt needs JwtUserPoolArns",
        }],
    })


def _lambda_uri(function) -> Sub:
    return Sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
               "functions/${Arn}/invocations", Arn=function.get_att("Arn"))


def _invoke_permission(t: Template, logical: str, function, source: str, **conditions):
    return t.add_resource(awslambda.Permission(
        f"{logical}InvokePermission", Action="lambda:InvokeFunction",
        FunctionName=Ref(function), Principal="apigateway.amazonaws.com",
        SourceArn=arn("execute-api", f"${{RestApi}}/{source}", RestApi=Ref("RestApi")),
        **conditions,
    ))


def _proxy(function) -> apigateway.Integration:
    return apigateway.Integration(Type="AWS_PROXY", IntegrationHttpMethod="POST",
                                  Uri=_lambda_uri(function), TimeoutInMillis=29000)


def _authorizers(t: Template, api, authorizer: Authorizer):
    merchant_keys = t.add_resource(apigateway.Authorizer(
        "MerchantKeyAuthorizer", Condition=names.USES_API_KEYS,
        RestApiId=Ref(api), Name="merchant-api-key", Type="REQUEST",
        IdentitySource=AUTHORIZATION_HEADER,
        AuthorizerUri=_lambda_uri(authorizer.function),
        AuthorizerResultTtlInSeconds=AUTHORIZER_CACHE_SECONDS,
    ))
    _invoke_permission(t, "Authorizer", authorizer.function,
                       "authorizers/${MerchantKeyAuthorizer}", Condition=names.USES_API_KEYS)
    jwt = t.add_resource(apigateway.Authorizer(
        "JwtAuthorizer", Condition=names.USES_JWT,
        RestApiId=Ref(api), Name="jwt", Type="COGNITO_USER_POOLS",
        IdentitySource=AUTHORIZATION_HEADER,
        ProviderARNs=Split(",", Ref(names.JWT_USER_POOL_ARNS)),
    ))
    return merchant_keys, jwt


def _methods(t: Template, api, functions: Functions, authorizer: Authorizer) -> list:
    process = t.add_resource(apigateway.Resource(
        "ProcessResource", RestApiId=Ref(api), ParentId=api.get_att("RootResourceId"),
        PathPart=PROCESS_PATH))
    health = t.add_resource(apigateway.Resource(
        "HealthResource", RestApiId=Ref(api), ParentId=api.get_att("RootResourceId"),
        PathPart=HEALTH_PATH_PART))
    validator = t.add_resource(apigateway.RequestValidator(
        "RequestValidator", RestApiId=Ref(api), Name="body-and-headers",
        ValidateRequestBody=True, ValidateRequestParameters=True))
    model = t.add_resource(apigateway.Model(
        "PaymentRequestModel", RestApiId=Ref(api), Name="PaymentRequest",
        ContentType="application/json", Schema=PAYMENT_REQUEST_SCHEMA))
    merchant_keys, jwt = _authorizers(t, api, authorizer)
    no_value = Ref("AWS::NoValue")
    process_method = t.add_resource(apigateway.Method(
        "ProcessMethod", RestApiId=Ref(api), ResourceId=Ref(process), HttpMethod="POST",
        AuthorizationType=If(names.USES_API_KEYS, "CUSTOM",
                             If(names.USES_JWT, "COGNITO_USER_POOLS", "AWS_IAM")),
        AuthorizerId=If(names.USES_API_KEYS, Ref(merchant_keys),
                        If(names.USES_JWT, Ref(jwt), no_value)),
        RequestValidatorId=Ref(validator),
        RequestParameters={IDEMPOTENCY_HEADER: True},
        RequestModels={"application/json": Ref(model)},
        Integration=_proxy(functions.processor),
    ))
    health_method = t.add_resource(apigateway.Method(
        "HealthMethod", RestApiId=Ref(api), ResourceId=Ref(health), HttpMethod="GET",
        AuthorizationType="NONE", Integration=_proxy(functions.health),
    ))
    skip_checkov(
        health_method,
        CKV_AWS_59="GET /health is public on purpose: Route 53 health checkers cannot "
                   "authenticate; it answers status and per-dependency ok only",
    )
    _invoke_permission(t, "Processor", functions.processor, f"*/POST/{PROCESS_PATH}")
    _invoke_permission(t, "Health", functions.health, f"*/GET/{HEALTH_PATH_PART}")
    responses = []
    for response_type, (status, code, message) in sorted(GATEWAY_RESPONSES.items()):
        body = json.dumps({"error": {"code": code, "message": message},
                           "correlation_id": "$context.requestId"}, sort_keys=True)
        responses.append(t.add_resource(apigateway.GatewayResponse(
            "".join(part.title() for part in response_type.split("_")) + "Response",
            RestApiId=Ref(api), ResponseType=response_type,
            **({"StatusCode": str(status)} if status else {}),
            ResponseTemplates={"application/json": body},
            ResponseParameters={"gatewayresponse.header.Cache-Control": "'no-store'"},
        )))
    return [process, health, validator, model, merchant_keys, jwt, process_method,
            health_method, *responses]


def served_digest(resources: dict[str, dict]) -> str:
    """The digest a deployment's logical id carries: of everything the stage serves, as
    emitted (logical id -> resource), so a change to any of them makes a new deployment."""
    return hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()[:10]


def _deployments(t: Template, api, served: list) -> dict[str, apigateway.Deployment]:
    """A deployment snapshots what the stage serves: the API's settings, resources, methods,
    authorizers, gateway responses, models and validators (API Gateway Developer Guide,
    "Deploy REST APIs in API Gateway"). CloudFormation deploys only for a new deployment
    resource, so the logical id carries a digest of all of them, as the AWS CDK does since
    aws-cdk#10963 (a gateway response changed alone was never deployed), and the deployment
    depends on all of them (on create, the snapshot must not be taken before they exist).
    One deployment per auth mode, each under its condition and over what exists with it, so
    changing `AuthMode` on a live stack deploys the methods as they now are."""
    deployments = {}
    for mode, condition in (("ApiKey", names.USES_API_KEYS), ("Jwt", names.USES_JWT),
                            ("Iam", names.USES_IAM)):
        members = [r for r in [api, *served] if r.to_dict().get("Condition") in (None, condition)]
        digest = served_digest({r.title: r.to_dict() for r in members})
        deployments[mode] = t.add_resource(apigateway.Deployment(
            f"ApiDeployment{mode}{digest}", Condition=condition, RestApiId=Ref(api),
            Description=f"Payment API ({mode} auth), definition {digest}",
            DependsOn=[r.title for r in members if r is not api],
        ))
    return deployments


def _logging_role(t: Template, api: apigateway.RestApi) -> apigateway.Account:
    """Execution logs (errors only, never bodies) need the account-level CloudWatch role of
    API Gateway in this region (API Gateway Developer Guide, "Set up CloudWatch logging for
    REST APIs in API Gateway"). It is one setting per account and region, used by every REST
    and WebSocket API there. The policy is what AWS's managed policy for this role,
    AmazonAPIGatewayPushToCloudWatchLogs, grants, on "*": when the role is set, API Gateway
    writes the `/aws/apigateway/welcome` log stream, and AWS::ApiGateway::Account has failed
    with "The role ARN does not have required permissions" when the role could write only
    `API-Gateway-Execution-Logs_*` (cloudformation-coverage-roadmap#2312). A narrower policy
    is a bet on an undocumented check made at deploy time; the log groups this stack's API
    writes are created here, encrypted and kept 365 days, either way."""
    role = t.add_resource(iam.Role(
        "ApiGatewayLoggingRole", Description="API Gateway execution logs (account setting)",
        AssumeRolePolicyDocument=grants.policy(grants.assume_role_by("apigateway")),
        Policies=[iam.Policy(PolicyName="push-to-cloudwatch-logs", PolicyDocument=grants.policy(
            Statement(Sid="PushToCloudWatchLogs", Effect=Allow,
                      Action=[logs_actions.CreateLogGroup, logs_actions.CreateLogStream,
                              logs_actions.DescribeLogGroups, logs_actions.DescribeLogStreams,
                              logs_actions.PutLogEvents, logs_actions.GetLogEvents,
                              logs_actions.FilterLogEvents],
                      Resource=["*"])))],
        Tags=tags("apigateway-logs"),
    ))
    skip_checkov(
        role,
        CKV_AWS_111="the account's API Gateway CloudWatch role: AWS's managed policy for it "
                    "grants log writes on *; narrower has failed AWS::ApiGateway::Account",
    )
    # "If an API Gateway resource has never been created in your AWS account, you must add a
    # dependency on another API Gateway resource, such as an AWS::ApiGateway::RestApi"
    # (CloudFormation User Guide, AWS::ApiGateway::Account; the AWS CDK still does it).
    return t.add_resource(apigateway.Account(
        "ApiGatewayAccount", CloudWatchRoleArn=role.get_att("Arn"), DependsOn=[api.title]))


def add_api(regional: Regional, key: Key, functions: Functions, authorizer: Authorizer) -> Api:
    add_api_parameters(regional)
    t = regional.template
    api_name = Sub(physical_api_name())  # the dashboard's ApiName dimension
    api = t.add_resource(apigateway.RestApi(
        "RestApi", Name=api_name,
        Description="Payment API (same name and routes in both regions)",
        EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
        DisableExecuteApiEndpoint=True,
        Tags=tags("api"),
    ))
    definition = _methods(t, api, functions, authorizer)
    deployments = _deployments(t, api, definition)
    access_logs = t.add_resource(logs.LogGroup(
        "ApiAccessLogGroup",
        LogGroupName=Sub(f"/${{{names.NAME_PREFIX}}}/${{{names.ENVIRONMENT_NAME}}}/api-access"),
        RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=key.arn,
        DataProtectionPolicy=card_number_masking(),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))
    # Created here (encrypted, kept 365 days) rather than by API Gateway on first use.
    execution_logs = t.add_resource(logs.LogGroup(
        "ApiExecutionLogGroup",
        LogGroupName=Sub(f"API-Gateway-Execution-Logs_${{RestApi}}/{STAGE_NAME}",
                         RestApi=Ref(api)),
        RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=key.arn,
        DataProtectionPolicy=card_number_masking(),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))
    account = _logging_role(t, api)
    stage = t.add_resource(apigateway.Stage(
        "ApiStage", RestApiId=Ref(api), StageName=STAGE_NAME,
        DependsOn=[account.title, execution_logs.title],
        DeploymentId=If(names.USES_API_KEYS, Ref(deployments["ApiKey"]),
                        If(names.USES_JWT, Ref(deployments["Jwt"]), Ref(deployments["Iam"]))),
        TracingEnabled=True,
        AccessLogSetting=apigateway.AccessLogSetting(
            DestinationArn=access_logs.get_att("Arn"), Format=ACCESS_LOG_FORMAT),
        MethodSettings=[apigateway.MethodSetting(
            ResourcePath="/*", HttpMethod="*", MetricsEnabled=True,
            # Errors only, and never request or response bodies: they may carry card data.
            LoggingLevel="ERROR", DataTraceEnabled=False,
            ThrottlingRateLimit=THROTTLE_RATE, ThrottlingBurstLimit=THROTTLE_BURST)],
        Tags=tags("api"),
    ))
    skip_checkov(
        stage,
        CKV_AWS_120="no response caching: every POST /process is a distinct payment and "
                    "GET /health must reflect the region now",
    )
    stage_arn = Sub("arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestApi}/"
                    "stages/${Stage}", RestApi=Ref(api), Stage=Ref(stage))
    firewall = add_waf(regional, key, stage_arn)
    _custom_domains(t, api, stage)
    t.add_output(Output(names.OUT_API_ID, Description="REST API id", Value=Ref(api)))
    t.add_output(Output(names.OUT_API_STAGE, Description="Stage serving the custom domains",
                        Value=Ref(stage)))
    return Api(api=api, stage=stage, name=api_name, stage_name=STAGE_NAME, firewall=firewall)


def health_host() -> Sub:
    """This region's own name, `<region>.<ApiDomainName>`: what Route 53 probes."""
    return Sub(f"${{AWS::Region}}.${{{names.API_DOMAIN_NAME}}}")


def _custom_domains(t: Template, api, stage) -> None:
    zone = Ref(names.API_HOSTED_ZONE_ID)
    own = certificatemanager.DomainValidationOption(DomainName=health_host(), HostedZoneId=zone)
    failover = certificatemanager.DomainValidationOption(
        DomainName=Ref(names.API_DOMAIN_NAME), HostedZoneId=zone)
    # With DNS validation the certificate's DomainName must itself have a validation option,
    # or CloudFormation creates no record and the resource waits until it fails
    # (CloudFormation Template Reference, AWS::CertificateManager::Certificate,
    # DomainValidationOptions). The recovery region owns only its health host's record, so
    # there the health host is the DomainName and the failover name a SAN, validated by the
    # record the home region's certificate owns (the same CNAME in every region).
    certificate = t.add_resource(certificatemanager.Certificate(
        "ApiCertificate", ValidationMethod="DNS",
        DomainName=If(names.IS_HOME, Ref(names.API_DOMAIN_NAME), health_host()),
        SubjectAlternativeNames=If(names.IS_HOME, [health_host()],
                                   [Ref(names.API_DOMAIN_NAME)]),
        # RSA 2048: the API Gateway and ACM documentation found here does not say that regional
        # custom domains serve ECDSA certificates (ACM: "some AWS services may require RSA
        # keys"), and a certificate API Gateway rejects would fail the whole stack. RSA_2048
        # is ACM's default and what every client accepts.
        KeyAlgorithm=CERTIFICATE_KEY_ALGORITHM,
        DomainValidationOptions=If(names.IS_HOME, [failover, own], [own]),
        Tags=tags("api"),
    ))
    for logical, domain_name in (("Api", Ref(names.API_DOMAIN_NAME)), ("Health", health_host())):
        domain = t.add_resource(apigateway.DomainName(
            f"{logical}Domain", DomainName=domain_name,
            RegionalCertificateArn=Ref(certificate),
            EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
            SecurityPolicy="TLS_1_2",
            Tags=tags("api"),
        ))
        t.add_resource(apigateway.BasePathMapping(
            f"{logical}BasePathMapping", DomainName=Ref(domain), RestApiId=Ref(api),
            Stage=Ref(stage),
        ))
        if logical == "Api":
            t.add_output(Output(names.OUT_API_DOMAIN_TARGET,
                                Description="Regional domain name the failover alias points at",
                                Value=domain.get_att("RegionalDomainName")))
            t.add_output(Output(names.OUT_API_DOMAIN_ZONE_ID,
                                Description="Hosted zone id of the regional domain name",
                                Value=domain.get_att("RegionalHostedZoneId")))
        else:
            t.add_resource(route53.RecordSetType(
                "HealthDomainRecord", HostedZoneId=zone, Name=domain_name, Type="A",
                AliasTarget=route53.AliasTarget(
                    DNSName=domain.get_att("RegionalDomainName"),
                    HostedZoneId=domain.get_att("RegionalHostedZoneId"),
                    EvaluateTargetHealth=False),
            ))
            t.add_output(Output(
                names.OUT_API_ENDPOINT_HOST,
                Description="This region's own API host: what the Route 53 health check probes",
                Value=domain_name))
