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
from verify import payment
from verify.catalog import catalog
from verify.checks import ACCOUNT, Reach, Result, verdict
from verify.checks import run as run_checks
from verify.observe import Observations, Probe


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
    key = payment.VerifyKey(config, observed, next(r for r in config.regions if r != lost))
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


def _revoke(key: payment.VerifyKey, args, reporter: Reporter) -> bool:
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
