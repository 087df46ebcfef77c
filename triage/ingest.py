"""The ingest pipeline: texts and messages in, parsed reports and messages stored, idempotently.

Every source (local files, mail archives, syzbot, lore, simulator runs) goes through
``Ingest.add_report`` / ``Ingest.add_mail``. A report is keyed by the sha256 of its normalized text
and by the message-id it came in; storing the same thing twice adds nothing. Writes are batched:
each batch is one transaction, so a killed import leaves whole items or none, and a re-run fills the gap.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils

from triage.report import PARSER_VERSION, Report, parse
from triage.subsystems import subsystems_json

MAX_STORED_TEXT = 2_000_000  # bytes of input kept with a report; larger logs keep the extracted report only
_PREFIX = re.compile(r"^\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?", re.M)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def content_hash(text: str) -> str:
    """sha256 of the report text with console timestamps, CRLF and trailing blanks removed."""
    norm = _PREFIX.sub("", text.replace("\r\n", "\n"))
    norm = "\n".join(line.rstrip() for line in norm.strip().split("\n"))
    return hashlib.sha256(norm.encode("utf-8", "replace")).hexdigest()


def signature_hash(signature: list[str], title: str | None) -> str | None:
    if not signature and not title:
        return None
    key = (title or "") + "\n" + "\n".join(signature)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class Summary:
    """What an import or sync did; ``--json`` prints ``as_dict()``."""

    reports_new: int = 0
    messages_new: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"reports_new": self.reports_new, "messages_new": self.messages_new, "skipped": self.skipped}
        out.update(self.counters)
        out["errors"] = self.errors
        return out


_FRAMES_INSERT = ("INSERT OR IGNORE INTO frames (report_id, stack, pos, function, norm_function, offset, size, "
                  "file, line, inline, module) VALUES (?,?,?,?,?,?,?,?,?,?,?)")


# Hooks run on every batch of newly stored report ids, inside the batch transaction
# (classification registers one here, so a report is never stored without its verdict).
ReportHook = Callable[[sqlite_utils.Database, list[int]], None]
REPORT_HOOKS: list[ReportHook] = []


class Ingest:
    """A batching writer. Use as a context manager; ``flush`` commits the pending batch."""

    def __init__(self, db: sqlite_utils.Database, batch_size: int = 500, hooks: Iterable[ReportHook] | None = None):
        self.db = db
        self.batch_size = batch_size
        if hooks is None:  # the default: classify new reports (imported here, not at start-up: scikit-learn)
            import triage.classify_store  # noqa: F401  (registers its hook in REPORT_HOOKS)

            hooks = REPORT_HOOKS
        self.hooks = list(hooks)
        self.summary = Summary()
        self._pending: list[Callable[[], None]] = []
        self._new_ids: list[int] = []
        self._hashes: dict[str, int] = {}
        self._mids: set[str] = set()
        self._next_id = (db.execute("SELECT max(id) FROM reports").fetchone()[0] or 0) + 1
        self.last_id: int | None = None   # id of the report the last add_report stored or found

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.flush()

    # -- lookups -----------------------------------------------------------------------------------
    def has_message(self, message_id: str) -> bool:
        if message_id in self._mids:
            return True
        return bool(
            self.db.execute("SELECT 1 FROM messages WHERE message_id = ?", [message_id]).fetchone()
            or self.db.execute("SELECT 1 FROM sources WHERE message_id = ?", [message_id]).fetchone()
        )

    def report_id(self, chash: str) -> int | None:
        row = self.db.execute("SELECT id FROM reports WHERE content_hash = ?", [chash]).fetchone()
        return row[0] if row else None

    # -- writes ------------------------------------------------------------------------------------
    def add_text(self, text: str, *, kind: str, location: str, message_id: str | None = None,
                 reported_at: str | None = None, bug_extid: str | None = None) -> int | None:
        """Parse ``text`` and store its crash, if any. Returns the new report id or None."""
        rep = parse(text)
        self.last_id = None
        if rep.display_title is None:
            return None
        return self.add_report(rep, kind=kind, location=location, message_id=message_id,
                               reported_at=reported_at, bug_extid=bug_extid, full_text=text)

    def add_report(self, rep: Report, *, kind: str, location: str, message_id: str | None = None,
                   reported_at: str | None = None, bug_extid: str | None = None,
                   full_text: str | None = None) -> int | None:
        """Queue a parsed report; returns its new id, or None if the same crash text is already stored.

        The report is keyed by its extracted crash text; the stored ``text`` is the whole input when it
        is not huge, so the lines printed before the crash (fault injection, I/O errors) stay with it.
        """
        crash_text = rep.report or (rep.event or {}).get("text") or ""
        chash = content_hash(crash_text)
        existing = self._hashes.get(chash) or self.report_id(chash)
        self.last_id = existing
        if existing is not None:
            self.summary.counters["reports_known"] = self.summary.counters.get("reports_known", 0) + 1
            self._queue(lambda: self._add_source(existing, kind, location, message_id))
            return None
        text = full_text if full_text is not None and len(full_text) <= MAX_STORED_TEXT else crash_text
        rid = self._next_id
        self._next_id += 1
        self._hashes[chash] = rid
        self.last_id = rid
        stamp = now()
        row = {
            "id": rid, "content_hash": chash, "title": rep.display_title, "crash_type": rep.type or (
                "DATA_LOSS" if rep.event else None),
            "corrupted": int(bool(rep.corrupted)), "kernel": rep.kernel, "guilty_frame": rep.guilty_frame,
            "guilty_file": rep.guilty_file, "signature": " <- ".join(rep.signature),
            "signature_hash": signature_hash(rep.signature, rep.display_title), "bug_extid": bug_extid,
            "source_kind": kind, "source": location, "message_id": message_id,
            "reported_at": reported_at or stamp, "imported_at": stamp, "parser_version": PARSER_VERSION,
            "parsed": json.dumps(rep.to_dict(), ensure_ascii=False), "text": text,
            "subsystems": subsystems_json(rep),
        }
        frames = [(rid, f.stack, i, f.function, f.norm_function, f.offset, f.size, f.file, f.line,
                   int(bool(f.inline)), f.module) for i, f in enumerate(rep.frames)]

        def write() -> None:
            self.db["reports"].insert(row)
            if frames:
                self.db.conn.executemany(_FRAMES_INSERT, frames)   # plain rows: the hot path of an import
            self._add_source(rid, kind, location, message_id)
            self.db["reviews"].insert({"report_id": rid, "state": "new", "updated_at": stamp}, ignore=True)
            self._new_ids.append(rid)

        self._queue(write)
        self.summary.reports_new += 1
        return rid

    def _add_source(self, rid: int, kind: str, location: str, message_id: str | None) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO sources (report_id, kind, location, message_id, seen_at) VALUES (?,?,?,?,?)",
            [rid, kind, location, message_id, now()],
        )

    def add_message(self, row: dict) -> bool:
        """Queue a ``messages`` row; False if the message-id is already stored."""
        mid = row["message_id"]
        if self.has_message(mid):
            return False
        self._mids.add(mid)
        row = {**row, "imported_at": now()}
        self._queue(lambda: self.db["messages"].insert(row, ignore=True))
        self.summary.messages_new += 1
        return True

    def _queue(self, op: Callable[[], None]) -> None:
        self._pending.append(op)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Commit the pending batch in one transaction (and run the report hooks inside it)."""
        if not self._pending:
            return
        with self.db.atomic():
            for op in self._pending:
                op()
            if self._new_ids:
                for hook in self.hooks:
                    hook(self.db, self._new_ids)
        self._pending.clear()
        self._new_ids.clear()
        self._hashes.clear()
        self._mids.clear()


def import_paths(db: sqlite_utils.Database, paths: list[str], progress: Callable[[str], None] | None = None
                 ) -> Summary:
    """``triage import PATH...``: files, e-mails, mbox, maildirs and directories of them."""
    from scrapers.archives import InputError, walk
    from scrapers.messages import message_row

    with Ingest(db) as ing:
        for item in walk(paths):
            if progress:
                progress(item.location)
            if isinstance(item, InputError):
                ing.summary.errors.append(str(item))
                continue
            mid = item.mail.message_id if item.mail else None
            if mid is not None:
                if ing.has_message(mid):
                    ing.summary.skipped += 1
                    continue
                ing.add_message(message_row(item.mail, source=item.location))
            try:
                ing.add_text(item.text, kind=item.kind, location=item.location, message_id=mid,
                             reported_at=item.mail.date if item.mail else None)
            except Exception as exc:  # a parser bug must not lose the rest of the batch
                ing.summary.errors.append(f"{item.location}: could not parse ({type(exc).__name__}: {exc})")
    return ing.summary
