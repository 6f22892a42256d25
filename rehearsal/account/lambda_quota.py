"""Lambda `GetAccountSettings` for the rehearsal: moto 5.2 has no route for it (a 404 "Not yet
implemented"), so the concurrency quota check of `plan`/`deploy` could not run locally.

The answer uses moto's own knob for Lambda concurrency, the environment variable
MOTO_LAMBDA_CONCURRENCY_QUOTA, and otherwise AWS's default quota of 1,000 concurrent
executions per account and region (AWS Lambda Developer Guide, "Lambda quotas"). Setting the
variable low makes the rehearsal refuse as a small account would.
"""

from __future__ import annotations

import json
import os
from typing import Any

from moto.awslambda import urls

DEFAULT_QUOTA = 1000
ROUTE = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"


def quota() -> int:
    return int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", DEFAULT_QUOTA))


def account_settings(request: Any, full_url: str, headers: Any) -> tuple[int, dict, str]:
    limit = quota()
    return 200, {}, json.dumps({
        "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000,
                         "CodeSizeZipped": 52428800, "ConcurrentExecutions": limit,
                         "UnreservedConcurrentExecutions": limit},
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0}})


ROUTES = (urls.url_paths, {ROUTE: account_settings})
