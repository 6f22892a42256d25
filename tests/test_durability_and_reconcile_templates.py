"""Issue 17 in the regional template: the zero-loss parameters and the processor's environment,
the regional-durability alarm, and the reconcile function with its role, schedule and alarm."""

import json

import pytest

from payments import config as handler_config
from payments import durability
from templates import durability_alarm, names
from templates.reconcile import RECONCILE

from tests.test_payment_service import READY, handler_config as load_handler_config, role_actions


def test_zero_loss_parameters_have_the_handlers_bounds_and_justified_defaults(regional):
    parameters = regional.doc["Parameters"]
    mode = parameters[names.ZERO_LOSS]
    assert mode["AllowedValues"] == list(handler_config.ZERO_LOSS_MODES)
    assert mode["Default"] == "on"  # README "Zero-loss acknowledgements": the measured cost
    for name, bounds, default in (
        (names.ZERO_LOSS_WAIT_MS, handler_config.ZERO_LOSS_WAIT_MS_RANGE, "1000"),
        (names.ZERO_LOSS_DEGRADE_AFTER_SECONDS,
         handler_config.ZERO_LOSS_DEGRADE_AFTER_SECONDS_RANGE, "10"),
    ):
        parameter = parameters[name]
        assert (parameter["Type"], parameter["MinValue"], parameter["MaxValue"]) == (
            "Number", *bounds)
        assert parameter["Default"] == default
    groups = regional.doc["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    (group,) = [g for g in groups if g["Label"]["default"] == "Zero-loss acknowledgements"]
    assert group["Parameters"] == [names.ZERO_LOSS, names.ZERO_LOSS_WAIT_MS,
                                   names.ZERO_LOSS_DEGRADE_AFTER_SECONDS]


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_the_processor_waits_only_once_the_other_region_replicates(in_region, role):
    """Before PeerRegionReady nothing replicates: zero-loss would only degrade, so it is off."""
    def env(**parameters):
        return in_region(role, **parameters).props("ProcessorFunction")["Environment"][
            "Variables"]

    assert env()["ZERO_LOSS"] == "off"
    assert env(**READY)["ZERO_LOSS"] == "on"
    assert env(**READY, ZeroLoss="off")["ZERO_LOSS"] == "off"
    chosen = env(**READY, ZeroLossWaitMs="250", ZeroLossDegradeAfterSeconds="30")
    assert (chosen["ZERO_LOSS_WAIT_MS"], chosen["ZERO_LOSS_DEGRADE_AFTER_SECONDS"]) == (
        "250", "30")


def test_the_reconcile_function_gets_exactly_the_variables_the_code_reads(in_region):
    variables = in_region("primary").props("ReconcileFunction")["Environment"]["Variables"]
    assert set(variables) == set(load_handler_config().ENV_VARS)


def test_the_reconcile_role_grants_exactly_what_the_reconcile_step_calls(regional):
    statements = role_actions(regional, "ReconcileRole")
    assert set(statements) == {"WriteOwnLogs", "ManageVpcNetworkInterfaces", "PublishTraces",
                               "StatusItemsAndWatermark", "ReadAndWriteReceipts",
                               "ListReceiptsBucket", "ReadDatabaseSecret", "UseRegionalKey"}
    actions, resources = statements["StatusItemsAndWatermark"]
    assert actions == ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem",
                       "dynamodb:UpdateItem"]
    assert "table/${Name}" in resources[0]["Fn::Sub"][0]
    actions, resources = statements["ReadAndWriteReceipts"]
    assert actions == ["s3:GetObject", "s3:PutObject"]
    assert resources[0]["Fn::Sub"][0] == "${Arn}/receipts/*"
    # ListBucket on the bucket itself: S3 answers HeadObject of a missing key with 404 only
    # to a caller that may list the bucket, 403 otherwise ("HeadObject", S3 API Reference).
    assert statements["ListReceiptsBucket"] == (["s3:ListBucket"],
                                                [{"Fn::GetAtt": ["ReceiptsBucket", "Arn"]}])
    # The processor's role gains nothing: it never reads receipts nor lists the bucket.
    processor = role_actions(regional, "ProcessorRole")
    assert not {a for actions, _ in processor.values() for a in actions} & {
        "s3:GetObject", "s3:ListBucket", "dynamodb:BatchGetItem"}


def test_a_schedule_invokes_the_reconcile_function_in_each_region(in_region):
    for role in ("primary", "secondary"):
        cfn = in_region(role)
        rule = cfn.props("ReconcileSchedule")
        assert rule["ScheduleExpression"] == "rate(5 minutes)" and rule["State"] == "ENABLED"
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["ReconcileFunction", "Arn"]}
        assert json.loads(target["Input"]) == {"mode": "scheduled"}
        permission = cfn.props("ReconcileScheduleInvokePermission")
        assert permission["Principal"] == "events.amazonaws.com"
        assert permission["SourceArn"] == {"Fn::GetAtt": ["ReconcileSchedule", "Arn"]}
        assert permission["FunctionName"] == {"Fn::GetAtt": ["ReconcileFunction", "Arn"]}


def test_the_reconcile_function_has_its_log_group_timeout_and_error_alarm(in_region):
    cfn = in_region("primary")
    function = cfn.props("ReconcileFunction")
    assert function["Handler"] == "payments.handlers.reconcile"
    assert function["Timeout"] == RECONCILE.timeout == 300
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "ReconcileLogGroup"}}
    assert "ReservedConcurrentExecutions" not in function
    assert cfn.props("ReconcileLogGroup")["RetentionInDays"] >= 365
    alarm = cfn.props("ReconcileErrorsAlarm")
    assert alarm["Dimensions"] == [{"Name": "FunctionName",
                                    "Value": {"Ref": "ReconcileFunction"}}]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        300, 2, 2)


def test_the_regional_durability_alarm_counts_the_processors_degraded_lines(in_region):
    """The filter's field and value are the handler's own (payments.api, .durability)."""
    assert durability_alarm.REGIONAL == durability.REGIONAL
    cfn = in_region("primary", **READY)
    metric_filter = cfn.props("ProcessorRegionalDurabilityFilter")
    assert metric_filter["LogGroupName"] == {"Ref": "ProcessorLogGroup"}
    assert metric_filter["FilterPattern"] == '{ $.durability_mode = "regional" }'
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = cfn.props("RegionalDurabilityAlarm")
    assert (alarm["MetricName"], alarm["Namespace"]) == (
        transformation["MetricName"], transformation["MetricNamespace"])
    assert (alarm["Statistic"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "Sum", 1, "notBreaching")
    assert "RegionalDurabilityAlarm" not in in_region("primary").of_type(
        "AWS::CloudWatch::Alarm")  # before PeerRegionReady the mode is off


def test_the_reconcile_handlers_fallback_budget_is_the_functions_timeout():
    """The handler cannot import the templates; its budget when the context gives none is the
    same number by hand."""
    from payments import handlers

    assert handlers.RECONCILE_TIMEOUT_SECONDS == RECONCILE.timeout
