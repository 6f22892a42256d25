"""`render()` (every artifact, in memory) and the command line around it.

What the command prints is `summary_lines()`: one line per file, then the total. A further
report (for example a budget) is one more function of the rendered `Build`, added to
`summary_lines()`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from templates import budget as dr_budget
from templates import build_global, build_regional

from payments_build.errors import BuildError
from payments_build.lambda_zips import ZIP_NAME, lambda_artifacts
from payments_build.output import Artifact, manifest, template_json, write

DEFAULT_OUT = Path("build")
USAGE = "Build the CloudFormation templates and the Lambda zips into one directory."


@dataclass(frozen=True)
class Build:
    artifacts: list[Artifact]      # the manifest last
    resource_counts: dict[str, int]  # template file -> number of resources
    templates: dict[str, object]     # template file -> troposphere Template
    budget: dict                     # the DR budget (templates/budget.py), also in the manifest


def render(rto_target_minutes: float | None = None) -> Build:
    """Every artifact of a build, in memory, the manifest included."""
    regional = build_regional()
    templates = {"regional.json": regional, "global.json": build_global(regional)}
    artifacts = [Artifact(name, template_json(t)) for name, t in templates.items()]
    budget = dr_budget.dr_budget(json.loads(artifacts[1].data), json.loads(artifacts[0].data),
                                 rto_target_minutes=rto_target_minutes)
    artifacts += lambda_artifacts()
    counts = {name: len(t.resources) for name, t in templates.items()}
    return Build(artifacts + [manifest(artifacts, budget)], counts, templates, budget)


def summary_lines(build: Build, out: Path, stale: list[Path], seconds: float) -> list[str]:
    lines = []
    for artifact in build.artifacts:
        count = build.resource_counts.get(artifact.path)
        detail = f"{count} resources" if count is not None else f"{len(artifact.data)} bytes"
        lines.append(f"  {out / artifact.path}  ({detail})")
    lines += [f"  removed {path} (an earlier build's zip)" for path in stale]
    lines += dr_budget.describe(build.budget)
    lines.append(f"built {len(build.artifacts)} files in {seconds:.2f}s")
    return lines


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="build.py", description=USAGE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT}/)")
    parser.add_argument("--rto-minutes", type=float, default=None,
                        help="RTO target the DR budget is checked against (default: the global "
                             "template's RecoveryTimeObjectiveMinutes, "
                             f"{dr_budget.DEFAULT_RTO_TARGET_MINUTES} min)")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser_ = parser()
    args = parser_.parse_args(argv)
    if args.rto_minutes is not None and args.rto_minutes <= 0:
        parser_.error(f"--rto-minutes must be positive, not {args.rto_minutes:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        build = render(args.rto_minutes)
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        stale = write(args.out, build.artifacts, ZIP_NAME)
    except FileExistsError:
        print(f"build.py: --out {args.out} exists and is not a directory. "
              "Pass a directory (it is created if missing).", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"build.py: cannot write to --out {args.out}: {error.strerror or error}. "
              "Pass a writable directory.", file=sys.stderr)
        return 2
    for line in summary_lines(build, args.out, stale, time.perf_counter() - started):
        print(line)
    return 0
