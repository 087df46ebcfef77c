"""Duplicate groups, kept up to date so the inbox reads one row per group instead of aggregating every report.

Three tables stand where views used to compute everything from the reports at each read (migration 10):

``report_labels``  the effective label of every report (the human verdict, else the classifier's), one row per
                   report, kept by triggers on ``reports`` and ``verdicts``;
``report_groups``  the duplicate group (``dup_key``) of every report: its syzbot bug, else a bug known for its
                   signature, else its signature, else the report alone; kept by triggers on ``reports``;
``dup_groups``     one row per group with what the inbox ranks and filters on (``GROUP_STATS``).

Any write that changes a group's row (a report, its bug or signature, a verdict, a review, a bug's status or
crash count) marks the group in ``dirty_groups``, by trigger, in the writer's transaction. ``refresh`` recomputes
the marked groups and clears the marks; the pipeline, review, labelling and classification call it before they
commit. A reader never depends on it: ``live_stats`` gives the rows of marked groups computed from the reports,
so the inbox is exact even if a writer (a test, a script) left marks behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

COLUMNS = ("dup_key", "first_report", "reports", "label_rank", "first_reported", "last_reported", "crashes",
           "bug_extid", "needs_review", "muted", "unsnoozed", "wake_at", "closed")

# The rows of some groups from their reports; ``{keys}`` is a row source of the dup keys wanted (a table or a
# subquery), read first (CROSS JOIN: the planner has no statistics to know it is the small side).
GROUP_STATS = """
    SELECT g.dup_key, MIN(r.id) AS first_report, COUNT(*) AS reports,
           COALESCE(MIN(CASE WHEN l.source = 'human' THEN COALESCE(lr.rank, 3) END),
                    MIN(COALESCE(lr.rank, 3))) AS label_rank,
           MIN(r.reported_at) AS first_reported, MAX(r.reported_at) AS last_reported,
           MAX(COALESCE(MAX(b.num_crashes), 0), COUNT(*)) AS crashes,
           MAX(r.bug_extid) AS bug_extid, MAX(COALESCE(l.needs_review, 0)) AS needs_review,
           SUM(COALESCE(v.state, 'new') = 'muted') AS muted,
           SUM(COALESCE(v.state, 'new') <> 'acked' AND v.snooze_until IS NULL) AS unsnoozed,
           MIN(CASE WHEN COALESCE(v.state, 'new') <> 'acked' THEN v.snooze_until END) AS wake_at,
           SUM(COALESCE(b.status, 'open') NOT IN ('open', '')) AS closed
    FROM {keys} k
    CROSS JOIN report_groups g ON g.dup_key = k.dup_key
    JOIN reports r ON r.id = g.report_id
    LEFT JOIN report_labels l ON l.report_id = r.id
    LEFT JOIN label_ranks lr ON lr.label = COALESCE(l.label, 'unclassified')
    LEFT JOIN reviews v ON v.report_id = r.id
    LEFT JOIN bugs b ON b.extid = r.bug_extid
    GROUP BY g.dup_key"""


def refresh(db: sqlite_utils.Database) -> int:
    """Recompute the groups marked dirty (inside the caller's transaction); returns how many."""
    n = db.execute("SELECT COUNT(*) FROM dirty_groups").fetchone()[0]
    if n:
        db.execute("DELETE FROM dup_groups WHERE dup_key IN (SELECT dup_key FROM dirty_groups)")
        db.execute(f"INSERT INTO dup_groups ({', '.join(COLUMNS)}) {GROUP_STATS.format(keys='dirty_groups')}")
        db.execute("DELETE FROM dirty_groups")
    return n


def rebuild(db: sqlite_utils.Database) -> int:
    """Mark every group dirty and recompute them all (a backfill, or a store written around the triggers)."""
    db.execute("DELETE FROM dup_groups")
    db.execute("INSERT OR IGNORE INTO dirty_groups SELECT DISTINCT dup_key FROM report_groups")
    return refresh(db)


def dirty(db: sqlite_utils.Database) -> list[str]:
    """The groups marked and not recomputed yet (none after a writer's commit)."""
    return [k for (k,) in db.execute("SELECT dup_key FROM dirty_groups")]


def live_stats(db: sqlite_utils.Database, keys: list[str]) -> list[tuple]:
    """The ``dup_groups`` rows of these groups computed from their reports now (``COLUMNS`` order)."""
    out: list[tuple] = []
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        src = "(" + " UNION ALL ".join(["SELECT ? AS dup_key"] * len(part)) + ")"
        out += db.execute(GROUP_STATS.format(keys=src), part).fetchall()
    return out
