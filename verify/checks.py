"""What a check is, how a list of them runs, and what the results add up to.

A check is a small unit: a name, one sentence saying what it proves, one saying what to do
when it fails, the regions whose APIs it calls, what it needs beyond the AWS APIs (the
network, running a function, metrics, alarm evaluation) and a function that looks and returns
an `Outcome`. The runner never counts a check that did not run as passed: a check whose region
is declared lost, or that needs what this run cannot reach (the rehearsal), is `skipped` with
the reason; an AWS or network error while it runs is a `fail` with the error.

Results: `pass`; `fail`; `attention` (it ran and found something to look at that is not a
failure, e.g. an alarm still in INSUFFICIENT_DATA); `skipped` (with the reason). Exit status
(toolkit/exit_codes.py): 0 only when every check ran and passed; 1 when any check failed;
4 otherwise (something needs attention, or a check was skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from runbook.aws_adapter import FailedRegionCall
from toolkit.aws import error_code, error_message
from toolkit.exit_codes import ATTENTION as EXIT_ATTENTION
from toolkit.exit_codes import FAILED, OK

PASS, FAIL, ATTENTION, SKIPPED = "pass", "fail", "attention", "skipped"

# What a check may need besides the AWS APIs; a run that cannot reach one skips the check.
NETWORK = "network"          # DNS answers, TLS handshakes and HTTPS to the API from here
INVOKE = "lambda-invoke"     # running a function's code in the region
METRICS = "metrics"          # CloudWatch datapoints the services publish
ALARM_STATE = "alarm-state"  # CloudWatch evaluating the alarms


@dataclass(frozen=True)
class Outcome:
    result: str
    detail: str


def passed(detail: str) -> Outcome:
    return Outcome(PASS, detail)


def failed(detail: str) -> Outcome:
    return Outcome(FAIL, detail)


def attention(detail: str) -> Outcome:
    return Outcome(ATTENTION, detail)


def judged(problems: list[str], fine: str) -> Outcome:
    """Fail listing every problem, or pass with `fine`."""
    return failed("; ".join(problems)) if problems else passed(fine)


@dataclass(frozen=True)
class Check:
    name: str
    proves: str
    fix: str
    look: Callable[[], Outcome]
    region: str | None = None            # the region it is about (None: the environment)
    calls: tuple[str, ...] = ()          # regions whose APIs or hosts it calls
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Result:
    name: str
    region: str | None
    result: str
    proves: str
    detail: str
    fix: str

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "region": self.region, "result": self.result,
                "proves": self.proves, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Reach:
    """What this run can reach besides the AWS APIs: everything in an account; the rehearsal
    (payments_dr/local.py) names what it cannot, and why."""
    missing: Mapping[str, str]


ACCOUNT = Reach({})


def run_one(check: Check, reach: Reach, lost: str | None) -> Result:
    def result(outcome: Outcome) -> Result:
        return Result(check.name, check.region, outcome.result, check.proves, outcome.detail,
                      check.fix)

    if lost is not None and lost in check.calls:
        return result(Outcome(SKIPPED, f"{lost} is declared lost (--lost): nothing is called "
                                       "there"))
    missing = sorted(need for need in check.needs if need in reach.missing)
    if missing:
        return result(Outcome(SKIPPED, "; ".join(reach.missing[need] for need in missing)))
    try:
        return result(check.look())
    except FailedRegionCall as refused:  # it needed a call there after all: never made
        return result(Outcome(SKIPPED, f"not called: {refused}"))
    except ClientError as error:
        return result(failed(f"AWS {error_code(error)}: {error_message(error)}"))
    except (BotoCoreError, OSError) as error:
        return result(failed(f"{type(error).__name__}: {error}"))


def run(checks: Iterable[Check], reach: Reach, lost: str | None,
        each: Callable[[Result], None] = lambda result: None) -> list[Result]:
    results = []
    for check in checks:
        results.append(run_one(check, reach, lost))
        each(results[-1])
    return results


def verdict(results: list[Result]) -> tuple[str, int]:
    """(the overall result, the exit status)."""
    seen = {r.result for r in results}
    if FAIL in seen:
        return "failed", FAILED
    if seen - {PASS} or not results:
        return "attention", EXIT_ATTENTION
    return "passed", OK
