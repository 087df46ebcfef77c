"""The commands a maintainer runs all day start light: ``triage --version``, ``parse``, ``inbox`` and ``show``
import none of the heavy libraries they do not use (numpy, scikit-learn, scipy, datasette, jinja2, pydantic),
checked in a fresh process through ``sys.modules`` after the command ran. (typer 0.25 and later import pydantic
in every command: pyproject.toml keeps typer below 0.25.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_data

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"numpy", "sklearn", "scipy", "datasette", "jinja2", "pydantic"}

RUN = """import sys, runpy
sys.argv = ["triage", *sys.argv[1:]]
try:
    runpy.run_module("triage", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("LOADED", ",".join(sorted({m.split(".")[0] for m in sys.modules})), "EXIT", code, file=sys.stderr)
"""


def loaded(*argv: str, cwd: Path) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", RUN, *argv], capture_output=True, text=True, env=env, cwd=cwd,
                         timeout=120)
    line = next(ln for ln in out.stderr.splitlines() if ln.startswith("LOADED "))
    mods, code = line[len("LOADED "):].rsplit(" EXIT ", 1)
    assert code == "0", out.stderr
    return set(mods.split(","))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lazy") / "t.db"
    report = shared_data("labelled", "reports", "001.txt")
    subprocess.run([sys.executable, "-m", "triage", "--db", str(path), "import", str(report)], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    return path


@pytest.mark.parametrize("command", ["version", "parse", "inbox", "show"])
def test_everyday_commands_import_no_heavy_library(command, store, tmp_path):
    argv = {"version": ["--version"], "parse": ["parse", str(shared_data("labelled", "reports", "001.txt"))],
            "inbox": ["--db", str(store), "inbox"], "show": ["--db", str(store), "show", "1"]}[command]
    mods = loaded(*argv, cwd=tmp_path)
    assert "triage" in mods
    assert not mods & HEAVY, sorted(mods & HEAVY)


def test_numpy_stays_importable_after_the_store_is_opened():
    """The store's sqlite-utils is loaded without numpy (``triage._sqlite_utils_without_numpy``); numpy itself
    still imports for the code that needs it (training, evaluation)."""
    code = ("import triage, sqlite_utils.db as d, sys\nassert d.np is None and 'numpy' not in sys.modules\n"
            "import numpy\nprint(numpy.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "numpy", out.stderr


@pytest.mark.parametrize("argv", [["inbox"], ["inbox", "--json"], ["inbox", "--subsystem", "ext4"]])
def test_inbox_loads_neither_sqlite_utils_nor_the_mail_model(argv, store, tmp_path):
    """The inbox only reads the store: ``open_reader`` gives it a plain sqlite3 connection (sqlite-utils, with the
    dateutil and pluggy it imports, is ~30 ms of a start-up), it prints its table without rich, and nothing it
    reads needs the mail model (email, records.mail)."""
    mods = loaded("--db", str(store), *argv, cwd=tmp_path)
    assert "triage" in mods
    assert not mods & {"sqlite_utils", "dateutil", "pluggy", "rich", "email"}, sorted(mods)
