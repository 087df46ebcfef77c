"""The one pipeline: records from any source -> stored, parsed, classified, threaded and linked.

Sources (``scrapers/``, the simulator runs of ``triage demo``) yield plain records (``records``); a
``Pipeline`` takes them in order:

- a ``MailRecord`` becomes a ``messages`` row, and the report its body holds (if any) a report;
- a ``ReportText`` is parsed and stored as a report (an origin's own title is kept when the parser finds none);
- a ``Bug`` is stored with its crashes, each linked to the report parsed from its text;
- a ``ThreadHint`` gives a thread its bug, a ``Checkpoint`` is a source's cursor, an ``InputError`` is
  counted and named in the summary.

Parsing happens as records arrive, outside any transaction. Writes are batched, and a batch is ONE
transaction (``BEGIN IMMEDIATE``) that stores the messages and reports, classifies the new reports (an
explicit call, unless ``classify=False``), threads the new messages, links bugs and crashes, and saves the
batch's checkpoints. A record is never split between batches, so a mail and the report parsed from it commit
together, and a cursor never runs ahead of the data it covers: a killed run leaves whole records or none, and
a re-run fills the gap (message-ids and content hashes keep it idempotent). Reports are keyed by the sha256 of
their normalized crash text; storing the same crash twice adds only where it was seen.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from records import Bug, BugUnchanged, Checkpoint, InputError, MailRecord, Record, ReportText, ThreadHint
from triage.prefilter import may_hold_report
from triage.store import now, transaction
from triage.store.bugs import save_bug
from triage.store.cursors import save_cursor
from triage.store.fts import index_new
from triage.store.messages import insert_messages, known_messages, message_row
from triage.store.reports import PreparedReport, store_reports
from triage.store.verdicts import save_verdicts, verdict_row
from triage.workers import Job, Result, Workers, default_workers, prepare_jobs

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
    record: MailRecord
    job: int | None = None                 # index of its body's job in the batch (None: no report possible)
    row: dict | None = None                # its ``messages`` row (None: stored already)
    report: PreparedReport | None = None


@dataclass
class _Text:
    job: int
    report: PreparedReport | None = None


@dataclass
class _Bug:
    bug: Bug
    jobs: dict[str, int]                   # crash key -> index of its report text's job
    reports: dict[str, PreparedReport] = field(default_factory=dict)


@dataclass
class _Batch:
    """What one transaction writes: units in record order, the parse jobs they wait for, hints, checkpoints."""

    units: list[_Mail | _Text | _Bug] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    checkpoints: dict[str, dict] = field(default_factory=dict)
    mids: set[str] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    futures: list[Future] | None = None    # the jobs' results, when a worker pool computes them
    results: list[Result] | None = None


class Pipeline:
    """Takes records (``add`` / ``run``), writes them batch by batch; ``flush`` commits what was taken.

    ``classify``: classify new reports in their batch (``classifier``: which; default the shipped one).
    ``batch_size`` / ``batch_seconds``: a batch commits after this many writes or this long, whichever first.
    ``workers``: processes that parse and classify (None: one per core once the import has ``POOL_AFTER`` texts
    to parse, so small imports never start them; 0: none, all in this process). While a pool parses a batch,
    this process reads and splits the next one; batches are written in order, by this process only.
    ``prefilter``: skip the parse of texts that cannot hold a report (``triage.prefilter``).
    """

    POOL_AFTER = 200        # texts to parse in one run before a pool pays for its start-up

    def __init__(self, db: sqlite_utils.Database, *, classify: bool = True, classifier: Any = None,
                 batch_size: int = 500, batch_seconds: float = 5.0, summary: Summary | None = None,
                 workers: int | None = None, prefilter: bool = True):
        self.db = db
        self.classify = classify
        self.classifier = classifier
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.summary = summary if summary is not None else Summary()
        self.workers = workers
        self.prefilter = prefilter
        self.new_ids: list[int] = []          # reports the last committed batch stored anew
        self.jobs_seen = 0                    # texts parsed (or queued to be) in this pipeline's life
        self.jobs_pooled = 0                  # of which worker processes parsed
        self._batch = _Batch()
        self._inflight: deque[_Batch] = deque()
        self._pending: set[str] = set()       # message-ids taken and not yet committed
        self._pool: Workers | None = None
        self._writes = 0
        self._since: float | None = None
        self._failed = False                  # the last commit raised (its batch is rolled back)

    # -- taking records ------------------------------------------------------------------------------
    def run(self, records: Iterable[Record]) -> Summary:
        """Take every record, then commit. If the source fails (``SyncStopped``, an interrupt...), the whole
        records taken before are committed first, then the exception goes on."""
        try:
            try:
                for record in records:
                    self.add(record)
            except BaseException:
                if not self._failed:       # a batch that failed to commit is not tried again
                    self.flush()
                raise
            self.flush()
        except BaseException:
            self._close_pool(cancel=True)
            raise
        self._close_pool()
        return self.summary

    def add(self, record: Record) -> None:
        batch = self._batch
        if isinstance(record, MailRecord):
            self._add_mail(record)
        elif isinstance(record, ReportText):
            job, maybe = self._job(Job(record.text, record.kind, record.location, record.message_id,
                                       record.reported_at, record.bug_extid, record.title))
            if job is None:
                if record.kind == "file":
                    self.summary.notes.append(f"{record.location}: no kernel report found")
                return
            batch.units.append(_Text(job))
            self._queue(maybe)
        elif isinstance(record, Bug):
            jobs, writes = {}, 1
            for crash in record.crashes:
                r = crash.report
                if r is not None:
                    job, maybe = self._job(Job(r.text, r.kind, r.location, r.message_id, r.reported_at, r.bug_extid,
                                               r.title))
                    writes += maybe
                    if job is not None:
                        jobs[crash.key] = job
            batch.units.append(_Bug(record, jobs))
            self._queue(writes)
        elif isinstance(record, BugUnchanged):
            self.summary.counts["bugs_unchanged"] += 1
        elif isinstance(record, ThreadHint):
            batch.hints[record.message_id] = record.bug_extid
            self._queue(1)
        elif isinstance(record, Checkpoint):
            batch.checkpoints[record.source] = record.cursor
            self._queue(1)
        elif isinstance(record, InputError):
            self.summary.errors.append(str(record))
        else:
            raise TypeError(f"not a record: {type(record).__name__}")

    def _add_mail(self, record: MailRecord) -> None:
        mid = record.mail.message_id
        if mid in self._pending:
            self.summary.counts["skipped"] += 1
            return
        self._pending.add(mid)
        self._batch.mids.add(mid)
        mail = record.mail
        job, maybe = self._job(Job(mail.body, record.kind, record.location, mid, mail.date))
        self._batch.units.append(_Mail(record, job))
        self._queue(1 + maybe)

    def _job(self, job: Job) -> tuple[int | None, bool]:
        """Queue a parse job in the batch unless the prefilter says its text holds no report: (its index or None,
        whether the text may hold a report). Batches count a text that may as one more write whether or not the
        prefilter is on, so they end at the same records either way."""
        maybe = job.title is not None or may_hold_report(job.text)
        if not maybe and self.prefilter:
            return None, False
        self._batch.jobs.append(job)
        self.jobs_seen += 1
        return len(self._batch.jobs) - 1, maybe

    def _queue(self, writes: int) -> None:
        self._writes += writes
        if self._since is None:
            self._since = time.monotonic()
        if self._writes >= self.batch_size or time.monotonic() - self._since >= self.batch_seconds:
            self._submit()

    # -- preparing and writing batches ---------------------------------------------------------------
    def flush(self) -> None:
        """Commit what was taken: the batch being filled and those still parsing, in order."""
        if self._writes:
            self._submit()
        while self._inflight:
            self._commit(self._inflight.popleft())

    def _submit(self) -> None:
        """Close the batch being filled: drop mails stored already, start its parse jobs, and commit the
        batches before it (all of them without a pool; all but this one with one, which parses meanwhile)."""
        batch, self._batch = self._batch, _Batch()
        self._writes, self._since = 0, None
        mails = [u for u in batch.units if isinstance(u, _Mail)]
        if mails:
            known = known_messages(self.db, (u.record.mail.message_id for u in mails))
            keep = []
            for unit in batch.units:
                if isinstance(unit, _Mail):
                    if unit.record.mail.message_id in known:
                        batch.counts["skipped"] += 1
                        continue
                    unit.row = message_row(unit.record.mail, source=unit.record.location)
                    jobs = batch.jobs
                    if unit.job is not None:
                        jobs[unit.job] = jobs[unit.job]._replace(bug_extid=unit.row["bug_extid"])
                keep.append(unit)
            batch.units = keep
        jobs = self._live_jobs(batch)
        pool = self._use_pool()
        if pool is not None and jobs:
            batch.futures = pool.submit(jobs)
            self.jobs_pooled += len(jobs)
        else:
            batch.results = prepare_jobs(jobs, self.classify, self.classifier) if jobs else []
        self._inflight.append(batch)
        while len(self._inflight) > (1 if self._pool is not None else 0):
            self._commit(self._inflight.popleft())

    def _live_jobs(self, batch: _Batch) -> list[Job]:
        """The batch's jobs still needed (a stored mail's are not), renumbering the units' references."""
        used = sorted({u.job for u in batch.units if isinstance(u, _Mail | _Text) and u.job is not None}
                      | {j for u in batch.units if isinstance(u, _Bug) for j in u.jobs.values()})
        if len(used) == len(batch.jobs):
            return batch.jobs
        new = {old: i for i, old in enumerate(used)}
        for unit in batch.units:
            if isinstance(unit, _Bug):
                unit.jobs = {k: new[j] for k, j in unit.jobs.items()}
            elif unit.job is not None:
                unit.job = new[unit.job]
        batch.jobs = [batch.jobs[i] for i in used]
        return batch.jobs

    def _use_pool(self) -> Workers | None:
        if self._pool is None and self.workers != 0 and (self.workers or self.jobs_seen >= self.POOL_AFTER):
            n = self.workers or default_workers()
            if n > 1 or self.workers:
                self._pool = Workers(n, self.classify, self.classifier)
        return self._pool

    def _close_pool(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.close(cancel)
            self._pool = None

    def _results(self, batch: _Batch) -> list[Result]:
        if batch.results is None:
            try:
                batch.results = [r for f in batch.futures or [] for r in f.result()]
            except BrokenProcessPool:            # a worker died: parse this batch here, and the rest too
                self._close_pool(cancel=True)
                self.workers = 0
                batch.results = prepare_jobs(batch.jobs, self.classify, self.classifier)
        return batch.results

    def _commit(self, batch: _Batch) -> None:
        """Write one batch in one transaction: messages and reports, verdicts, the search index, threads,
        bugs and crashes, checkpoints."""
        results = self._results(batch)
        reports: list[PreparedReport] = []

        def report(job: int | None) -> PreparedReport | None:
            if job is None:
                return None
            r = results[job]
            if isinstance(r, str):
                self.summary.errors.append(r)
                return None
            if r is not None:
                reports.append(r)
            return r

        for unit in batch.units:
            if isinstance(unit, _Bug):
                unit.reports = {k: r for k, j in unit.jobs.items() if (r := report(j)) is not None}
            else:
                unit.report = report(unit.job)
            if isinstance(unit, _Text) and unit.report is None and results[unit.job] is None \
                    and batch.jobs[unit.job].kind == "file":
                self.summary.notes.append(f"{batch.jobs[unit.job].location}: no kernel report found")
        counts = Counter(batch.counts)
        new_ids: list[int] = []
        self._failed = True
        with transaction(self.db):
            rows = [u.row for u in batch.units if isinstance(u, _Mail) and u.row is not None]
            stored = insert_messages(self.db, rows) if rows else 0
            counts["messages_new"] += stored
            counts["skipped"] += len(rows) - stored          # another writer stored them meanwhile
            ids = dict(zip(map(id, reports), store_reports(self.db, reports), strict=True))
            verdicts, missing, stamp = [], [], now()
            for rep in reports:
                rid, new = ids[id(rep)]
                if new:
                    new_ids.append(rid)
                    counts["reports_new"] += 1
                    if rep.verdict is not None:
                        verdicts.append(verdict_row(rid, rep.verdict, stamp))
                    else:
                        missing.append(rid)
                else:
                    counts["reports_known"] += 1
            if verdicts:
                save_verdicts(self.db, verdicts)
            if missing and self.classify:        # prepared without a verdict (a worker without the classifier)
                from triage.classify_store import classify_reports

                classify_reports(self.db, missing, self.classifier)
            index_new(self.db)
            for unit in batch.units:
                if isinstance(unit, _Bug):
                    crash_ids = {key: ids[id(rep)][0] for key, rep in unit.reports.items()}
                    counts["bugs_" + save_bug(self.db, unit.bug, crash_ids)] += 1
            if stored or batch.hints:
                from triage.store.threads import resolve

                counts["threads_new"] += resolve(self.db, batch.hints or None)
            for source, cursor in batch.checkpoints.items():
                save_cursor(self.db, source, cursor)
        self._failed = False
        self.summary.counts.update(counts)
        self.new_ids = new_ids
        self._pending -= batch.mids


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
