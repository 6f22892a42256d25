"""`--local`, `dr drill` and `bench`: the commands that run the rehearsal tooling.

The only module of the operator tool that imports the rehearsal tooling (`rehearsal/`, the
`rehearsal` extra), and only when a command is given `--local`, `dr drill` or `bench`: the
operator commands themselves never import it (tests/test_layout.py reads the imports and says
so). The drill's and the bench's options are declared here, with no import of the rehearsal
(building the command line must not load it); their defaults live with the rehearsal
(rehearsal/gameday/scenario.py, rehearsal/aws_figures.py): an option not given is None.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
from pathlib import Path

from toolkit.bundle import Bundle
from toolkit.config import Config, shown
from toolkit.errors import UsageError
from toolkit.paths import file_problem
from toolkit.report import Reporter


def _require_moto(what: str) -> None:
    if importlib.util.find_spec("moto") is None:
        raise UsageError(f"{what} needs the rehearsal extra (moto is missing): "
                         "pip install -e '.[rehearsal]'")


DRILL_HELP = ("local game day (--local): concurrent clients against the real handlers, a real "
              "PostgreSQL primary and a standby behind a delayed WAL link, home lost under "
              "load, the real runbook with AWS's durations, failback under load; every order "
              "audited against the final ledger")
BENCH_HELP = ("the payment's path to its 201 with AWS-typical latency injected into the real "
              "handler: p50/p99 and the sequential remote calls counted, zero-loss off and on")


def add_latency_arguments(command: argparse.ArgumentParser) -> None:
    """The per-call latencies injected (default: AWS's typical figures, with their sources in
    rehearsal/aws_figures.py)."""
    for option, what in (("--dynamodb-ms", "each DynamoDB call"),
                         ("--s3-ms", "each S3 call"),
                         ("--db-round-trip-ms", "each database round trip"),
                         ("--replication-ms", "the standby's WAL stream (replication delay)")):
        command.add_argument(option, type=float, default=None, metavar="MS",
                             help=f"milliseconds added to {what} (default: AWS's typical "
                                  "figure, rehearsal/aws_figures.py)")


def add_drill_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                         help="requests per second by outcome, with numbered events "
                              "(needs the plot extra: matplotlib)")
    command.add_argument("--zero-loss", choices=("on", "off"), default=None,
                         help="the processor's zero-loss acknowledgement in both regions "
                              "(default off)")
    command.add_argument("--zero-loss-wait-ms", type=int, default=None, metavar="MS",
                         help="with --zero-loss on: the processor's wait budget (default 1500)")
    command.add_argument("--zero-loss-degrade-after", type=int, default=None,
                         metavar="SECONDS", help="with --zero-loss on: wall seconds without any "
                         "confirmation before the processor degrades to regional durability "
                         "(default 10)")
    command.add_argument("--rate", type=float, default=None,
                         help="new orders per simulated second (default 20)")
    command.add_argument("--clients", type=int, default=None,
                         help="merchant integrations, each with its own DNS cache and policy "
                              "(default 50)")
    command.add_argument("--timeout", default=None, metavar="SECONDS[-SECONDS]",
                         help="clients' request timeout, drawn per client (default 5-15)")
    command.add_argument("--patience", default=None, metavar="SECONDS[-SECONDS]",
                         help="how long a client retries one key before giving up on it, "
                              "drawn per client (default 300-900: longer than the RTO)")
    command.add_argument("--new-key-share", type=float, default=None, metavar="FRACTION",
                         help="clients that, out of patience, retry the order with a new key "
                              "(the others abandon it; default 0.5)")
    command.add_argument("--max-keys", type=int, default=None, metavar="N",
                         help="keys a client tries for one order before abandoning it "
                              "(default 3)")
    add_latency_arguments(command)
    command.add_argument("--operator-delay", type=int, default=None, metavar="SECONDS",
                         help="AWS seconds between the page and the engineer typing "
                              "dr failover (default 0: the automation's lower bound)")
    command.add_argument("--home-back-after", type=int, default=None, metavar="SECONDS",
                         help="AWS seconds after the failover until home returns (default 90: "
                              "after the clients' DNS caches have moved)")
    command.add_argument("--tail", type=int, default=None, metavar="SECONDS",
                         help="AWS seconds of new orders after the failback (default 10)")
    command.add_argument("--wall-ms-per-second", type=float, default=None, metavar="MS",
                         help="wall milliseconds a simulated second takes at least "
                              "(default 50; longer while its requests run)")
    command.add_argument("--seed", type=int, default=None,
                         help="the clients' random draws (default 1)")


def add_bench_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--output", choices=("text", "json"), default="text",
                         help="json: one JSON object per configuration, one a line")
    command.add_argument("--requests", type=int, default=200,
                         help="payments per configuration (default 200, 1 to 5000)")
    command.add_argument("--zero-loss", choices=("off", "on", "both"), default="both",
                         help="the configurations to measure (default both)")
    add_latency_arguments(command)


def drill(args, config: Config, built: Bundle, reporter: Reporter) -> int:
    """`dr drill --local`: the game day on this machine (rehearsal/gameday)."""
    if not args.local:
        raise UsageError("dr drill runs on this machine only: add --local")
    _require_moto("dr drill --local")
    from rehearsal.gameday import drill as gameday  # starts PostgreSQL and moto

    return gameday.main(args, config, built, reporter)


def bench(args, reporter: Reporter) -> int:
    """`bench`: the payment's path to its 201, measured (rehearsal/bench)."""
    if not 1 <= args.requests <= 5000:
        raise UsageError(f"--requests {args.requests}: allowed 1 to 5000")
    _require_moto("bench")
    from rehearsal.bench import run as bench_run  # starts PostgreSQL and moto

    return bench_run.main(args, reporter)


def runbook(args, config: Config, built: Bundle, reporter: Reporter) -> int:
    """`dr status|switchover|failover|failback --local`: the runbook in the account that
    `deploy --local` left (the same journal), with the rehearsal's stand-ins for each region's
    /health, Route 53's checks and the replication lag (rehearsal/account/runbook_model.py),
    each named in the output."""
    from runbook import commands as runbook_commands
    from toolkit.aws import Aws, new_session

    with contextlib.ExitStack() as stack:
        config = enter(stack, args, config, built, reporter)
        from rehearsal.account import runbook_model

        if args.dr_command != "status" and not args.timeline:
            args.timeline = _state_path(args, config).with_name(
                f"dr-{args.dr_command}-{config.environment}.json")
        model = stack.enter_context(runbook_model.rehearsed(config, args.local_lose))
        return runbook_commands.run(args, config, built, Aws(session=new_session(None)),
                                    reporter, probe=model.get, caveats=model.caveats)


def verify(args, config: Config, built: Bundle, reporter: Reporter) -> int:
    """`verify --local`: the checks against the account `deploy --local` left. moto answers
    the AWS APIs (stacks, Route 53 records, the functions, alarms as declared, the mirrored
    global cluster, secret, table replicas and bucket rules); what it cannot reach is
    skipped as needing a real account, never passed."""
    from toolkit import accounts
    from toolkit.aws import Aws, new_session
    from toolkit.context import Context
    from verify import checks, command

    rehearsal = checks.Reach({
        checks.NETWORK: "needs a real account: the rehearsal has no network (no DNS answer, "
                        "TLS handshake or HTTPS request reaches an API)",
        checks.INVOKE: "needs a real account: moto cannot run a function's code",
        checks.METRICS: "needs a real account: moto has no Aurora, S3 replication or API "
                        "metrics",
        checks.ALARM_STATE: "needs a real account: moto never evaluates an alarm (every alarm "
                            "it holds reads OK)",
    })
    with contextlib.ExitStack() as stack:
        config = enter(stack, args, config, built, reporter)
        aws = Aws(session=new_session(None))
        ctx = Context(config, built, aws, reporter, local=True)
        ctx.identity = accounts.check(aws, config, avoid=args.lost)
        return command.run(ctx, args, reach=rehearsal, probe=lambda url: (0, {}))


READ_ONLY = ("plan", "status", "drift", "cost", "verify", "dr status", "keys list")


def _changes_the_account(args) -> bool:
    """Whether the command's calls are recorded: not for a command that only reads (what it
    does in moto, such as the stand-in hosted zone, is not kept)."""
    words = (args.command, getattr(args, "dr_command", None) or getattr(args, "action", None))
    return args.command not in READ_ONLY and " ".join(filter(None, words)) not in READ_ONLY


def _state_path(args, config: Config):
    from rehearsal import account

    return args.local_state or account.journal.default_path(config.environment)


def enter(stack: contextlib.ExitStack, args, config: Config, built: Bundle,
          reporter: Reporter) -> Config:
    """Start the rehearsal on `stack`: moto in-process, the saved account replayed, every
    changing call recorded. Returns the config as the rehearsal sees it (its hosted zone)."""
    _require_moto("--local")
    from rehearsal import account

    state_path = _state_path(args, config)
    problem = file_problem(state_path, absent_ok=True)
    if problem:
        raise UsageError(f"--local-state {shown(str(state_path))}: {problem} (the rehearsed "
                         "account is a JSON-lines file, or absent for an empty account)")
    stack.enter_context(account.local_aws(config.target.account))
    try:
        replayed = account.resume(state_path, config.environment)
    except account.journal.JournalError as error:
        raise UsageError(str(error)) from None
    records = _changes_the_account(args)
    if records:
        stack.enter_context(account.journal.recording(state_path, config.environment, replayed))
    reporter.info(f"  rehearsal state: {state_path} ({replayed} recorded call(s) replayed; "
                  + ("delete the file to start from an empty account)" if records else
                     "this command only reads: it records nothing)"))
    config, zone = account.stand_in_hosted_zone(config)
    if zone:
        reporter.info(f"  rehearsal hosted zone {zone} stands in for {args.config}'s "
                      "domain.hosted_zone_id")
    reporter.info("local rehearsal: moto in-process with stand-ins for "
                  f"{len(account.stand_in_types())} resource types (rehearsal-only)")
    skipped = sorted(set(account.unsupported_types(built.regional.document))
                     | set(account.unsupported_types(built.global_.document)))
    if skipped:
        reporter.info(f"  moto skips (not rehearsed): {', '.join(skipped)}")
    return config
