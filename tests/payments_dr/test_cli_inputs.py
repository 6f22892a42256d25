"""Command-line input refused as bad input (exit 2) before the work it would cost: the
production-name check before the build, a --profile the AWS config does not have, paths that
are not regular files, arguments too large to echo, numbers that are not numbers, and
argparse's own errors in the one JSON shape."""

from __future__ import annotations

import json

import pytest

from payments_dr import cli
from tests.conftest import EXAMPLE


def _config(tmp_path, old, new):
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "env.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_production_name_with_production_false_is_refused_before_the_build(
        capsys, monkeypatch, tmp_path):
    """docs/rollout.md: refused before the build (the check ran after it, in validate())."""
    from toolkit import bundle as bundle_module

    def never_build(*args, **kwargs):
        raise AssertionError("the build ran")

    monkeypatch.setattr(bundle_module, "build_in_memory", never_build)
    path = _config(tmp_path, "environment: example", "environment: prod")
    status = cli.main(["plan", "--config", str(path), "--output", "json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 2 and "names a production environment" in document["error"]["message"]
