"""Artifacts in memory, the manifest, and writing them to the output directory."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

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


def manifest(artifacts: list[Artifact], budget: dict | None = None) -> Artifact:
    body = {"artifacts": {a.path: a.describe() for a in sorted(artifacts, key=lambda a: a.path)}}
    if budget is not None:
        body["dr_budget"] = budget
    return Artifact(MANIFEST, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())


def write(out: Path, artifacts: list[Artifact], ours: re.Pattern) -> list[Path]:
    """Write every artifact; remove zips of earlier builds (only files whose name matches
    `ours`) so the directory holds exactly what the manifest lists. Returns the removed paths."""
    for artifact in artifacts:
        target = out / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artifact.data)
    current = {out / a.path for a in artifacts}
    stale = [p for p in sorted((out / "lambda").glob("*.zip"))
             if ours.fullmatch(p.name) and p not in current]
    for path in stale:
        path.unlink()
    return stale
