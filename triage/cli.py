"""The ``triage`` command line: a thin layer over the library modules."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from triage import __version__
from triage.commands import MODULES
from triage.commands.common import Options, warn

app = typer.Typer(
    name="triage",
    help="Triage syzbot and kernel crash reports: parse, classify by consequence, reproduce, review.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"triage (syz-triage) {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: Path = typer.Option(
        None, "--db", envvar="TRIAGE_DB", metavar="PATH",
        help="SQLite database to use [default: triage.db in the user data dir].",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    Options.db_path = db


for _name in MODULES:
    importlib.import_module(f"triage.commands.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("triage: interrupted", err=True)
        raise SystemExit(130) from None
    except BrokenPipeError:
        raise SystemExit(0) from None
    except Exception as exc:
        from triage.store import StoreError  # only now: start-up stays light

        if not isinstance(exc, StoreError):  # e.g. another writer held the database past the busy timeout
            raise
        warn(str(exc))
        raise SystemExit(1) from None
