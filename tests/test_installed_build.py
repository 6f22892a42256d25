"""A regular install (no checkout) builds the same bytes: the build is an installed package
(`payments_build`) and the Lambda source travels as setup.cfg `data_files`."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from setuptools.config.setupcfg import read_configuration

from payments_build.errors import BuildError
from payments_build.sources import lambda_source

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("templates", "stacksets", "payments_build")


def install_like_pip(prefix: Path, site: Path) -> None:
    """What `pip install .` lays out: the packages in site-packages, setup.cfg's data_files
    under the prefix (and no checkout anywhere)."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # setuptools' own reading of setup.cfg (it rewrites '-' in option names to '_')
    options = read_configuration(ROOT / "setup.cfg")["options"]
    for target, sources in options["data_files"]:
        (prefix / target).mkdir(parents=True, exist_ok=True)
        for source in sources:
            shutil.copy(ROOT / source, prefix / target)


def test_an_installed_copy_builds_the_same_bytes_without_a_checkout(tmp_path, built):
    prefix, site, out, elsewhere = (tmp_path / n for n in ("prefix", "site", "out", "cwd"))
    site.mkdir()
    elsewhere.mkdir()
    install_like_pip(prefix, site)
    assert not (site / "lambda").exists() and not (site / "build.py").exists()
    assert installed_suffix() == ("share", "payments_dr", "lambda")
    code = ("import sys; from pathlib import Path; import payments_build.sources as s; "
            f"s.INSTALLED = Path({str(prefix / 'share/payments_dr/lambda')!r}); "
            "from toolkit import bundle; "
            f"b = bundle.build(Path({str(out)!r})); print(b.regional.sha256)")
    result = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True,
                            text=True, timeout=120, env={"PYTHONPATH": str(site),
                                                         "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for path in built.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(built)).read_bytes() == path.read_bytes(), path


def test_a_missing_lambda_source_names_where_it_looked(tmp_path):
    with pytest.raises(BuildError, match=f"the Lambda source is missing: looked in {tmp_path}"):
        lambda_source((tmp_path,))


def installed_suffix():
    """Where sources.py looks, relative to the install prefix."""
    from payments_build import sources

    return sources.INSTALLED.parts[-3:]
