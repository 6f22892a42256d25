"""The documentation can be trusted: every relative link and anchor exists, every repository
path it names exists, every command it quotes parses with the real command line (each option
exists for that command), and the standby cost table is what the cost model computes."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

import importlib

from payments_dr import cli

build_main = importlib.import_module("payments_build.main")

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_LEVEL = ("templates", "lambda", "payments_build", "payments_dr", "toolkit", "stacksets",
             "runbook", "merchant_keys", "standby_cost", "rehearsal", "tests", "docs", ".ci")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(_without_fences(page.read_text()))}


def _without_fences(text: str) -> str:
    return FENCE.sub("", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_exists(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with that anchor in {file.name}")
    assert broken == []


def repository_paths(text: str) -> set[str]:
    found = set()
    for span in CODE_SPAN.findall(text):
        token = span.split()[0] if span.split() else ""
        token = token.split("::")[0].rstrip(",.;:)")
        if token.startswith(TOP_LEVEL) and "/" in token and not re.search(r"[<>*{}]|YYYY|\.\.\.",
                                                                         token):
            found.add(token)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_repository_path_named_exists(page):
    missing = sorted(p for p in repository_paths(page.read_text()) if not (ROOT / p).exists())
    assert missing == []


def quoted_commands(text: str) -> list[str]:
    """`payments-dr ...` and `python -m stacksets ...` as the pages quote them: every line of
    a code block, and every code span, that starts with one (a `.venv/bin/` prefix allowed)."""
    lines = []
    for block in FENCE.findall(text):
        joined = block.replace("\\\n", " ")
        lines += joined.splitlines()
    lines += CODE_SPAN.findall(text)
    commands = []
    for line in lines:
        line = line.strip().removeprefix(".venv/bin/")
        if line.startswith(("payments-dr ", "python -m stacksets ")):
            commands.append(line)
    return commands


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 (argparse keeps its structure here)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}  # noqa: SLF001


def _positional_choices(parser: argparse.ArgumentParser) -> list[set[str]]:
    return [set(a.choices) for a in parser._actions  # noqa: SLF001
            if not a.option_strings and a.choices and
            not isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001


def check_command(command: str) -> list[str]:
    """What in a quoted command the real parser would not know (empty: it all exists)."""
    tokens = shlex.split(re.sub(r"\[([^\]]*)\]", r"\1", command).replace("|", " "))
    tokens = tokens[1:] if tokens[0] == "payments-dr" else tokens[3:]
    parser = cli.parser()
    problems, words = [], []
    while tokens and not tokens[0].startswith("-"):
        word = tokens.pop(0)
        subparsers = _subparsers(parser)
        if subparsers:
            choices = word.strip("{}").split(",")
            unknown = [c for c in choices if c not in subparsers]
            if unknown:
                problems.append(f"{command}: no command {' '.join(words + unknown)}")
                return problems
            parser = subparsers[choices[0]]
            words.append(word)
            continue
        positional = _positional_choices(parser)
        if positional and word not in positional[0] and not word.startswith("{"):
            problems.append(f"{command}: {word!r} is not one of {sorted(positional[0])}")
    known = _options(parser)
    for token in tokens:
        option = token.split("=")[0]
        if option.startswith("--") and option not in known:
            problems.append(f"{command}: {' '.join(words)} has no option {option}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_quoted_command_exists(page):
    commands = quoted_commands(page.read_text())
    problems = [p for command in commands for p in check_command(command)]
    assert problems == []


def test_the_pages_for_operators_quote_commands():
    """(The command check is not vacuous: the pages people type from do quote commands.)"""
    for page in ("README.md", "docs/rollout.md", "docs/runbook.md"):
        assert len(quoted_commands((ROOT / page).read_text())) >= 5, page


def test_the_command_check_can_fail():
    assert check_command("payments-dr dr failover --to us-west-2 --yes") == [
        "payments-dr dr failover --to us-west-2 --yes: dr failover has no option --yes"]
    assert check_command("payments-dr teleport --config x.yaml") == [
        "payments-dr teleport --config x.yaml: no command teleport"]
    assert check_command("payments-dr keys rotate --config x.yaml") == [
        "payments-dr keys rotate --config x.yaml: 'rotate' is not one of "
        "['create', 'list', 'revoke']"]
    assert repository_paths("`stacksets/prices.json` and `build/x` and `lambda/<x>.zip`") == {
        "stacksets/prices.json"}


def test_the_build_options_the_readme_quotes_exist():
    text = (ROOT / "README.md").read_text()
    quoted = set(re.findall(r"python build\.py \[([^`]*)\]", text))
    options = {o for group in quoted for o in re.findall(r"--[a-z-]+", group)}
    assert options and options <= _options(build_main.parser())


def test_the_standby_cost_table_is_what_the_model_computes(example_config, bundle):
    """The table in docs/operations.md, row by row, against `payments-dr cost` for the
    example environment's default instance class."""
    from standby_cost import estimate
    from templates.names import GLOBAL_REGION

    cost = estimate.for_config(example_config, bundle.regional.document,
                               bundle.global_.document, GLOBAL_REGION)
    text = (ROOT / "docs" / "operations.md").read_text()
    rows = dict(re.findall(r"^\| (\*\*both regions \+ global\*\*|home region|recovery region|"
                           r"global stack)[^|]*\|(.*)\|$", text, re.M))
    home, recovery = example_config.home_region, example_config.recovery_region
    modes = ("nat-per-az", "single-nat", "none")

    def cells(row: str) -> list[float]:
        return [float(c.strip().strip("*")) for c in row.split("|")]

    assert cells(rows["home region"]) == [cost["regions"][home]["modes"][m]["total"]
                                          for m in modes]
    assert cells(rows["recovery region"]) == [cost["regions"][recovery]["modes"][m]["total"]
                                              for m in modes]
    assert cells(rows["global stack"]) == [cost["global"]["total"]] * 3
    assert cells(rows["**both regions + global**"]) == [cost["both_regions_and_global"][m]
                                                         for m in modes]
    alarms = {region: next(line["item"] for line in cost["regions"][region]["modes"][
        "nat-per-az"]["lines"] if line["item"].startswith("CloudWatch alarms"))
        for region in (home, recovery)}
    for region, label in ((home, "home region"), (recovery, "recovery region")):
        count = alarms[region].split(": ")[1]
        assert re.search(rf"^\| {label} \([^)]*{count} alarms\)", text, re.M), (region, count)


def test_the_promise_section_quotes_the_templates_defaults(regional):
    """README "What a 201 promises": each parameter quoted with a value is that parameter's
    default in the regional template."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## What a 201 promises", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"`(ZeroLoss\w*)` \((\d+) (?:ms|s)\)", section)
    assert {name for name, _ in quoted} == {"ZeroLossWaitMs", "ZeroLossDegradeAfterSeconds"}
    parameters = regional.doc["Parameters"]
    for name, value in quoted:
        assert str(parameters[name]["Default"]) == value, name
    assert "(`ZeroLoss`, the\n  default)" in section and parameters["ZeroLoss"]["Default"] == "on"
