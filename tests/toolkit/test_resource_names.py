"""One names contract: the operator tools name an environment's resources with the very
patterns the templates carry (templates/physical_names.py), filled in with the config's values."""

import pytest

from templates import names, physical_names
from toolkit import resource_names

REGIONS = ("us-east-1", "us-west-2")


def sub(regional, logical_id: str, prop: str) -> str:
    value = regional.props(logical_id)[prop]
    if "Fn::If" in value:  # the recovery region names the home region's resource
        value = value["Fn::If"][2]
    return value["Fn::Sub"]


def values(config, region: str) -> dict[str, str]:
    return {names.NAME_PREFIX: config.name_prefix, names.ENVIRONMENT_NAME: config.environment,
            "AWS::AccountId": config.target.account, "AWS::Region": region,
            names.API_DOMAIN_NAME: config.domain.name}


@pytest.mark.parametrize("region", REGIONS)
def test_the_tools_name_what_the_regional_template_names(regional, example_config, region):
    as_deployed = {
        "global_cluster": sub(regional, "GlobalCluster", "GlobalClusterIdentifier"),
        "cluster": sub(regional, "DbCluster", "DBClusterIdentifier"),
        "secret": sub(regional, "DbSecret", "Name"),
        "table": sub(regional, "PaymentsTable", "TableName"),
        "bucket": sub(regional, "ReceiptsBucket", "BucketName"),
    }
    tool = {
        "global_cluster": resource_names.global_cluster(example_config),
        "cluster": resource_names.cluster(example_config, region),
        "secret": resource_names.secret(example_config),
        "table": resource_names.table(example_config),
        "bucket": resource_names.bucket(example_config, region),
    }
    assert tool == {k: physical_names.concrete(v, values(example_config, region))
                    for k, v in as_deployed.items()}
    assert tool["table"] == "payments-example-payments"
    assert tool["bucket"] == f"payments-example-{example_config.target.account}-{region}"


@pytest.mark.parametrize("kind", ["master", "migrator", "app"])
def test_every_database_secret_is_named_by_the_contract(regional, example_config, kind):
    logical = {"master": "DbSecret", "migrator": "DbMigratorSecret", "app": "DbAppSecret"}[kind]
    assert resource_names.secret(example_config, kind) == physical_names.concrete(
        sub(regional, logical, "Name"), values(example_config, "us-east-1"))


def test_the_health_url_is_the_host_the_certificate_and_the_check_use(example_config):
    assert resource_names.health_url(example_config, "us-west-2") == \
        f"https://us-west-2.{example_config.domain.name}/health"


def test_a_pattern_with_an_unknown_variable_is_an_error():
    with pytest.raises(KeyError, match=r"no value for \$\{EnvironmentName\}"):
        physical_names.concrete(physical_names.table_name(), {names.NAME_PREFIX: "p"})


def test_global_stack_outputs_are_named_by_the_contract(global_template):
    outputs = set(global_template.doc["Outputs"])
    assert {names.OUT_PRIMARY_HEALTH_CHECK_ID, names.OUT_SECONDARY_HEALTH_CHECK_ID,
            names.OUT_HOSTED_ZONE_ID, names.OUT_API_URL} <= outputs


def observation(status: str) -> dict:
    return {"StatusReport": {"Status": status}}


@pytest.mark.parametrize("healthy, total, expected", [
    (0, 16, False), (2, 16, False), (3, 16, True), (16, 16, True), (0, 0, False)])
def test_route53_calls_an_endpoint_healthy_above_18_percent_of_its_checkers(healthy, total,
                                                                            expected):
    from toolkit import route53

    seen = [observation("Success: HTTP Status Code 200")] * healthy + \
        [observation("Failure: Connection timed out")] * (total - healthy)
    assert route53.is_healthy(seen) is expected
