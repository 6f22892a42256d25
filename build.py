#!/usr/bin/env python3
"""Build the CloudFormation templates and the Lambda zips into one directory.

    python build.py [--out DIR]

Writes regional.json, global.json, lambda/<function>-<sha256>.zip and manifest.json (sha256
and size of every artifact). The output is byte-identical across runs and machines. Nothing
here calls AWS.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from templates import build_global, build_regional
from templates import budget as dr_budget
from templates.service import FUNCTIONS

ROOT = Path(__file__).resolve().parent
LAMBDA_SOURCE = ROOT / "lambda"
LAMBDA_REQUIREMENTS = LAMBDA_SOURCE / "requirements.txt"
DEFAULT_OUT = Path("build")
MANIFEST = "manifest.json"
# Zip entries carry this timestamp and mode whatever the checkout's mtimes and umask are.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o644
# Installer bookkeeping that differs between machines (paths, installer name) stays out.
DIST_INFO_SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class BuildError(Exception):
    """A build input is wrong; the message says what and how to fix it."""


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the output directory, with forward slashes
    data: bytes

    def describe(self) -> dict:
        return {"bytes": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest()}


def template_json(template) -> bytes:
    """Sorted keys, two-space indent, trailing newline: the same bytes on every machine."""
    return (template.to_json(indent=2, sort_keys=True) + "\n").encode("utf-8")


def pinned_requirements(path: Path = LAMBDA_REQUIREMENTS) -> dict[str, str]:
    """`name==version` lines of lambda/requirements.txt (exact pins only)."""
    pins = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        if not match:
            raise BuildError(f"{path.name}:{number}: {line!r} is not an exact pin "
                             "(name==version): the zips must be reproducible")
        pins[match[1]] = match[2]
    return pins


def dependency_files(name: str, version: str) -> dict[str, bytes]:
    """The installed files of one pinned distribution, as they go into a zip."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"{name}=={version} (lambda/requirements.txt) is not installed: "
                         "pip install -r lambda/requirements.txt") from None
    if dist.version != version:
        raise BuildError(f"lambda/requirements.txt pins {name}=={version} but {dist.version} "
                         "is installed: pip install -r lambda/requirements.txt")
    files = {}
    for path in dist.files or ():
        parts = path.parts
        if parts[0] == ".." or "__pycache__" in parts or path.suffix == ".pyc":
            continue  # scripts outside site-packages, bytecode of this machine's Python
        if parts[0].endswith(".dist-info") and path.name in DIST_INFO_SKIPPED:
            continue
        files[path.as_posix()] = Path(dist.locate_file(path)).read_bytes()
    return files


def source_files(handler_module: str) -> dict[str, bytes]:
    """The handler module, the shared `payments` package and the SQL schema."""
    files = {f"{handler_module}.py": (LAMBDA_SOURCE / f"{handler_module}.py").read_bytes()}
    for folder, pattern in (("payments", "*.py"), ("schema", "*.sql"), ("certs", "*.pem")):
        for path in (LAMBDA_SOURCE / folder).rglob(pattern):
            if "__pycache__" not in path.parts:
                files[path.relative_to(LAMBDA_SOURCE).as_posix()] = path.read_bytes()
    return files


def deterministic_zip(files: dict[str, bytes]) -> bytes:
    """Sorted entries, fixed timestamps and modes: the same bytes for the same content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = ZIP_FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode above is honoured on every machine
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=6)
    return buffer.getvalue()


def lambda_artifacts() -> list[Artifact]:
    """One zip per function, named `lambda/<function>-<sha256 of the zip>.zip`."""
    dependencies = {}
    for name, version in pinned_requirements().items():
        dependencies.update(dependency_files(name, version))
    artifacts = []
    for spec in FUNCTIONS:
        handler_module = spec.handler.split(".", 1)[0]
        data = deterministic_zip({**dependencies, **source_files(handler_module)})
        digest = hashlib.sha256(data).hexdigest()
        artifacts.append(Artifact(f"lambda/{spec.key}-{digest}.zip", data))
    return artifacts


def render() -> tuple[list[Artifact], dict[str, int]]:
    """Every artifact of a build, in memory, plus resource counts per template."""
    regional = build_regional()
    templates = {"regional.json": regional, "global.json": build_global(regional)}
    artifacts = [Artifact(name, template_json(t)) for name, t in templates.items()]
    counts = {name: len(t.resources) for name, t in templates.items()}
    return artifacts + lambda_artifacts(), counts


def budget_of(artifacts: list[Artifact], rto_target_minutes: float | None) -> dict:
    """The DR budget of the built templates (templates/budget.py)."""
    docs = {a.path: json.loads(a.data) for a in artifacts if a.path.endswith(".json")}
    return dr_budget.dr_budget(docs["global.json"], docs["regional.json"],
                               rto_target_minutes=rto_target_minutes)


def manifest(artifacts: list[Artifact], budget: dict | None = None) -> Artifact:
    body = {"artifacts": {a.path: a.describe() for a in sorted(artifacts, key=lambda a: a.path)}}
    if budget is not None:
        body["dr_budget"] = budget
    return Artifact(MANIFEST, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())


def write(out: Path, artifacts: list[Artifact]) -> list[Path]:
    """Write every artifact; remove zips of earlier builds (only files named like ours) so the
    directory holds exactly what the manifest lists. Returns the removed paths."""
    for artifact in artifacts:
        target = out / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artifact.data)
    current = {out / a.path for a in artifacts}
    ours = re.compile(rf"({'|'.join(spec.key for spec in FUNCTIONS)})-[0-9a-f]{{64}}\.zip")
    stale = [p for p in sorted((out / "lambda").glob("*.zip"))
             if ours.fullmatch(p.name) and p not in current]
    for path in stale:
        path.unlink()
    return stale


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT}/)")
    parser.add_argument("--rto-minutes", type=float, default=None,
                        help="RTO target the DR budget is checked against (default: the global "
                             "template's RecoveryTimeObjectiveMinutes, "
                             f"{dr_budget.DEFAULT_RTO_TARGET_MINUTES} min)")
    args = parser.parse_args(argv)
    if args.rto_minutes is not None and args.rto_minutes <= 0:
        parser.error(f"--rto-minutes must be positive, not {args.rto_minutes:g}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        artifacts, counts = render()
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    budget = budget_of(artifacts, args.rto_minutes)
    artifacts.append(manifest(artifacts, budget))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        stale = write(args.out, artifacts)
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
    for path in stale:
        print(f"  removed {path} (an earlier build's zip)")
    for line in dr_budget.describe(budget):
        print(line)
    print(f"built {len(artifacts)} files in {time.perf_counter() - started:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
