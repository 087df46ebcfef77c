"""Classifier verdicts in the store: one ``verdicts`` row per report and source (``combined`` here; ``human`` is
written by ``triage.review``), upserted in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:       # annotations only (the import's workers build verdict rows without sqlite-utils)
    import sqlite_utils

_COLUMNS = ("report_id", "source", "label", "confidence", "needs_review", "evidence", "classifier_version",
            "created_at")


def verdict_row(report_id: int, verdict: Any, stamp: str) -> tuple:
    """The ``verdicts`` row of a classifier's ``Verdict`` (source ``combined``)."""
    return (report_id, "combined", verdict.label, round(verdict.confidence, 4), int(verdict.needs_review),
            json.dumps(verdict.evidence, ensure_ascii=False), verdict.version, stamp)


def save_verdicts(db: sqlite_utils.Database, rows: Iterable[tuple]) -> int:
    """Insert or replace (per report and source) ``verdict_row`` rows in one statement; returns how many."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:])
    cur = db.conn.executemany(
        f"INSERT INTO verdicts ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
        f"ON CONFLICT (report_id, source) DO UPDATE SET {updates}", list(rows))
    return max(cur.rowcount, 0)
