"""`payments-dr verify --config FILE [--lost REGION]`: what only the real account can show.

Read-only, except for one test payment per region, made with a test merchant key that this
command creates and revokes (verify/payment.py). Each check says what it proves and what to do
when it fails (verify/checks.py: results, exit status). With `--local` (after `deploy
--local`) the checks the rehearsal can model run against the rehearsed account, and the rest
are skipped as needing a real account (payments_dr/local.py says which and why).
"""

from __future__ import annotations

import argparse
import functools

from botocore.exceptions import BotoCoreError, ClientError

from runbook.aws_adapter import http_health
from toolkit import resource_names as names
from toolkit.config import Config, ConfigError
from toolkit.context import Context
from toolkit.exit_codes import FAILED
from toolkit.report import Reporter
from verify import alarms, dns_records, edge, in_region, payment, replication
from verify.checks import (ALARM_STATE, INVOKE, METRICS, NETWORK, ACCOUNT, Check, Reach, Result,
                           run as run_checks, verdict)
from verify.observe import Observations, Probe

HELP = ("checks what only the real account can show, after the first deploy and after every "
        "failover: DNS, TLS and /health of each region, the database certificate seen from "
        "inside each region, one test payment per region, alarms, replication")
GLOBAL_REGION = names.GLOBAL_REGION


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--lost", metavar="REGION", default=None,
                         help="a region known to be down (after a failover): nothing is called "
                              "there and its checks are skipped")


def check_arguments(args, config: Config) -> None:
    """Bad input (exit 2) before any AWS call."""
    problems = []
    if args.lost is not None and args.lost not in config.regions:
        problems.append(f"--lost {args.lost!r}: allowed are this environment's regions "
                        f"{config.home_region} (home) and {config.recovery_region} (recovery)")
    if config.domain is None or not config.domain.name:
        problems.append("domain.name: verify checks the API under its domain; set domain.name "
                        "as for deploy")
    if problems:
        raise ConfigError(str(args.config), problems)


def run(ctx: Context, args, reach: Reach = ACCOUNT, probe: Probe | None = None) -> int:
    """Every check, then the test key revoked (also on Ctrl-C or an error). Returns the exit
    status (verify/checks.py)."""
    config, reporter, lost = ctx.config, ctx.reporter, args.lost
    observed = Observations(ctx.aws, config, lost, probe or _health_once(lost))
    key = payment.TestKey(config, observed, next(r for r in config.regions if r != lost))
    try:
        results = run_checks(catalog(config, observed, key), reach, lost,
                             each=functools.partial(_show, reporter))
    finally:
        revoked = _revoke(key, args, reporter)
    overall, code = verdict(results)
    if not revoked:
        overall, code = "failed", FAILED
    counts = {r: sum(1 for x in results if x.result == r)
              for r in ("pass", "fail", "attention", "skipped")}
    reporter.info(f"{len(results)} checks: {counts['pass']} passed, {counts['fail']} failed, "
                  f"{counts['attention']} need attention, {counts['skipped']} skipped: "
                  f"{overall}")
    reporter.record("checks", [r.to_json() for r in results])
    reporter.record("counts", counts)
    reporter.record("result", overall)
    return code


def _health_once(lost: str | None) -> Probe:
    """GET /health of a region's own host (the runbook's `http_health`), once per URL for the
    whole run; never in the lost region."""
    answers: dict[str, tuple[int, dict]] = {}

    def get(url: str) -> tuple[int, dict]:
        if lost and names.region_of_host(url.split("//", 1)[-1].split("/", 1)[0]) == lost:
            return 0, {}
        if url not in answers:
            answers[url] = http_health(url)
        return answers[url]
    return get


def _show(reporter: Reporter, result: Result) -> None:
    where = f" {result.region}" if result.region else ""
    reporter.info(f"{result.result.upper():<9} {result.name}{where}: {result.detail}")
    if result.result in ("fail", "attention"):
        reporter.info(f"          proves: {result.proves}")
        reporter.info(f"          fix: {result.fix}")


def _revoke(key: payment.TestKey, args, reporter: Reporter) -> bool:
    """Revoke the test key if one was made; say so, or say exactly how to revoke it by hand."""
    try:
        outcome = key.revoke()
    except (ClientError, BotoCoreError, OSError) as error:
        reporter.error(f"the test key {key.key_id} of merchant {key.merchant} could not be "
                       f"revoked ({type(error).__name__}: {error}); revoke it now: payments-dr "
                       f"keys revoke --config {args.config} --key-id {key.key_id} --region "
                       f"{key.region}")
        reporter.record("test_key", key.to_json())
        return False
    if outcome is not None:
        reporter.info(f"test key {key.key_id} of merchant {key.merchant} revoked ({outcome}); "
                      "the test payments stay in the ledger under that merchant id")
    reporter.record("test_key", key.to_json() if outcome is not None else None)
    return True


def catalog(config: Config, observed: Observations, key: payment.TestKey) -> list[Check]:
    """Every check, in the order they run (the test payments last: they are the only write)."""
    home, recovery = config.regions
    failover = config.domain.name
    status = f"payments-dr dr status --config {config.path}"
    deploy = f"payments-dr deploy --config {config.path}"
    found: list[Check] = [
        Check("dns-records",
              f"Route 53 holds {failover}'s PRIMARY and SECONDARY alias records, each to the "
              "custom domain its region's stack outputs now and with that region's health "
              "check, and each region's health host record",
              f"run `{deploy}` (its global phase writes the records from the regional "
              "outputs); README \"Deploy to a real account\"",
              lambda: dns_records.records(config, observed), calls=(GLOBAL_REGION,)),
        Check("dns-answer",
              f"this machine's resolver answers {failover} with the addresses of the region "
              "Route 53 should serve now (PRIMARY while its health check passes): clients "
              "reach the region DNS means them to",
              f"an old answer may be cached for up to the 60 s TTL: re-run in a minute; if it "
              f"persists, `{status}` shows which region DNS serves and why",
              lambda: edge.dns_answer(config, observed), calls=(GLOBAL_REGION,),
              needs=frozenset({NETWORK})),
    ]
    for region in config.regions:
        found += [
            Check("health-host",
                  f"{names.health_host(config, region)} presents a certificate this machine "
                  f"trusts for it and for {failover}, and GET /health answers 200 with the "
                  "database ok: Route 53's check of this region passes and the region can "
                  "record a payment now",
                  f"a certificate problem: the region's ACM certificate must be ISSUED for "
                  f"both names (README \"Payment service\"); /health: `{status}`, then the "
                  "health function's log group", functools.partial(
                      edge.health_host, config, region, observed.adapter.get),
                  region=region, calls=(region,), needs=frozenset({NETWORK})),
            Check("failover-name-tls",
                  f"{region}'s custom domain for {failover} (its failover record's target) "
                  f"presents a certificate valid for {failover}: when DNS moves the name to "
                  "this region, clients' TLS still verifies",
                  f"check the custom domain {failover} and its certificate in {region} "
                  f"(README \"Payment service\"), then `{deploy}`",
                  functools.partial(edge.failover_name_tls, config, observed, region),
                  region=region, calls=(region, GLOBAL_REGION), needs=frozenset({NETWORK})),
            Check("functions",
                  f"the payment, health, authorizer and migrate functions exist in {region}, "
                  "are Active after a successful update, run the handlers the template names "
                  "and share one code artifact",
                  f"run `{deploy}`; `payments-dr status --config {config.path}` shows the "
                  "stack instances", functools.partial(in_region.functions, config, observed,
                                                       region),
                  region=region, calls=(region,)),
            Check("database-certificate",
                  f"from inside {region}, the database server certificate chains to the RDS "
                  "CAs and carries a name the functions' rule accepts (the writer endpoint "
                  "itself, or our cluster's endpoint on its CNAME chain; the detail says "
                  "which): every database connection from this region verifies",
                  "the detail lists the certificate's names and the CNAME chain; README "
                  "\"Payment service\" (TLS to the database, lambda/payments/tls.py); a "
                  f"stale DB_HOST or DB_CLUSTER_IDENTIFIERS: `{deploy}`",
                  functools.partial(in_region.database_certificate, config, observed, region),
                  region=region, calls=(region,), needs=frozenset({INVOKE})),
        ]
    for scope in (*config.regions, alarms.GLOBAL):
        stack = alarms.StackAlarms(observed, scope)
        where = GLOBAL_REGION if scope == alarms.GLOBAL else scope
        found += [
            Check("alarms-configured",
                  f"every alarm {stack.what()} declares exists with its actions enabled and "
                  "alarm and OK actions: a failure pages someone, and so does the recovery",
                  f"run `{deploy}`; an alarm with actions disabled: `aws cloudwatch "
                  f"enable-alarm-actions --region {where} --alarm-names NAME`",
                  functools.partial(alarms.configured, stack), region=scope, calls=(where,)),
            Check("alarms-state",
                  f"every alarm of {stack.what()} is OK now: nothing is paging",
                  "each alarm in ALARM is named with its reason: README \"At 3 a.m.: which "
                  f"command?\" and `{status}`; no data yet on a new stack clears within "
                  "minutes of traffic",
                  functools.partial(alarms.quiet, stack), region=scope, calls=(where,),
                  needs=frozenset({ALARM_STATE})),
        ]
    found += [
        Check("global-database",
              "the Aurora global database has one writer, and the other region's cluster is a "
              "connected secondary: committed payments are copied to the other region",
              f"`{status}`; a secondary in pending-resync catches up by itself; after a "
              "failover, when the old region is back, `payments-dr dr failback`",
              functools.partial(replication.global_database, observed)),
        Check("secret-replica",
              f"the database secret's replica in {recovery} is InSync: the recovery region's "
              "functions can log in to the database after a failover",
              f"`{status}`; the secret's replication status in {home} (Secrets Manager "
              "console, or `aws secretsmanager describe-secret`)",
              functools.partial(replication.secret_replica, observed), calls=(home,)),
    ]
    for region in config.regions:
        found += [
            Check("table-replica",
                  f"the payments global table's replica in {region} is ACTIVE: keys and "
                  "idempotency records written in either region are read here",
                  f"`{status}`; `payments-dr status --config {config.path}` shows the "
                  "replicas", functools.partial(replication.table_replica, config, observed,
                                                region),
                  region=region, calls=(region,)),
            Check("bucket-replication",
                  f"the receipts bucket in {region} replicates to the other region (rule "
                  f"{names.S3_REPLICATION_RULE} Enabled)",
                  f"run `{deploy}` (the join phase adds the rule)",
                  functools.partial(replication.bucket_replication, config, observed, region),
                  region=region, calls=(region,)),
        ]
    found.append(Check(
        "replication-lag",
        "Aurora replication lag is under 1 s (RPO lag shown) and no receipt failed to "
        "replicate in the last 15 minutes: a failover now would lose (almost) nothing",
        f"`{status}`; the dashboard's Aurora and S3 rows",
        functools.partial(replication.lag, observed), calls=tuple(config.regions),
        needs=frozenset({METRICS})))
    for region in config.regions:
        found.append(Check(
            "test-payment",
            f"a payment sent to https://{names.health_host(config, region)}/process with a "
            "merchant key is recorded (201) and its retry with the same Idempotency-Key "
            "replays it: authorizer, processor, database writer and global table work end to "
            "end in this region",
            f"the detail has the answer's status and error code; `{status}`, then the "
            "processor's log group (by correlation id)",
            functools.partial(payment.test_payment, config, key, region), region=region,
            calls=(region, key.region),
            needs=frozenset({NETWORK})))
    return found
