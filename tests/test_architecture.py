"""The one-way architecture (issue 12), checked on the import statements themselves (``ast``), not on text.

sources (``scrapers``) -> records -> pipeline (``triage``) -> store; the parser (``triage.report``) and the
records sit at the bottom; classifiers read only the parser's ``Report``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PROJECT = ("triage", "scrapers", "classifiers", "simulator", "corpus", "vocab", "records")
SOURCES = ("archives", "public_inbox", "lore", "syzbot", "syzbot_pages")


def py_files(*parts: str) -> list[Path]:
    files = sorted(ROOT.joinpath(*parts).rglob("*.py"))
    assert files, parts
    return files


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports too), as absolute names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def project_imports(path: Path) -> set[str]:
    return {m for m in imported(path) if m.split(".")[0] in PROJECT}


def under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(files: list[Path], allowed: tuple[str, ...]) -> dict[str, set[str]]:
    bad = {}
    for f in files:
        wrong = {m for m in project_imports(f) if not under(m, *allowed)}
        if wrong:
            bad[str(f.relative_to(ROOT))] = wrong
    return bad


def test_the_import_walker_sees_function_level_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import os\ndef f():\n    from triage.store import open_db\n    import sqlite_utils\n")
    assert imported(sample) >= {"os", "triage.store", "triage.store.open_db", "sqlite_utils"}
    assert {m for m in project_imports(sample) if not under(m, "records")} == {"triage.store", "triage.store.open_db"}


def test_scrapers_import_nothing_of_triage_nor_of_sqlite():
    bad = {str(f.relative_to(ROOT)): {m for m in imported(f) if under(m, "triage", "sqlite_utils", "sqlite3",
                                                                     "classifiers", "simulator")}
           for f in py_files("scrapers")}
    assert {f: m for f, m in bad.items() if m} == {}


def test_sources_import_only_the_http_layer_and_records():
    files = [ROOT / "scrapers" / f"{name}.py" for name in SOURCES]
    allowed = ("records", "vocab", "scrapers.http", "scrapers.syzbot_pages")    # (vocab imports none of ours)
    assert violations(files, allowed) == {}
    assert violations([ROOT / "scrapers" / "http.py"], ("records",)) == {}


def test_no_sql_in_scrapers():
    calls = []
    for f in py_files("scrapers"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("execute", "executemany", "executescript", "upsert", "insert", "insert_all"):
                calls.append(f"{f.name}:{node.lineno}")
    assert calls == []


def test_records_import_nothing_of_the_project():
    assert violations(py_files("records"), ("records",)) == {}


def test_the_parser_imports_nothing_of_the_sources():
    bad = {f"{f.name}: {m}" for f in py_files("triage", "report") for m in project_imports(f) if under(m, "scrapers")}
    assert bad == set()


def test_classifiers_read_only_the_parser_of_triage():
    bad = {f"{f.name}: {m}" for f in py_files("classifiers") for m in project_imports(f)
           if under(m, "triage") and not under(m, "triage.report")}
    assert bad == set()


def test_no_import_time_hook_registry():
    """Classification is an explicit call of the pipeline: the hook list the ingest had is defined and used
    nowhere (its name is spelled in two halves so that ``grep -rn`` for it finds nothing at all)."""
    registry = "REPORT_" + "HOOKS"
    names = []
    for f in [p for pkg in PROJECT if (ROOT / pkg).is_dir() for p in py_files(pkg)] + py_files("tests"):
        for node in ast.walk(ast.parse(f.read_text())):
            name = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", None)
            if name == registry:
                names.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert names == []


@pytest.mark.parametrize("module", ["scrapers.syzbot", "scrapers.lore", "scrapers.public_inbox", "scrapers.archives"])
def test_importing_a_source_loads_no_classifier_and_no_store(module):
    code = (f"import sys, {module}\n"
            "heavy = {m.split('.')[0] for m in sys.modules} & {'classifiers', 'sklearn', 'triage', 'sqlite_utils'}\n"
            "print(','.join(sorted(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
