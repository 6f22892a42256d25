import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import payments_build  # noqa: E402
from tests.cfn import Cfn, render  # noqa: E402

PRIMARY = "us-east-1"
SECONDARY = "us-west-2"
BASE_PARAMETERS = {
    "EnvironmentName": "test", "HomeRegion": PRIMARY, "RecoveryRegion": SECONDARY,
    "ApiDomainName": "api.pay.example.com", "ApiHostedZoneId": "Z0123456789ABC",
    "ArtifactBucketPrefix": "payments-test-artifacts-123456789012",
    "ProcessorCodeKey": "lambda/processor-" + "a" * 64 + ".zip",
    "HealthCodeKey": "lambda/health-" + "b" * 64 + ".zip",
    "AuthorizerCodeKey": "lambda/authorizer-" + "c" * 64 + ".zip",
    "MigrateCodeKey": "lambda/migrate-" + "d" * 64 + ".zip",
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
