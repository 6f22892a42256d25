"""What runs inside a region: its functions as deployed, and the database certificate as the
functions see it (the migrate function's tls-probe, invoked there).
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError
from templates.authorizer import AUTHORIZER
from templates.reconcile import RECONCILE
from templates.service import FUNCTIONS, MIGRATE, handler

from payments.tls import RULE_CLUSTER_ENDPOINT, RULE_HOST, cluster_of
from stacksets.schema import invocation_payload
from toolkit import resource_names as names
from toolkit.aws import error_code
from toolkit.config import Config
from verify.checks import Outcome, failed, judged, passed
from verify.observe import Observations

TLS_PROBE = {"action": "tls-probe"}  # lambda/payments/tls_probe.py ACTION


def expected_functions(config: Config) -> dict[str, str]:
    """{function name: handler} of every function the regional template declares."""
    return {names.function(config, spec.key): handler(spec)
            for spec in (*FUNCTIONS, AUTHORIZER, RECONCILE)}


def functions(config: Config, observed: Observations, region: str) -> Outcome:
    """Each function exists, is Active, its last update succeeded, it runs the handler the
    template names, and all of them run the one code artifact."""
    client = observed.client("lambda", region)
    problems, code = [], set()
    for function, entry in expected_functions(config).items():
        try:
            found = observed.aws.call(client.get_function_configuration, FunctionName=function)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            problems.append(f"{function} does not exist")
            continue
        code.add(found.get("CodeSha256"))
        state = (found.get("State"), found.get("LastUpdateStatus"))
        if state != ("Active", "Successful"):
            problems.append(f"{function} is {state[0]}, last update {state[1]}"
                            f" ({found.get('StateReason') or found.get('LastUpdateStatusReason')})")
        if found.get("Handler") != entry:
            problems.append(f"{function} runs {found.get('Handler')}, the template says {entry}")
    if len(code) > 1:
        problems.append(f"the functions run {len(code)} different code artifacts; a deploy "
                        "gives them one")
    return judged(problems, f"{len(expected_functions(config))} functions Active, each on its "
                            "handler, one code artifact")


def database_certificate(config: Config, observed: Observations, region: str) -> Outcome:
    """Invoke the migrate function's tls-probe in `region` and read the functions' verdict."""
    function = names.function(config, MIGRATE.key)
    response = observed.aws.call(observed.client("lambda", region).invoke,
                                 FunctionName=function, InvocationType="RequestResponse",
                                 Payload=json.dumps(TLS_PROBE).encode())
    found = invocation_payload(response)
    if response.get("FunctionError") or not isinstance(found, dict):
        message = found.get("errorMessage") if isinstance(found, dict) else None
        return failed(f"{function} in {region} failed: "
                      f"{message or response.get('FunctionError') or 'no answer'}")
    host, seen = found.get("host"), found.get("certificate_names") or []
    chain = " -> ".join(found.get("cname_chain") or []) or "no CNAME"
    where = f"from inside {region}, {host}:{found.get('port')} (CNAME chain: {chain})"
    if not found.get("accepted"):
        return failed(f"{where}: refused at the {found.get('stage')} stage: "
                      f"{found.get('reason')}; certificate names {seen}")
    if found.get("rule") == RULE_HOST:
        why = f"the certificate names {host} itself"
    elif found.get("rule") == RULE_CLUSTER_ENDPOINT:
        accepted = found.get("accepted_name")
        why = (f"the certificate does not name {host}; it names {accepted}, the endpoint of "
               f"our cluster {cluster_of(str(accepted))} on the CNAME chain")
    else:
        return failed(f"{where}: accepted by an unknown rule {found.get('rule')!r}")
    return passed(f"{where}: certificate names {seen} (issuer {found.get('issuer')!r}, "
                  f"{found.get('tls_version')}); accepted because {why}")
