"""The only places a policy may use `Resource: "*"` or a service-wide action (`svc:*`), each
with the reason. Keyed by (template, logical id, Sid)."""

KEY_POLICY = "inside a KMS key policy, Resource \"*\" means this key and nothing else"

VPC_ENI = ("EC2 network-interface calls a VPC Lambda function makes have no resource-level "
           "permissions (Lambda Developer Guide, VPC access)")
XRAY = "X-Ray trace ingestion has no resource-level permissions"

EC2_DESCRIBE = ("EC2 Describe* calls have no resource-level permissions (Service Authorization "
                "Reference, Amazon EC2); FIS reads the VPC, subnets and ACLs it changes")
TAGGING = ("tag:GetResources (FIS target resolution) has no resource-level permissions "
           "(Service Authorization Reference, Resource Groups Tagging API)")

CW_METRICS = ("cloudwatch:GetMetricStatistics has no resource-level permissions; ARC Region "
              "switch reads the associated alarms' metrics")
RDS_DESCRIBE = ("ARC's Aurora Global Database execution block describes global and member "
                "clusters; the ARC Developer Guide's sample policy grants these on \"*\"")

APIGATEWAY_CLOUDWATCH_ROLE = (
    "the account's API Gateway CloudWatch role serves every API in the account and region and "
    "writes /aws/apigateway/welcome when set; AWS's managed policy for it "
    "(AmazonAPIGatewayPushToCloudWatchLogs) grants these on \"*\", and a narrower one has "
    "failed AWS::ApiGateway::Account (cloudformation-coverage-roadmap#2312)")

RESOURCE_STAR = {
    ("regional", "ApiGatewayLoggingRole", "PushToCloudWatchLogs"): APIGATEWAY_CLOUDWATCH_ROLE,
    ("global", "RegionSwitchRole", "ReadAlarmMetrics"): CW_METRICS,
    ("global", "RegionSwitchRole", "DescribeAuroraClusters"): RDS_DESCRIBE,
    ("regional", "DrillRole", "DescribeNetwork"): EC2_DESCRIBE,
    ("regional", "DrillRole", "ResolveTargets"): TAGGING,
    ("regional", "ProcessorRole", "ManageVpcNetworkInterfaces"): VPC_ENI,
    ("regional", "HealthRole", "ManageVpcNetworkInterfaces"): VPC_ENI,
    ("regional", "ProcessorRole", "PublishTraces"): XRAY,
    ("regional", "HealthRole", "PublishTraces"): XRAY,
    ("regional", "MigrateRole", "ManageVpcNetworkInterfaces"): VPC_ENI,
    ("regional", "MigrateRole", "PublishTraces"): XRAY,
    ("regional", "AuthorizerRole", "ManageVpcNetworkInterfaces"): VPC_ENI,
    ("regional", "AuthorizerRole", "PublishTraces"): XRAY,
    ("regional", "ReconcileRole", "ManageVpcNetworkInterfaces"): VPC_ENI,
    ("regional", "ReconcileRole", "PublishTraces"): XRAY,
    ("regional", "Key", "AccountAdministration"): KEY_POLICY,
    ("regional", "Key", "CloudWatchLogsUse"): KEY_POLICY,
    ("regional", "Key", "CloudWatchAlarmsPublish"): KEY_POLICY,
    ("global", "Key", "AccountAdministration"): KEY_POLICY,
    ("global", "Key", "CloudWatchLogsUse"): KEY_POLICY,
    ("global", "Key", "CloudWatchAlarmsPublish"): KEY_POLICY,
}

SERVICE_WILDCARD_ACTIONS = {
    ("regional", "Key", "AccountAdministration"):
        "the account root keeps full control of its key (KMS default key policy); without it "
        "IAM policies cannot grant key use and the key can become unmanageable",
    ("global", "Key", "AccountAdministration"):
        "the account root keeps full control of its key (KMS default key policy)",
}
