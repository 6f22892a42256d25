"""The console script `payments-dr` (and `python -m payments_dr`, `python -m stacksets`).

The smallest possible module, importing only what Python has loaded already: it watches for
Ctrl-C first (payments_dr/interrupts.py), then imports the CLI, so a Ctrl-C while the CLI's
own modules import is one line and exit 130 too, never a traceback. (A Ctrl-C before this
module runs, while Python itself starts, is Python's to answer.)
"""

import sys

INTERRUPTED = 130  # toolkit/exit_codes.py INTERRUPTED; not imported: nothing loads before the watch
NOTHING_STARTED = "interrupted before any operation was started; re-running starts afresh"


def console(rollout_only: bool = False) -> None:
    """`payments-dr ...`; with `rollout_only`, `python -m stacksets ...` (the rollout verbs)."""
    try:
        from payments_dr.interrupts import Watch

        with Watch():
            from payments_dr import cli
    except KeyboardInterrupt:
        sys.exit(_interrupted_while_starting())
    try:
        if rollout_only:
            sys.exit(cli.main(verbs=cli.ROLLOUT, prog="python -m stacksets"))
        sys.exit(cli.main())
    except KeyboardInterrupt:  # past main()'s own answer: nothing more to say
        sys.exit(INTERRUPTED)


def wants_json(argv: list[str]) -> bool:
    """`--output json` on the command line, before (or without) parsing it."""
    return any(a == "--output=json" for a in argv) or any(
        a == "--output" and b == "json" for a, b in zip(argv, argv[1:]))


def _interrupted_while_starting() -> int:
    """The one line (and, with --output json, the one JSON document) of an interruption."""
    try:
        print(f"ERROR: {NOTHING_STARTED}", file=sys.stderr, flush=True)
        if wants_json(sys.argv[1:]):
            import json

            print(json.dumps({"result": "interrupted", "error": {
                "message": NOTHING_STARTED, "details": []}}, indent=2, sort_keys=True),
                flush=True)
    except (KeyboardInterrupt, OSError):
        pass
    return INTERRUPTED
