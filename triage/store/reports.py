"""Reports in the store: one row per crash text (keyed by its content hash), its frames, every place it was
seen (``sources``) and its review row.

``prepare`` turns a parsed report into the rows to write (outside any transaction: it is the costly part);
``store_report`` writes them, or only a new source when the same crash text is already stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from triage.report import PARSER_VERSION, Report
from triage.report.normalize import foldable
from triage.report.source import content_hash
from triage.store.schema import now
from triage.subsystems import subsystems_json

MAX_STORED_TEXT = 2_000_000  # bytes of input kept with a report; larger logs keep the extracted report only

_FRAMES_INSERT = ("INSERT OR IGNORE INTO frames (report_id, stack, pos, function, norm_function, offset, size, "
                  "file, line, inline, module) VALUES (?,?,?,?,?,?,?,?,?,?,?)")


MAX_DATE_SCAN = 200_000     # characters of a log searched for its date
_LOG_DATE = re.compile(r"^(?:[ \t]*>)*[ \t]*(?:\[(?P<a>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)[\d.,]*\]"
                       r"|(?P<b>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)[\d.,]*(?P<tz>Z|[+-]\d\d:?\d\d)?\s+\S+\s+kernel:)",
                       re.M)


def log_date(text: str) -> str | None:
    """When a kernel log was written, if its lines carry a date (a journal's ``2024-02-24T20:39:18+01:00 host
    kernel:``, a logger's ``[2023-10-13 02:51:09]``): the first one, as the store's UTC timestamps. Console
    timestamps count seconds since boot and syslog's ``Feb 24 20:39:18`` has no year: no date then."""
    m = _LOG_DATE.search(text)
    if m is None:
        return None
    raw = (m.group("a") or m.group("b")).replace(" ", "T")
    tz = m.group("tz") or ""
    try:
        when = datetime.fromisoformat(raw + ("+00:00" if tz in ("", "Z") else tz))
    except ValueError:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signature_hash(signature: list[str], title: str | None) -> str | None:
    """The key reports fold on (title and signature); None when the signature says too little to fold on
    (``normalize.foldable``: fewer than two frames of its own, a corrupted report)."""
    if not foldable(signature, title):
        return None
    key = (title or "") + "\n" + "\n".join(signature)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class PreparedReport:
    """A parsed report as rows: the ``reports`` row (without id), its frames (without report id), its source."""

    content_hash: str
    row: dict
    frames: list[tuple]
    kind: str
    location: str
    message_id: str | None


def prepare(rep: Report, *, kind: str, location: str, message_id: str | None = None,
            reported_at: str | None = None, bug_extid: str | None = None,
            full_text: str | None = None, title: str | None = None) -> PreparedReport:
    """The rows of a parsed report (``rep.display_title`` must be set).

    The report is keyed by its extracted crash text; the stored ``text`` is the whole input when it is not
    huge, so the lines printed before the crash (fault injection, I/O errors) stay with it. ``title``: the
    title the crash's origin gave it (syzbot's, on its own mail), stored instead of the parser's.
    """
    crash_text = rep.report or (rep.event or {}).get("text") or ""
    text = full_text if full_text is not None and len(full_text) <= MAX_STORED_TEXT else crash_text
    chash = content_hash(crash_text)
    row = {
        "content_hash": chash, "title": title or rep.display_title,
        "crash_type": rep.type or (rep.event or {}).get("type"),    # what was printed, never a verdict
        "corrupted": int(bool(rep.corrupted)), "kernel": rep.kernel, "guilty_frame": rep.guilty_frame,
        "guilty_file": rep.guilty_file, "signature": " <- ".join(rep.signature),
        "signature_hash": signature_hash(rep.signature, rep.display_title), "bug_extid": bug_extid,
        "source_kind": kind, "source": location, "message_id": message_id,
        "reported_at": reported_at or log_date(text[:MAX_DATE_SCAN]),
        "parser_version": PARSER_VERSION, "parsed": json.dumps(rep.to_dict(), ensure_ascii=False), "text": text,
        "subsystems": subsystems_json(rep),
    }
    frames = [(f.stack, i, f.function, f.norm_function, f.offset, f.size, f.file, f.line, int(bool(f.inline)),
               f.module) for i, f in enumerate(rep.frames)]
    return PreparedReport(chash, row, frames, kind, location, message_id)


def report_id(db: sqlite_utils.Database, chash: str) -> int | None:
    """The stored report with this content hash."""
    row = db.execute("SELECT id FROM reports WHERE content_hash = ?", [chash]).fetchone()
    return row[0] if row else None


def report_at(db: sqlite_utils.Database, kind: str, location: str) -> int | None:
    """The report a source location brought (the first, if several)."""
    row = db.execute("SELECT min(report_id) FROM sources WHERE kind = ? AND location = ?", [kind, location]).fetchone()
    return row[0] if row else None


def add_source(db: sqlite_utils.Database, rid: int, kind: str, location: str, message_id: str | None) -> None:
    db.execute(
        "INSERT OR IGNORE INTO sources (report_id, kind, location, message_id, seen_at) VALUES (?,?,?,?,?)",
        [rid, kind, location, message_id, now()],
    )


def store_report(db: sqlite_utils.Database, rep: PreparedReport) -> tuple[int, bool]:
    """Write a prepared report (inside the caller's transaction): ``(id, True)`` when new, ``(id, False)`` when
    the same crash text was stored already (only its new source is added then)."""
    rid = report_id(db, rep.content_hash)
    if rid is not None:
        add_source(db, rid, rep.kind, rep.location, rep.message_id)
        return rid, False
    stamp = now()
    row = {**rep.row, "imported_at": stamp}
    rid = db["reports"].insert(row).last_pk
    if rep.frames:
        db.conn.executemany(_FRAMES_INSERT, [(rid, *f) for f in rep.frames])  # plain rows: an import's hot path
    add_source(db, rid, rep.kind, rep.location, rep.message_id)
    db.execute("INSERT OR IGNORE INTO reviews (report_id, state, updated_at) VALUES (?, 'new', ?)", [rid, stamp])
    return rid, True
