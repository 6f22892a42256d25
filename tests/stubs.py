"""Helpers for tests against botocore's Stubber: a clock that only records sleeps, a line sink
for the reporter, and an `Aws` whose clients are stubbed (every unexpected call fails)."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from toolkit.aws import Aws, Clock
from toolkit.report import Reporter


class FakeClock(Clock):
    def __init__(self):
        self.slept = []
        super().__init__(sleep=self.slept.append, now=lambda: sum(self.slept),
                         jitter=lambda low, high: high)


class Lines:
    def __init__(self, lines):
        self.lines = lines

    def write(self, text):
        self.lines.append(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def stubbed_aws(clients):
    """`clients`: (service, region) pairs. Returns (aws, {(service, region): Stubber}, clock)."""
    clock = FakeClock()
    aws = Aws(clock=clock)
    stubs = {}
    for service, region in clients:
        client = boto3.client(service, region_name=region)
        aws._clients[(service, region)] = client
        stubs[(service, region)] = Stubber(client)
        stubs[(service, region)].activate()
    return aws, stubs, clock


def reporter(lines, mode="text"):
    return Reporter(mode, out=Lines(lines), err=Lines(lines), tty=False)
