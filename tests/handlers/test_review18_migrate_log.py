"""Review of issue 18: the migrate function's log line (a defect, marked xfail).

``payments.handlers.migrate`` logs "schema deployed" (with ``databases_open_to_every_role``,
the databases any role may still connect to) through the package logger without ever calling
``logs.configure``: in a fresh container the ``payments`` logger has no handler, the INFO line
falls through to the root logger (WARNING) and is dropped, and anything it did write would
bypass the JSON formatter and its card-number scan.
"""

from __future__ import annotations

import json
import logging
import os

import pytest
from payments import handlers

from rehearsal.localpg import DATABASE

from .conftest import LOOPBACK, OTHER_REGION, OTHER_REGION_CIDR, REGION, SECRET_ARNS, Api


@pytest.mark.xfail(strict=True, reason="review18 F8: the migrate handler never configures the "
                   "JSON logger, so its 'schema deployed' line is never written")
def test_the_migrate_function_writes_its_json_log_line(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package_logger = logging.getLogger("payments")
    # A fresh container: nothing configured the package logger yet.
    monkeypatch.setattr(package_logger, "handlers", [])
    monkeypatch.setattr(package_logger, "propagate", True)
    monkeypatch.setattr(package_logger, "level", logging.NOTSET)
    for name, value in {"DB_NAME": DATABASE, "AWS_REGION": REGION,
                        "DB_MASTER_SECRET_ARN": SECRET_ARNS["master"],
                        "DB_MIGRATOR_SECRET_ARN": SECRET_ARNS["migrator"],
                        "DB_SECRET_ARN": SECRET_ARNS["app"],
                        "HOME_REGION": REGION, "HOME_VPC_CIDR": LOOPBACK,
                        "RECOVERY_REGION": OTHER_REGION,
                        "RECOVERY_VPC_CIDR": OTHER_REGION_CIDR}.items():
        monkeypatch.setenv(name, value)
    assert os.environ["DB_HOST"]
    capsys.readouterr()

    outcome = handlers.migrate({}, None)

    lines = [json.loads(t) for t in capsys.readouterr().out.splitlines() if t.startswith("{")]
    assert "databases_open_to_every_role" in outcome
    assert [line["message"] for line in lines] == ["schema deployed"], lines
