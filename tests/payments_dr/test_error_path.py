"""The one error path (payments_dr/cli.py main(), entered through payments_dr/entry.py) under a
second Ctrl-C, a Ctrl-C that lands in a finaliser, a Ctrl-C while the CLI's modules import,
an OSError after AWS work, and a reader that goes away (a broken pipe)."""

from __future__ import annotations

import errno
import gc
import json

import pytest

from payments_dr import cli
from tests.conftest import EXAMPLE
from toolkit.aws import Aws
from toolkit.report import Reporter

IDENTITY = {"account": "123456789012", "partition": "aws"}


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["finish", "error"])
def test_a_ctrl_c_inside_the_error_path_is_still_one_line_and_130(monkeypatch, build_dir,
                                                                 where):
    from stacksets.commands import status as status_command

    monkeypatch.setattr(status_command, "run", interrupt)
    monkeypatch.setattr(Aws, "identity", lambda self, region: IDENTITY)
    monkeypatch.setattr(Reporter, where, interrupt)
    try:
        code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir),
                         "--output", "json"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main(): the console script prints a traceback")
    assert code == 130


class _Finaliser:
    """Stands for any object whose __del__ runs while SIGINT arrives (observed: destroy --local
    at 4.6 s printed 'Exception ignored in: <function EnvironBuilder.__del__ ...>
    KeyboardInterrupt' and then exited 0)."""

    def __del__(self):
        raise KeyboardInterrupt


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_delivered_in_a_finaliser_still_interrupts(monkeypatch, build_dir, capsys):
    from stacksets.commands import status as status_command

    def run(ctx, args):
        _Finaliser()
        gc.collect()
        return 0

    monkeypatch.setattr(status_command, "run", run)
    monkeypatch.setattr(Aws, "identity", lambda self, region: IDENTITY)
    code = cli.main(["status", "--config", str(EXAMPLE), "--build-dir", str(build_dir)])
    captured = capsys.readouterr()
    assert code == 130 and "Traceback" not in captured.err


@pytest.mark.parametrize("error", [BrokenPipeError(errno.EPIPE, "Broken pipe"),
                                   OSError(errno.ENOSPC, "No space left on device")])
def test_an_os_error_after_aws_work_is_not_invalid_input(monkeypatch, build_dir, capsys,
                                                        error):
    from stacksets.commands import deploy

    def deploy_that_breaks(ctx, args):
        ctx.runner.current = "operation op-1 (join) on payments-example-regional"
        raise error

    monkeypatch.setattr(deploy, "run", deploy_that_breaks)
    monkeypatch.setattr(Aws, "identity", lambda self, region: IDENTITY)
    code = cli.main(["deploy", "--config", str(EXAMPLE), "--build-dir", str(build_dir)])
    err = capsys.readouterr().err
    assert code == 1 and "invalid input" not in err
    assert f"{type(error).__name__}: " in err


def test_a_reader_that_goes_away_does_not_stop_the_deploy(build_dir, tmp_path):
    """`payments-dr deploy --local | head -1`: the deploy runs to its end (exit 0, every
    phase journaled), one warning on stderr, no traceback."""
    import os
    import subprocess
    import sys

    from tests.rehearsal.test_local_state import ROOT

    state = tmp_path / "example.jsonl"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = subprocess.Popen(
        [sys.executable, "-m", "payments_dr", "deploy", "--config", str(EXAMPLE), "--local",
         "--build-dir", str(build_dir), "--local-state", str(state)], cwd=ROOT, env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    command.stdout.readline()
    command.stdout.close()  # the reader goes away
    err = command.stderr.read()
    assert command.wait(timeout=240) == 0, err[-2000:]
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "WARNING: the output was closed (broken pipe)" in err
    status = subprocess.run(
        [sys.executable, "-m", "payments_dr", "status", "--config", str(EXAMPLE), "--local",
         "--build-dir", str(build_dir), "--local-state", str(state)], cwd=ROOT, env=environ,
        capture_output=True, text=True, timeout=240)
    assert status.returncode == 0, status.stdout[-2000:]  # the whole rollout happened


ENTRY_WITH_CTRL_C_IN_IMPORT = """
import builtins, sys
real_import = builtins.__import__
def ctrl_c_on_argparse(name, *args, **kwargs):
    if name == "argparse":
        builtins.__import__ = real_import
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = ctrl_c_on_argparse
sys.argv = ["payments-dr", "plan", "--config", "x.yaml"]
from payments_dr.cli import console  # the console script's own two lines
console()
"""

# The console script now (setup.cfg): payments_dr.entry:console, with a Ctrl-C while any of
# the modules the CLI loads first is imported.
ENTRY_WITH_CTRL_C_AT = """
import builtins, sys
real_import = builtins.__import__
def ctrl_c_at(name, *args, **kwargs):
    if name == {module!r}:
        builtins.__import__ = real_import
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = ctrl_c_at
sys.argv = ["payments-dr", "plan", "--config", "x.yaml", *{extra!r}]
from payments_dr.entry import console
console()
"""


def test_ctrl_c_while_the_entry_module_imports_is_one_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", ENTRY_WITH_CTRL_C_IN_IMPORT],
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.returncode == 130


@pytest.mark.parametrize("module", ["typing", "pathlib", "toolkit.exit_codes",
                                    "argparse", "toolkit.config"])
@pytest.mark.parametrize("extra", [[], ["--output", "json"]])
def test_ctrl_c_while_the_console_script_starts_is_one_line(module, extra):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", ENTRY_WITH_CTRL_C_AT.format(
        module=module, extra=extra)], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.returncode == 130
    assert [line for line in done.stderr.splitlines() if line.startswith("ERROR")] == [
        "ERROR: interrupted before any operation was started; re-running starts afresh"]
    if extra:
        assert json.loads(done.stdout)["result"] == "interrupted"
