"""What every command that calls AWS works with: the validated config, the build, the AWS
access (an account, or the rehearsed one with --local), the reporter, and who the caller is."""

from __future__ import annotations

from dataclasses import dataclass, field

from toolkit.aws import Aws
from toolkit.bundle import Bundle
from toolkit.config import Config
from toolkit.report import Reporter


@dataclass
class Context:
    config: Config
    bundle: Bundle
    aws: Aws
    reporter: Reporter
    local: bool = False
    runner_options: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)  # account, partition (accounts.check)
