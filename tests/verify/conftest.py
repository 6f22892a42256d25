"""A deployed environment as `payments-dr verify` meets it: the fake account (fakes.py), each
region's API on a loopback address with a certificate the test CA issued (api_servers.py), and
this machine's resolver and trust store pointed at them. Either region can be home."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stacksets.context import desired
from tests.conftest import EXAMPLE
from tests.handlers.tls_pki import ThrowawayCA
from tests.runbook.fakes import FakeAws, domain_target
from tests.stubs import reporter
from tests.verify.api_servers import Apis
from tests.verify.fakes import DOMAIN, VerifyCloud, health_domain_target
from toolkit import config as config_module
from toolkit.context import Context
from verify import command

REGIONS = ("us-east-1", "us-west-2")


def config_for(home: str, bundle, tmp_path: Path):
    """The example environment with `home` as its home region."""
    recovery = next(r for r in REGIONS if r != home)
    path = tmp_path / f"home-{home}.yaml"
    path.write_text(EXAMPLE.read_text().replace("home: us-east-1", f"home: {home}")
                    .replace("recovery: us-west-2", f"recovery: {recovery}")
                    .replace("  us-west-2:\n    EgressMode", f"  {recovery}:\n    EgressMode"))
    return config_module.validate(config_module.read(path), str(path), bundle.regional.parameters)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    return ThrowawayCA(tmp_path_factory.mktemp("verify-pki"), "api")


@dataclass
class World:
    config: object
    cloud: VerifyCloud
    apis: Apis
    ca: ThrowawayCA
    lines: list[str] = field(default_factory=list)
    document: dict = field(default_factory=dict)
    aws: FakeAws | None = None

    @property
    def home(self) -> str:
        return self.cloud.home

    @property
    def recovery(self) -> str:
        return self.cloud.recovery

    def run(self, lost: str | None = None, mode: str = "json") -> int:
        """`verify` with the fake account (verify.command.run, as the CLI calls it)."""
        self.lines.clear()
        out = reporter(self.lines, mode)
        self.aws = FakeAws(self.cloud)
        ctx = Context(self.config, None, self.aws, out)
        code = command.run(ctx, argparse.Namespace(lost=lost, config=self.config.path))
        self.document = out.document
        return code

    def result(self, name: str, region: str | None = None) -> dict:
        (found,) = [c for c in self.document["checks"]
                    if c["name"] == name and c["region"] == region]
        return found

    def results(self) -> dict[tuple[str, str | None], str]:
        return {(c["name"], c["region"]): c["result"] for c in self.document["checks"]}


@pytest.fixture(params=REGIONS, ids=["home-us-east-1", "home-us-west-2"])
def world(request, bundle, ca, tmp_path, monkeypatch) -> Iterator[World]:
    home = request.param
    config = config_for(home, bundle, tmp_path)
    cloud = VerifyCloud(config.home_region, config.recovery_region, config)
    cloud.deploy(config, desired(config, bundle))
    certificates = {r: ca.issue(f"api-{r}", [DOMAIN, f"{r}.{DOMAIN}"]) for r in REGIONS}
    apis = Apis(cloud, certificates)
    for region in REGIONS:
        apis.names.update({f"{region}.{DOMAIN}": region, domain_target(region): region,
                           health_domain_target(region): region})
    apis.names[DOMAIN] = home  # DNS serves PRIMARY, home
    monkeypatch.setattr(socket, "getaddrinfo", apis.getaddrinfo)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    try:
        yield World(config, cloud, apis, ca)
    finally:
        apis.close()
