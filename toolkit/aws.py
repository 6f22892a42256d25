"""boto3 access: one client per (service, region), throttling retries, error helpers.

botocore's own "standard" retry mode already retries throttling and transient errors a few
times; `call()` adds a longer, jittered retry for throttling only, because StackSet APIs throttle
per account and a rollout that gives up after three quick attempts leaves work half done.

Lambda clients are the exception: the tool invokes functions synchronously and waits for them
(`INVOKE_CONFIG`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from templates.reconcile import RECONCILE
from templates.service import MIGRATE

from toolkit.errors import UsageError

THROTTLING = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                        "RequestLimitExceeded", "SlowDown", "ProvisionedThroughputExceeded"})
BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 3},
                         user_agent_extra="payments-dr-stacksets")

# The functions the tool invokes with InvocationType RequestResponse and waits for: the runbook
# the reconcile function, `deploy` and `verify` the migrate function. Such an Invoke answers only
# when the function returns, up to its timeout (300 s), and boto3's default read timeout is 60 s;
# botocore retries a ReadTimeoutError (and a 5xx), so a long run would be started again, twice,
# and still end in an error ("How do I troubleshoot retry and timeout issues when invoking a
# Lambda function using an AWS SDK?", AWS re:Post Knowledge Center; boto3 guide "Retries").
# So a Lambda client waits longer than the longest of them may run, plus its Init phase (at
# most 10 s, not counted in the function's timeout: "Understanding the Lambda execution
# environment lifecycle") and the network, and botocore never repeats an attempt. Throttling
# (TooManyRequestsException: the function did not run) is still retried, by `call()`.
INVOKED_AND_AWAITED = (RECONCILE, MIGRATE)
INVOKE_MARGIN_SECONDS = 60
INVOKE_CONFIG = BOTO_CONFIG.merge(BotoConfig(
    read_timeout=max(spec.timeout for spec in INVOKED_AND_AWAITED) + INVOKE_MARGIN_SECONDS,
    retries={"mode": "standard", "total_max_attempts": 1}))
SERVICE_CONFIGS = {"lambda": INVOKE_CONFIG}


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def error_message(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Message", str(error))


@dataclass
class Clock:
    """Time, injectable: tests pass a clock whose sleep only records."""

    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.monotonic
    jitter: Callable[[float, float], float] = random.uniform


DEFAULT_CLOCK = Clock()


def call(method: Callable[..., Any], *, clock: Clock = DEFAULT_CLOCK, attempts: int = 8,
         **kwargs: Any) -> Any:
    """`method(**kwargs)`, retrying throttling with capped exponential backoff and full jitter
    (AWS Architecture Blog, "Exponential Backoff And Jitter")."""
    for attempt in range(attempts):
        try:
            return method(**kwargs)
        except ClientError as error:
            if error_code(error) not in THROTTLING or attempt == attempts - 1:
                raise
            clock.sleep(clock.jitter(0, min(30.0, 1.0 * 2 ** attempt)))
    raise AssertionError("unreachable")


_LOADER = None


def new_session(profile: str | None = None) -> boto3.session.Session:
    """A boto3 session (its own credentials) whose botocore data loader is shared by every
    session of the process: the service models are read from disk once (about 0.15 s per
    client otherwise: CloudFormation's and EC2's models are large JSON files)."""
    global _LOADER
    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    # botocore finds out that a profile does not exist only at the first client (an AWS error,
    # exit 1): the profile is bad input, refused here before anything is called.
    wanted = profile if profile is not None else core.profile  # core: AWS_PROFILE
    if wanted is not None and wanted not in core.available_profiles:
        from toolkit.config import shown

        source = "--profile" if profile is not None else "AWS_PROFILE"
        known = ", ".join(sorted(core.available_profiles)) or "none"
        raise UsageError(f"{source} {shown(wanted)}: no such profile in the AWS config files "
                         "(~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and "
                         f"AWS_SHARED_CREDENTIALS_FILE); profiles there: {known}")
    return boto3.session.Session(botocore_session=core, profile_name=profile)


@dataclass
class Aws:
    """Clients per (service, region) from one session. In `--local` the same code runs with
    moto's in-process mock active, so nothing here knows about the rehearsal."""

    session: Any = None
    clock: Clock = field(default_factory=lambda: DEFAULT_CLOCK)
    _clients: dict = field(default_factory=dict)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            if self.session is None:
                self.session = new_session()
            self._clients[key] = self.session.client(
                service, region_name=region, config=SERVICE_CONFIGS.get(service, BOTO_CONFIG))
        return self._clients[key]

    def cfn(self, region: str) -> Any:
        return self.client("cloudformation", region)

    def call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        return call(method, clock=self.clock, **kwargs)

    def pages(self, method: Callable[..., Any], key: str, **kwargs: Any) -> list[Any]:
        """Every item under `key` of every page of a NextToken-paginated call."""
        items: list[Any] = []
        token = None
        while True:
            page = self.call(method, **kwargs, **({"NextToken": token} if token else {}))
            items += page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return items

    def identity(self, region: str) -> dict[str, str]:
        """Account and partition of the caller, asked in `region` (the administration
        region): its regional STS endpoint belongs to the right partition (aws-cn, aws-us-gov
        have no us-east-1)."""
        found = self.call(self.client("sts", region).get_caller_identity)
        return {"account": found["Account"], "partition": found["Arn"].split(":")[1]}
