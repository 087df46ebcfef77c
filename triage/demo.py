"""``triage demo``: a fresh dataset built from the companion simulator's reproducer runs.

Every scenario and variant runs once (seed 1); each console log the modelled kernel printed is imported
as a report (parsed and classified like any other), and the run is stored with the report it produced.
Runs where the kernel printed nothing are stored too, unlinked: silence is part of the story (a fix
variant, or data lost without a word).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from records import ReportText
from triage.pipeline import Pipeline
from triage.repro import store_run
from triage.store import transaction
from triage.store.reports import report_at

DEMO_MARK = "demo"


class DemoError(Exception):
    """The demo database path holds something that is not a demo dataset."""


@dataclass
class DemoRun:
    scenario: str
    variant: str
    outcome: str
    report_id: int | None
    label: str | None
    console_lines: int


def prepare(path: Path) -> sqlite_utils.Database:
    """A fresh database at ``path``; refuses to replace a file that is not an earlier demo dataset."""
    from triage.store import StoreError, open_db

    if path.exists():
        try:
            old = open_db(path, read_only=True)
            mark = old.execute("SELECT 1 FROM sync_state WHERE source = ?", [DEMO_MARK]).fetchone()
            old.conn.close()
        except (StoreError, Exception) as exc:  # noqa: BLE001 - any unreadable file is not ours to delete
            raise DemoError(f"{path}: exists and is not a demo dataset ({exc}); choose another --out") from exc
        if not mark:
            raise DemoError(f"{path}: exists and is not a demo dataset; choose another --out")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_db(path)
    db["sync_state"].insert({"source": DEMO_MARK, "cursor": "{}", "updated_at": None})
    return db


def build(db: sqlite_utils.Database, seed: int = 1) -> list[DemoRun]:
    """Run every scenario and variant, import the consoles, store the runs linked to their reports."""
    import simulator

    results = simulator.run_all(seed)
    locations = [f"sim:{r.scenario}/{r.variant}#seed{r.seed}" for r in results]
    Pipeline(db).run(ReportText(r.console, "sim", loc) for r, loc in zip(results, locations, strict=True)
                     if r.console.strip())
    # the report each run printed (also when another variant printed the same one)
    report_ids = [report_at(db, "sim", loc) if r.console.strip() else None
                  for r, loc in zip(results, locations, strict=True)]
    runs = []
    with transaction(db):
        for r, rid in zip(results, report_ids, strict=True):
            store_run(db, rid, r)
    labels = dict(db.execute("SELECT report_id, label FROM verdicts WHERE source = 'combined'").fetchall())
    for r, rid in zip(results, report_ids, strict=True):
        lines = len(r.console.strip().splitlines()) if r.console.strip() else 0
        runs.append(DemoRun(r.scenario, r.variant, r.outcome, rid, labels.get(rid), lines))
    return runs
