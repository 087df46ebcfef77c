"""``triage parse``: parse kernel reports and print what was found."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import EXIT_FINDINGS, JSON_OPTION, emit_json, warn


def parse_cmd(
    files: list[Path] = typer.Argument(..., metavar="FILE",
                                       help="Console logs, report excerpts or e-mails ('-' reads stdin)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Parse kernel crash reports: title, crash type, guilty frame, stacks, gfp masks, markers.

    With --json, one JSON object per input file, in input order. An input that cannot be read gets a
    one-line error on stderr (and exit code 1); the other inputs are still parsed.
    """
    from records.inputs import display_name
    from triage.report import parse
    from triage.report.render import render_text
    from triage.report.source import InputError, read_report_input

    failed = False
    for path in files:
        name = display_name(path)            # a file name's undecodable bytes shown as U+FFFD
        try:
            rep = parse(read_report_input(path))
        except InputError as exc:
            warn(str(exc))
            failed = True
            continue
        except Exception as exc:  # a parser bug must not hide the other inputs' results
            warn(f"{name}: could not parse ({type(exc).__name__}: {exc})")
            failed = True
            continue
        if json_out:
            emit_json({"file": name, **rep.to_dict()})
        else:
            typer.echo(render_text(name, rep))
    if failed:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse_cmd)
