"""``triage sync syzbot|lore``: pull syzbot bugs and crash reports, and the lore threads about them."""

from __future__ import annotations

import typer

from triage.commands.common import (
    EXIT_USAGE,
    JSON_OPTION,
    die,
    finish_summary,
    open_store,
    warn,
)

sync_app = typer.Typer(help="Pull syzbot bugs and lore threads into the database.", no_args_is_help=True)

SUMMARY_KEYS = ("bugs_new", "bugs_updated", "bugs_unchanged", "reports_new", "threads_new", "messages_new", "requests")
RATE_OPTION = typer.Option(None, "--rate", metavar="N", min=0.0,
                           help="Requests per second per host (0 = no limit) [default: 1, or TRIAGE_RATE].")


def run_sync(db, http, records, json_out: bool):
    """Store a source's records through the pipeline (a progress bar on a terminal), then say what happened."""
    import sqlite3

    from records import SyncStopped
    from triage.commands.progress import Bar
    from triage.pipeline import Pipeline

    pipe = Pipeline(db)
    stopped = None
    try:
        with Bar(not json_out) as bar:
            pipe.run(records(bar))
    except SyncStopped as exc:
        stopped = f"sync stopped: {exc}"
    except sqlite3.Error as exc:   # e.g. another writer held the database past the busy timeout
        die(f"database error, the batch in progress was not stored ({exc}); run the sync again")
    pipe.summary.counts["requests"] = http.counters["requests"]
    return pipe.summary, stopped


def finish(summary, json_out: bool, stopped: str | None = None) -> None:
    if stopped:
        summary.errors.append(stopped)
    finish_summary(summary, SUMMARY_KEYS, json_out)


@sync_app.command("syzbot")
def sync_syzbot(
    namespace: str = typer.Option("upstream", "--namespace", help="syzbot namespace (kernel)."),
    status: list[str] = typer.Option(None, "--status", help="open, fixed or invalid (repeatable) [default: all]."),
    subsystem: str = typer.Option(None, "--subsystem", help="Only bugs of this subsystem (e.g. ext4)."),
    base_url: str = typer.Option(None, "--base-url", envvar="TRIAGE_SYZBOT_URL", metavar="URL",
                                 help="Dashboard URL [default: https://syzkaller.appspot.com]."),
    rate: float = RATE_OPTION,
    full: bool = typer.Option(False, "--full", help="Re-read every bug page, even unchanged ones."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Store syzbot bugs, their crashes and crash reports. A re-sync only fetches what changed."""
    from scrapers.syzbot import DEFAULT_BASE, STATUS_PAGES
    from triage import sources

    bad = [s for s in status or [] if s not in STATUS_PAGES]
    if bad:
        die(f"--status {bad[0]}: expected one of {', '.join(STATUS_PAGES)}", EXIT_USAGE)
    db = open_store()
    http = sources.make_http(rate)
    summary, stopped = run_sync(db, http, lambda bar: sources.syzbot(
        db, http, base_url or DEFAULT_BASE, namespace, list(status) if status else None, subsystem, full,
        progress=bar), json_out)
    finish(summary, json_out, stopped)


@sync_app.command("lore")
def sync_lore(
    base_url: str = typer.Option(None, "--base-url", envvar="TRIAGE_LORE_URL", metavar="URL",
                                 help="lore URL or a public-inbox mirror [default: https://lore.kernel.org]."),
    query: str = typer.Option(None, "--query", "-q", metavar="Q",
                              help="Also fetch the threads a public-inbox search finds (e.g. 's:ext4 syzbot')."),
    no_bugs: bool = typer.Option(False, "--no-bugs", help="Only the search, not the synced bugs' threads."),
    rate: float = RATE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Store the lore threads the synced bugs link to (and a search's), threaded and linked to bugs."""
    from scrapers.lore import DEFAULT_BASE
    from triage import sources

    db = open_store()
    http = sources.make_http(rate)
    summary, stopped = run_sync(db, http, lambda bar: sources.lore(
        db, http, base_url or DEFAULT_BASE, query, bugs=not no_bugs, progress=bar), json_out)
    if not stopped and not query and summary["requests"] == 0 and not json_out:
        warn("nothing to fetch: no stored bug links a lore thread yet (run 'triage sync syzbot' first, "
             "or pass --query, e.g. --query 's:\"[syzbot]\" AND s:ext4')")
    finish(summary, json_out, stopped)


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
