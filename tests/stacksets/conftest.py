from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

from stacksets import bundle as bundle_module  # noqa: E402
from stacksets import config as config_module  # noqa: E402

EXAMPLE = ROOT / "stacksets" / "environments" / "example.yaml"


@pytest.fixture(autouse=True)
def own_rehearsal_state(monkeypatch, tmp_path):
    """Every test's `--local` runs start from an empty account (their own journal)."""
    monkeypatch.setenv("STACKSETS_REHEARSAL_STATE_DIR", str(tmp_path / "rehearsal"))


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch):
    """Fake credentials everywhere: nothing in these tests may reach AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def build_dir(built) -> Path:
    """The session's real `build.py` run (tests/conftest.py): what a deploy would ship."""
    return built


@pytest.fixture(scope="session")
def bundle(build_dir):
    return bundle_module.load(build_dir)


@pytest.fixture(scope="session")
def raw_example():
    return config_module.read(EXAMPLE)


@pytest.fixture
def example_config(bundle, raw_example):
    return config_module.validate(raw_example, str(EXAMPLE), bundle.regional.parameters)
