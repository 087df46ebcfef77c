"""``triage import``: read reports from files, e-mails, mbox, maildirs, directories, public-inbox mirrors."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import EXIT_FINDINGS, EXIT_USAGE, JSON_OPTION, die, emit_json, open_store, warn


def import_cmd(
    paths: list[Path] = typer.Argument(None, metavar="PATH",
                                       help="Report files, .eml, mbox (.gz), maildirs, or directories of them."),
    public_inbox: list[Path] = typer.Option(None, "--public-inbox", metavar="DIR",
                                            help="A public-inbox git mirror (git clone of a lore list); "
                                                 "re-imports read only new commits."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Import kernel reports into the database. Importing the same input twice adds nothing."""
    from scrapers.threads import resolve
    from triage.commands.sync import summary_dict
    from triage.ingest import Summary, import_paths

    if not paths and not public_inbox:
        die("nothing to import: give PATH... or --public-inbox DIR", EXIT_USAGE)
    db = open_store()
    summary = import_paths(db, [str(p) for p in paths]) if paths else Summary()
    summary.counters["threads_new"] = resolve(db)      # thread what the mail inputs brought
    if public_inbox:
        from scrapers.progress import Bar
        from scrapers.public_inbox import PublicInboxError, import_public_inbox

        with Bar(not json_out) as bar:
            for root in public_inbox:
                try:
                    import_public_inbox(db, root, summary, progress=bar)
                except PublicInboxError as exc:
                    summary.errors.append(str(exc))
    if summary.reports_new:  # the classifier is loaded by now: refresh verdicts an older version gave
        from triage.classify_store import reclassify

        summary.counters["reclassified"] = reclassify(db)["reclassified"]
    if json_out:
        emit_json(summary_dict(summary))
    else:
        for err in summary.errors:
            warn(err)
        typer.echo(f"{summary.reports_new} new reports, {summary.messages_new} new messages, "
                   f"{summary.counters['threads_new']} new threads, "
                   f"{summary.skipped} already known, {len(summary.errors)} errors")
    if summary.errors:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
