"""Duplicate groups: the key each report folds on, stored per report (``reports.dup_key``) and kept up to date
by the writers (the pipeline after each batch, the bug links of ``threads``), so the inbox, the review commands
and the digest group with one indexed column.

A report's key, first rule that applies:

1. its syzbot bug (``bug_extid``);
2. a syzbot bug known for the same signature (``signature_hash``: only signatures that say enough to fold on,
   ``normalize.foldable``);
3. the key of an earlier report of the same mail thread about the same crash (same title up to syzbot's ``(N)``,
   or same foldable signature): a reply that quotes or re-pastes a report folds into it; and a report whose
   frame syzkaller could not read (``WARNING in corrupted``: a reply quoting a header without its trace) into the
   thread's first report of the same kind (``WARNING in ...``);
4. its signature (``signature_hash``);
5. itself (``report:ID``): a report without a readable trace never folds with another.

What the inbox ranks and filters on is stored too, one row per group (``dup_groups``, migration 11: its label,
dates, crash count, review and bug state, and whether the line is flagged for review: migration 13), so it reads
the groups it shows instead of aggregating every report;
and one row per group and subsystems list of its reports (``group_areas``, migration 12), so an inbox filtered by
subsystem adds up the rows of its area instead of aggregating the area's reports.
Any write that changes a group's row (a report, its key, date or bug; a verdict; a review; a bug's status or
crash count) marks the group in ``dirty_groups``, by trigger, in the writer's transaction; ``settle`` recomputes
the marked groups, and every writer of the store (the pipeline, review, labelling, classification) calls it
before it commits. A reader never depends on that: the ``group_stats`` view gives the marked groups' rows from
their reports, so the inbox is exact even if a script wrote around these functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from vocab.titles import UNREAD_FRAME, base_title

if TYPE_CHECKING:       # annotations only: a reader of the store does not import sqlite-utils
    import sqlite_utils


CHUNK = 500
# a title whose frame syzkaller could not read ("extracted no stack frame"): its kind, up to the frame
_FRAMELESS = re.compile(rf"^(.* in ){UNREAD_FRAME}$")


def own_key(report_id: int) -> str:
    return f"report:{report_id}"


def _chunks(ids: list) -> Iterable[list]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _affected(db: sqlite_utils.Database, ids: set[int]) -> set[int]:
    """``ids`` and the reports whose key may follow theirs: same signature, same mail thread."""
    out = set(ids)
    for part in _chunks(sorted(ids)):
        marks = ",".join("?" * len(part))
        out.update(r[0] for r in db.execute(
            f"SELECT s.id FROM reports s WHERE s.signature_hash IN (SELECT signature_hash FROM reports "
            f"WHERE id IN ({marks}) AND signature_hash IS NOT NULL)", part))
        out.update(r[0] for r in db.execute(
            f"SELECT s.id FROM reports s JOIN messages m ON m.message_id = s.message_id WHERE m.thread_id IN "
            f"(SELECT m2.thread_id FROM reports r JOIN messages m2 ON m2.message_id = r.message_id "
            f"WHERE r.id IN ({marks}) AND m2.thread_id IS NOT NULL)", part))
    return out


_ROWS = ("SELECT r.id, r.bug_extid, r.signature_hash, r.title, r.dup_key, m.thread_id, COALESCE(r.reported_at, '') "
         "FROM reports r LEFT JOIN messages m ON m.message_id = r.message_id")


def refresh(db: sqlite_utils.Database, report_ids: Iterable[int]) -> int:
    """Recompute the key of ``report_ids`` and of the reports that may fold with them (inside the caller's
    transaction); returns how many keys changed."""
    ids = _affected(db, {int(i) for i in report_ids})
    rows = []
    for part in _chunks(sorted(ids)):
        rows += db.execute(f"{_ROWS} WHERE r.id IN ({','.join('?' * len(part))})", part).fetchall()
    return _recompute(db, rows)


def refresh_all(db: sqlite_utils.Database) -> int:
    """Every report's key (a migration's backfill, or a repair)."""
    return _recompute(db, db.execute(_ROWS).fetchall())


def _recompute(db: sqlite_utils.Database, rows: list[tuple]) -> int:
    rows.sort(key=lambda r: (r[6], r[0]))        # earlier reports first: a reply folds into what it quotes
    known_bug: dict[str, str | None] = {}
    changed = 0
    for rid, bug, shash, title, old, thread, when in rows:
        key = bug
        if key is None and shash:
            if shash not in known_bug:
                known_bug[shash] = db.execute("SELECT MIN(bug_extid) FROM reports WHERE signature_hash = ? "
                                              "AND bug_extid IS NOT NULL", [shash]).fetchone()[0]
            key = known_bug[shash]
        if key is None and thread:
            key = _thread_key(db, rid, thread, title, shash, when)
        key = key or shash or own_key(rid)
        if key != old:
            db.execute("UPDATE reports SET dup_key = ? WHERE id = ?", [key, rid])
            changed += 1
    return changed


def _thread_key(db: sqlite_utils.Database, rid: int, thread: str, title: str | None, shash: str | None,
                when: str) -> str | None:
    """The key of the earliest earlier report of ``thread`` about the same crash, if any."""
    base = base_title(title)
    m = _FRAMELESS.match(base)
    kind = m.group(1) if m else None
    for other, otitle, oshash, okey in db.execute(
            "SELECT r.id, r.title, r.signature_hash, r.dup_key FROM reports r JOIN messages m "
            "ON m.message_id = r.message_id WHERE m.thread_id = ? AND r.id != ? "
            "AND (COALESCE(r.reported_at, '') < ? OR (COALESCE(r.reported_at, '') = ? AND r.id < ?)) "
            "ORDER BY COALESCE(r.reported_at, ''), r.id", [thread, rid, when, when, rid]):
        obase = base_title(otitle)
        if (shash and oshash == shash) or (base and obase == base) or (kind and obase.startswith(kind)):
            return okey or oshash or own_key(other)
    return None




def settle(db: sqlite_utils.Database) -> int:
    """Recompute the stored rows of the groups marked dirty (inside the caller's transaction): their
    ``dup_groups`` row and their ``group_areas`` rows (one per subsystems list of their reports). Returns how many
    were marked."""
    n = db.execute("SELECT COUNT(*) FROM dirty_groups").fetchone()[0]
    if n:
        db.execute("DELETE FROM dup_groups WHERE dup_key IN (SELECT dup_key FROM dirty_groups)")
        db.execute("INSERT INTO dup_groups SELECT * FROM dirty_group_stats")
        if _has_areas(db):
            db.execute("DELETE FROM group_areas WHERE dup_key IN (SELECT dup_key FROM dirty_groups)")
            db.execute("INSERT INTO group_areas SELECT * FROM dirty_group_areas")
            db.execute("INSERT OR IGNORE INTO area_sets SELECT DISTINCT subsystems FROM group_areas "
                       "WHERE dup_key IN (SELECT dup_key FROM dirty_groups)")
        db.execute("DELETE FROM dirty_groups")
    return n


def _has_areas(db: sqlite_utils.Database) -> bool:
    """Whether the store has ``group_areas`` (migration 12; migration 11 settles before it exists)."""
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'group_areas'").fetchone()
    return row is not None


def rebuild(db: sqlite_utils.Database) -> int:
    """Every group's stored rows from its reports (a backfill, or a store written around the triggers)."""
    db.execute("DELETE FROM dup_groups")
    if _has_areas(db):
        db.execute("DELETE FROM group_areas")
    db.execute("INSERT OR IGNORE INTO dirty_groups SELECT DISTINCT COALESCE(dup_key, 'report:' || id) FROM reports")
    return settle(db)


def dirty(db: sqlite_utils.Database) -> list[str]:
    """The groups marked and not recomputed yet (none after a writer's commit)."""
    return [k for (k,) in db.execute("SELECT dup_key FROM dirty_groups")]


def members(db: sqlite_utils.Database, key: str) -> list[int]:
    """The ids of the reports of the group ``key``, in id order."""
    ids = [r for (r,) in db.execute("SELECT id FROM reports INDEXED BY reports_dup_key WHERE dup_key = ?", [key])]
    if key.startswith("report:") and key[7:].isdigit():
        ids += [r for (r,) in db.execute("SELECT id FROM reports WHERE id = ? AND dup_key IS NULL", [int(key[7:])])]
    return sorted(ids)
