"""One code artifact for every function: the `payments` package (whose `handlers` module holds
each function's entry point), the SQL schema, the RDS CA bundle and the pinned pure-Python
dependencies, with sorted entries and fixed timestamps and modes, named
`lambda/functions-<sha256 of the zip>.zip`. One zip means one upload per region, one hash, and
one thing to deploy: the functions differ only by their `Handler`."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import re
import zipfile
from pathlib import Path

from templates.service import CODE_ARTIFACT_STEM

from payments_build.errors import BuildError
from payments_build.output import Artifact
from payments_build.sources import REQUIREMENTS, lambda_source

# Zip entries carry this timestamp and mode whatever the checkout's mtimes and umask are.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o644
# Installer bookkeeping that differs between machines (paths, installer name) stays out.
DIST_INFO_SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# Ours in a build directory: the code zip, and the per-function zips earlier versions made
# (a rebuild removes them).
ZIP_NAME = re.compile(rf"({CODE_ARTIFACT_STEM}|processor|health|migrate|authorizer)"
                      r"-[0-9a-f]{64}\.zip")


def pinned_requirements(path: Path | None = None) -> dict[str, str]:
    """`name==version` lines of lambda/requirements.txt (exact pins only)."""
    path = path or lambda_source() / REQUIREMENTS
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


def source_files(source: Path) -> dict[str, bytes]:
    """The `payments` package, the SQL schema and the RDS CA bundle (lambda/certs/*.pem)."""
    files = {}
    for folder, pattern in (("payments", "*.py"), ("schema", "*.sql"), ("certs", "*.pem")):
        for path in (source / folder).rglob(pattern):
            if "__pycache__" not in path.parts:
                files[path.relative_to(source).as_posix()] = path.read_bytes()
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
    """The code zip, named `lambda/functions-<sha256 of the zip>.zip`."""
    source = lambda_source()
    files = {}
    for name, version in pinned_requirements(source / REQUIREMENTS).items():
        files.update(dependency_files(name, version))
    data = deterministic_zip({**files, **source_files(source)})
    digest = hashlib.sha256(data).hexdigest()
    return [Artifact(f"lambda/{CODE_ARTIFACT_STEM}-{digest}.zip", data)]
