"""syzbot bugs and their crashes in the store.

A bug is written with its crashes in one go; it counts as updated only when a field a maintainer reads
changed (``CHANGE_FIELDS``), a crash is new or a crash's report is stored at last, so a re-sync of an
unchanged dashboard writes nothing.
"""

from __future__ import annotations

import json

import sqlite_utils

from records import Bug, BugState
from triage.store.schema import now

CHANGE_FIELDS = ("title", "bug_id", "namespace", "status", "subsystems", "labels", "first_crash", "last_crash",
                 "num_crashes", "repro", "fix_commits", "cause_commit", "discussions", "link")


def find_bug(db: sqlite_utils.Database, link: str | None, key: str) -> dict | None:
    """The stored bug with this dashboard link, extid or 40-hex id."""
    cur = db.execute("SELECT * FROM bugs WHERE link = ? OR extid = ? OR bug_id = ?", [link, key, key])
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def bug_state(db: sqlite_utils.Database, link: str, key: str) -> BugState | None:
    """What a syzbot source needs to skip a bug that did not change: its extid and last list row."""
    old = find_bug(db, link, key)
    if old is None:
        return None
    try:
        raw = json.loads(old["raw"]) if old.get("raw") else {}
    except ValueError:
        raw = {}
    return BugState(old["extid"], raw.get("list") if isinstance(raw, dict) else None)


def discussion_links(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(extid, link) for every discussion link of every stored bug, by extid."""
    out = []
    for extid, discussions in db.execute("SELECT extid, discussions FROM bugs ORDER BY extid"):
        try:
            links = json.loads(discussions or "[]")
        except ValueError:
            continue
        out += [(extid, link) for link in links if isinstance(link, str)]
    return out


def save_bug(db: sqlite_utils.Database, bug: Bug, report_ids: dict[str, int | None]) -> str:
    """Write ``bug`` and its crashes (``report_ids``: crash key -> stored report); ``"new"``, ``"updated"``
    or ``"unchanged"``. A bug stored under another key (listed by id, now known by extid) is replaced."""
    row = {"extid": bug.extid, **bug.fields, "updated_at": now()}
    old = find_bug(db, row.get("link"), bug.key)
    crashes = [{"bug_extid": bug.extid, "crash_key": c.key, **c.fields, "report_id": report_ids.get(c.key)}
               for c in bug.crashes]
    linked = dict(db.execute("SELECT crash_key, report_id FROM crashes WHERE bug_extid = ?", [bug.extid]).fetchall())
    changed = old is None or any(old.get(k) != row.get(k) for k in CHANGE_FIELDS)
    # a new crash, or a crash whose report text could not be read before and now is
    relinked = any(c["crash_key"] not in linked or (c["report_id"] and not linked[c["crash_key"]]) for c in crashes)
    if not changed and not relinked:
        return "unchanged"
    if old is not None and old["extid"] != bug.extid:
        db.execute("DELETE FROM bugs WHERE extid = ?", [old["extid"]])
    db["bugs"].upsert(row, pk="extid")
    if crashes:
        db["crashes"].upsert_all(crashes, pk=("bug_extid", "crash_key"))
    return "new" if old is None else "updated"
