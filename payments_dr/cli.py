"""Command line: `python -m stacksets COMMAND --config FILE [--local] [--output text|json]`."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from toolkit import bundle as bundle_module
from toolkit import config as config_module
from toolkit import accounts
from toolkit.aws import Aws, new_session
from merchant_keys import commands as keys
from stacksets.commands import deploy, destroy, drift, plan, status
from stacksets.context import Context
from stacksets.operations import RolloutError
from toolkit.report import Reporter

COMMANDS = {
    "plan": (plan, "show each phase, the effective parameters per region and what would "
                   "change; writes nothing"),
    "deploy": (deploy, "roles, artifacts, then the phased rollout; resumes after a failure, "
                       "does nothing when everything is current"),
    "status": (status, "stack instances, drift state, Aurora writer, replication and health"),
    "drift": (drift, "StackSet drift detection with per-resource results"),
    "destroy": (destroy, "ordered teardown: global stack, recovery, home, stack set"),
    "keys": (keys, "merchant API keys: create (shown once), list, revoke"),
}
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
EXIT_STATUS = ("exit status: 0 success (deploy: also when nothing had to change); 1 an AWS "
               "operation failed or was refused, or a phase is blocked (the reason is printed; "
               "re-running deploy resumes); 2 invalid config or build; 130 interrupted "
               "(Ctrl-C: a running operation keeps running, deploy resumes it)")
EXTRA_EXIT_STATUS = {"drift": "; 3 drift detection ran and found drifted resources (listed "
                              "per region and resource)",
                     "status": "; 4 something needs attention (listed: an instance not "
                               "CURRENT, drift, an unhealthy replica or health check)"}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m stacksets", description=__doc__,
                                  epilog=EXIT_STATUS + EXTRA_EXIT_STATUS["drift"] + " (drift)"
                                  + EXTRA_EXIT_STATUS["status"] + " (status)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text,
                                 epilog=EXIT_STATUS + EXTRA_EXIT_STATUS.get(name, ""))
        command.add_argument("--config", required=True, type=Path,
                             help="environment file, e.g. stacksets/environments/example.yaml")
        command.add_argument("--local-state", type=Path, default=None,
                             help="--local only: the rehearsal's saved account (default: "
                                  "build/rehearsal/<environment>.jsonl)")
        command.add_argument("--local", action="store_true",
                             help="rehearse against moto in-process (no account, no network)")
        command.add_argument("--output", choices=("text", "json"), default="text",
                             help="json: one JSON document on stdout, messages on stderr")
        command.add_argument("--build-dir", type=Path, default=None,
                             help="use this existing build.py output instead of building "
                                  "in-process (default: build into build/)")
        command.add_argument("--profile", default=None,
                             help="AWS profile (~/.aws/config) of the administration account; "
                                  "default: the environment's credentials")
        command.add_argument("--timeout", type=float, default=4 * 3600,
                             help="seconds to wait for one operation (default 4 h)")
        getattr(module, "add_arguments", lambda p: None)(command)
    sub.add_parser("dr", help="DR runbook: status, switchover, failover, failback, drill "
                              "(python -m stacksets dr --help)", add_help=False)
    return top


def load_bundle(args) -> bundle_module.Bundle:
    if args.build_dir:
        return bundle_module.load(args.build_dir)
    return bundle_module.build(bundle_module.DEFAULT_BUILD)


def _failure(reporter: Reporter, result: str, message: str, details: list[str] = ()) -> None:
    """Every error has one shape: `result` plus `error: {message, details}` in the JSON
    document, and the message (then each detail) on stderr."""
    reporter.error(message)
    for detail in details:
        reporter.error(f"  {detail}")
    reporter.record("result", result)
    reporter.record("error", {"message": message, "details": list(details)})


def _aws_message(error: Exception) -> str:
    if isinstance(error, NoCredentialsError):
        return ("no AWS credentials found: pass --profile NAME (a profile in ~/.aws/config), "
                "or set AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and "
                "AWS_SESSION_TOKEN); or rehearse without an account with --local")
    return f"AWS: {error}"


def _interrupted(ctx: Context | None) -> str:
    running = ctx.runner_if_started.current if ctx and ctx.runner_if_started else None
    if running:
        return (f"interrupted: {running} keeps running in AWS CloudFormation; re-running "
                "deploy resumes it (it waits for that operation first)")
    return "interrupted before any operation was started; re-running deploy starts afresh"


def _load(args, module, reporter: Reporter):
    """Config file, early refusals, build, validated config; or None after reporting why."""
    if not args.config.is_file():
        _failure(reporter, "error", f"--config {args.config}: no such file (the environments "
                 "are in stacksets/environments/, e.g. example.yaml)")
        return None
    raw = config_module.read(args.config)
    early = getattr(module, "refusal_before_build", None)
    refused = early(raw, args) if early else None
    if refused:
        _failure(reporter, "refused", refused)
        return None
    built = load_bundle(args)
    return built, config_module.validate(raw, str(args.config), built.regional.parameters)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dr"]:  # the DR runbook has its own sub-commands (stacksets/dr/cli.py)
        from runbook import commands as dr_cli
        return dr_cli.main(argv[1:])
    args = parser().parse_args(argv)
    reporter = Reporter(args.output)
    started = time.perf_counter()
    module = COMMANDS[args.command][0]
    reporter.record("command", args.command)
    try:
        loaded = _load(args, module, reporter)
    except (config_module.ConfigError, bundle_module.BuildError, OSError) as error:
        _failure(reporter, "error", str(error))
        loaded = None
    if loaded is None:
        reporter.finish()
        return FAILED if reporter.document.get("result") == "refused" else USAGE
    built, config = loaded
    reporter.record("environment", config.environment)
    reporter.record("local", args.local)
    ctx = None
    with contextlib.ExitStack() as stack:
        if args.local:
            try:
                from rehearsal import account as rehearsal  # imports moto: only for --local
            except ModuleNotFoundError as error:
                _failure(reporter, "error", f"--local needs the rehearsal extra ({error.name} "
                         "is missing): pip install -e '.[rehearsal]'")
                reporter.finish()
                return USAGE

            stack.enter_context(rehearsal.local_aws(config.target.account))
            state_path = args.local_state or rehearsal.journal.default_path(
                args.build_dir or bundle_module.DEFAULT_BUILD, config.environment)
            try:
                replayed = rehearsal.resume(state_path, config.environment)
            except rehearsal.journal.JournalError as error:
                _failure(reporter, "error", str(error))
                reporter.finish()
                return USAGE
            stack.enter_context(rehearsal.journal.recording(state_path, config.environment,
                                                            replayed))
            reporter.info(f"  rehearsal state: {state_path} ({replayed} recorded call(s) "
                          "replayed; delete the file to start from an empty account)")
            config, zone = rehearsal.stand_in_hosted_zone(config)
            if zone:
                reporter.info(f"  rehearsal hosted zone {zone} stands in for "
                              f"{args.config}'s domain.hosted_zone_id")
            reporter.info("local rehearsal: moto in-process with stand-ins for "
                          f"{len(rehearsal.stand_in_types())} resource types (rehearsal-only)")
            skipped = sorted(set(rehearsal.unsupported_types(built.regional.document))
                             | set(rehearsal.unsupported_types(built.global_.document)))
            if skipped:
                reporter.info(f"  moto skips (not rehearsed): {', '.join(skipped)}")
        aws = Aws(session=new_session(None if args.local else args.profile))
        ctx = Context(config, built, aws, reporter, local=args.local,
                      runner_options={"timeout": args.timeout})
        try:
            ctx.identity = accounts.check(aws, config)
            status_code = module.run(ctx, args)
        except KeyboardInterrupt:
            _failure(reporter, "interrupted", _interrupted(ctx))
            status_code = INTERRUPTED
        except bundle_module.BuildError as error:
            _failure(reporter, "error", str(error))
            status_code = USAGE
        except RolloutError as error:
            _failure(reporter, "failed", str(error), error.details)
            status_code = FAILED
        except (ClientError, BotoCoreError, ResponseParserError) as error:
            _failure(reporter, "failed", _aws_message(error))
            status_code = FAILED
    reporter.record("seconds", round(time.perf_counter() - started, 2))
    reporter.info(f"({time.perf_counter() - started:.1f}s)")
    reporter.finish()
    return status_code


if __name__ == "__main__":
    sys.exit(main())
