"""--local without the rehearsal extra: a clear message, exit 2, no AWS call."""

import sys

import rehearsal
from payments_dr import cli


def test_local_without_moto_names_the_extra(monkeypatch, build_dir, capsys):
    monkeypatch.setitem(sys.modules, "moto", None)  # as if moto were not installed
    for name in [m for m in sys.modules if m.startswith("rehearsal.account")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(rehearsal, "account", raising=False)
    status = cli.main(["plan", "--config", "stacksets/environments/example.yaml", "--local",
                       "--build-dir", str(build_dir)])
    assert status == 2
    err = capsys.readouterr().err
    assert "--local needs the rehearsal extra (moto is missing)" in err
    assert "pip install -e '.[rehearsal]'" in err
    assert "Traceback" not in err
