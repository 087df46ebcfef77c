"""``triage parse``: parse kernel reports and print what was found."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import EXIT_FINDINGS, JSON_OPTION, emit_json, warn


def parse_cmd(
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Console logs, report excerpts or e-mails."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Parse kernel crash reports: title, crash type, guilty frame, stacks, gfp masks, markers."""
    from triage.report import parse
    from triage.report.render import render_text
    from triage.report.source import read_report_input

    failed = False
    for path in files:
        try:
            text = read_report_input(path)
        except OSError as exc:
            warn(f"{path}: {exc.strerror or exc}")
            failed = True
            continue
        rep = parse(text)
        if json_out:
            emit_json({"file": str(path), **rep.to_dict()})
        else:
            typer.echo(render_text(str(path), rep))
    if failed:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse_cmd)
