"""The Lambda code zip: one for every function, reproducible, content-addressed, and complete
(each handler imports and runs from it alone)."""

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from payments_build import lambda_zips as build
from templates import names
from templates.authorizer import AUTHORIZER
from templates.reconcile import RECONCILE
from templates.service import CODE_KEY_PATTERN, FUNCTIONS as SERVICE_FUNCTIONS, handler

ROOT = Path(__file__).resolve().parent.parent

# What the Lambda Python runtime provides besides the standard library (AWS Lambda Developer
# Guide, "Building Lambda functions with Python": the runtime includes the SDK for Python).
RUNTIME_PROVIDED = ["boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py"]
CARRIED = ["pg8000", "scramp", "asn1crypto"]
FUNCTIONS = (*SERVICE_FUNCTIONS, RECONCILE, AUTHORIZER)


def code_zip(built: Path) -> Path:
    (found,) = (built / "lambda").glob("*.zip")
    return found


def test_one_code_zip_named_by_its_hash(built):
    path = code_zip(built)
    assert path.name == f"functions-{hashlib.sha256(path.read_bytes()).hexdigest()}.zip"
    assert re.fullmatch(CODE_KEY_PATTERN, path.relative_to(built).as_posix())


def test_every_function_runs_from_the_one_code_zip(regional):
    functions = {lid: regional.props(lid) for lid in regional.of_type("AWS::Lambda::Function")}
    assert {props["Code"]["S3Key"]["Ref"] for props in functions.values()} == \
        {names.FUNCTION_CODE_KEY}
    assert {props["Handler"] for props in functions.values()} == \
        {handler(spec) for spec in FUNCTIONS}


def test_the_code_key_parameter_refuses_anything_but_a_content_hash():
    for bad in ("lambda/functions-placeholder.zip", "lambda/functions.zip",
                f"lambda/functions-{'0' * 63}.zip", "lambda_placeholder.zip",
                f"lambda/processor-{'0' * 64}.zip"):
        assert not re.fullmatch(CODE_KEY_PATTERN, bad), bad


def test_zip_entries_are_sorted_with_fixed_timestamps_and_modes(built):
    with zipfile.ZipFile(code_zip(built)) as archive:
        infos = archive.infolist()
    names_ = [i.filename for i in infos]
    assert names_ == sorted(names_)
    assert {i.date_time for i in infos} == {build.ZIP_EPOCH}
    assert {i.external_attr >> 16 for i in infos} == {build.ZIP_FILE_MODE}
    assert not [n for n in names_ if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names_ if n.endswith(("/RECORD", "/direct_url.json"))]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.key)
def test_zip_runs_each_handler_in_a_clean_interpreter(built, tmp_path, function):
    """Unpacked alone, beside only what the Lambda runtime provides, each function's handler
    imports and runs (without its environment it answers or fails cleanly), and its
    third-party dependencies come from the zip."""
    code = tmp_path / "task"
    with zipfile.ZipFile(code_zip(built)) as archive:
        archive.extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(__import__("boto3").__file__).parent.parent
    for name in RUNTIME_PROVIDED:
        (runtime / name).symlink_to(site / name)
    module, attribute = handler(function).rsplit(".", 1)
    probe = (
        "import importlib, json, sys\n"
        f"sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler)\n"
        "try:\n"
        "    handler({'headers': {}, 'httpMethod': 'POST', 'requestContext': {}}, None)\n"
        "except Exception:\n"
        "    pass  # no environment here: only the imports of its first call matter\n"
        f"origins = {{m: sys.modules[m].__file__ for m in {CARRIED!r} if m in sys.modules}}\n"
        "print(json.dumps(origins))\n"
    )
    # -S: no site-packages, -I: no user site or PYTHON* variables: only the two paths above.
    result = subprocess.run([sys.executable, "-S", "-I", "-c", probe], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    origins = json.loads(result.stdout.splitlines()[-1])
    if function.key == "authorizer":  # one GetItem: no database driver on its cold start
        assert "pg8000" not in origins, "the authorizer imports the database driver"
    else:
        assert "pg8000" in origins, "the handler does not import the database driver"
    for module_name, origin in origins.items():
        assert origin.startswith(str(code)), f"{module_name} came from {origin}, not the zip"


def test_zip_carries_the_rds_ca_bundle(built):
    """Lambda unpacks the zip to /var/task: DB_TLS_CA_FILE=/var/task/certs/rds-ca-bundle.pem."""
    bundle = ROOT / "lambda" / "certs" / "rds-ca-bundle.pem"
    with zipfile.ZipFile(code_zip(built)) as archive:
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
