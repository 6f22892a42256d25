"""The HTTP API in front of the functions, and its regional custom domain.

Both regions serve the same custom domain name (the failover name), each with an ACM
certificate in its own region, so a client that DNS sends to either region gets a valid
certificate and API Gateway recognises the Host (a CNAME to the `execute-api` host would do
neither). `GET /health` is open (Route 53 probes it); `POST /process` requires IAM
(SigV4) authorisation, or a JWT when `AuthMode` is `jwt`.

ACM's DNS-validation record for a name is the same CNAME in every region of an account. The
primary's certificate owns it (`DomainValidationOptions` with the hosted zone: CloudFormation
creates the record); the secondary's certificate validates against that existing record and
creates none, so the two stacks never fight over it and deleting the secondary cannot remove
what the primary's renewal needs.
"""

from dataclasses import dataclass

from troposphere import (
    Equals, If, Not, Output, Ref, Split, Sub, Template, apigatewayv2, awslambda,
    certificatemanager, logs,
)

from . import names
from .keys import Key
from .parameters import HOSTNAME_PATTERN, ZONE_ID_PATTERN
from .regional_params import Regional
from .service import Functions, LOG_RETENTION_DAYS
from .tagging import name, tags

GROUP_API = "API"
USES_JWT = "UsesJwtAuthorizer"
PAYMENT_ROUTE = "POST /process"
HEALTH_ROUTE = f"GET {names.HEALTH_PATH}"
STAGE_NAME = "$default"
THROTTLE_RATE = 100  # requests per second, steady state, per region
THROTTLE_BURST = 200
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"routeKey":"$context.routeKey","status":"$context.status",'
    '"protocol":"$context.protocol","responseLength":"$context.responseLength",'
    '"integrationLatency":"$context.integrationLatency",'
    '"integrationError":"$context.integration.error","domainName":"$context.domainName",'
    '"userArn":"$context.identity.userArn"}'
)


@dataclass(frozen=True)
class Api:
    api: apigatewayv2.Api
    stage: apigatewayv2.Stage


def add_api_parameters(regional: Regional) -> None:
    params = regional.params
    params.add(
        names.API_DOMAIN_NAME, group=GROUP_API, label="API domain name",
        description="Custom domain of the API, the same in both regions: the failover name "
                    "that the global stack's records serve (e.g. api.payments.example.com).",
        AllowedPattern=HOSTNAME_PATTERN,
        ConstraintDescription="a lower-case DNS name",
    )
    params.add(
        names.API_HOSTED_ZONE_ID, group=GROUP_API, label="Hosted zone id",
        description="Public hosted zone of the domain; the primary's certificate creates its "
                    "DNS validation record there.",
        AllowedPattern=ZONE_ID_PATTERN, ConstraintDescription="a hosted zone id (Z...)",
    )
    params.add(
        names.AUTH_MODE, group=GROUP_API, label="Authorisation of POST /process",
        description="iam: SigV4-signed requests (default); jwt: a JWT authoriser with the "
                    "issuer and audience below.",
        Default="iam", AllowedValues=["iam", "jwt"],
    )
    params.add(
        names.JWT_ISSUER, group=GROUP_API, label="JWT issuer",
        description="Issuer URL of the JWT authoriser (AuthMode jwt), e.g. a Cognito user pool.",
        Default="", AllowedPattern=r"^$|^https://[^\s]+$",
        ConstraintDescription="empty or an https:// URL",
    )
    params.add(
        names.JWT_AUDIENCE, group=GROUP_API, label="JWT audience",
        description="Comma-separated audiences the JWT must carry (AuthMode jwt).",
        Default="", AllowedPattern=r"^[^\s]*$", ConstraintDescription="no white space",
    )
    regional.template.add_condition(USES_JWT, Equals(Ref(names.AUTH_MODE), "jwt"))
    regional.template.add_rule("JwtSettings", {
        "RuleCondition": Equals(Ref(names.AUTH_MODE), "jwt"),
        "Assertions": [{
            "Assert": Not(Equals(Ref(names.JWT_ISSUER), "")),
            "AssertDescription": "AuthMode jwt needs JwtIssuer",
        }, {
            "Assert": Not(Equals(Ref(names.JWT_AUDIENCE), "")),
            "AssertDescription": "AuthMode jwt needs JwtAudience",
        }],
    })


def _integration(t: Template, api, logical: str, function) -> apigatewayv2.Integration:
    return t.add_resource(apigatewayv2.Integration(
        f"{logical}Integration", ApiId=Ref(api), IntegrationType="AWS_PROXY",
        IntegrationUri=function.get_att("Arn"), PayloadFormatVersion="2.0",
        TimeoutInMillis=29000,
    ))


def _invoke_permission(t: Template, api, logical: str, function, route_key: str) -> None:
    method, path = route_key.split(" ", 1)
    t.add_resource(awslambda.Permission(
        f"{logical}InvokePermission", Action="lambda:InvokeFunction",
        FunctionName=Ref(function), Principal="apigateway.amazonaws.com",
        SourceArn=Sub(f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:"
                      f"${{{api.title}}}/*/{method}{path}"),
    ))


def add_api(regional: Regional, key: Key, functions: Functions) -> Api:
    add_api_parameters(regional)
    t = regional.template
    api = t.add_resource(apigatewayv2.Api(
        "HttpApi", Name=name("payments"), ProtocolType="HTTP",
        Description="Payment API (same name and routes in both regions)",
        Tags={"Environment": Ref(names.ENVIRONMENT_NAME), "Project": Ref(names.NAME_PREFIX)},
    ))
    authorizer = t.add_resource(apigatewayv2.Authorizer(
        "JwtAuthorizer", Condition=USES_JWT, ApiId=Ref(api), AuthorizerType="JWT",
        Name="jwt", IdentitySource=["$request.header.Authorization"],
        JwtConfiguration=apigatewayv2.JWTConfiguration(
            Issuer=Ref(names.JWT_ISSUER),
            Audience=Split(",", Ref(names.JWT_AUDIENCE))),
    ))
    processor = _integration(t, api, "Processor", functions.processor)
    health = _integration(t, api, "Health", functions.health)
    t.add_resource(apigatewayv2.Route(
        "ProcessRoute", ApiId=Ref(api), RouteKey=PAYMENT_ROUTE,
        AuthorizationType=If(USES_JWT, "JWT", "AWS_IAM"),
        AuthorizerId=If(USES_JWT, Ref(authorizer), Ref("AWS::NoValue")),
        Target=Sub("integrations/${Integration}", Integration=Ref(processor)),
    ))
    t.add_resource(apigatewayv2.Route(
        "HealthRoute", ApiId=Ref(api), RouteKey=HEALTH_ROUTE, AuthorizationType="NONE",
        Target=Sub("integrations/${Integration}", Integration=Ref(health)),
    ))
    _invoke_permission(t, api, "Processor", functions.processor, PAYMENT_ROUTE)
    _invoke_permission(t, api, "Health", functions.health, HEALTH_ROUTE)

    access_logs = t.add_resource(logs.LogGroup(
        "ApiAccessLogGroup",
        LogGroupName=Sub(f"/${{{names.NAME_PREFIX}}}/${{{names.ENVIRONMENT_NAME}}}/api-access"),
        RetentionInDays=LOG_RETENTION_DAYS, KmsKeyId=key.arn,
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
    ))
    stage = t.add_resource(apigatewayv2.Stage(
        "DefaultStage", ApiId=Ref(api), StageName=STAGE_NAME, AutoDeploy=True,
        AccessLogSettings=apigatewayv2.AccessLogSettings(
            DestinationArn=access_logs.get_att("Arn"), Format=ACCESS_LOG_FORMAT),
        DefaultRouteSettings=apigatewayv2.RouteSettings(
            ThrottlingRateLimit=THROTTLE_RATE, ThrottlingBurstLimit=THROTTLE_BURST,
            DetailedMetricsEnabled=True),
        Tags={"Environment": Ref(names.ENVIRONMENT_NAME)},
    ))
    _custom_domain(t, api, stage)
    t.add_output(Output(names.OUT_API_ID, Description="HTTP API id", Value=Ref(api)))
    t.add_output(Output(
        names.OUT_API_ENDPOINT_HOST,
        Description="This region's own API host: what the Route 53 health check probes",
        Value=Sub("${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}", Api=Ref(api))))
    return Api(api=api, stage=stage)


def _custom_domain(t: Template, api, stage) -> None:
    certificate = t.add_resource(certificatemanager.Certificate(
        "ApiCertificate", DomainName=Ref(names.API_DOMAIN_NAME), ValidationMethod="DNS",
        KeyAlgorithm="EC_prime256v1",
        DomainValidationOptions=If(names.IS_HOME, [certificatemanager.DomainValidationOption(
            DomainName=Ref(names.API_DOMAIN_NAME),
            HostedZoneId=Ref(names.API_HOSTED_ZONE_ID))], Ref("AWS::NoValue")),
        Tags=tags("api"),
    ))
    domain = t.add_resource(apigatewayv2.DomainName(
        "ApiDomain", DomainName=Ref(names.API_DOMAIN_NAME),
        DomainNameConfigurations=[apigatewayv2.DomainNameConfiguration(
            CertificateArn=Ref(certificate), EndpointType="REGIONAL",
            SecurityPolicy="TLS_1_2")],
    ))
    # The stage is named, not referenced: the explicit DependsOn is what makes CloudFormation
    # create the mapping only after the stage exists (a mapping to a missing stage fails).
    t.add_resource(apigatewayv2.ApiMapping(
        "ApiMapping", DependsOn=[stage.title],
        ApiId=Ref(api), DomainName=Ref(domain), Stage=STAGE_NAME,
    ))
    t.add_output(Output(names.OUT_API_DOMAIN_TARGET,
                        Description="Regional domain name the failover alias points at",
                        Value=domain.get_att("RegionalDomainName")))
    t.add_output(Output(names.OUT_API_DOMAIN_ZONE_ID,
                        Description="Hosted zone id of the regional domain name",
                        Value=domain.get_att("RegionalHostedZoneId")))

