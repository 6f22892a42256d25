"""build.py: deterministic bytes, an honest manifest, clear errors, no AWS."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent


def run_build(*args, env=None):
    return subprocess.run([sys.executable, "build.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)


def test_two_builds_are_byte_identical(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = run_build("--out", str(out))
        assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    names = {str(f) for f in files}
    assert {"global.json", "manifest.json", "regional.json"} <= names
    zips = [n for n in names if n.startswith("lambda/") and n.endswith(".zip")]
    assert len(zips) == 1  # one code artifact for every function
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_build_does_not_depend_on_hash_seed_or_locale(tmp_path):
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "LC_ALL": "C", "TZ": f"UTC+{seed}"}
        out = tmp_path / seed
        assert run_build("--out", str(out), env=env).returncode == 0
        outputs.append({p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0] == outputs[1]


def test_manifest_lists_every_artifact_with_its_hash_and_size(built):
    manifest = json.loads((built / "manifest.json").read_text())["artifacts"]
    on_disk = {str(p.relative_to(built)) for p in built.rglob("*")
               if p.is_file() and p.name != "manifest.json"}
    assert set(manifest) == on_disk
    for path, entry in manifest.items():
        data = (built / path).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def test_json_is_sorted_and_ends_with_a_newline(built):
    for name in ("regional.json", "global.json", "manifest.json"):
        text = (built / name).read_text()
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_summary_names_resource_counts_and_paths(tmp_path):
    result = run_build("--out", str(tmp_path))
    assert result.returncode == 0
    assert f"{tmp_path / 'regional.json'}" in result.stdout
    assert "resources" in result.stdout


def test_out_that_is_a_file_is_a_clear_error(tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    result = run_build("--out", str(target))
    assert result.returncode == 2
    assert "exists and is not a directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories anyway")
def test_unwritable_out_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_build("--out", str(locked / "sub"))
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2
    assert "cannot write to --out" in result.stderr and "Traceback" not in result.stderr


def test_out_under_proc_is_a_clear_error():
    # /proc refuses new entries even for root: an unwritable --out in any environment.
    result = run_build("--out", "/proc/payments-dr-build")
    assert result.returncode == 2
    assert "cannot write to --out /proc/payments-dr-build" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_makes_no_aws_call(tmp_path):
    # No credentials, no region, and an endpoint that cannot answer: a call would fail.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               AWS_ENDPOINT_URL="http://127.0.0.1:9")
    assert run_build("--out", str(tmp_path), env=env).returncode == 0


def test_rebuild_removes_only_earlier_zips_of_ours(tmp_path):
    lambda_dir = tmp_path / "lambda"
    lambda_dir.mkdir()
    earlier = lambda_dir / f"processor-{'0' * 64}.zip"  # a per-function zip of an earlier version
    earlier.write_bytes(b"an earlier build")
    foreign = lambda_dir / "notes.zip"
    foreign.write_bytes(b"not ours")
    result = run_build("--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert not earlier.exists() and f"removed {earlier}" in result.stdout
    older = lambda_dir / f"functions-{'1' * 64}.zip"
    older.write_bytes(b"an earlier code zip")
    assert run_build("--out", str(tmp_path)).returncode == 0
    assert not older.exists()
    assert foreign.read_bytes() == b"not ours"
    manifest = json.loads((tmp_path / "manifest.json").read_text())["artifacts"]
    ours = {f"lambda/{p.name}" for p in lambda_dir.glob("*.zip") if p != foreign}
    assert ours == {path for path in manifest if path.startswith("lambda/")}
