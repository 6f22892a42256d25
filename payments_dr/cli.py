"""`payments-dr COMMAND`: the one operator command.

    payments-dr {plan,deploy,status,drift,destroy} --config FILE   the StackSets rollout
    payments-dr keys {create,list,revoke} --config FILE               merchant API keys
    payments-dr dr {status,switchover,failover,failback,drill}        the DR runbook
    payments-dr cost --config FILE                                     the standby cost
    payments-dr verify --config FILE [--lost REGION]                    the live verification
    payments-dr bench                                                  the path to the 201

`python -m stacksets` runs the rollout verbs only.

Every command goes through `main()`, the one error path: Ctrl-C at any moment (imports, the
build, the rehearsal's journal replay, an operation or a teardown) prints one line and exits
130; a refusal, a failure or an unexpected exception prints one line (text) or one JSON error
document (`--output json`), never a traceback. Exit codes: toolkit/exit_codes.py.

The console script is payments_dr/entry.py, which watches for Ctrl-C before it imports this
module. This module imports only light standard-library modules at import time (argparse too
is imported inside `main()`): everything else is imported inside `main()`, so an interrupt
while a heavy import runs is still answered by that one path.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.exit_codes import ATTENTION, DRIFTED, FAILED, INTERRUPTED, OK, USAGE

if TYPE_CHECKING:
    import argparse

EXIT_CODES = (
    (OK, "done (status: nothing needs attention; deploy: also when nothing had to change; "
         "verify: every check ran and passed)"),
    (FAILED, "an AWS operation failed or was refused, a phase is blocked, a runbook refused or "
             "timed out, a verify check failed, or an unexpected error (the reason is printed; "
             "re-running resumes)"),
    (USAGE, "invalid input: command line (--profile, --local-state, --timeline included), "
            "config file or build, before any AWS call"),
    (DRIFTED, "drift: drift detection found drifted resources"),
    (ATTENTION, "status, dr status: something needs attention (each item is listed); verify: "
                "no check failed, but one needs attention or was skipped"),
    (INTERRUPTED, "interrupted (Ctrl-C): an operation already started keeps running in AWS; "
                  "re-running the command resumes it"),
)
EXIT_TABLE = "exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES)

ROLLOUT = ("plan", "deploy", "status", "drift", "destroy")
HELP = {
    "plan": "show each phase, the effective parameters per region and what would change; "
            "writes nothing",
    "deploy": "roles, artifacts, then the phased rollout; resumes after a failure, does "
              "nothing when everything is current",
    "status": "stack instances, drift state, Aurora writer, replication and health",
    "drift": "StackSet drift detection with per-resource results",
    "destroy": "ordered teardown: global stack, recovery, home, stack set",
    "keys": "merchant API keys: create (shown once), list, revoke",
    "dr": "DR runbook: status, switchover, failover, failback, drill (payments-dr dr --help)",
    "cost": "the standby cost of the environment: what the recovery region costs while idle",
    "verify": "what only the real account can show: DNS, TLS, /health, the database "
              "certificate from inside each region, a test payment per region, alarms, "
              "replication; run it after the first deploy and after every failover",
    "bench": "the payment's path to its 201, measured on this machine with AWS-typical "
             "latency injected (p50/p99, sequential remote calls), zero-loss off and on",
}


def _common(command: argparse.ArgumentParser, *, config_default: Path | None = None) -> None:
    command.add_argument("--config", required=config_default is None, type=Path,
                         default=config_default,
                         help="environment file, e.g. stacksets/environments/example.yaml")
    command.add_argument("--output", choices=("text", "json"), default="text",
                         help="json: one JSON document on stdout, messages on stderr")
    command.add_argument("--build-dir", type=Path, default=None,
                         help="an existing build.py output to use (default: build in-process "
                              "into a temporary directory; nothing is written to the checkout)")
    command.add_argument("--profile", default=None,
                         help="AWS profile (~/.aws/config) of the target account; default: the "
                              "environment's credentials")
    command.add_argument("--local", action="store_true",
                         help="rehearse against moto in-process (no account, no network)")
    command.add_argument("--local-state", type=Path, default=None,
                         help="--local only: the rehearsal's saved account (default: "
                              "$XDG_STATE_HOME/payments-dr/rehearsal/<environment>.jsonl, "
                              "~/.local/state/... without XDG_STATE_HOME)")


def parser(verbs: tuple[str, ...] | None = None,
           prog: str = "payments-dr") -> argparse.ArgumentParser:
    """The command line; `verbs` limits it (python -m stacksets: the rollout verbs)."""
    from merchant_keys import commands as keys
    from payments_dr import local
    from runbook import commands as runbook_commands
    from stacksets.commands import deploy, destroy, drift, plan, status
    from toolkit.arguments import Parser, number
    from toolkit.config import EXAMPLE
    from verify import command as verify_command

    modules = {"plan": plan, "deploy": deploy, "status": status, "drift": drift,
               "destroy": destroy, "keys": keys, "verify": verify_command}
    verbs = verbs or tuple(HELP)
    top = Parser(prog=prog, description=__doc__.split("\n\n")[0], epilog=EXIT_TABLE)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in verbs:
        command = sub.add_parser(name, help=HELP[name], description=HELP[name],
                                 epilog=EXIT_TABLE)
        if name == "dr":
            runbook_sub = command.add_subparsers(dest="dr_command", required=True,
                                                 metavar="COMMAND")
            for dr_name, text in {**runbook_commands.HELP, "drill": local.DRILL_HELP}.items():
                dr_command = runbook_sub.add_parser(dr_name, help=text, description=text,
                                                    epilog=EXIT_TABLE)
                _common(dr_command, config_default=EXAMPLE if dr_name == "drill" else None)
                if dr_name == "drill":
                    local.add_drill_arguments(dr_command)
                else:
                    runbook_commands.add_arguments(dr_command, dr_name)
            continue
        if name == "bench":  # no account, no config, no build: the handler alone
            local.add_bench_arguments(command)
            continue
        _common(command)
        if name in ROLLOUT:
            command.add_argument("--timeout", type=number(0, above=True, unit="seconds"),
                                 default=4 * 3600,
                                 help="seconds to wait for one operation (default 4 h; destroy: "
                                      "for the whole teardown)")
        if name in modules:
            getattr(modules[name], "add_arguments", lambda p: None)(command)
    return top


def main(argv: list[str] | None = None, verbs: tuple[str, ...] | None = None,
         prog: str = "payments-dr") -> int:
    """The one entry of every command. A Ctrl-C is answered wherever it lands: in the command,
    in this error path itself (a second Ctrl-C while the error is written), or inside a
    finaliser that Python would only print and ignore (recorded by the watch)."""
    from payments_dr.entry import wants_json
    from payments_dr.interrupts import Watch

    argv = sys.argv[1:] if argv is None else list(argv)
    session = _Session(output="json" if wants_json(argv) else "text")
    with Watch() as watch:
        try:
            code = _command(argv, verbs, prog, session)
            if watch.seen and code != INTERRUPTED:  # swallowed where Python delivered it
                code = session.fail("interrupted", INTERRUPTED, session.interrupted())
        except KeyboardInterrupt:
            code = INTERRUPTED
        try:
            session.finish()
        except KeyboardInterrupt:
            code = INTERRUPTED
    return code


def _command(argv: list[str], verbs: tuple[str, ...] | None, prog: str, session) -> int:
    try:
        if verbs and argv[:1] and argv[0] in HELP and argv[0] not in verbs:
            from toolkit.errors import UsageError

            raise UsageError(f"{prog} runs {', '.join(verbs)}; {argv[0]} is "
                             f"`payments-dr {argv[0]} ...`")
        args = parser(verbs, prog).parse_args(argv)
        session.start(args)
        return _run(args, session)
    except KeyboardInterrupt:
        return session.fail("interrupted", INTERRUPTED, session.interrupted())
    except SystemExit:
        raise  # --help (exit status 0); argparse's errors raise CommandLineError instead
    except Exception as error:  # noqa: BLE001: the one place that turns any error into a line
        code, result, message, details = _classify(error)
        return session.fail(result, code, message, details)


class _Session:
    """What the error path needs to know about the command it wraps: the reporter (once it
    exists), what runs in AWS right now, and the timing."""

    def __init__(self, output: str) -> None:
        from toolkit.in_flight import CURRENT

        self.output = output
        self.reporter: Any = None
        self.context: Any = None
        self.started = time.perf_counter()
        self.finished = False
        self.command = "the command"
        self.in_flight = CURRENT
        self.in_flight.ended()  # a new command: nothing of ours runs in AWS yet

    def start(self, args) -> None:
        from toolkit.report import Reporter

        self.command = " ".join(filter(None, (args.command, getattr(args, "dr_command", None))))
        self.reporter = Reporter(args.output)
        self.reporter.record("command", self.command)

    def ensure_reporter(self):
        if self.reporter is None:
            from toolkit.report import Reporter

            self.reporter = Reporter(self.output)
        return self.reporter

    def interrupted(self) -> str:
        """What was started in AWS (the rollout's operations, the teardown's calls, the
        runbook's moves and DNS update say so before each call: toolkit/in_flight.py)."""
        from payments_dr.entry import NOTHING_STARTED

        if self.in_flight.what:
            return (f"interrupted: {self.in_flight.what} keeps running in AWS "
                    f"{self.in_flight.service}; re-running {self.command} resumes it (it waits "
                    "for that operation first)")
        return NOTHING_STARTED

    def fail(self, result: str, code: int, message: str, details: list[str] = ()) -> int:
        """Every error has one shape: `result` plus `error: {message, details}` in the JSON
        document, and the message (then each detail) on stderr."""
        reporter = self.ensure_reporter()
        message, details = _clipped(message), [_clipped(d) for d in details]
        reporter.error(message)
        for detail in details:
            reporter.error(f"  {detail}")
        reporter.record("result", result)
        reporter.record("error", {"message": message, "details": list(details)})
        return code

    def finish(self) -> None:
        if self.reporter is None or self.finished:
            return
        self.finished = True
        self.reporter.record("seconds", round(time.perf_counter() - self.started, 2))
        self.reporter.finish()


def _clipped(text: str, limit: int = 200) -> str:
    """A message with every run of more than `limit` non-blank characters shortened: an
    argument is echoed to say what was given, never in full when it is large."""
    import re

    return re.sub(r"\S{%d,}" % (limit + 1),
                  lambda m: f"{m[0][:60]}... ({len(m[0])} characters)", text)


def _classify(error: Exception) -> tuple[int, str, str, list[str]]:
    """(exit code, result, message, details) for an exception that reached the top."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from botocore.parsers import ResponseParserError

    from toolkit.bundle import BuildError
    from toolkit.config import ConfigError
    from toolkit.errors import Refused, RolloutError, UsageError

    if isinstance(error, (ConfigError, BuildError, UsageError)):
        return USAGE, "error", str(error), list(getattr(error, "details", []))
    if isinstance(error, Refused):
        return FAILED, "refused", str(error), list(error.details)
    if isinstance(error, RolloutError):
        return FAILED, "failed", str(error), list(error.details)
    if isinstance(error, NoCredentialsError):
        return FAILED, "failed", (
            "no AWS credentials found: pass --profile NAME (a profile in ~/.aws/config), or set "
            "AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); "
            "or rehearse without an account with --local"), []
    if isinstance(error, (ClientError, BotoCoreError, ResponseParserError)):
        return FAILED, "failed", f"AWS: {error}", []
    if isinstance(error, OSError):
        # Input files are checked, and their read errors reported as bad input, where they
        # are read (config, build, --local-state, --timeline): this one is not bad input.
        return FAILED, "error", (f"{type(error).__name__}: {error}; nothing further was "
                                 "attempted, re-running resumes from what AWS holds"), []
    where = _origin(error)
    return FAILED, "error", (f"unexpected error: {type(error).__name__}: {error}"
                             f"{f' (at {where})' if where else ''}; nothing further was "
                             "attempted, re-running resumes from what AWS holds"), []


def _origin(error: Exception) -> str:
    """`file:line` of the innermost frame of our own code, for the one-line report."""
    tb, found = error.__traceback__, ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if "site-packages" not in name and "/lib/python" not in name:
            found = f"{Path(name).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _run(args, session: _Session) -> int:
    """Config, early refusals, build, validated config; then the command in its context."""
    from toolkit import bundle as bundle_module
    from toolkit import config as config_module
    from toolkit.errors import Refused, UsageError
    from toolkit.paths import file_problem

    reporter = session.reporter
    if args.command == "bench":
        from payments_dr import local

        return local.bench(args, reporter)
    module = _module(args.command)
    problem = file_problem(args.config)
    if problem:
        raise UsageError(f"--config {args.config}: {problem} (the environments are in "
                         "stacksets/environments/, e.g. example.yaml)")
    raw = config_module.read(args.config)
    config_module.check_before_build(raw, str(args.config))
    early = getattr(module, "refusal_before_build", None)
    refused = early(raw, args) if early else None
    if refused:
        raise Refused(refused)
    built = (bundle_module.load(args.build_dir) if args.build_dir
             else bundle_module.build_in_memory())
    config = config_module.validate(raw, str(args.config), built.regional.parameters)
    reporter.record("environment", config.environment)
    reporter.record("local", args.local)
    if args.command == "cost":
        return _cost(config, built, reporter)
    if args.command == "dr":
        return _runbook(args, session, config, built)
    if args.command == "verify":
        return _verify(args, session, config, built)
    getattr(module, "check_arguments", lambda args, config: None)(args, config)
    with _account(args, config, built, reporter) as (aws, config):
        from stacksets.context import Context as RolloutContext
        from toolkit import accounts
        from toolkit.context import Context

        kind = RolloutContext if args.command in ROLLOUT else Context
        session.context = kind(config, built, aws, reporter, local=args.local,
                                  runner_options={"timeout": getattr(args, "timeout", 4 * 3600)})
        session.context.identity = accounts.check(aws, config)
        return module.run(session.context, args)


def _runbook(args, session: _Session, config, built) -> int:
    """`dr ...`: the game day (rehearsal tooling), or a runbook in the account or, with
    --local, in the rehearsed account with the rehearsal's stand-ins for /health and lag."""
    from payments_dr import local
    from runbook import commands as runbook_commands
    from toolkit import accounts
    from toolkit.aws import Aws, new_session

    if args.dr_command == "drill":
        return local.drill(args, config, built, session.reporter)
    runbook_commands.check_arguments(args, config)
    if args.local:
        return local.runbook(args, config, built, session.reporter)
    aws = Aws(session=new_session(args.profile))
    accounts.check(aws, config, avoid=runbook_commands.failed_region(args, config))
    return runbook_commands.run(args, config, built, aws, session.reporter)


def _verify(args, session: _Session, config, built) -> int:
    """`verify`: the checks against the account, or with --local against the rehearsed
    account, where what the rehearsal cannot reach is skipped (payments_dr/local.py)."""
    from payments_dr import local
    from toolkit import accounts
    from toolkit.aws import Aws, new_session
    from toolkit.context import Context
    from verify import command as verify_command

    verify_command.check_arguments(args, config)
    if args.local:
        return local.verify(args, config, built, session.reporter)
    aws = Aws(session=new_session(args.profile))
    session.context = Context(config, built, aws, session.reporter)
    session.context.identity = accounts.check(aws, config, avoid=args.lost)
    return verify_command.run(session.context, args)


def _module(command: str):
    if command in ROLLOUT:
        import importlib

        return importlib.import_module(f"stacksets.commands.{command}")
    if command == "keys":
        from merchant_keys import commands

        return commands
    return None


def _cost(config, built, reporter) -> int:
    from standby_cost import estimate
    from templates.names import GLOBAL_REGION

    standby = estimate.for_config(config, built.regional.document, built.global_.document,
                                  GLOBAL_REGION)
    for line in estimate.describe(standby):
        reporter.info(line)
    reporter.record("standby_cost", standby)
    reporter.record("result", "priced")
    return OK


class _account:
    """The AWS account a command works in: the target account through `--profile` or the
    environment's credentials, or with `--local` the rehearsed account (moto in-process, its
    journal replayed and recorded)."""

    def __init__(self, args, config, built, reporter) -> None:
        self.args, self.config, self.built, self.reporter = args, config, built, reporter
        self.stack: Any = None

    def __enter__(self):
        import contextlib

        from toolkit.aws import Aws, new_session

        self.stack = contextlib.ExitStack()
        if not self.args.local:
            return Aws(session=new_session(self.args.profile)), self.config
        from payments_dr import local

        self.stack.__enter__()
        try:
            config = local.enter(self.stack, self.args, self.config, self.built, self.reporter)
        except BaseException:
            self.stack.__exit__(*sys.exc_info())
            raise
        return Aws(session=new_session(None)), config

    def __exit__(self, *exc_info) -> bool:
        return bool(self.stack.__exit__(*exc_info)) if self.stack else False


def console() -> None:
    """The `payments-dr` console script (payments_dr/entry.py, which this was)."""
    from payments_dr.entry import console as entry

    entry()


if __name__ == "__main__":
    console()
