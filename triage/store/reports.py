"""Reports in the store: one row per crash text (keyed by its content hash), its frames, every place it was
seen (``sources``) and its review row.

``prepare`` turns a parsed report into the rows to write (outside any transaction: it is the costly part);
``store_reports`` writes a batch of them (``store_report`` one), or only a new source when the same crash text
is already stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from triage.report import PARSER_VERSION, Report
from triage.report.normalize import foldable
from triage.report.source import content_hash
from triage.store.schema import now
from triage.subsystems import subsystems_json

if TYPE_CHECKING:       # annotations only: the import's worker processes prepare rows without sqlite-utils (~0.1 s
    import sqlite_utils  # of their start-up)

CHUNK = 500                # ids or hashes per IN (...) list
MAX_STORED_TEXT = 2_000_000  # bytes of input kept with a report; larger logs keep the extracted report only

FRAMES_INSERT = ("INSERT OR IGNORE INTO frames (report_id, stack, pos, function, norm_function, offset, size, "
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
    verdict: Any = None          # the classifier's verdict on it, when the import classified it already
    replies_to: tuple[str, ...] = ()      # from a reply to a patch: the mails it names
    quote_lines: list[str] = field(default_factory=list)   # its lines to look for in those patches


def prepare(rep: Report, *, kind: str, location: str, message_id: str | None = None,
            reported_at: str | None = None, bug_extid: str | None = None,
            full_text: str | None = None, title: str | None = None, repro: str | None = None) -> PreparedReport:
    """The rows of a parsed report (``rep.display_title`` must be set).

    The report is keyed by its extracted crash text; the stored ``text`` is the whole input when it is not
    huge, so the lines printed before the crash (fault injection, I/O errors) stay with it. ``title``: the
    title the crash's origin gave it (syzbot's, on its own mail), stored instead of the parser's; ``repro``: the
    reproducer it links (``messages.syzbot_repro``: a syzbot ci finding's).
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
    if repro is not None:
        row["repro"] = repro
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
    return store_reports(db, [rep])[0]


def known_hashes(db: sqlite_utils.Database, hashes: Iterable[str]) -> dict[str, int]:
    """content hash -> stored report id, for those of ``hashes`` that are stored."""
    hashes = list(dict.fromkeys(hashes))
    out: dict[str, int] = {}
    for i in range(0, len(hashes), CHUNK):
        part = hashes[i:i + CHUNK]
        out.update((h, rid) for rid, h in db.execute(
            f"SELECT id, content_hash FROM reports WHERE content_hash IN ({','.join('?' * len(part))})", part))
    return out


def store_reports(db: sqlite_utils.Database, reps: Sequence[PreparedReport]) -> list[tuple[int, bool]]:
    """Write prepared reports in order, as ``store_report`` one by one would (same ids), with one statement per
    table: ``(id, new)`` for each. Inside the caller's transaction, which holds the write lock, so the ids the
    reports get are known before they are written (SQLite's own next rowid: the largest plus one)."""
    if not reps:
        return []
    stamp = now()
    known = known_hashes(db, (r.content_hash for r in reps))
    next_id = (db.execute("SELECT MAX(id) FROM reports").fetchone()[0] or 0) + 1
    out: list[tuple[int, bool]] = []
    rows, frames, sources, reviews = [], [], [], []
    for rep in reps:
        rid = known.get(rep.content_hash)
        new = rid is None
        if new:
            rid = known[rep.content_hash] = next_id
            next_id += 1
            rows.append({**rep.row, "id": rid, "imported_at": stamp})
            frames += [(rid, *f) for f in rep.frames]
            reviews.append((rid, stamp))
        sources.append((rid, rep.kind, rep.location, rep.message_id, stamp))
        out.append((rid, new))
    if rows:
        cols = list(dict.fromkeys(c for r in rows for c in r))     # (a column only some rows have: NULL in others)
        db.conn.executemany(f"INSERT INTO reports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            [[r.get(c) for c in cols] for r in rows])
        db.conn.executemany(FRAMES_INSERT, frames)
        db.conn.executemany("INSERT OR IGNORE INTO reviews (report_id, state, updated_at) VALUES (?, 'new', ?)",
                            reviews)
    db.conn.executemany("INSERT OR IGNORE INTO sources (report_id, kind, location, message_id, seen_at) "
                        "VALUES (?,?,?,?,?)", sources)
    return out
