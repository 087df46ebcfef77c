"""The costly part of an import: parse texts into report rows and classify them, here or in worker processes.

A ``Job`` is one text that may hold a report, with its origin. ``prepare_jobs`` turns a list of jobs into one
result per job, in order: a ``PreparedReport`` (with its ``verdict`` when classifying), None (no report in the
text), or a one-line error (the parser failed on it). ``Workers`` runs lists of jobs in a process pool
(``concurrent.futures``), so the parse of a large import uses every core while the importing process reads,
splits mails and writes; the results come back in order and are written by that process alone, so ids and
rows are the same as without the pool.

A verdict is computed from the rows as they will be stored (``report_from_row`` of the parsed JSON and the
stored text), exactly as ``classify_store.classify_reports`` computes it for a stored report.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple

from triage.store.reports import PreparedReport


class Job(NamedTuple):
    """A text that may hold a report, and where it came from (``ReportText``'s fields)."""

    text: str
    kind: str
    location: str
    message_id: str | None = None
    reported_at: str | None = None
    bug_extid: str | None = None
    title: str | None = None            # the origin's own title (syzbot), used if the parser finds none


Result = PreparedReport | str | None


def prepare_job(job: Job) -> Result:
    """The report in ``job.text`` as rows to write; None if there is none; an error line if the parser failed."""
    from triage.report import parse
    from triage.store.reports import prepare

    try:
        rep = parse(job.text)
        if rep.display_title is None and job.title:   # the origin (syzbot) already extracted it and named it
            rep.title, rep.report = job.title, job.text
        if rep.display_title is None:
            return None
        return prepare(rep, kind=job.kind, location=job.location, message_id=job.message_id,
                       reported_at=job.reported_at, bug_extid=job.bug_extid, full_text=job.text)
    except Exception as exc:  # a parser bug must not lose the rest of the batch
        return f"{job.location}: could not parse ({type(exc).__name__}: {exc})"


_CLASSIFIER: Any = None        # a worker's classifier (``Workers(classifier=...)``), None: the default one


def classify_prepared(reports: Sequence[PreparedReport], classifier: Any = None) -> None:
    """Set each report's ``verdict``, in one batch, from its rows as they will be stored."""
    from triage.classify_store import verdicts_for

    if reports:
        verdicts = verdicts_for([(r.row["text"], r.row["parsed"]) for r in reports], classifier or _CLASSIFIER)
        for rep, verdict in zip(reports, verdicts, strict=True):
            rep.verdict = verdict


def prepare_jobs(jobs: Sequence[Job], classify: bool = True, classifier: Any = None) -> list[Result]:
    """``prepare_job`` for each job, then the reports found classified together (``classify``)."""
    results = [prepare_job(job) for job in jobs]
    if classify:
        classify_prepared([r for r in results if isinstance(r, PreparedReport)], classifier)
    return results


def _init_worker(classifier: Any) -> None:
    global _CLASSIFIER
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the importing process's to handle
    _CLASSIFIER = classifier


CHUNK = 32          # jobs per task sent to a worker: enough to amortize the round trip, small enough to share


class Workers:
    """A pool of ``n`` worker processes for ``prepare_jobs``, started on first use, shut down by ``close``.

    Workers are forked from a fresh server process (``forkserver``) that has imported the parser, not from the
    importing process: a fork would inherit its open files, among them the pipe into ``git cat-file``, which
    would then never see the end of its input. Each worker loads the classifier on its first batch.
    """

    def __init__(self, n: int, classify: bool, classifier: Any = None):
        self.n = n
        self.classify = classify
        self.classifier = classifier
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, jobs: Sequence[Job]) -> list[Future]:
        """Start ``jobs`` (in chunks); each future's result is the list of that chunk's results."""
        if self._pool is None:
            server = "forkserver" in multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if server else "spawn")
            if server:
                ctx.set_forkserver_preload(["triage.workers"])
            self._pool = ProcessPoolExecutor(self.n, mp_context=ctx, initializer=_init_worker,
                                             initargs=(self.classifier,))
        return [self._pool.submit(prepare_jobs, list(jobs[i:i + CHUNK]), self.classify)
                for i in range(0, len(jobs), CHUNK)]

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


def default_workers() -> int:
    """Worker processes for a large import: one per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
