"""``triage demo``: build a dataset from the simulator's reproducer runs and show the inbox."""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import JSON_OPTION, die, emit_json


def demo_cmd(
    out: Path = typer.Option(None, "--out", metavar="PATH",
                             help="Where to build the demo database [default: demo.db in the user data dir]; "
                                  "an existing demo database there is replaced, anything else is refused."),
    seed: int = typer.Option(1, "--seed", help="Simulator seed for every run."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run every simulator scenario, import and classify what the modelled kernel printed, show the inbox."""
    from triage.demo import DemoError, build, prepare
    from triage.paths import data_dir

    path = out or data_dir() / "demo.db"
    try:
        db = prepare(path)
    except DemoError as exc:
        die(str(exc))
    runs = build(db, seed)
    if json_out:
        for r in runs:
            emit_json({"scenario": r.scenario, "variant": r.variant, "outcome": r.outcome,
                       "report_id": r.report_id, "label": r.label, "console_lines": r.console_lines})
        return
    import sys

    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 132)
    table = Table(title=f"Reproducer runs (seed {seed})", title_justify="left", box=None, pad_edge=False)
    for col in ("scenario", "variant", "outcome", "report", "label"):
        table.add_column(col, no_wrap=True)
    for r in runs:
        if r.report_id:
            shown = r.label or "-"
        elif r.console_lines:
            shown = f"({r.console_lines} console line{'s' if r.console_lines > 1 else ''}, no report)"
        else:
            shown = "(kernel silent)"
        table.add_row(r.scenario, r.variant, r.outcome, str(r.report_id or "-"), shown)
    console.print(table)
    console.print()
    _show_inbox(db)
    typer.echo(f"\nDataset: {path}\nNext: triage --db {path} show 1    "
               f"triage --db {path} query 'SELECT * FROM report_labels'")


def _show_inbox(db) -> None:
    """The demo dataset's inbox, unfiltered (the user's subscriptions are for their own database)."""
    from triage.commands.workflow import print_inbox
    from triage.inbox import InboxFilter, query

    print_inbox(query(db, InboxFilter(include_all=True, limit=50)))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
