"""The one pipeline: records from any source -> stored, parsed, classified, threaded and linked.

Sources (``scrapers/``, the simulator runs of ``triage demo``) yield plain records (``records``); a
``Pipeline`` takes them in order:

- a ``MailBytes`` / ``MailRecord`` becomes a ``messages`` row, and the report its body holds (if any) a report;
- a ``ReportText`` is parsed and stored as a report (an origin's own title is kept when the parser finds none);
- a ``Bug`` is stored with its crashes, each linked to the report parsed from its text;
- a ``ThreadHint`` gives a thread its bug, a ``Checkpoint`` is a source's cursor, an ``Expect`` says how many
  records follow (a large import starts its workers at once), an ``InputError`` is counted and named in the
  summary.

Records are gathered into batches. The costly work of a batch (splitting its mails, the prefilter, parsing and
classifying, ``triage.workers``) happens outside any transaction: in this process, or for a large import in
worker processes while this one reads the next batch. Each batch is then written as ONE transaction (``BEGIN
IMMEDIATE``), in record order, by this process: messages and reports (one statement per table), the new
reports' verdicts (an explicit classification, unless ``classify=False``; the classifier is loaded before the
lock is taken), the search index, threads, bugs and crashes, the batch's checkpoints and the duplicate groups it
changed. A batch ends at ``batch_size`` writes, or ``batch_seconds`` after its first record, or sooner when the
writes measured so far say it would hold the write lock longer than ``lock_seconds``: another writer (``triage
label`` during an import) waits about that long. A record is never split between batches,
so a mail and the report parsed from it commit together, and a cursor never runs ahead of the data it covers: a
killed run leaves whole records or none, and a re-run fills the gap (message-ids and content hashes keep it
idempotent; a mail whose message-id is stored already is skipped whole). Reports are keyed by the sha256 of
their normalized crash text; storing the same crash twice adds only where it was seen.

Which mails hold reports is decided by ``triage.mail_reports``: patches and syzbot's digests never do, a review
quoting its patch's oops is not one (checked at write time, against the patches stored or earlier in the batch);
the parser decides the rest from the text.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from records import (
    Bug,
    BugUnchanged,
    Checkpoint,
    Expect,
    InputError,
    MailBytes,
    MailRecord,
    Record,
    ReportText,
    ThreadHint,
)
from triage.mail_reports import quoted_from, quoted_in, report_text
from triage.store import now, transaction
from triage.store.bug_mail import apply_reports as apply_bug_mail
from triage.store.bug_mail import may_say, record_counts
from triage.store.bugs import save_bug
from triage.store.cursors import save_cursor
from triage.store.fts import index_new
from triage.store.groups import refresh as refresh_groups
from triage.store.groups import settle
from triage.store.messages import insert_messages, known_messages, patch_bodies
from triage.store.reports import PreparedReport, store_reports
from triage.store.verdicts import save_verdicts, verdict_row
from triage.workers import Job, MailJob, MailResult, Result, Workers, default_workers, prepare_jobs

# what a summary counts, in the order its text names them: key -> words after the number
SUMMARY_WORDS = {
    "reports_new": "new reports", "reports_known": "reports already stored", "messages_new": "new messages",
    "skipped": "messages already stored", "threads_new": "new threads", "bugs_new": "new bugs",
    "bugs_updated": "bugs updated", "bugs_unchanged": "bugs unchanged", "reclassified": "reports reclassified",
    "requests": "requests",
}

BASE_KEYS = ("reports_new", "reports_known", "messages_new", "skipped")

__all__ = ["Pipeline", "Summary", "import_paths", "quoted_from", "report_text", "store_text"]


@dataclass
class Summary:
    """What an import or a sync did. ``as_dict()`` is the ``--json`` object and ``text()`` says the same."""

    counts: Counter = field(default_factory=Counter)
    writes: int = 0                        # what it counts for the batch size
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
    job: int                               # index of its job in the batch
    message_id: str | None = None          # known before the split for a ``MailRecord``


@dataclass
class _Text:
    job: int


@dataclass
class _Bug:
    bug: Bug
    jobs: dict[str, int]                   # crash key -> index of its report text's job


@dataclass
class _Batch:
    """What one transaction writes: units in record order, the jobs they wait for, hints, checkpoints."""

    units: list[_Mail | _Text | _Bug] = field(default_factory=list)
    jobs: list[Job | MailJob] = field(default_factory=list)
    hints: dict[str, str] = field(default_factory=dict)
    checkpoints: dict[str, dict] = field(default_factory=dict)
    mids: set[str] = field(default_factory=set)          # message-ids of its ``MailRecord``s
    counts: Counter = field(default_factory=Counter)
    writes: int = 0                        # what it counts for the batch size
    futures: list[Future] | None = None    # the jobs' results, when a worker pool computes them
    results: list[Result] | None = None

    def add(self, job: Job | MailJob) -> int:
        self.jobs.append(job)
        return len(self.jobs) - 1


class Pipeline:
    """Takes records (``add`` / ``run``), writes them batch by batch; ``flush`` commits what was taken.

    ``classify``: classify new reports in their batch (``classifier``: which; default the shipped one).
    ``batch_size`` / ``batch_seconds``: a batch commits after this many writes (a mail, a report text, a bug and
    each of its crash texts count one) or this long, whichever first.
    ``lock_seconds``: how long a batch's transaction should hold the write lock; the number of writes per batch
    follows from the time the last transaction took per write (the first batch is at most ``FIRST_BATCH``).
    ``workers``: processes that split, parse and classify (None: one per core once the run has taken
    ``POOL_AFTER`` mails and texts, or once a source says that many follow (``Expect``), so small imports never
    start them; 0: none, all in this process). While they
    work on a batch this process reads the next one; batches are written in order, by this process only.
    ``prefilter``: skip the parse of texts that cannot hold a report (``triage.prefilter``).
    """

    POOL_AFTER = 2000       # jobs in one run before a pool pays for its start-up
    FIRST_BATCH = 100

    def __init__(self, db: sqlite_utils.Database, *, classify: bool = True, classifier: Any = None,
                 batch_size: int = 500, batch_seconds: float = 5.0, lock_seconds: float = 0.5,
                 summary: Summary | None = None, workers: int | None = None, prefilter: bool = True):
        self.db = db
        self.classify = classify
        self.classifier = classifier
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.lock_seconds = lock_seconds
        self.batch_limit = min(batch_size, self.FIRST_BATCH)   # writes in the next batch (adapted)
        self.summary = summary if summary is not None else Summary()
        self.workers = workers
        self.prefilter = prefilter
        self.new_ids: list[int] = []          # reports the last committed batch stored anew
        self.jobs_seen = 0                    # mails and texts taken in this pipeline's life
        self.jobs_pooled = 0                  # of which worker processes prepared
        self.expected = 0                     # records the source said would follow (``Expect``)
        self.worker_cpu = 0.0                 # processor seconds the worker processes spent on them
        self.worker_busy = 0.0                # their wall seconds on them (``Workers.busy_seconds``)
        self.pool_waited = 0.0                # seconds this process waited for their results
        self.pool_start = 0.0                 # seconds starting them held this process up
        self._batch = _Batch()
        self._inflight: deque[_Batch] = deque()
        self._pending: set[str] = set()       # message-ids of ``MailRecord``s taken and not yet committed
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
        if isinstance(record, MailBytes):
            batch.units.append(_Mail(self._job(MailJob(record.raw, None, record.kind, record.location))))
            self._queue(1)
        elif isinstance(record, MailRecord):
            mid = record.mail.message_id
            if mid in self._pending:
                self.summary.counts["skipped"] += 1
                return
            self._pending.add(mid)
            batch.mids.add(mid)
            batch.units.append(_Mail(self._job(MailJob(None, record.mail, record.kind, record.location)), mid))
            self._queue(1)
        elif isinstance(record, ReportText):
            batch.units.append(_Text(self._job(Job(record.text, record.kind, record.location, record.message_id,
                                                   record.reported_at, record.bug_extid, record.title))))
            self._queue(1)
        elif isinstance(record, Bug):
            jobs = {}
            for crash in record.crashes:
                r = crash.report
                if r is not None:
                    jobs[crash.key] = self._job(Job(r.text, r.kind, r.location, r.message_id, r.reported_at,
                                                    r.bug_extid, r.title))
            batch.units.append(_Bug(record, jobs))
            self._queue(1 + len(jobs))
        elif isinstance(record, BugUnchanged):
            self.summary.counts["bugs_unchanged"] += 1
        elif isinstance(record, ThreadHint):
            batch.hints[record.message_id] = record.bug_extid
            self._queue(1)
        elif isinstance(record, Checkpoint):
            batch.checkpoints[record.source] = record.cursor
            self._queue(1)
        elif isinstance(record, Expect):
            self.expected = max(self.expected, record.count)
        elif isinstance(record, InputError):
            self.summary.errors.append(str(record))
        else:
            raise TypeError(f"not a record: {type(record).__name__}")

    def _job(self, job: Job | MailJob) -> int:
        self.jobs_seen += 1
        return self._batch.add(job)

    def _queue(self, writes: int) -> None:
        self._writes += writes
        if self._since is None:
            self._since = time.monotonic()
        if self._writes >= self.batch_limit or time.monotonic() - self._since >= self.batch_seconds:
            self._submit()

    # -- preparing and writing batches ---------------------------------------------------------------
    def flush(self) -> None:
        """Commit what was taken: the batch being filled and those still being prepared, in order."""
        if self._writes:
            self._submit()
        while self._inflight:
            self._commit(self._inflight.popleft())

    def _submit(self) -> None:
        """Close the batch being filled: drop the parsed mails stored already, start its jobs, and commit the
        batches before it (all of them without a pool; all but this one with one, which works on it meanwhile)."""
        batch, self._batch = self._batch, _Batch()
        batch.writes, self._writes, self._since = self._writes, 0, None
        if batch.mids:
            known = known_messages(self.db, batch.mids)
            if known:
                keep = [u for u in batch.units if not (isinstance(u, _Mail) and u.message_id in known)]
                batch.counts["skipped"] += len(batch.units) - len(keep)
                batch.units = keep
                _drop_unused_jobs(batch)
        pool = self._use_pool()
        if pool is not None and batch.jobs:
            batch.futures = pool.submit(batch.jobs)
            self.jobs_pooled += len(batch.jobs)
        else:
            if self.classify and batch.jobs:
                from triage.classify_store import load_classifier

                self.classifier = load_classifier(self.classifier)     # loaded once, not per batch
            batch.results = prepare_jobs(batch.jobs, self.classify, self.classifier, self.prefilter)
        self._inflight.append(batch)
        while len(self._inflight) > (1 if self._pool is not None else 0):
            self._commit(self._inflight.popleft())

    def _use_pool(self) -> Workers | None:
        if self._pool is None and self.workers != 0 and (
                self.workers or max(self.jobs_seen, self.expected) >= self.POOL_AFTER):
            n = self.workers or default_workers()
            if n > 1 or self.workers:
                self._pool = Workers(n, self.classify, self.classifier, self.prefilter)
        return self._pool

    def _close_pool(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self.worker_cpu += self._pool.cpu_seconds
            self.worker_busy += self._pool.busy_seconds
            self.pool_waited += self._pool.waited_seconds
            self.pool_start += self._pool.start_seconds
            self._pool.close(cancel)
            self._pool = None

    def _results(self, batch: _Batch) -> list[Result]:
        if batch.results is None:
            try:
                if self._pool is None:
                    raise BrokenProcessPool("closed")
                batch.results = self._pool.results(batch.futures or [])
            except (BrokenProcessPool, CancelledError):   # a worker died: prepare this batch here, and the rest too
                self._close_pool(cancel=True)
                self.workers = 0
                batch.results = prepare_jobs(batch.jobs, self.classify, self.classifier, self.prefilter)
        return batch.results

    def _commit(self, batch: _Batch) -> None:
        """Write one batch in one transaction: messages and reports, verdicts, the search index, threads,
        bugs and crashes, checkpoints."""
        results = self._results(batch)
        counts = Counter(batch.counts)
        mails = {u.job: results[u.job] for u in batch.units if isinstance(u, _Mail)}
        known = known_messages(self.db, (r.message_id for r in mails.values() if isinstance(r, MailResult)))
        rows: list[dict] = []
        patches: dict[str, str] = {}         # message-id -> body of the patch mails of this batch so far
        reports: list[PreparedReport] = []
        bugs: list[tuple[Bug, dict[str, PreparedReport]]] = []

        def report(r: PreparedReport | str | None, location: str | None = None) -> PreparedReport | None:
            if isinstance(r, str):
                self.summary.errors.append(r)
            elif r is not None:
                reports.append(r)
                return r
            elif location is not None:
                self.summary.notes.append(f"{location}: no kernel report found")
            return None

        for unit in batch.units:
            if isinstance(unit, _Mail):
                r = mails[unit.job]
                if isinstance(r, str):                       # an unreadable mail
                    self.summary.errors.append(r)
                elif r.message_id in known:                  # stored already, or earlier in this batch
                    counts["skipped"] += 1
                else:
                    known.add(r.message_id)
                    rows.append(r.row)
                    if r.row["patch_subject"]:
                        patches[r.message_id] = r.row["body"] or ""
                    for rep in r.reports:
                        if isinstance(rep, PreparedReport) and rep.replies_to and self._quotes_patch(rep, patches):
                            continue        # a review quoting the oops its patch's changelog pasted
                        report(rep)
            elif isinstance(unit, _Text):
                job = batch.jobs[unit.job]
                report(results[unit.job], job.location if job.kind == "file" else None)
            else:
                bugs.append((unit.bug, {k: rep for k, j in unit.jobs.items() if (rep := report(results[j]))}))
        new_ids: list[int] = []
        if self.classify and any(r.verdict is None for r in reports):      # prepared by a worker without one
            from triage.classify_store import load_classifier

            self.classifier = load_classifier(self.classifier)     # a first load takes seconds: not under the lock
        self._failed = True
        with transaction(self.db):
            started = time.monotonic()
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
            for bug, crash_reports in bugs:
                crash_ids = {key: ids[id(rep)][0] for key, rep in crash_reports.items()}
                counts["bugs_" + save_bug(self.db, bug, crash_ids)] += 1
            linked: list[int] = []
            if stored or batch.hints:
                from triage.store.threads import resolve

                counts["threads_new"] += resolve(self.db, batch.hints or None, linked=linked)
            if new_ids or linked:
                refresh_groups(self.db, new_ids + linked)
            # what the mails of the bugs they touch say of them (a new report, a new ``#syz set subsystems``)
            apply_bug_mail(self.db, new_ids + linked, (r["bug_extid"] for r in rows if may_say(r)))
            record_counts(self.db, rows)        # the crash counts syzbot's monthly reports among them give
            for source, cursor in batch.checkpoints.items():
                save_cursor(self.db, source, cursor)
            settle(self.db)                     # the stored rows of the groups this batch changed
        self._adapt(time.monotonic() - started, batch.writes)
        self._failed = False
        self.summary.counts.update(counts)
        self.new_ids = new_ids
        self._pending -= batch.mids

    def _adapt(self, held: float, writes: int) -> None:
        """Size the next batch so that its transaction holds the lock about ``lock_seconds``."""
        per_write = held / writes if writes else 0.0
        fits = self.lock_seconds / per_write if per_write > 0 else float("inf")
        self.batch_limit = max(1, int(min(self.batch_size, fits)))

    def _quotes_patch(self, rep: PreparedReport, batch_patches: dict[str, str]) -> bool:
        """Whether the kernel output of ``rep`` (from a reply to a patch) is the one a patch it replies to
        carries: a patch stored already, or one earlier in the batch being written."""
        named = list(rep.replies_to)
        bodies = [batch_patches[m] for m in named if m in batch_patches]
        return quoted_in(rep.quote_lines, bodies + patch_bodies(self.db, named))


def _drop_unused_jobs(batch: _Batch) -> None:
    """Renumber a batch's jobs to those its units still use."""
    used = sorted({u.job for u in batch.units if isinstance(u, _Mail | _Text)}
                  | {j for u in batch.units if isinstance(u, _Bug) for j in u.jobs.values()})
    new = {old: i for i, old in enumerate(used)}
    for unit in batch.units:
        if isinstance(unit, _Bug):
            unit.jobs = {k: new[j] for k, j in unit.jobs.items()}
        else:
            unit.job = new[unit.job]
    batch.jobs = [batch.jobs[i] for i in used]


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
