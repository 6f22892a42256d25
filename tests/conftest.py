import json
from pathlib import Path

import pytest

import payments_build
from tests.cfn import Cfn, render
from toolkit import bundle as bundle_module
from toolkit import config as config_module

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE = ROOT / "stacksets" / "environments" / "example.yaml"


def edited_example(directory: Path, old: str, new: str) -> Path:
    """The example config with one piece of text replaced, written to `directory`."""
    text = EXAMPLE.read_text()
    assert old in text
    path = directory / "env.yaml"
    path.write_text(text.replace(old, new, 1))
    return path

PRIMARY = "us-east-1"
SECONDARY = "us-west-2"
BASE_PARAMETERS = {
    "EnvironmentName": "test", "HomeRegion": PRIMARY, "RecoveryRegion": SECONDARY,
    "ApiDomainName": "api.pay.example.com", "ApiHostedZoneId": "Z0123456789ABC",
    "ArtifactBucketPrefix": "payments-test-artifacts-123456789012",
    "FunctionCodeKey": "lambda/functions-" + "a" * 64 + ".zip",
}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """One real build (what `build.py` runs) for every test that reads emitted files."""
    out = tmp_path_factory.mktemp("build")
    assert payments_build.main(["--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def regional(built) -> Cfn:
    return Cfn(json.loads((built / "regional.json").read_text()))


@pytest.fixture(scope="session")
def global_template(built) -> Cfn:
    return Cfn(json.loads((built / "global.json").read_text()))


@pytest.fixture(scope="session")
def templates(regional, global_template) -> dict[str, Cfn]:
    return {"regional": regional, "global": global_template}


@pytest.fixture(scope="session")
def in_region(regional):
    """`in_region("primary" | "secondary", **parameters)`: the regional template as
    CloudFormation resolves it in that role's region."""
    def rendered(role: str, **parameters) -> Cfn:
        region = {"primary": PRIMARY, "secondary": SECONDARY}[role]
        return render(regional.doc, region=region, parameters={**BASE_PARAMETERS, **parameters})
    return rendered



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
    """The session's real `build.py` run: what a deploy would ship."""
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
