"""What the rollout deploys: the output of `build.py`, built in-process or read from a directory.

Nothing about the templates is assumed here: parameters, outputs and resource types are read
from the emitted JSON, and every artifact is checked against the manifest's sha256 so a
half-written or stale build directory is refused rather than deployed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import payments_build
from templates import names
from templates.service import CODE_ARTIFACT_STEM

REGIONAL, GLOBAL, MANIFEST = "regional.json", "global.json", "manifest.json"
# The Lambda code parameter and the zip it names: build/lambda/<stem>-<sha256>.zip. The S3 key
# is the path relative to the build directory (lambda/<stem>-<sha256>.zip), in every region.
CODE_ZIPS = {names.FUNCTION_CODE_KEY: CODE_ARTIFACT_STEM}


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def parameters(self) -> dict[str, Any]:
        return self.document.get("Parameters", {})

    @property
    def outputs(self) -> dict[str, Any]:
        return self.document.get("Outputs", {})

    @property
    def resource_types(self) -> list[str]:
        return sorted({r["Type"] for r in self.document.get("Resources", {}).values()})


@dataclass(frozen=True)
class Bundle:
    regional: Template
    global_: Template
    zips: dict[str, bytes]  # path relative to the build (content-hashed) -> bytes

    def code_keys(self, declared: dict[str, Any]) -> dict[str, str]:
        """The code key parameter's value: the zip's path in the build (it is the S3 key).
        Only for parameters the regional template declares."""
        wanted = {p: stem for p, stem in CODE_ZIPS.items() if p in declared}
        if not wanted:
            return {}
        keys, missing = {}, []
        for parameter, stem in wanted.items():
            matches = sorted(n for n in self.zips if n.startswith(f"lambda/{stem}-"))
            if len(matches) != 1:
                missing.append(f"the regional template declares {parameter}: the build must "
                               f"emit exactly one lambda/{stem}-<sha256>.zip, found "
                               f"{matches or 'none'}")
            else:
                keys[parameter] = matches[0]
        if missing:
            raise BuildError("; ".join(missing) + f" (zips in the build: {sorted(self.zips)})")
        return keys


def build_in_memory() -> Bundle:
    """Build into a temporary directory that is removed afterwards: the bundle holds every
    byte it ships, and nothing is written to the checkout (`plan` writes nothing)."""
    with tempfile.TemporaryDirectory(prefix="payments-dr-build-") as out:
        return build(Path(out))


def build(out: Path) -> Bundle:
    """Run the build (`payments_build`, what `build.py` runs) in-process into `out` (its
    progress goes to stderr) and load the result, so a deploy always ships the templates of
    the installed or checked-out code."""
    with contextlib.redirect_stdout(sys.stderr):
        status = payments_build.main(["--out", str(out)])
    if status != 0:
        raise BuildError(f"build.py --out {out} failed with exit status {status}")
    return load(out)


def load(directory: Path) -> Bundle:
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise BuildError(f"{manifest_path} is missing: run `python build.py --out {directory}` "
                         "or drop --build-dir to build in-process")
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (OSError, ValueError) as error:
        raise BuildError(f"{manifest_path} cannot be read as JSON ({error}): rebuild it with "
                         f"`python build.py --out {directory}`") from None
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict) or not all(
            isinstance(d, dict) for d in artifacts.values()):
        raise BuildError(f"{manifest_path} has no `artifacts` mapping of file to sha256: "
                         f"rebuild it with `python build.py --out {directory}`")
    files: dict[str, bytes] = {}
    root = directory.resolve()
    for relative, description in sorted(artifacts.items()):
        path = (directory / relative).resolve()
        if not path.is_relative_to(root):
            raise BuildError(f"{MANIFEST} in {directory} names {relative!r}, outside the "
                             "build directory")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise BuildError(f"{directory / relative} (listed in {MANIFEST}) cannot be read "
                             f"({error.strerror or type(error).__name__}): the build "
                             "directory is stale or half-written; rebuild it") from None
        if hashlib.sha256(data).hexdigest() != description.get("sha256"):
            raise BuildError(f"{directory / relative} does not match {MANIFEST} (sha256): "
                             "the build directory is stale or half-written; rebuild it")
        files[relative] = data
    for required in (REGIONAL, GLOBAL):
        if required not in files:
            raise BuildError(f"{MANIFEST} in {directory} lists no {required}")
    zips = {p: data for p, data in files.items()
            if p.startswith("lambda/") and p.endswith(".zip")}
    return Bundle(Template(REGIONAL, files[REGIONAL]),
                  Template(GLOBAL, files[GLOBAL]), zips)
