"""Running and waiting on operations (boto3 has no StackSet waiter).

Statuses reduce to pending / done / failed. A wait polls with capped exponential backoff and
jitter, prints per-region progress, and on failure collects each failed instance's
StatusReason and the first failed resource event of its stack, then raises: nothing further
is attempted.
"""

from __future__ import annotations

from datetime import datetime, timezone
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from toolkit.aws import Aws, error_code, error_message
from toolkit.config import Config
from toolkit.errors import RolloutError, StaleState  # noqa: F401 (re-exported)
from toolkit import kernel
from toolkit.in_flight import CURRENT as IN_FLIGHT
from toolkit.kernel import Step
from toolkit.report import Reporter
from stacksets.plan import DONE, FAILED, PENDING, stack_state  # noqa: F401 (re-exported)
from stacksets.state import RUNNING

OPERATION_STATES = {"SUCCEEDED": DONE, "FAILED": FAILED, "STOPPED": FAILED,
                    **{s: PENDING for s in RUNNING}}
FAILED_INSTANCE = ("FAILED", "INOPERABLE", "CANCELLED")
NO_UPDATES = "No updates are to be performed"
HEARTBEAT = 30.0  # seconds: the longest a CI log goes without a line while waiting
CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
# What a step's action is, from its boto3 method: a plain stack's operation is waited on by the
# stack's status, a StackSet operation by its operation id; these answer at once.
STACK_ACTIONS = frozenset({"create_stack", "update_stack", "delete_stack"})
SYNCHRONOUS = frozenset({"create_stack_set", "delete_stack_set"})


def first_failed_event(aws: Aws, region: str, stack: str, since: Any) -> str | None:
    """The earliest *_FAILED resource event of `stack` since `since` (a datetime, or its
    text), skipping "cancelled" ones (a consequence of the first failure, not its cause)."""
    try:
        events = aws.pages(aws.cfn(region).describe_stack_events, "StackEvents",
                           StackName=stack)
    except ClientError as error:
        return f"(events unavailable: {error_message(error)})"
    floor = _moment(since)
    failed = [e for e in reversed(events)  # the API lists newest first
              if e.get("ResourceStatus", "").endswith("_FAILED")
              and _moment(e["Timestamp"]) >= floor and e.get("PhysicalResourceId") != stack
              and e.get("LogicalResourceId") != e.get("StackName")]
    causes = [e for e in failed
              if not any(c in e.get("ResourceStatusReason", "") for c in CANCELLED)]
    event = (causes or failed or [None])[0]
    if event is None:
        return None
    return (f"{event['LogicalResourceId']} ({event.get('ResourceType', '?')}) "
            f"{event['ResourceStatus']}: {event.get('ResourceStatusReason', '')}")


def _moment(value: Any) -> datetime:
    """A datetime in UTC from a datetime or its ISO text; the earliest one for anything
    else (then every event counts)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        return datetime.min.replace(tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Runner:
    def __init__(self, aws: Aws, config: Config, reporter: Reporter, *,
                 timeout: float = 4 * 3600, first_delay: float = 2.0, max_delay: float = 30.0,
                 busy_retries: int = 5):
        self.aws, self.config, self.reporter = aws, config, reporter
        self.timeout, self.first_delay, self.max_delay = timeout, first_delay, max_delay
        self.busy_retries = busy_retries
        self._stacks: dict[tuple[str, str], str | None] = {}  # (region, account) -> stack id

    @property
    def cfn(self):
        return self.aws.cfn(self.config.administration_region)

    @property
    def current(self) -> str | None:
        """What runs in AWS CloudFormation right now, for an interruption."""
        return IN_FLIGHT.what

    @current.setter
    def current(self, what: str | None) -> None:
        if what is None:
            IN_FLIGHT.ended()
        else:
            IN_FLIGHT.started(what, "CloudFormation")

    def _sleep(self, delay: float) -> float:
        self.aws.clock.sleep(min(self.max_delay, delay * self.aws.clock.jitter(0.8, 1.2)))
        return min(self.max_delay, delay * 1.5)

    def latest_events(self, results: list[dict[str, Any]]) -> list[str]:
        """The newest stack event of each instance in the operation, for a heartbeat."""
        lines = []
        for result in results:
            region, account = result["Region"], result["Account"]
            try:
                if (region, account) not in self._stacks:
                    self._stacks[(region, account)] = self.aws.call(
                        self.cfn.describe_stack_instance, StackSetName=self.config.stack_set_name,
                        StackInstanceAccount=account, StackInstanceRegion=region,
                        **self.config.call_as)["StackInstance"].get("StackId")
                stack = self._stacks[(region, account)]
                events = self.aws.call(self.aws.cfn(region).describe_stack_events,
                                       StackName=stack)["StackEvents"] if stack else []
            except ClientError:
                events = []
            latest = events[0] if events else None
            lines.append(f"{region} {latest['LogicalResourceId']} {latest['ResourceStatus']}"
                         if latest else f"{region} no stack event yet")
        return lines

    def latest_stack_event(self, region: str, stack: str) -> str:
        """The newest event of one stack, for a heartbeat line ("" when none can be read)."""
        try:
            events = self.aws.call(self.aws.cfn(region).describe_stack_events,
                                   StackName=stack)["StackEvents"]
        except ClientError:
            return ""
        if not events:
            return ""
        newest = events[0]
        return (f"{region} {newest.get('LogicalResourceId', '')} "
                f"{newest.get('ResourceStatus', '')}").strip()

    def heartbeat(self, label: str, status: str, results: list[dict[str, Any]],
                  elapsed: float) -> None:
        self.reporter.info(f"  {label}: still {status} after {elapsed:.0f}s; latest: "
                           + ("; ".join(self.latest_events(results)) or "no instance yet"))

    # --- StackSet operations ---------------------------------------------------------------
    def run(self, step: Step) -> dict[str, Any]:
        """Run one step to completion; returns its record for the report."""
        self.reporter.info(f"-> {step.summary}")
        record = {"phase": step.name, "action": step.action, "regions": list(step.targets)}
        if step.action in SYNCHRONOUS:
            self.aws.call(getattr(self.cfn, step.action), **step.arguments)
            return {**record, "result": step.action.split("_")[0] + "d"}
        if step.action in STACK_ACTIONS:
            return {**record, **self.run_stack(step)}
        # Set before the call: an interruption while it is on the wire may leave it started.
        self.current = (f"operation {step.arguments.get('OperationId', '(being started)')} "
                        f"({step.name}) on {self.config.stack_set_name}")
        operation_id = self.start(step)
        self.current = f"operation {operation_id} ({step.name}) on {self.config.stack_set_name}"
        self.wait(operation_id, step.name)
        self.current = None
        return {**record, "operation_id": operation_id, "result": "SUCCEEDED"}

    def start(self, step: Step) -> str:
        method = getattr(self.cfn, step.action)
        for _ in range(self.busy_retries):
            try:
                return self.aws.call(method, **step.arguments)["OperationId"]
            except ClientError as error:
                code = error_code(error)
                if code == "OperationIdAlreadyExistsException":
                    # An earlier attempt of this very call started it: wait for that one.
                    self.reporter.info(f"   operation {step.arguments['OperationId']} already "
                                       "started by an earlier attempt; waiting for it")
                    return step.arguments["OperationId"]
                if code == "StaleRequestException":
                    raise StaleState(error_message(error)) from error
                if code != "OperationInProgressException":
                    raise
                running = self.running_operation()
                self.reporter.info(f"   another operation is running on {self.config.stack_set_name}"
                                   f" ({running or 'not listed yet'}); waiting for it first")
                if running:
                    self.wait(running, "other operation", fail=False)
                else:
                    self._sleep(self.first_delay)
        raise RolloutError(f"{self.config.stack_set_name} stayed busy with other operations "
                           f"after {self.busy_retries} waits; re-run deploy later")

    def running_operation(self) -> str | None:
        summaries = self.aws.pages(self.cfn.list_stack_set_operations, "Summaries",
                                   StackSetName=self.config.stack_set_name, **self.config.call_as)
        running = [s["OperationId"] for s in summaries if s.get("Status") in RUNNING]
        return running[-1] if running else None

    def results(self, operation_id: str) -> list[dict[str, Any]]:
        return self.aws.pages(self.cfn.list_stack_set_operation_results, "Summaries",
                              StackSetName=self.config.stack_set_name,
                              OperationId=operation_id, **self.config.call_as)

    def wait(self, operation_id: str, label: str, fail: bool = True) -> str:
        """Poll until done. Not on a terminal (a CI log), a line is printed at least every
        HEARTBEAT seconds: progress when a status changes, otherwise a heartbeat with the
        latest stack event per region."""
        started, delay = self.aws.clock.now(), self.first_delay
        last_line = started
        while True:
            operation = self.aws.call(self.cfn.describe_stack_set_operation,
                                      StackSetName=self.config.stack_set_name,
                                      OperationId=operation_id,
                                      **self.config.call_as)["StackSetOperation"]
            status = operation["Status"]
            results = self.results(operation_id)
            now = self.aws.clock.now()
            if self.reporter.progress(label, status, {r["Region"]: r["Status"] for r in results},
                                      now - started):
                last_line = now
            state = OPERATION_STATES.get(status, PENDING)
            if state == DONE and any(r.get("Status") in FAILED_INSTANCE for r in results):
                # A tolerated failure ends SUCCEEDED: FailureToleranceCount counts failed
                # instances per region (API Reference, StackSetOperationPreferences).
                state, status = FAILED, f"{status} with a failed stack instance"
            if state == DONE:
                return status
            if state == FAILED:
                details = self.failure_details(operation, results)
                if fail:
                    raise RolloutError(f"{label}: operation {operation_id} {status}", details)
                self.reporter.warn(f"operation {operation_id} ended {status}: "
                                   + "; ".join(details))
                return status
            if self.aws.clock.now() - started > self.timeout:
                raise RolloutError(
                    f"{label}: operation {operation_id} still {status} after "
                    f"{self.timeout:.0f}s; it keeps running in CloudFormation. Re-run deploy to "
                    "resume: it waits for the running operation first")
            if not self.reporter.tty and now - last_line + min(self.max_delay, delay * 1.2) \
                    > HEARTBEAT:
                self.heartbeat(label, status, results, now - started)
                last_line = now
            delay = self._sleep(delay)

    # --- failure details ---------------------------------------------------------------------
    def failure_details(self, operation: dict[str, Any],
                        results: list[dict[str, Any]]) -> list[str]:
        details = []
        if operation.get("StatusReason"):
            details.append(f"operation: {operation['StatusReason']}")
        for result in results:
            if result.get("Status") not in FAILED_INSTANCE:
                continue
            region, account = result["Region"], result["Account"]
            details.append(f"{region} ({account}): {result['Status']}: "
                           f"{result.get('StatusReason', 'no reason given')}")
            event = self.first_failed_event_of_instance(region, account,
                                                        operation.get("CreationTimestamp"))
            if event:
                details.append(f"{region} first failed resource: {event}")
        return details or ["CloudFormation gave no per-instance reason; see the console"]

    def first_failed_event_of_instance(self, region: str, account: str, since: Any) -> str | None:
        try:
            instance = self.aws.call(self.cfn.describe_stack_instance,
                                     StackSetName=self.config.stack_set_name,
                                     StackInstanceAccount=account, StackInstanceRegion=region,
                                     **self.config.call_as)["StackInstance"]
        except ClientError:
            return None
        stack_id = instance.get("StackId")
        return self.first_failed_event(region, stack_id, since) if stack_id else None

    def first_failed_event(self, region: str, stack: str, since: Any) -> str | None:
        return first_failed_event(self.aws, region, stack, since)

    # --- plain stacks (the global stack) ---------------------------------------------------
    def run_stack(self, step: Step) -> dict[str, Any]:
        cfn = self.aws.cfn(step.region)
        name = step.arguments["StackName"]
        since = datetime.now(timezone.utc)
        self.current = f"{step.action} of stack {name} in {step.region}"
        try:
            self.aws.call(getattr(cfn, step.action), **step.arguments)
        except ClientError as error:
            self.current = None
            if NO_UPDATES in error_message(error):
                self.reporter.info(f"   {name}: no changes")
                return {"result": "no changes"}
            raise
        result = self.wait_stack(step.region, name, step.name, since)
        self.current = None
        return {"result": result}

    def wait_stack(self, region: str, name: str, label: str, since: datetime) -> str:
        cfn = self.aws.cfn(region)
        started, delay = self.aws.clock.now(), self.first_delay
        last_line = started
        while True:
            try:
                stack = self.aws.call(cfn.describe_stacks, StackName=name)["Stacks"][0]
            except ClientError as error:
                if "does not exist" in error_message(error):
                    return "DELETE_COMPLETE"
                raise
            status = stack["StackStatus"]
            self.reporter.progress(label, status, {region: status},
                                   self.aws.clock.now() - started)
            state = stack_state(status)
            if state == DONE:
                return status
            if state == FAILED:
                details = [f"{name}: {status}: {stack.get('StackStatusReason', '')}"]
                event = self.first_failed_event(region, stack["StackId"], since)
                if event:
                    details.append(f"{region} first failed resource: {event}")
                raise RolloutError(f"{label}: stack {name} {status}", details)
            if self.aws.clock.now() - started > self.timeout:
                raise RolloutError(f"{label}: stack {name} still {status} after "
                                   f"{self.timeout:.0f}s; re-run deploy to resume")
            now = self.aws.clock.now()
            if not self.reporter.tty and now - last_line + min(self.max_delay, delay * 1.2) \
                    > HEARTBEAT:
                self.reporter.info(f"  {label}: stack {name} still {status} after "
                                   f"{now - started:.0f}s; latest: "
                                   f"{self.latest_stack_event(region, name) or 'no event yet'}")
                last_line = now
            delay = self._sleep(delay)


# --- the kernel's world and log for the rollout and the teardown ------------------------------
POLL = 10.0  # seconds between observations while a step settles or the teardown waits


@dataclass
class StackSetWorld:
    """What `deploy` and `destroy` run on the decision kernel: `observe` reads AWS, the Runner
    runs each step (with progress and heartbeats) and returns its record for the report."""
    runner: Runner
    observe: Callable[[], Any]

    def act(self, step: Step) -> dict[str, Any]:
        return self.runner.run(step)

    def sleep(self, seconds: float) -> None:
        self.runner.aws.clock.sleep(seconds)

    def now(self) -> float:
        return self.runner.aws.clock.now()


class ReportLog(kernel.Log):
    """Each step's record goes into the report's `phases`, a blocked phase with its reason."""

    def __init__(self, reporter: Reporter):
        self.reporter = reporter
        self.last_wait = ""

    def waiting(self, reason: str) -> None:
        if reason != self.last_wait:  # one line per reason, not one per poll
            self.reporter.info(f"   waiting: {reason}")
        self.last_wait = reason

    def started(self, step: Step) -> None:
        self.last_wait = ""

    def finished(self, step: Step, record: Any) -> None:
        self.reporter.append("phases", record)

    def stale(self, step: Step, error: StaleState) -> None:
        self.reporter.info(f"   the stack set changed since it was read ({error}); reading it "
                           "again")

    def stopped(self, result: kernel.Result) -> None:
        if result.outcome == kernel.BLOCKED:
            self.reporter.append("phases", {"phase": result.decision.name, "result": "BLOCKED",
                                            "reason": result.decision.reason})


def raise_unless_done(result: kernel.Result, what: str, command: str) -> None:
    """The rollout's and the teardown's one error path: a result that is not done becomes the
    exception the CLI reports (a step's own error as it was raised)."""
    if result.ok:
        return
    if result.outcome == kernel.FAILED and result.error is not None:
        raise result.error
    if result.outcome == kernel.BLOCKED:
        raise RolloutError(f"{result.decision.name} phase blocked: {result.decision.reason}; "
                           f"the {what} is not complete (re-run {command} once the cause is "
                           "fixed)")
    advice = (f"; re-run {command} once AWS shows it (it continues from what AWS holds)"
              if result.outcome == kernel.STUCK else "")
    raise RolloutError(f"{command}: {result.message}{advice}", list(result.reasons))
