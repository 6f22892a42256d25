"""deploy invokes the migrate function after the regional stacks converge (Stubber: moto
cannot run Lambda code)."""

from __future__ import annotations

import io
import json

import pytest
from botocore.response import StreamingBody

from stacksets import schema
from toolkit.errors import RolloutError
from templates import names

from tests.stubs import stubbed_aws

HOME = "us-east-1"
FUNCTION = "payments-example-migrate"
OUTPUTS = {HOME: {names.OUT_MIGRATE_FUNCTION: FUNCTION}}


def body(document) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def invoked(response):
    aws, stubs, _ = stubbed_aws([("lambda", HOME)])
    stubs[("lambda", HOME)].add_response(
        "invoke", response, {"FunctionName": FUNCTION, "InvocationType": "RequestResponse",
                             "Payload": b"{}"})
    return aws, stubs[("lambda", HOME)]


def test_the_migrate_function_is_invoked_and_its_outcome_reported():
    aws, stub = invoked({"StatusCode": 200, "Payload": body(
        {"roles_created": ["payments_migrator", "payments_app"],
         "applied": ["001_create_payments.sql"]})})
    line = schema.migrate(aws, OUTPUTS, HOME, local=False)
    stub.assert_no_pending_responses()
    assert "roles created: payments_migrator, payments_app" in line
    assert "migrations applied: 001_create_payments.sql" in line


def test_a_failed_migration_stops_deploy_with_the_functions_message():
    aws, _ = invoked({"StatusCode": 200, "FunctionError": "Unhandled", "Payload": body(
        {"errorMessage": "099_broken.sql: type \"nonexistent\" does not exist"})})
    with pytest.raises(RolloutError, match="099_broken.sql.*answer 503 until it succeeds"):
        schema.migrate(aws, OUTPUTS, HOME, local=False)


def test_nothing_is_invoked_locally_or_before_the_function_exists():
    aws, stub = stubbed_aws([("lambda", HOME)])[:2]
    assert "not invoked in the local rehearsal" in schema.migrate(aws, OUTPUTS, HOME, local=True)
    assert "no migrate function yet" in schema.migrate(aws, {HOME: {}}, HOME, local=False)
    stub[("lambda", HOME)].assert_no_pending_responses()  # no call was made
