"""Shared CLI plumbing: the database option, JSON Lines output, one-line errors and exit codes, and the one
line that says a command is waiting for another triage process's write lock.

Exit codes: 0 ok, 1 findings or errors the user must see, 2 usage errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class Options:
    """Global options shared by every command (set by the app callback)."""

    db_path: Path | None = None
    quiet: bool = False


def db_path() -> Path:
    from triage.paths import default_db

    return Options.db_path or default_db()


def open_store(read_only: bool = False):
    """Open the user's database or exit with a one-line error. A write that waits for another process says so
    once (``waiting_for_lock``)."""
    from triage.store import StoreError, open_db

    try:
        return open_db(db_path(), read_only=read_only, on_wait=waiting_for_lock)
    except StoreError as exc:
        die(str(exc))


def open_reader():
    """Open the user's database for reading only (``triage.store.open_reader``: no sqlite-utils import, for the
    commands a maintainer runs all day), or exit with a one-line error."""
    from triage.store import StoreError
    from triage.store import open_reader as reader

    try:
        return reader(db_path())
    except StoreError as exc:
        die(str(exc))


def waiting_for_lock(path: str) -> None:
    """The one line a writer prints when another triage process has held the database for a while."""
    warn(f"waiting for another triage process writing {path}...")


def die(message: str, code: int = EXIT_FINDINGS) -> NoReturn:
    """Print ``triage: <message>`` on stderr (one line, control characters escaped) and exit."""
    warn(message)
    raise typer.Exit(code)


def warn(message: str) -> None:
    from triage.termsafe import line

    typer.echo(f"triage: {line(message)}", err=True)


def emit_json(obj: Any) -> None:
    """One JSON object on one line (JSON Lines); characters a terminal could act on are ``\\u`` escapes."""
    from triage.termsafe import json_safe

    sys.stdout.write(json_safe(json.dumps(obj, ensure_ascii=False, default=str)) + "\n")


JSON_OPTION = typer.Option(False, "--json", help="Print JSON Lines (one object per line) for scripts.")


def finish_summary(summary: Any, keys: tuple[str, ...], json_out: bool) -> None:
    """Print an import or sync summary (its notes and errors on stderr, one line each) and exit 1 on errors."""
    if json_out:
        emit_json(summary.as_dict(keys))
    else:
        for line in summary.notes + summary.errors:
            warn(line)
        typer.echo(summary.text(keys))
    if summary.errors:
        raise typer.Exit(EXIT_FINDINGS)
