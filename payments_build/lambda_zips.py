"""One zip per function: the handler module, the shared `payments` package, the SQL schema and
the pinned pure-Python dependencies, with sorted entries and fixed timestamps and modes, named
`lambda/<function>-<sha256 of the zip>.zip`."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import re
import zipfile
from pathlib import Path

from templates.authorizer import AUTHORIZER
from templates.service import FUNCTIONS as SERVICE_FUNCTIONS

from payments_build.errors import BuildError
from payments_build.output import Artifact
from payments_build.sources import REQUIREMENTS, lambda_source

# Zip entries carry this timestamp and mode whatever the checkout's mtimes and umask are.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o644
# Installer bookkeeping that differs between machines (paths, installer name) stays out.
DIST_INFO_SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# Every function the regional template runs: one zip each.
FUNCTIONS = (*SERVICE_FUNCTIONS, AUTHORIZER)
ZIP_NAME = re.compile(rf"({'|'.join(spec.key for spec in FUNCTIONS)})-[0-9a-f]{{64}}\.zip")


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


def source_files(handler_module: str, source: Path) -> dict[str, bytes]:
    """The handler module, the shared `payments` package, the SQL schema and the RDS CA
    bundle (lambda/certs/*.pem)."""
    files = {f"{handler_module}.py": (source / f"{handler_module}.py").read_bytes()}
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
    """One zip per function, named `lambda/<function>-<sha256 of the zip>.zip`."""
    source = lambda_source()
    dependencies = {}
    for name, version in pinned_requirements(source / REQUIREMENTS).items():
        dependencies.update(dependency_files(name, version))
    artifacts = []
    for spec in FUNCTIONS:
        handler_module = spec.handler.split(".", 1)[0]
        data = deterministic_zip({**dependencies, **source_files(handler_module, source)})
        digest = hashlib.sha256(data).hexdigest()
        artifacts.append(Artifact(f"lambda/{spec.key}-{digest}.zip", data))
    return artifacts
