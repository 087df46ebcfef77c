"""The maintainer's review state: seen / acked / muted / snoozed, and human labels.

Review state lives in ``reviews`` and human labels in ``verdicts`` (``source = 'human'``). Nothing else
in syz-triage writes them: sync, import and classification only ever add a ``'new'`` row with
INSERT OR IGNORE, so a decision taken here is kept forever. Each change settles the stored duplicate groups
it touched in the same transaction (``triage.store.groups``).

Each change is one ``transaction``: during an import it waits for the import's batch in progress (a batch holds
the write lock about a second at most; a longer wait is announced, and one past the busy timeout fails whole).

State changes apply to the whole duplicate group of the given report (the inbox shows one line per
group; acking the line acks what it stands for). A human label applies to the given report only.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from triage.store import transaction
from triage.store.groups import settle
from vocab.labels import LABELS

if TYPE_CHECKING:       # annotations only: a reader of the store does not import sqlite-utils
    import sqlite_utils

STATES: tuple[str, ...] = ("new", "seen", "acked", "muted")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


class ReviewError(Exception):
    """A review command that cannot be done (unknown report, bad label, bad date)."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def stamp(when: datetime | None = None) -> str:
    return (when or utcnow()).astimezone(UTC).strftime(TIME_FORMAT)


def parse_span(text: str) -> timedelta:
    """``3d`` / ``2w`` / ``12h`` / ``30m`` -> timedelta."""
    m = _SPAN.match(text)
    if not m:
        raise ReviewError(f"{text!r}: expected a span like 3d, 2w or 12h")
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_when(text: str, *, future: bool, now: datetime | None = None) -> datetime:
    """A date ``YYYY-MM-DD`` (midnight UTC) or a span counted from now (forward if ``future``)."""
    now = now or utcnow()
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        span = parse_span(text)
    except ReviewError:
        raise ReviewError(f"{text!r}: expected a date YYYY-MM-DD or a span like 3d, 2w") from None
    return now + span if future else now - span


def current_user() -> str:
    return os.environ.get("TRIAGE_USER") or _login()


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def require_report(db: sqlite_utils.Database, report_id: int) -> None:
    if not db.execute("SELECT 1 FROM reports WHERE id = ?", [report_id]).fetchone():
        raise ReviewError(f"no report with id {report_id}")


def unknown_ids(db: sqlite_utils.Database, report_ids: list[int]) -> list[int]:
    """The ids in ``report_ids`` that name no stored report, in the order given (a batch command applies
    to the others and names these)."""
    return [rid for rid in dict.fromkeys(report_ids)
            if not db.execute("SELECT 1 FROM reports WHERE id = ?", [rid]).fetchone()]


def group_ids(db: sqlite_utils.Database, report_id: int) -> list[int]:
    """The ids of every report in the duplicate group of ``report_id`` (itself included)."""
    require_report(db, report_id)
    key = db.execute("SELECT dup_key FROM reports WHERE id = ?", [report_id]).fetchone()[0]
    if key is None:
        return [report_id]
    return sorted(r[0] for r in db.execute("SELECT id FROM reports WHERE dup_key = ?", [key]))


def _upsert(db: sqlite_utils.Database, ids: list[int], **fields) -> None:
    now = stamp()
    with transaction(db):
        for rid in ids:
            db.execute("INSERT OR IGNORE INTO reviews (report_id, state, updated_at) VALUES (?, 'new', ?)",
                       [rid, now])
            sets = ", ".join(f"{k} = :{k}" for k in fields)
            db.execute(f"UPDATE reviews SET {sets}, updated_at = :now WHERE report_id = :rid",
                       {**fields, "now": now, "rid": rid})
        settle(db)


def set_state(db: sqlite_utils.Database, report_ids: list[int], state: str, who: str | None = None,
              note: str | None = None) -> list[int]:
    """Ack / mute (or reset to new / seen) the groups of ``report_ids``; returns every id touched."""
    if state not in STATES:
        raise ReviewError(f"{state!r}: not a review state ({', '.join(STATES)})")
    ids = _expand(db, report_ids)
    fields: dict = {"state": state, "who": who or current_user(), "snooze_until": None}
    if state == "acked":
        fields["seen_at"] = stamp()      # acking a line is looking at it: its replies so far are not new
    if note is not None:
        fields["note"] = note
    _upsert(db, ids, **fields)
    return ids


def snooze(db: sqlite_utils.Database, report_ids: list[int], until: datetime, who: str | None = None) -> list[int]:
    """Hide the groups of ``report_ids`` from the inbox until ``until``."""
    ids = _expand(db, report_ids)
    _upsert(db, ids, snooze_until=stamp(until), who=who or current_user())
    return ids


def mark_seen(db: sqlite_utils.Database, report_id: int, who: str | None = None) -> list[int]:
    """``triage seen``: remember when (for 'new replies'), and new -> seen for the group; returns its ids."""
    ids = group_ids(db, report_id)
    now = stamp()
    with transaction(db):
        for rid in ids:
            db.execute("INSERT OR IGNORE INTO reviews (report_id, state, updated_at) VALUES (?, 'new', ?)",
                       [rid, now])
            db.execute("UPDATE reviews SET seen_at = ?, state = CASE state WHEN 'new' THEN 'seen' ELSE state END "
                       "WHERE report_id = ?", [now, rid])
        settle(db)
    return ids


def set_label(db: sqlite_utils.Database, report_id: int, label: str, who: str | None = None,
              note: str | None = None) -> None:
    """A human label: a ``verdicts`` row with source 'human' that overrides the classifier."""
    if label not in LABELS:
        raise ReviewError(f"{label!r}: not a label (one of {', '.join(LABELS)})")
    require_report(db, report_id)
    with transaction(db):
        db["verdicts"].upsert(
            {"report_id": report_id, "source": "human", "label": label, "confidence": 1.0, "needs_review": 0,
             "evidence": json.dumps({"by": who or current_user(), "note": note}), "classifier_version": "human",
             "created_at": stamp()},
            pk=("report_id", "source"),
        )
        settle(db)


def _expand(db: sqlite_utils.Database, report_ids: list[int]) -> list[int]:
    out: set[int] = set()
    for rid in report_ids:
        out.update(group_ids(db, rid))
    return sorted(out)
