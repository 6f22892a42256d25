"""`payments-dr dr COMMAND`: status, switchover, failover, failback (the game day, `dr drill`,
is the CLI's: payments_dr/local.py).

The CLI (payments_dr/cli.py) parses the command line with `add_arguments`, loads the config
and the build, makes the `Aws` (the account, or the rehearsed one for `--local`) and calls
`run`. Exit status (toolkit/exit_codes.py): 0 done (status: everything healthy; --dry-run: the
next step was shown); 1 refused, failed, blocked or timed out, with every reason printed; 2 bad
input; 4 (status) something needs attention, every problem listed; 130 interrupted.

A runbook that does not finish is reported through the CLI's one error path (`unfinished()`):
`result` is `refused` (with every reason as a detail) or `failed` (blocked, timed out, stuck,
no convergence, a call that failed), with `error {message, details}`; the kernel's own outcome
stays in the document's `runbook.outcome`.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path
from typing import Callable

from templates.budget import RTO_PARAMETER

from toolkit import config as config_module
from toolkit.aws import Aws
from runbook import loop
from toolkit import exit_codes, kernel
from toolkit import resource_names as names
from toolkit.arguments import number
from toolkit.errors import Refused, RolloutError, UsageError
from toolkit.exit_codes import OK
from toolkit.in_flight import CURRENT as IN_FLIGHT
from toolkit.paths import file_problem
from runbook import decide as runbook
from runbook.aws_adapter import AwsAdapter, http_health
from stacksets.context import desired
from runbook.timeline import Timeline
from toolkit.report import Reporter

HELP = {
    "status": "where the writer is, home, replication and RPO lag, health, DNS, replicas, "
              "regional-only durability, missing projections; exit 0 only when everything "
              "is healthy",
    "switchover": "planned move of the writer (no data loss): preflight, "
                  "SwitchoverGlobalCluster, wait, verify /health, reconcile, DNS preference",
    "failover": "unplanned: FailoverGlobalCluster with AllowDataLoss in the surviving region, "
                "only on evidence that the other region is lost (its /health host silent for "
                "30 s or its database check failing, or its Route 53 check failing; any "
                "answer with the database check ok refuses) or with --force "
                "--confirm-data-loss LOST_REGION; never calls an AWS API in the lost region; "
                "then rebuilds the projections the lost region left missing (reconcile); DNS "
                "moves by health checks",
    "failback": "back home once home has rejoined and caught up: switchover home, reconcile, "
                "DNS",
}


def add_arguments(command: argparse.ArgumentParser, name: str) -> None:
    """The options of `dr <name>` beyond the common ones (--config, --output, --build-dir,
    --profile, --local, --local-state)."""
    if name in ("switchover", "failover"):
        command.add_argument("--to", required=True, metavar="REGION",
                             help="the region that becomes the writer")
    if name in ("switchover", "failover", "failback"):
        command.add_argument("--dry-run", action="store_true",
                             help="observe and print the next step; change nothing")
        command.add_argument("--timeline", type=Path, default=None,
                             help="JSON timeline file (default dr-<command>-<env>.json); "
                                  "an unfinished one is resumed")
        command.add_argument("--timeout", type=number(0, above=True, unit="seconds"),
                             default=None,
                             help="seconds before giving up waiting (default: the RTO, "
                                  "RecoveryTimeObjectiveMinutes of the global template)")
        command.add_argument("--poll", type=number(0, 3600, above=True, unit="seconds"),
                             default=10.0,
                             help="seconds between observations, up to 3600 (default 10)")
    if name == "failover":
        command.add_argument("--force", action="store_true",
                             help="fail over without evidence that the other region is "
                                  "lost, or against a healthy answer from it (its "
                                  "unreplicated writes are lost); needs --confirm-data-loss")
        command.add_argument("--confirm-data-loss", metavar="LOST_REGION", default=None,
                             help="with --force: the region whose unreplicated writes you "
                                  "accept to lose, typed out (the region that is not --to)")
    if name == "status":
        command.add_argument("--lost", metavar="REGION", default=None,
                             help="a region known to be down: call nothing there (its "
                                  "endpoints would only time out)")
    if name in ("status", "switchover", "failback"):
        command.add_argument("--max-lag-ms", type=number(0, unit="milliseconds"),
                             default=runbook.DEFAULT_MAX_LAG_MS,
                             help="replication lag allowed (default 1000 ms)")
    command.add_argument("--local-lose", metavar="REGION", default=None,
                         help="--local only: rehearse REGION lost (its /health answers "
                              "nothing, every AWS call there fails)")


def rto_seconds(built) -> float:
    """The RTO the global template declares (its default), in seconds; 30 min without one."""
    declared = built.global_.parameters.get(RTO_PARAMETER, {}).get("Default", "30")
    return float(declared) * 60


def check_arguments(args, config) -> None:
    """The regions named on the command line are this environment's; a forced failover names
    the lost region; --timeline is a file that can be written (absent, or a regular file)."""
    for option in ("to", "lost", "local_lose"):
        value = getattr(args, option, None)
        if value is not None and value not in config.regions:
            raise config_module.ConfigError(str(args.config), [
                f"--{option.replace('_', '-')} {config_module.shown(value)}: allowed are this "
                f"environment's regions {names.home(config)} (home) and "
                f"{names.recovery(config)} (recovery)"])
    timeline = getattr(args, "timeline", None)
    problem = file_problem(timeline, absent_ok=True) if timeline else None
    if problem:
        raise UsageError(f"--timeline {config_module.shown(str(timeline))}: {problem}")
    if getattr(args, "local_lose", None) and not getattr(args, "local", False):
        raise config_module.ConfigError("command line", [
            "--local-lose marks a region lost in the rehearsal: it needs --local"])
    if args.dr_command == "failover":
        check_force(args, _other_region(config, args.to))


def run(args, config, built, aws: Aws, reporter: Reporter, *,
        probe: Callable[[str], tuple[int, dict]] = http_health,
        caveats: tuple[str, ...] = ()) -> int:
    """`dr status|switchover|failover|failback` with the caller's `Aws`: a session for the
    account, or one made inside the rehearsal for `--local`, whose stand-ins come in as `probe`
    (each region's GET /health) and `caveats` (printed with every state). Returns the exit
    code (toolkit/exit_codes.py); the caller finishes the report."""
    check_arguments(args, config)
    adapter = AwsAdapter(aws, config, desired=desired(config, built),
                         failed=failed_region(args, config),
                         get=probe, caveats=caveats)
    return _command(adapter, args, config, built, reporter)


def _command(adapter, args, config, built, reporter: Reporter) -> int:
    if args.dr_command == "status":
        return status(adapter, args.max_lag_ms, reporter)
    return execute(adapter, decider(args, config), args, config, reporter, rto_seconds(built))


def check_force(args, lost: str) -> None:
    """`--force` fails over without evidence that `lost` is lost: it takes that region typed
    out, so it cannot be done by habit or by a flag left in a shell history line."""
    if args.force and args.confirm_data_loss is None:
        raise config_module.ConfigError("command line", [
            f"--force needs --confirm-data-loss {lost}: type the region whose unreplicated "
            "writes you accept to lose"])
    if args.force and args.confirm_data_loss != lost:
        raise config_module.ConfigError("command line", [
            f"--confirm-data-loss {args.confirm_data_loss!r}: type the lost region, {lost} "
            f"(--to {args.to} is the one that becomes the writer)"])
    if args.confirm_data_loss is not None and not args.force:
        raise config_module.ConfigError("command line", [
            "--confirm-data-loss is only read with --force (without both, a failover needs "
            "evidence that the other region is lost)"])


def failed_region(args, config) -> str | None:
    """The region this command must not call: the lost one (failover: the region that is not
    --to; status: --lost)."""
    if args.dr_command == "failover":
        return _other_region(config, args.to)
    return getattr(args, "lost", None)


def _other_region(config, region: str) -> str:
    return names.recovery(config) if region == names.home(config) else names.home(config)


def decider(args, config):
    if args.dr_command == "switchover":
        return functools.partial(runbook.switchover, to=args.to, max_lag_ms=args.max_lag_ms)
    if args.dr_command == "failover":
        return functools.partial(runbook.failover, to=args.to,
                                 confirm_data_loss=args.confirm_data_loss if args.force else None)
    return functools.partial(runbook.failback, max_lag_ms=args.max_lag_ms)


def status(adapter, max_lag_ms: float, reporter: Reporter) -> int:
    state = adapter.observe()
    for line in state_lines(state):
        reporter.info(line)
    found = runbook.problems(state, max_lag_ms)
    for problem in found:
        reporter.warn(problem)
    reporter.info("healthy" if not found else f"{len(found)} problem(s)")
    reporter.record("state", state.to_json())
    reporter.record("problems", found)
    reporter.record("result", "healthy" if not found else "unhealthy")
    return OK if not found else exit_codes.ATTENTION


def state_lines(state) -> list[str]:
    lag = lambda v: "unknown" if v is None else f"{v:.0f} ms"  # noqa: E731
    rows = [f"writer: {state.writer or 'none'} (home {state.home}, recovery {state.recovery}); "
            f"global cluster {state.global_cluster} {state.global_status or '?'}",
            f"replication lag {lag(state.replication_lag_ms)}, "
            f"RPO lag {lag(state.rpo_lag_ms)}",
            f"DNS prefers {state.dns_preferred or '?'}, serves {state.dns_serving or '?'}; "
            f"secret replica {state.secret_replica or '?'}"]
    for region in state.regions:
        rows.append(f"  {region:<12} cluster={_cluster_role(state, region):<14}"
                    f" /health={state.healthy.get(region)!s:<5}"
                    f" writable={state.writable.get(region)!s:<5}"
                    f" route53={state.health_checks.get(region)!s:<5}"
                    f" table={state.table_replicas.get(region, '?')}"
                    f" s3-failed={state.s3_replication.get(region, {}).get('failed', '?')}"
                    f" durability={_durability(state, region)}")
    for region, seen in state.projections.items():
        rows.append(f"  projections in {region}: " + (
            "not checked (see the notes)" if seen is None else
            f"{seen.missing_receipts} receipt(s), {seen.missing_status_items} status item(s) "
            f"missing of {seen.rows_checked} payment(s) of the last "
            f"{runbook.RECONCILE_WINDOW_MINUTES} minutes"
            + ("" if seen.complete else " checked (the check stopped early: the rest of the "
               "window is unchecked)")))
    rows += [f"  note: {note}" for note in state.notes]
    rows += [f"  {caveat}" for caveat in state.caveats]
    return rows


def _durability(state, region: str) -> str:
    """`regional` while the region's processors answered with regional durability only in the
    last 5 minutes (zero-loss degraded), `zero-loss` when none did, `?` when not read."""
    requests = state.regional_durability.get(region)
    if requests is None:
        return "?"
    return f"regional({requests:.0f} requests/5min)" if requests else "zero-loss"


def _cluster_role(state, region: str) -> str:
    member = state.member(region)
    if member is None:
        return "absent"
    return "writer" if member.is_writer else (member.synchronization or "secondary")


def execute(adapter, decide, args, config, reporter: Reporter, rto: float = 1800.0) -> int:
    path = args.timeline or Path(f"dr-{args.dr_command}-{config.environment}.json")
    operation = f"{args.dr_command} {getattr(args, 'to', '') or ''}".strip()
    timeline = Timeline.open(operation, None if args.dry_run else path, adapter.now)
    started = time.perf_counter()
    result = loop.run(adapter, decide, timeline, dry_run=args.dry_run,
                      timeout=args.timeout or rto, poll=args.poll)
    IN_FLIGHT.ended()  # what it started has been seen through, or is named below
    report_result(result, timeline, reporter, dry_run=args.dry_run, rto=rto)
    if not args.dry_run:
        reporter.info(f"timeline: {path} ({time.perf_counter() - started:.0f}s this run)")
        reporter.record("timeline_file", str(path))
    if not result.ok:
        raise unfinished(result)
    return OK


def unfinished(result: kernel.Result) -> Exception:
    """The error the CLI reports for a runbook that did not finish: Refused (every reason a
    detail: nothing was changed by the refused step) or RolloutError."""
    if result.outcome == kernel.REFUSED:
        return Refused(f"refused ({len(result.reasons)} reason(s)); nothing was changed by "
                       "this step", result.reasons)
    return RolloutError(f"{result.message}; re-running resumes from what AWS shows "
                        f"({result.outcome})")


def report_result(result: kernel.Result, timeline: Timeline, reporter: Reporter,
                  dry_run: bool = False, rto: float = 1800.0) -> None:
    if result.first is not None:
        for line in state_lines(result.first):
            reporter.info(line)
    if not dry_run:
        for line in timeline.table():
            reporter.info(line)
        total = timeline.elapsed()
        reporter.info(f"total {total:.0f}s of the {rto:.0f}s RTO"
                      + ("" if total <= rto else ": OVER THE RTO"))
        reporter.record("rto_budget_seconds", rto)
    if result.ok:  # otherwise the CLI's error path says it (execute raises `unfinished`)
        reporter.info(result.message)
        reporter.record("result", result.outcome)
    reporter.record("runbook", loop.result_json(result))
    reporter.record("timeline", timeline.to_json(result.outcome)["entries"])
    if result.first is not None:
        reporter.record("rpo_lag_ms_last_seen", result.first.rpo_lag_ms)
