"""``triage import``: read reports from files, e-mails, mbox, maildirs, directories, public-inbox mirrors."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import (
    EXIT_USAGE,
    JSON_OPTION,
    die,
    finish_summary,
    open_store,
)

IMPORT_KEYS = ("threads_new",)


def import_cmd(
    paths: list[Path] = typer.Argument(None, metavar="PATH",
                                       help="Report files, .eml, mbox (.gz), maildirs, or directories of them."),
    public_inbox: list[Path] = typer.Option(None, "--public-inbox", metavar="DIR",
                                            help="A public-inbox git mirror (git clone of a lore list); "
                                                 "re-imports read only new commits."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Import kernel reports into the database. Importing the same input twice adds nothing."""
    import sqlite3

    from scrapers.public_inbox import PublicInboxError
    from triage import sources
    from triage.commands.progress import Bar
    from triage.pipeline import Pipeline
    from triage.reparse import stale_count

    if not paths and not public_inbox:
        die("nothing to import: give PATH... or --public-inbox DIR", EXIT_USAGE)
    db = open_store()
    pipe = Pipeline(db)
    summary = pipe.summary
    try:
        with Bar(not json_out) as bar:
            if paths:
                pipe.run(sources.files([str(p) for p in paths], progress=bar))
            for root in public_inbox or []:
                try:
                    pipe.run(sources.public_inbox(db, root, progress=bar))
                except PublicInboxError as exc:
                    summary.errors.append(str(exc))
        if summary.reports_new:  # the classifier is loaded by now: refresh verdicts an older version gave
            from triage.classify_store import reclassify

            summary.counts["reclassified"] = reclassify(db)["reclassified"]
        stale = stale_count(db)
        if stale:
            summary.notes.append(f"{stale} stored reports were parsed by an older syz-triage: `triage reparse` "
                                 "reads them with this one (review state and labels stay)")
    except sqlite3.Error as exc:   # e.g. another writer held the database past the busy timeout
        die(f"database error, the batch in progress was not stored ({exc}); run the import again")
    finish_summary(summary, IMPORT_KEYS, json_out)


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
