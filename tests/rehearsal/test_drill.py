"""`payments-dr dr drill --local`, once, as an operator would run it: real PostgreSQL
primary and hot standby, the real handlers in two regions, moto, the Route 53 model; the
report's numbers are checked against what must hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOME, RECOVERY = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def drill(build_dir):
    """The command in its own process, exactly as typed (moto, the handler containers and
    the PostgreSQL servers stay out of the test process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "payments_dr", "dr", "drill", "--local", "--output", "json",
         "--build-dir", str(build_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout, done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout)


def test_drill_keeps_money_moving_without_duplicates_or_false_successes(drill):
    code, report = drill
    assert code == 0, report
    for key in ("payments_acknowledged", "lost_acknowledged", "duplicates", "false_successes",
                "rto_seconds", "rpo_seconds", "failback_ok"):
        assert key in report
    assert report["duplicates"] == 0 and report["false_successes"] == 0
    assert report["failback_ok"] is True and report["unresolved"] == []
    assert report["payments_acknowledged"] == report["payments_sent"] > 0
    # a lost acknowledged payment is listed with its cause, never hidden
    assert report["lost_acknowledged"] == len(report["lost"])
    assert all(lost["cause"] for lost in report["lost"])
    assert report["wall_seconds"] < 60


def test_drill_timing_follows_the_global_template(drill):
    _, report = drill
    check = report["health_check"]
    assert (check["interval_seconds"], check["failure_threshold"]) == (10, 3)
    events = {e["event"].split(":")[0]: e["t"] for e in report["events"]}
    lost_at = events[f"{HOME} lost"]
    detected = next(e for e in report["events"] if e["event"].startswith("health check"))
    # three failed probes 10 s apart, then the alarm at the end of its 60 s period
    assert detected["t"] - lost_at <= 10 * 3 + 60
    # RTO: from the loss to the first 201 from the recovery region, through DNS
    assert 30 <= report["rto_seconds"] <= 30 + 60 + 60 + 10
    assert any(r[1] == RECOVERY and r[2] == 201 for r in report["requests"])


def test_drill_failover_ran_the_runbook_without_touching_home(drill):
    _, report = drill
    failover = report["failover"]
    assert failover["outcome"] == "done" and failover["regions_touched"] == [RECOVERY]
    assert [e["step"] for e in failover["timeline"]][0] == "failover"
    assert [e["step"] for e in report["failback"]["timeline"]][-1] == "done"
    assert report["rpo_lag_ms_last_seen"] is not None


def test_plot_draws_a_png_when_matplotlib_is_installed(drill, tmp_path):
    pytest.importorskip("matplotlib")  # the optional `plot` extra
    from rehearsal.gameday import plot

    _, report = drill
    path = tmp_path / "drill.png"
    plot.draw(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
