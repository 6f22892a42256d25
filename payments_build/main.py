"""`render()` (every artifact, in memory) and the command line around it.

What the command prints is `summary_lines()`: one line per file, then the total. A further
report (for example a budget) is one more function of the rendered `Build`, added to
`summary_lines()`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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


def render() -> Build:
    """Every artifact of a build, in memory, the manifest included."""
    templates = {"regional.json": build_regional(), "global.json": build_global()}
    artifacts = [Artifact(name, template_json(t)) for name, t in templates.items()]
    artifacts += lambda_artifacts()
    counts = {name: len(t.resources) for name, t in templates.items()}
    return Build(artifacts + [manifest(artifacts)], counts, templates)


def summary_lines(build: Build, out: Path, stale: list[Path], seconds: float) -> list[str]:
    lines = []
    for artifact in build.artifacts:
        count = build.resource_counts.get(artifact.path)
        detail = f"{count} resources" if count is not None else f"{len(artifact.data)} bytes"
        lines.append(f"  {out / artifact.path}  ({detail})")
    lines += [f"  removed {path} (an earlier build's zip)" for path in stale]
    lines.append(f"built {len(build.artifacts)} files in {seconds:.2f}s")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build.py", description=USAGE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT}/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        build = render()
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
