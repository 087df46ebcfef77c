"""``triage import``: read reports from files, e-mails, mbox, maildirs and directories."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import EXIT_FINDINGS, JSON_OPTION, emit_json, open_store, warn


def import_cmd(
    paths: list[Path] = typer.Argument(..., metavar="PATH",
                                       help="Report files, .eml, mbox (.gz), maildirs, or directories of them."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Import kernel reports into the database. Importing the same input twice adds nothing."""
    from triage.ingest import import_paths

    db = open_store()
    summary = import_paths(db, [str(p) for p in paths])
    if json_out:
        emit_json(summary.as_dict())
    else:
        for err in summary.errors:
            warn(err)
        typer.echo(f"{summary.reports_new} new reports, {summary.messages_new} new messages, "
                   f"{summary.skipped} already known, {len(summary.errors)} errors")
    if summary.errors:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
