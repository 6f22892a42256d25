#!/usr/bin/env python3
"""Build the CloudFormation templates (and, later, Lambda artifacts) into one directory.

    python build.py [--out DIR]

Writes regional.json, global.json and manifest.json (sha256 and size of every artifact).
The output is byte-identical across runs and machines. Nothing here calls AWS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from templates import build_global, build_regional

DEFAULT_OUT = Path("build")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the output directory, with forward slashes
    data: bytes

    def describe(self) -> dict:
        return {"bytes": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest()}


def template_json(template) -> bytes:
    """Sorted keys, two-space indent, trailing newline: the same bytes on every machine."""
    return (template.to_json(indent=2, sort_keys=True) + "\n").encode("utf-8")


def render() -> tuple[list[Artifact], dict[str, int]]:
    """Every artifact of a build, in memory, plus resource counts per template."""
    templates = {"regional.json": build_regional(), "global.json": build_global()}
    artifacts = [Artifact(name, template_json(t)) for name, t in templates.items()]
    counts = {name: len(t.resources) for name, t in templates.items()}
    return artifacts, counts


def manifest(artifacts: list[Artifact]) -> Artifact:
    body = {"artifacts": {a.path: a.describe() for a in sorted(artifacts, key=lambda a: a.path)}}
    return Artifact(MANIFEST, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())


def write(out: Path, artifacts: list[Artifact]) -> None:
    for artifact in artifacts:
        target = out / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artifact.data)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT}/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    artifacts, counts = render()
    artifacts.append(manifest(artifacts))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        write(args.out, artifacts)
    except FileExistsError:
        print(f"build.py: --out {args.out} exists and is not a directory. "
              "Pass a directory (it is created if missing).", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"build.py: cannot write to --out {args.out}: {error.strerror or error}. "
              "Pass a writable directory.", file=sys.stderr)
        return 2
    for artifact in artifacts:
        count = counts.get(artifact.path)
        detail = f"{count} resources" if count is not None else f"{len(artifact.data)} bytes"
        print(f"  {args.out / artifact.path}  ({detail})")
    print(f"built {len(artifacts)} files in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
