"""The check runner on its own: a check that did not run is never a pass, and the exit status
says 0 only when every check ran and passed."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from runbook.aws_adapter import FailedRegionCall
from toolkit.exit_codes import ATTENTION, FAILED, OK
from verify import checks
from verify.checks import (ACCOUNT, INVOKE, NETWORK, Check, Reach, attention, failed, passed,
                           run_one, verdict)

REHEARSAL = Reach({NETWORK: "needs a real account: no network",
                   INVOKE: "needs a real account: no Lambda"})


def check(look, **kwargs) -> Check:
    return Check("a-check", "proves something", "do something", look, **kwargs)


def never(*_):
    raise AssertionError("a skipped check must not run")


def test_a_check_that_needs_what_the_run_cannot_reach_is_skipped_with_the_reason() -> None:
    result = run_one(check(never, needs=frozenset({NETWORK, INVOKE})), REHEARSAL, None)
    assert result.result == "skipped"
    assert result.detail == "needs a real account: no Lambda; needs a real account: no network"


def test_a_check_that_calls_the_lost_region_is_skipped_without_running() -> None:
    result = run_one(check(never, calls=("us-west-2",)), ACCOUNT, "us-west-2")
    assert (result.result, result.detail) == (
        "skipped", "us-west-2 is declared lost (--lost): nothing is called there")


def test_a_call_into_the_lost_region_found_while_running_is_a_skip_not_a_call() -> None:
    def look():
        raise FailedRegionCall("rds in us-west-2: that region is declared failed")
    result = run_one(check(look), ACCOUNT, "us-west-2")
    assert result.result == "skipped" and "not called: rds in us-west-2" in result.detail


@pytest.mark.parametrize(("error", "detail"), [
    (ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "Describe"),
     "AWS AccessDenied: not allowed"),
    (EndpointConnectionError(endpoint_url="https://x"), "EndpointConnectionError: "),
    (ConnectionRefusedError(111, "Connection refused"), "ConnectionRefusedError: "),
], ids=["aws", "endpoint", "network"])
def test_an_error_while_looking_is_a_failure_with_the_error(error, detail) -> None:
    def look():
        raise error
    result = run_one(check(look), ACCOUNT, None)
    assert result.result == "fail" and result.detail.startswith(detail)


def test_a_bug_in_a_check_is_not_hidden_as_a_result() -> None:
    def look():
        raise KeyError("bug")
    with pytest.raises(KeyError):
        run_one(check(look), ACCOUNT, None)


def results(*outcomes):
    return [run_one(check(lambda o=o: o), ACCOUNT, None) for o in outcomes]


@pytest.mark.parametrize(("found", "expected"), [
    (results(passed("a"), passed("b")), ("passed", OK)),
    (results(passed("a"), failed("b"), attention("c")), ("failed", FAILED)),
    (results(passed("a"), attention("b")), ("attention", ATTENTION)),
    (results(passed("a")) + [run_one(check(never, needs=frozenset({NETWORK})), REHEARSAL,
                                     None)], ("attention", ATTENTION)),
    ([], ("attention", ATTENTION)),
], ids=["all-passed", "one-failed", "attention", "one-skipped", "nothing-ran"])
def test_the_verdict(found, expected) -> None:
    assert verdict(found) == expected


def test_results_carry_what_the_check_proves_and_how_to_fix_it() -> None:
    (result,) = checks.run([check(lambda: failed("broken"), region="us-east-1")], ACCOUNT, None)
    assert result.to_json() == {"name": "a-check", "region": "us-east-1", "result": "fail",
                                "proves": "proves something", "detail": "broken",
                                "fix": "do something"}
