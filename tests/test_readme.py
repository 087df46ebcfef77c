"""The README's counts and tables stay true: they are read from the README and compared with the code and data."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import typer
from conftest import shared_data

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split())}


def section(title: str) -> str:
    """The text of the README section ``## title`` up to the next ``## ``."""
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


def as_int(word: str) -> int:
    return NUMBER_WORDS[word] if word in NUMBER_WORDS else int(word.replace(",", ""))


def test_quick_start_is_two_commands_the_demo_then_the_tests():
    block = re.search(r"```sh\n(.*?)```", section("Quick start"), re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("triage demo") and "pytest" in commands[1]


def test_the_rule_count_is_the_rules_files():
    stated = re.search(r"(\w+) rules in `classifiers/rules.toml`", README)
    rules = tomllib.loads((ROOT / "classifiers" / "rules.toml").read_text())["rules"]
    assert stated and as_int(stated.group(1)) == len(rules)


def test_the_gfp_layout_count_is_the_vocabularys():
    from vocab.gfp import LAYOUTS

    stated = re.search(r"\((\w+) layouts, one table", README)
    assert stated and as_int(stated.group(1)) == len(LAYOUTS)


def test_the_mechanism_table_lists_every_scenario_once():
    how = section("How it works")
    rows = re.findall(r"^\| `([a-z0-9-]+)`", how, re.M)
    scenarios = sorted(p.stem for p in (ROOT / "simulator" / "scenarios").glob("*.toml"))
    assert sorted(rows) == scenarios


def test_the_commands_table_names_every_command():
    from triage.cli import app

    group = typer.main.get_command(app)
    commands = set(group.commands)
    table = section("Commands")
    named = set()
    for cell in re.findall(r"^\| `triage ([^`]+)`", table, re.M):
        named.update(re.findall(r"(?:^|/ |\| )([a-z]+)\b", cell))
    for sub in ("sim", "sync"):                  # the groups' own sub-commands are named after them
        assert sub in named
    assert commands <= named, f"commands missing from the README table: {sorted(commands - named)}"


def test_the_judged_counts_are_the_judged_files():
    judged = ROOT / "tests" / "judged"
    archives = sum(len(p.read_text().splitlines()) for p in judged.glob("*.jsonl") if p.stem != "syzbot-sample")
    sample = len((judged / "syzbot-sample.jsonl").read_text().splitlines())
    figures = section("Figures")
    stated = re.search(r"three judged archives \(([\d,]+) mails", figures)
    assert stated and as_int(stated.group(1)) == archives
    stated = re.search(r"held out: ([\d,]+) hand-judged syzbot-sample reports", figures)
    assert stated and as_int(stated.group(1)) == sample


def test_the_labelled_count_is_the_shared_sets():
    labelled = shared_data("labelled", "labels.jsonl")
    rows = [json.loads(line) for line in labelled.read_text().splitlines() if line.strip()]
    for stated in re.findall(r"on (\d+) labelled reports|the (\d+) hand-labelled real reports", README):
        assert int(next(n for n in stated if n)) == len(rows)


def test_the_readme_has_its_sections_in_order():
    order = ["Quick start", "Using it on your reports", "Commands", "The dataset", "How it works", "Figures",
             "Reliability", "Development"]
    positions = [README.find(f"\n## {n}\n") for n in order]
    assert -1 not in positions and positions == sorted(positions)
