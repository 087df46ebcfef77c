"""The one pipeline: records from any source -> stored, parsed, classified, threaded and linked.

Sources (``scrapers/``, the simulator runs of ``triage demo``) yield plain records (``records``); a
``Pipeline`` takes them in order:

- a ``MailRecord`` becomes a ``messages`` row, and the report its body holds (if any) a report;
- a ``ReportText`` is parsed and stored as a report (an origin's own title is kept when the parser finds none);
- a ``Bug`` is stored with its crashes, each linked to the report parsed from its text;
- a ``ThreadHint`` gives a thread its bug, a ``Checkpoint`` is a source's cursor, an ``InputError`` is
  counted and named in the summary.

Parsing happens as records arrive, outside any transaction. Writes are batched, and a batch is ONE transaction
(``BEGIN IMMEDIATE``) that stores the messages and reports, classifies the new reports (an explicit call,
unless ``classify=False``; the classifier is loaded before the lock is taken), threads the new messages, links
bugs and crashes, keeps the duplicate groups (``store.groups``) up to date, and saves the batch's checkpoints.
A batch ends at ``batch_size`` writes, or ``batch_seconds`` after its first record, or sooner when the writes
measured so far say it would hold the write lock longer than ``lock_seconds``: another writer (``triage label``
during an import) waits about that long. A record is never split between batches, so a mail and the report
parsed from it commit together, and a cursor never runs ahead of the data it covers: a killed run leaves whole
records or none, and a re-run fills the gap (message-ids and content hashes keep it idempotent). Reports are
keyed by the sha256 of their normalized crash text; storing the same crash twice adds only where it was seen.

Which mails hold reports is decided here (``report_text``): patches and syzbot's digests never do; the parser
decides the rest from the text.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from records import Bug, BugUnchanged, Checkpoint, InputError, MailRecord, Record, ReportText, ThreadHint
from records.mail import Mail
from triage.report.model import Report
from triage.store import transaction
from triage.store.bugs import save_bug
from triage.store.cursors import save_cursor
from triage.store.groups import refresh as refresh_groups
from triage.store.messages import (
    has_message,
    insert_message,
    is_digest,
    is_patch,
    is_patch_reply,
    is_syzbot,
    message_row,
    patch_bodies,
    syzbot_title,
)
from triage.store.reports import PreparedReport, prepare, store_report

# what a summary counts, in the order its text names them: key -> words after the number
SUMMARY_WORDS = {
    "reports_new": "new reports", "reports_known": "reports already stored", "messages_new": "new messages",
    "skipped": "messages already stored", "threads_new": "new threads", "bugs_new": "new bugs",
    "bugs_updated": "bugs updated", "bugs_unchanged": "bugs unchanged", "reclassified": "reports reclassified",
    "requests": "requests",
}

BASE_KEYS = ("reports_new", "reports_known", "messages_new", "skipped")


@dataclass
class Summary:
    """What an import or a sync did. ``as_dict()`` is the ``--json`` object and ``text()`` says the same."""

    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)     # inputs that could not be used (exit 1)
    notes: list[str] = field(default_factory=list)      # inputs read without a report in them

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    @property
    def reports_new(self) -> int:
        return self.counts["reports_new"]

    @property
    def messages_new(self) -> int:
        return self.counts["messages_new"]

    @property
    def skipped(self) -> int:
        return self.counts["skipped"]

    def as_dict(self, keys: Iterable[str] = ()) -> dict:
        """The counts (those of ``BASE_KEYS`` and ``keys`` even when zero), the errors and the notes."""
        keys = set(keys) | set(BASE_KEYS)
        out = {k: self.counts[k] for k in SUMMARY_WORDS if k in keys or self.counts[k]}
        out.update({k: v for k, v in self.counts.items() if k not in out and (v or k in keys)})
        out["errors"] = list(self.errors)
        out["notes"] = list(self.notes)
        return out

    def text(self, keys: Iterable[str] = ()) -> str:
        """One line with the same numbers as ``as_dict(keys)``."""
        out = self.as_dict(keys)
        parts = [f"{v} {SUMMARY_WORDS.get(k, k.replace('_', ' '))}" for k, v in out.items() if isinstance(v, int)]
        return ", ".join(parts + [f"{len(self.errors)} errors"])


@dataclass
class _Mail:
    row: dict
    report: PreparedReport | None


@dataclass
class _Bug:
    bug: Bug
    reports: dict[str, PreparedReport]       # crash key -> its parsed report


class Pipeline:
    """Takes records (``add`` / ``run``), writes them batch by batch; ``flush`` commits the pending batch.

    ``classify``: classify new reports in their batch (``classifier``: which; default the shipped one).
    ``batch_size`` / ``batch_seconds``: a batch commits after this many writes or this long, whichever first.
    ``lock_seconds``: how long a batch's transaction should hold the write lock; the number of writes per batch
    follows from the time the last transaction took per write (the first batch is at most ``FIRST_BATCH``).
    """

    FIRST_BATCH = 100

    def __init__(self, db: sqlite_utils.Database, *, classify: bool = True, classifier: Any = None,
                 batch_size: int = 500, batch_seconds: float = 5.0, lock_seconds: float = 0.5,
                 summary: Summary | None = None):
        self.db = db
        self.classify = classify
        self.classifier = classifier
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.lock_seconds = lock_seconds
        self.batch_limit = min(batch_size, self.FIRST_BATCH)   # writes in the next batch (adapted)
        self.summary = summary if summary is not None else Summary()
        self.new_ids: list[int] = []          # reports the last committed batch stored anew
        self._units: list[_Mail | PreparedReport | _Bug] = []
        self._mids: set[str] = set()
        self._hints: dict[str, str] = {}
        self._checkpoints: dict[str, dict] = {}
        self._writes = 0
        self._since: float | None = None
        self._failed = False                  # the last flush raised (its batch is rolled back)

    # -- taking records ------------------------------------------------------------------------------
    def run(self, records: Iterable[Record]) -> Summary:
        """Take every record, then commit. If the source fails (``SyncStopped``, an interrupt...), the whole
        records taken before are committed first, then the exception goes on."""
        try:
            for record in records:
                self.add(record)
        except BaseException:
            if not self._failed:       # a batch that failed to commit is not tried again
                self.flush()
            raise
        self.flush()
        return self.summary

    def add(self, record: Record) -> None:
        if isinstance(record, MailRecord):
            self._add_mail(record)
        elif isinstance(record, ReportText):
            report = self._parse(record.text, record.kind, record.location, message_id=record.message_id,
                                 reported_at=record.reported_at, bug_extid=record.bug_extid, title=record.title)
            if report is not None:
                self._queue(report, 1)
            elif record.kind == "file":
                self.summary.notes.append(f"{record.location}: no kernel report found")
        elif isinstance(record, Bug):
            reports = {}
            for crash in record.crashes:
                r = crash.report
                if r is not None:
                    rep = self._parse(r.text, r.kind, r.location, message_id=r.message_id, reported_at=r.reported_at,
                                      bug_extid=r.bug_extid, title=r.title)
                    if rep is not None:
                        reports[crash.key] = rep
            self._queue(_Bug(record, reports), 1 + len(reports))
        elif isinstance(record, BugUnchanged):
            self.summary.counts["bugs_unchanged"] += 1
        elif isinstance(record, ThreadHint):
            self._hints[record.message_id] = record.bug_extid
            self._queue(None, 1)
        elif isinstance(record, Checkpoint):
            self._checkpoints[record.source] = record.cursor
            self._queue(None, 1)
        elif isinstance(record, InputError):
            self.summary.errors.append(str(record))
        else:
            raise TypeError(f"not a record: {type(record).__name__}")

    def _add_mail(self, record: MailRecord) -> None:
        mail = record.mail
        mid = mail.message_id
        if mid in self._mids or has_message(self.db, mid):
            self.summary.counts["skipped"] += 1
            return
        row = message_row(mail, source=record.location)
        report = None
        if report_text(mail) is not None:
            rep = self._read(mail.body, record.location)
            if rep is not None and is_patch_reply(mail) and self._quotes_patch(mail, rep):
                rep = None      # a review quoting the oops its patch's changelog pasted
            if rep is not None:
                # only syzbot's own mail says its crash is the bug's; another mail's report joins the bug when
                # threading finds it is that bug's crash (threads.link_reports)
                bug = row["bug_extid"] if is_syzbot(mail.author_email) else None
                report = self._prepare(rep, record.kind, record.location, message_id=mid, reported_at=mail.date,
                                       bug_extid=bug, title=syzbot_title(mail), full_text=mail.body)
        self._mids.add(mid)
        self._queue(_Mail(row, report), 2 if report else 1)

    def _quotes_patch(self, mail: Mail, rep: Report) -> bool:
        """Whether the kernel output of ``rep`` is the one a patch this mail replies to carries."""
        named = [m for m in dict.fromkeys([mail.in_reply_to, *mail.refs]) if m]
        bodies = [u.row["body"] for u in self._units if isinstance(u, _Mail) and u.row["message_id"] in named
                  and u.row["patch_subject"]]
        return quoted_from(rep, bodies + patch_bodies(self.db, named))

    def _read(self, text: str, location: str, title: str | None = None) -> Report | None:
        """The report in ``text``; None if there is none (or the parser failed: an error)."""
        from triage.report import parse

        try:
            rep = parse(text)
            if rep.display_title is None and title:   # the origin (syzbot) already extracted it and named it
                rep.title, rep.report = title, text
            return rep if rep.display_title is not None else None
        except Exception as exc:  # a parser bug must not lose the rest of the batch
            self.summary.errors.append(f"{location}: could not parse ({type(exc).__name__}: {exc})")
            return None

    def _prepare(self, rep: Report, kind: str, location: str, *, full_text: str, **fields: Any
                 ) -> PreparedReport | None:
        try:
            return prepare(rep, kind=kind, location=location, full_text=full_text, **fields)
        except Exception as exc:  # a parser bug must not lose the rest of the batch
            self.summary.errors.append(f"{location}: could not parse ({type(exc).__name__}: {exc})")
            return None

    def _parse(self, text: str, kind: str, location: str, *, message_id: str | None, reported_at: str | None,
               bug_extid: str | None, title: str | None = None) -> PreparedReport | None:
        """The report in ``text``, ready to write; None if there is none (or the parser failed: an error)."""
        rep = self._read(text, location, title)
        if rep is None:
            return None
        return self._prepare(rep, kind, location, message_id=message_id, reported_at=reported_at,
                             bug_extid=bug_extid, full_text=text)

    def _queue(self, unit: _Mail | PreparedReport | _Bug | None, writes: int) -> None:
        if unit is not None:
            self._units.append(unit)
        self._writes += writes
        if self._since is None:
            self._since = time.monotonic()
        if self._writes >= self.batch_limit or time.monotonic() - self._since >= self.batch_seconds:
            self.flush()

    # -- writing a batch -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Commit the pending batch in one transaction: store, classify, thread, link, save checkpoints."""
        if not self._writes:
            return
        counts: Counter = Counter()
        new_ids: list[int] = []
        if self.classify and self._has_reports():
            from triage.classify_store import load_classifier

            self.classifier = load_classifier(self.classifier)     # a first load takes seconds: not under the lock
        self._failed = True
        with transaction(self.db):
            started = time.monotonic()
            messages = False
            for unit in self._units:
                if isinstance(unit, _Mail):
                    if insert_message(self.db, unit.row):
                        counts["messages_new"] += 1
                        messages = True
                    else:                           # another writer stored it meanwhile
                        counts["skipped"] += 1
                    if unit.report is not None:
                        self._store(unit.report, counts, new_ids)
                elif isinstance(unit, PreparedReport):
                    self._store(unit, counts, new_ids)
                else:
                    ids = {key: self._store(rep, counts, new_ids) for key, rep in unit.reports.items()}
                    counts["bugs_" + save_bug(self.db, unit.bug, ids)] += 1
            if new_ids and self.classify:
                from triage.classify_store import classify_reports

                classify_reports(self.db, new_ids, self.classifier)
            linked: list[int] = []
            if messages or self._hints:
                from triage.store.threads import resolve

                counts["threads_new"] += resolve(self.db, self._hints or None, linked=linked)
            if new_ids or linked:
                refresh_groups(self.db, new_ids + linked)
            for source, cursor in self._checkpoints.items():
                save_cursor(self.db, source, cursor)
        self._adapt(time.monotonic() - started)
        self._failed = False
        self.summary.counts.update(counts)
        self.new_ids = new_ids
        self._units.clear()
        self._mids.clear()
        self._hints.clear()
        self._checkpoints.clear()
        self._writes = 0
        self._since = None

    def _has_reports(self) -> bool:
        return any(isinstance(u, PreparedReport) or (isinstance(u, _Mail) and u.report is not None)
                   or (isinstance(u, _Bug) and u.reports) for u in self._units)

    def _adapt(self, held: float) -> None:
        """Size the next batch so that its transaction holds the lock about ``lock_seconds``."""
        per_write = held / self._writes
        fits = int(self.lock_seconds / per_write) if per_write > 0 else self.batch_size
        self.batch_limit = max(1, min(self.batch_size, fits))

    def _store(self, report: PreparedReport, counts: Counter, new_ids: list[int]) -> int:
        rid, new = store_report(self.db, report)
        if new:
            new_ids.append(rid)
            counts["reports_new"] += 1
        else:
            counts["reports_known"] += 1
        return rid


def report_text(mail: Mail) -> str | None:
    """The text of a mail that may hold a crash report, or None when the mail cannot be one.

    Patches are not reports, even when their changelog pastes an oops (they count for a bug's status instead):
    a ``[PATCH`` subject, AUTOSEL and stable-bot mails, a body with a diff of its own. syzbot's monthly digests
    list titles, not crashes. (A reply to a patch may be one: ``quoted_from`` tells a review quoting the
    changelog's oops from a reply quoting or pasting a crash of the thread.)
    """
    if is_patch(mail) or is_digest(mail):
        return None
    return mail.body


MIN_QUOTED = 16        # characters of a report line compared with a patch's lines


def quoted_from(rep: Report, bodies: list[str]) -> bool:
    """Whether most of the first lines of the report ``rep`` (its extracted text; at least two) appear in one of
    ``bodies`` (the patches a mail replies to), quote marks and console prefixes set aside."""
    from triage.report.lines import clean

    text = rep.report or (rep.event or {}).get("text") or ""
    wanted = [t.strip() for t in (clean(ln)[1] for ln in text.split("\n")[:40]) if len(t.strip()) >= MIN_QUOTED][:12]
    if len(wanted) < 2:
        return False
    for body in bodies:
        have = {clean(ln)[1].strip() for ln in body.split("\n")}
        if sum(t in have for t in wanted) * 2 >= len(wanted):
            return True
    return False


def store_text(db: sqlite_utils.Database, text: str, *, kind: str, location: str, classify: bool = True,
               **origin: Any) -> int | None:
    """Parse and store one report text now (one transaction): the new report's id; None if the same crash
    is stored already or the text holds none. ``origin``: ``ReportText``'s other fields."""
    pipe = Pipeline(db, classify=classify)
    pipe.run([ReportText(text, kind, location, **origin)])
    return pipe.new_ids[0] if pipe.new_ids else None


def import_paths(db: sqlite_utils.Database, paths: list[str], *, classify: bool = True,
                 summary: Summary | None = None) -> Summary:
    """``triage import PATH...``: files, e-mails, mbox, maildirs and directories of them."""
    from scrapers.archives import walk

    return Pipeline(db, classify=classify, summary=summary).run(walk(paths))
