"""Shared test fixtures: the real data in ../shared/data, a fresh database, the CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRIAGE_SHARED", ROOT.parent / "shared")).resolve()
DATA = SHARED / "data"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (tests read ../shared/data beside the repo)")
    return path


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    """A fresh database path, also exported as TRIAGE_DB; HOME points at an empty directory."""
    path = tmp_path / "triage.db"
    monkeypatch.setenv("TRIAGE_DB", str(path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    return path


@pytest.fixture
def db(db_path):
    from triage.store import open_db

    return open_db(db_path)


@pytest.fixture
def cli(db_path):
    """Run the CLI in-process: ``cli("import", "--json", path)`` -> click Result."""
    from typer.testing import CliRunner

    from triage.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


def pytest_addoption(parser):
    parser.addoption("--update", action="store_true", default=False,
                     help="rewrite the parser's golden files (tests/golden/parser) from the current parser")
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the tests marked slow (CI runs them: it sets CI=1)")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (whole-archive imports, real SIGKILLs, concurrent processes) run in CI and with
    ``--slow``; the README's test command skips them so a developer's run stays short."""
    if config.getoption("--slow") or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="slow: runs in CI (CI=1) or with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def list_archive(tmp_path_factory):
    """``list_archive("linux-nilfs")``: a clone of that public-inbox archive of ../shared/data, made once per
    session (skips when the data is absent)."""
    import subprocess

    clones: dict[str, Path] = {}

    def clone(name: str) -> Path:
        if name not in clones:
            bundle = shared_data("public-inbox", f"{name}.bundle")
            repo = tmp_path_factory.mktemp("archives") / name
            subprocess.run(["git", "clone", "-q", "--bare", str(bundle), str(repo)], check=True)
            clones[name] = repo
        return clones[name]

    return clone


ARCHIVES = ("reiserfs-devel", "linux-nilfs", "linux-unionfs")
# for tests over every mail of an archive: the smallest always, the two larger ones in CI (``slow``)
ARCHIVES_SMALL_FIRST = [ARCHIVES[0], *(pytest.param(a, marks=pytest.mark.slow) for a in ARCHIVES[1:])]


@pytest.fixture(scope="session")
def archive_mails(list_archive):
    """``archive_mails(name)``: every raw message of that list archive, in commit order (read once)."""
    from scrapers.public_inbox import blobs, new_commits

    cache: dict[str, list[bytes]] = {}

    def mails(name: str) -> list[bytes]:
        if name not in cache:
            repo = list_archive(name)
            cache[name] = [data for _, data in blobs(repo, new_commits(repo, None)) if data]
        return cache[name]

    return mails
