"""The API as a client and Route 53 see it from outside: DNS answers for the failover name,
each region's health host (TLS, its certificate's names, GET /health), and each region's
custom domain for the failover name (what clients reach after DNS moves).
"""

from __future__ import annotations

import ssl

from payments.tls import matches

from runbook.aws_adapter import writable_from
from toolkit import resource_names as names
from toolkit.config import Config
from verify import network
from verify.checks import Outcome, failed, judged, passed
from verify.observe import Observations, Probe


def _names(presented: network.Presented) -> str:
    return (f"a certificate for {list(presented.names)} from {presented.issuer!r}, valid "
            f"until {presented.not_after} ({presented.version})")


def _covers(presented: network.Presented, host: str) -> bool:
    return any(matches(name, host) for name in presented.names)


def health_host(config: Config, region: str, get: Probe) -> Outcome:
    """TLS to `<region>.<domain>` as a client verifies it, both names on the certificate, then
    GET /health: 200 with the database ok (a committed heartbeat: the region can write)."""
    host, failover = names.health_host(config, region), config.domain.name
    try:
        presented = network.handshake(host, host)
    except ssl.SSLCertVerificationError as error:
        return failed(f"{host}:443 presents a certificate this machine does not accept: "
                      f"{error.verify_message or error}")
    problems = []
    if not _covers(presented, failover):
        problems.append(f"its certificate does not name the failover name {failover}, so "
                        "clients sent here by DNS would fail TLS")
    status, body = get(names.health_url(config, region) or "")
    database = (body.get("checks") or {}).get("database")
    if status != 200:
        problems.append(f"GET /health answered {status or 'nothing'} (database "
                        f"{database or '?'})")
    elif writable_from(body) is not True:
        problems.append(f"GET /health answered 200 but the database check is {database!r}")
    if body.get("region") not in (None, region):
        problems.append(f"/health was answered by {body['region']}'s API: {host} leads to "
                        "the wrong region")
    return judged(problems, f"{host} presents {_names(presented)}; GET /health 200, database "
                            "ok")


def failover_name_tls(config: Config, observed: Observations, region: str) -> Outcome:
    """The region's custom domain for the failover name (the alias target of its failover
    record), reached directly: does it present a certificate valid for the failover name?"""
    failover = config.domain.name
    target = observed.failover_targets().get(region)
    if not target:
        return failed(f"the global stack has no failover record for {region} (no global "
                      "stack, or not deployed yet)")
    try:
        presented = network.handshake(target, failover)
    except ssl.SSLCertVerificationError as error:
        return failed(f"{target} (the failover record's target in {region}) presents no "
                      f"certificate valid for {failover}: {error.verify_message or error}")
    return passed(f"{target} presents {_names(presented)}, verified for {failover}")


def dns_answer(config: Config, observed: Observations) -> Outcome:
    """The system resolver's answer for the failover name against the addresses of the API
    Route 53 should serve now: the PRIMARY record's region while its check is healthy, else
    SECONDARY (the runbook's reading, `DrState.dns_serving`)."""
    failover = config.domain.name
    state = observed.dr
    serving = state.dns_serving
    targets = observed.failover_targets()
    if serving is None or serving not in targets:
        notes = "; ".join(state.notes) or "no global stack"
        return failed(f"which region Route 53 serves could not be read ({notes})")
    expected = network.addresses(targets[serving])
    others = {address for region, target in targets.items() if region != serving
              for address in _addresses_or_none(target)}
    answer = network.addresses(failover)
    why = (f"Route 53 serves {serving} (PRIMARY {state.dns_preferred}, checks "
           f"{dict(state.health_checks)})")
    if answer & expected and not answer & others:
        return passed(f"{failover} -> {sorted(answer)}: {serving}'s API ({targets[serving]}); "
                      f"{why}")
    if answer & others:
        return failed(f"{failover} -> {sorted(answer)}: the other region's API, but {why}")
    return failed(f"{failover} -> {sorted(answer)}: neither region's API ({serving} expected: "
                  f"{targets[serving]} -> {sorted(expected)}); {why}")


def _addresses_or_none(name: str) -> set[str]:
    try:
        return network.addresses(name)
    except OSError:
        return set()
