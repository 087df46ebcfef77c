"""The full-text index (FTS5 over report titles and texts, message subjects and bodies), kept up to date in bulk.

Inserts are not indexed by triggers, row by row: the writers of a batch (the pipeline, ``triage reply``) call
``index_new`` before they commit, which indexes every row stored since the index was last brought up to date
in one statement per table. Updates of the indexed columns and deletes still go through triggers (they are
rare), so search stays right after import, re-import, labelling and deletion.

Where the index stands is read from FTS5 itself: its ``<table>_fts_docsize`` shadow table holds one row per
indexed row, keyed by rowid, and new rows get rowids past the largest (no table here reuses a rowid below it).
"""

from __future__ import annotations

import sqlite_utils

INDEXED = {"reports": ("title", "text"), "messages": ("subject", "body")}


def index_new(db: sqlite_utils.Database) -> int:
    """Index the rows of ``reports`` and ``messages`` stored since the last call (inside the caller's
    transaction); returns how many. Nothing happens for a store without full-text search."""
    n = 0
    for table, cols in INDEXED.items():
        fts = f"{table}_fts"
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [f"{fts}_docsize"]).fetchone():
            continue
        last = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {fts}_docsize").fetchone()[0]
        names = ", ".join(cols)
        cur = db.execute(f"INSERT INTO {fts} (rowid, {names}) SELECT rowid, {names} FROM {table} WHERE rowid > ?",
                         [last])
        n += max(cur.rowcount, 0)
    return n


def unindexed(db: sqlite_utils.Database) -> int:
    """How many stored rows the index does not cover yet (0 after every committed batch)."""
    n = 0
    for table in INDEXED:
        fts = f"{table}_fts"
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [f"{fts}_docsize"]).fetchone():
            last = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {fts}_docsize").fetchone()[0]
            n += db.execute(f"SELECT COUNT(*) FROM {table} WHERE rowid > ?", [last]).fetchone()[0]
    return n
