"""``triage parse``: parse kernel reports and print what was found; ``triage reparse``: the stored ones again."""

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


def reparse_cmd(
    everything: bool = typer.Option(False, "--all", help="Parse every stored report, not only an older parser's."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Parse again the stored reports an older syz-triage parsed (after an upgrade): titles, stacks, signatures,
    groups and verdicts follow today's parser; ids, review state and your labels stay."""
    import sqlite3

    from triage.commands.common import die, open_store
    from triage.commands.progress import Bar
    from triage.reparse import reparse

    db = open_store()
    try:
        with Bar(not json_out) as bar:
            result = reparse(db, everything=everything, progress=bar)
    except sqlite3.Error as exc:
        die(f"database error, the batch in progress was not stored ({exc}); run reparse again")
    for line in result["errors"]:
        warn(line)
    if json_out:
        emit_json(result)
    else:
        _say_reparsed(result)
    if result["errors"]:
        raise typer.Exit(EXIT_FINDINGS)


def _say_reparsed(result: dict) -> None:
    """What ``reparse`` did, a line; what it left as it was, on stderr."""
    typer.echo(f"re-parsed {result['reparsed']} reports with parser {result['parser_version']}: "
               f"{result['changed']} changed, {result['reclassified']} re-classified")
    if result.get("findings_added"):
        n = result["findings_added"]
        typer.echo(f"{n} finding{'s' if n != 1 else ''} of syzbot ci mails stored whole (before each finding became "
                   "its own report): now a report each")
    if result["no_crash"]:
        warn(f"{result['no_crash']} reports in which the parser finds no crash now were left as they were "
             "(`triage query` on parser_version lists them; `triage mute ID` hides one)")
    if result["partial"]:
        warn(f"{result['partial']} reports of logs too large to keep whole were left as they were (the store kept "
             "their crash alone: parsed again, the log's lines around it would be lost)")
    if result["hash_kept"]:
        warn(f"{result['hash_kept']} reports now read as the same crash text as another stored report: both kept")


def register(app: typer.Typer) -> None:
    app.command("parse")(parse_cmd)
    app.command("reparse")(reparse_cmd)
