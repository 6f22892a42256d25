"""`--local`: the rehearsed account, entered for one command.

The only module of the operator tool that imports the rehearsal tooling (`rehearsal/`, the
`rehearsal` extra), and only when a command is given `--local`: the operator commands
themselves never import it (tests/test_layout.py reads the imports and says so).
"""

from __future__ import annotations

import contextlib
import importlib.util

from toolkit.bundle import Bundle
from toolkit.config import Config, shown
from toolkit.errors import UsageError
from toolkit.paths import file_problem
from toolkit.report import Reporter


def _require_moto(what: str) -> None:
    if importlib.util.find_spec("moto") is None:
        raise UsageError(f"{what} needs the rehearsal extra (moto is missing): "
                         "pip install -e '.[rehearsal]'")


DRILL_BOUNDS = {"payments": (1, 1000), "operator_delay": (0, 3600)}


def drill(args, config: Config, built: Bundle, reporter: Reporter) -> int:
    """`dr drill --local`: the game day on this machine (rehearsal/gameday)."""
    if not args.local:
        raise UsageError("dr drill runs on this machine only: add --local")
    for option, (low, high) in DRILL_BOUNDS.items():
        value = getattr(args, option, None)
        if value is not None and not low <= value <= high:
            raise UsageError(f"--{option.replace('_', '-')} {value}: allowed {low} to {high}")
    _require_moto("dr drill --local")
    from rehearsal.gameday import drill as gameday  # starts PostgreSQL and moto

    return gameday.main(args, config, built, reporter)


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
