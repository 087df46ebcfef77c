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

from triage.ingest import Ingest
from triage.repro import store_run

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
    import triage.classify_store  # noqa: F401 - registers the classification hook for the import

    results = simulator.run_all(seed)
    report_ids: list[int | None] = []
    with Ingest(db) as ing:
        for r in results:
            rid = None
            if r.console.strip():
                ing.add_text(r.console, kind="sim", location=f"sim:{r.scenario}/{r.variant}#seed{r.seed}")
                rid = ing.last_id   # also when another variant printed the same report
            report_ids.append(rid)
    runs = []
    with db.atomic():
        for r, rid in zip(results, report_ids, strict=True):
            store_run(db, rid, r)
    labels = dict(db.execute("SELECT report_id, label FROM verdicts WHERE source = 'combined'").fetchall())
    for r, rid in zip(results, report_ids, strict=True):
        lines = len(r.console.strip().splitlines()) if r.console.strip() else 0
        runs.append(DemoRun(r.scenario, r.variant, r.outcome, rid, labels.get(rid), lines))
    return runs
