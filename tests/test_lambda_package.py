"""The Lambda zips: reproducible, content-addressed, and complete (they import on their own)."""

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from payments_build import lambda_zips as build
from payments_build.lambda_zips import FUNCTIONS
from templates.service import CODE_KEY_PATTERN

ROOT = Path(__file__).resolve().parent.parent

# What the Lambda Python runtime provides besides the standard library (AWS Lambda Developer
# Guide, "Building Lambda functions with Python": the runtime includes the SDK for Python).
RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py"]
CARRIED = ["pg8000", "scramp", "asn1crypto"]


def zips(built: Path) -> dict[str, Path]:
    return {p.name.split("-", 1)[0]: p for p in (built / "lambda").glob("*.zip")}


def test_one_zip_per_function_named_by_its_hash(built):
    found = zips(built)
    assert set(found) == {spec.key for spec in FUNCTIONS}
    for key, path in found.items():
        assert path.name == f"{key}-{hashlib.sha256(path.read_bytes()).hexdigest()}.zip"
        relative = path.relative_to(built).as_posix()
        assert re.fullmatch(CODE_KEY_PATTERN.format(function=key), relative)


def test_code_key_parameters_refuse_anything_but_a_content_hash():
    for spec in FUNCTIONS:
        pattern = CODE_KEY_PATTERN.format(function=spec.key)
        for bad in (f"lambda/{spec.key}-placeholder.zip", f"lambda/{spec.key}.zip",
                    f"lambda/{spec.key}-{'0' * 63}.zip", "lambda_placeholder.zip"):
            assert not re.fullmatch(pattern, bad), bad


def test_zip_entries_are_sorted_with_fixed_timestamps_and_modes(built):
    for path in zips(built).values():
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {build.ZIP_EPOCH}
        assert {i.external_attr >> 16 for i in infos} == {build.ZIP_FILE_MODE}
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert not [n for n in names if n.endswith(("/RECORD", "/direct_url.json"))]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_zip_imports_its_handler_in_a_clean_interpreter(built, tmp_path, function):
    """Unpacked alone, beside only what the Lambda runtime provides, the handler imports and
    its third-party dependencies come from the zip."""
    code = tmp_path / "task"
    with zipfile.ZipFile(zips(built)[function.key]) as archive:
        archive.extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(__import__("boto3").__file__).parent.parent
    for name in RUNTIME_PROVIDED:
        (runtime / name).symlink_to(site / name)
    module, attribute = function.handler.split(".")
    probe = (
        "import importlib, json, sys\n"
        f"sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler)\n"
        f"origins = {{m: sys.modules[m].__file__ for m in {CARRIED!r} if m in sys.modules}}\n"
        "print(json.dumps(origins))\n"
    )
    # -S: no site-packages, -I: no user site or PYTHON* variables: only the two paths above.
    result = subprocess.run([sys.executable, "-S", "-I", "-c", probe], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    origins = json.loads(result.stdout)
    if function.key == "authorizer":  # one GetItem: no database driver on its cold start
        assert "pg8000" not in origins, "the authorizer imports the database driver"
    else:
        assert "pg8000" in origins, "the handler does not import the database driver"
    for module_name, origin in origins.items():
        assert origin.startswith(str(code)), f"{module_name} came from {origin}, not the zip"


@pytest.mark.parametrize("function", ["processor", "health"])
def test_zip_carries_the_rds_ca_bundle(built, function):
    """Lambda unpacks the zip to /var/task: DB_TLS_CA_FILE=/var/task/certs/rds-ca-bundle.pem."""
    bundle = ROOT / "lambda" / "certs" / "rds-ca-bundle.pem"
    with zipfile.ZipFile(zips(built)[function]) as archive:
        assert archive.read("certs/rds-ca-bundle.pem") == bundle.read_bytes()
        certs = [n for n in archive.namelist() if n.startswith("certs/")]
    assert certs == ["certs/rds-ca-bundle.pem"], "only the bundle, not refresh.py or SOURCE.json"


def test_requirements_must_be_exact_pins(tmp_path):
    loose = tmp_path / "requirements.txt"
    loose.write_text("pg8000>=1.30\n")
    with pytest.raises(build.BuildError, match=r"requirements.txt:1: 'pg8000>=1.30' is not an exact pin"):
        build.pinned_requirements(loose)


def test_a_pin_that_differs_from_the_installed_version_is_a_clear_error():
    with pytest.raises(build.BuildError, match=r"pins pg8000==0\.0\.1 but .* is installed"):
        build.dependency_files("pg8000", "0.0.1")
    with pytest.raises(build.BuildError, match=r"no-such-package==1\.0 .* is not installed"):
        build.dependency_files("no-such-package", "1.0")


def test_runtime_provided_packages_are_not_carried():
    assert not {"boto3", "botocore"} & {n.lower() for n in build.pinned_requirements()}
