"""The layout, read from the code's own imports: what may import what.

- templates/ (the CloudFormation) imports neither the build nor any operator tool;
- the Lambda package `payments` imports nothing of ours but itself;
- the operator commands (toolkit, stacksets, runbook, merchant_keys, standby_cost, verify) never
  import the rehearsal tooling (rehearsal/, the `rehearsal` extra): only payments_dr/local.py
  does, and only when a command is given --local or `dr drill`;
- payments_dr (the console command) is the top: nothing imports it;
- setup.cfg installs exactly the packages on disk.
"""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"payments": ROOT / "lambda" / "payments"}
OURS = ("templates", "payments_build", "payments_dr", "toolkit", "stacksets", "runbook",
        "merchant_keys", "standby_cost", "verify", "rehearsal", "payments")
OPERATOR = ("toolkit", "stacksets", "runbook", "merchant_keys", "standby_cost", "verify")


def package_root(package: str) -> Path:
    return PACKAGE_DIRS.get(package, ROOT / package)


def modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of one top-level package."""
    root = package_root(package)
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([package, *parts])] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """Every module an import statement names, anywhere in the file (inside functions too)."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            named.add(prefix)
            named |= {f"{prefix}.{alias.name}" for alias in node.names}
    return named


def ours(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in OURS else None


def edges(package: str) -> dict[str, set[str]]:
    """Module of `package` -> the top-level packages of ours it imports (other than itself)."""
    return {module: {p for p in map(ours, imports(module, path)) if p and p != package}
            for module, path in modules(package).items()}


def offenders(package: str, forbidden: set[str]) -> dict[str, set[str]]:
    return {m: found & forbidden for m, found in edges(package).items() if found & forbidden}


def test_templates_import_neither_the_build_nor_the_operator_tools():
    assert offenders("templates", set(OURS) - {"templates", "payments"}) == {}


def test_the_lambda_package_imports_nothing_of_ours():
    assert offenders("payments", set(OURS) - {"payments"}) == {}


def test_the_build_imports_no_operator_tool():
    assert offenders("payments_build", {"payments_dr", "rehearsal", *OPERATOR}) == {}


@pytest.mark.parametrize("package", OPERATOR)
def test_operator_commands_do_not_import_the_rehearsal_tooling(package):
    assert offenders(package, {"rehearsal"}) == {}


@pytest.mark.parametrize("package", (*OPERATOR, "rehearsal"))
def test_the_cli_is_the_top_no_command_imports_it(package):
    """(`python -m stacksets`, stacksets/__main__.py, is an entry point into the CLI.)"""
    found = offenders(package, {"payments_dr"})
    assert {m: v for m, v in found.items() if not m.endswith(".__main__")} == {}


def test_only_the_local_entry_of_the_cli_imports_the_rehearsal_tooling():
    assert set(offenders("payments_dr", {"rehearsal"})) == {"payments_dr.local"}


def test_a_command_without_local_loads_no_rehearsal_module(tmp_path):
    """At run time too: `status` against an account (refused here for want of credentials)
    never loads rehearsal/ or moto."""
    probe = ("import sys\n"
             "from payments_dr import cli\n"
             "code = cli.main(['status', '--config', 'stacksets/environments/example.yaml', "
             f"'--build-dir', {str(tmp_path / 'none')!r}])\n"
             "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('rehearsal', "
             "'moto'))\n"
             "print(code, loaded)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "2 []", done.stderr[-2000:]


def test_setup_cfg_installs_exactly_the_packages_on_disk():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    listed = set(setup["options"]["packages"].split())
    on_disk = {m for package in OURS for m, p in modules(package).items()
               if p.name == "__init__.py"}
    assert listed == on_disk
    mapping = dict(line.split(" = ") for line in
                   setup["options"]["package_dir"].strip().splitlines())
    assert mapping == {name: str(path.relative_to(ROOT))
                       for name, path in PACKAGE_DIRS.items()}
