"""Which account the tool works in, checked before any command does anything else.

The tool reads and writes in the target account directly: stack outputs and events, drift
details, the Aurora global cluster, the receipts buckets, the Lambda quota, the global stack,
the artifact buckets. So it runs with credentials *of the target account* (which is then also
the stack set's administration account). A stack set administered from another account
(self-managed cross-account, or service-managed through Organizations, which never deploys to
the management account) is refused here, with what to do instead, rather than stopping after
the foundation phase with a success status.
"""

from __future__ import annotations

from toolkit.aws import Aws
from toolkit.config import Config
from toolkit.errors import RolloutError


def check(aws: Aws, config: Config, avoid: str | None = None) -> dict[str, str]:
    """The caller's identity, or a refusal when it is not the target account. STS is asked in
    the administration region (its partition's endpoint), or in the other configured region
    when the administration region is `avoid` (a region the runbook must not call: lost)."""
    region = config.administration_region
    if region == avoid:
        region = next(r for r in config.regions if r != avoid)
    identity = aws.identity(region)
    if identity["account"] != config.target.account:
        raise RolloutError(
            f"the credentials are for account {identity['account']}, but target.account is "
            f"{config.target.account}: this tool runs in the target account itself (it reads "
            "stack outputs and events, Aurora, S3 and Lambda settings there). Run it with "
            f"credentials for {config.target.account} (--profile or the environment); "
            "administering the stack set from another account is not supported")
    return identity
