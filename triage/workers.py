"""The costly part of an import: split mails, parse texts into report rows and classify them, here or in worker
processes.

A ``Job`` is one text that may hold a report, with its origin; a ``MailJob`` one e-mail (its raw bytes, or the
``Mail`` a source parsed already). ``prepare_jobs`` turns a list of jobs into one result per job, in order:

- for a ``Job``: a ``PreparedReport`` (with its ``verdict`` when classifying), None (no report in the text), or
  a one-line error (the parser failed on it);
- for a ``MailJob``: a ``MailResult`` (message-id, ``messages`` row, the report of each text of its body as for a
  ``Job``: none for a patch or a digest, one per finding of a syzbot ci mail, else its body's,
  ``triage.mail_reports``), or a one-line error (the mail cannot be read). The report of a reply to a patch
  carries what the writer needs to tell whether it only quotes the patch's oops.

``prefilter`` skips the parse of texts that cannot hold a report (``triage.prefilter``). ``Workers`` runs lists
of jobs in a process pool (``concurrent.futures``), so a large import uses every core while the importing
process reads its source and writes; the results come back in order and are written by that process alone, so
ids and rows are the same as without the pool.

A verdict is computed from the rows as they will be stored (``classify_store.verdicts_for``: the classifier's
view read straight from the parsed JSON and the stored text), exactly as ``classify_store.classify_reports``
computes it for a stored report.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple

from records import InputError
from records.mail import Mail, read_mail
from triage.mail_reports import quote_lines, report_texts
from triage.prefilter import may_hold_report
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
    stored_title: str | None = None     # the title to store instead of the parser's (syzbot's, on its own mail)
    replies_to: tuple[str, ...] = ()    # a reply to a patch: the mails it names (``mail_reports.quoted_in``)
    repro: str | None = None            # the reproducer the origin links (a syzbot ci finding: C, syz, '')


class MailJob(NamedTuple):
    """An e-mail to split into its ``messages`` row and the report its body may hold."""

    raw: bytes | None                   # as read (``MailBytes``), or None when ``mail`` is parsed already
    mail: Mail | None
    kind: str
    location: str


class MailResult(NamedTuple):
    message_id: str
    row: dict                           # its ``messages`` row
    reports: tuple[PreparedReport | str | None, ...]      # of its body's texts (``mail_reports.report_texts``)


Result = PreparedReport | MailResult | str | None


def prepare_job(job: Job, prefilter: bool = True) -> PreparedReport | str | None:
    """The report in ``job.text`` as rows to write; None if there is none; an error line if the parser failed."""
    from triage.report import parse
    from triage.store.reports import prepare

    if prefilter and job.title is None and not may_hold_report(job.text):
        return None
    try:
        rep = parse(job.text)
        if rep.display_title is None and job.title:   # the origin (syzbot) already extracted it and named it
            rep.title, rep.report = job.title, job.text
        if rep.display_title is None:
            return None
        out = prepare(rep, kind=job.kind, location=job.location, message_id=job.message_id,
                      reported_at=job.reported_at, bug_extid=job.bug_extid, full_text=job.text,
                      title=job.stored_title, repro=job.repro)
        if job.replies_to:
            out.replies_to, out.quote_lines = job.replies_to, quote_lines(rep)
        return out
    except Exception as exc:  # a parser bug must not lose the rest of the batch
        return f"{job.location}: could not parse ({type(exc).__name__}: {exc})"


def prepare_mail(job: MailJob, prefilter: bool = True) -> MailResult | str:
    """The mail's ``messages`` row and the report of each text of its body (``mail_reports.report_texts``); an error
    line if the mail cannot be read."""
    from triage.store.messages import is_patch_reply, is_syzbot, message_row

    try:
        mail = job.mail if job.mail is not None else read_mail(job.raw or b"", job.location)
    except InputError as exc:
        return str(exc)
    row = message_row(mail, source=job.location)
    texts = report_texts(mail)
    if not texts:
        return MailResult(mail.message_id, row, ())
    # only syzbot's own mail says its crash is the bug's; another mail's report joins the bug when threading
    # finds it is that bug's crash (threads.link_reports)
    bug = row["bug_extid"] if is_syzbot(mail.author_email) else None
    replies_to = tuple(m for m in dict.fromkeys([mail.in_reply_to, *mail.refs]) if m) if is_patch_reply(mail) else ()
    return MailResult(mail.message_id, row, tuple(
        prepare_job(Job(t.text, job.kind, job.location, mail.message_id, mail.date, bug, stored_title=t.title,
                        replies_to=replies_to, repro=t.repro), prefilter) for t in texts))


_CLASSIFIER: Any = None        # a worker's classifier (``Workers(classifier=...)``), None: the default one


def classify_prepared(reports: Sequence[PreparedReport], classifier: Any = None) -> None:
    """Set each report's ``verdict``, in one batch, from its rows as they will be stored."""
    from triage.classify_store import verdicts_for

    if reports:
        verdicts = verdicts_for([(r.row["text"], r.row["parsed"]) for r in reports], classifier or _CLASSIFIER)
        for rep, verdict in zip(reports, verdicts, strict=True):
            rep.verdict = verdict


def prepare_jobs(jobs: Sequence[Job | MailJob], classify: bool = True, classifier: Any = None,
                 prefilter: bool = True) -> list[Result]:
    """The result of each job, in order; then the reports found classified together (``classify``)."""
    results: list[Result] = [prepare_mail(j, prefilter) if isinstance(j, MailJob) else prepare_job(j, prefilter)
                             for j in jobs]
    if classify:
        reports = [rep for r in results for rep in (r.reports if isinstance(r, MailResult) else (r,))]
        classify_prepared([r for r in reports if isinstance(r, PreparedReport)], classifier)
    return results


def _prepare_timed(jobs: Sequence[Job | MailJob], classify: bool,
                   prefilter: bool) -> tuple[list[Result], float, float]:
    """``prepare_jobs`` in a worker, with the processor time and the wall time it took (``Workers.cpu_seconds``,
    ``busy_seconds``)."""
    start, wall = time.process_time(), time.perf_counter()
    results = prepare_jobs(jobs, classify, None, prefilter)
    return results, time.process_time() - start, time.perf_counter() - wall


def _init_worker(classifier: Any, importer: int | None = None) -> None:
    global _CLASSIFIER
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the importing process's to handle
    _CLASSIFIER = classifier
    if importer is not None:
        _exit_with(importer)
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass


def _exit_with(pid: int) -> None:
    """End this worker when process ``pid`` (the importer) ends, however it ends. A pool's workers otherwise
    outlive a killed importer: they wait for jobs forever, and each holds the fork server's liveness pipe open,
    so the server (and the resource tracker) stay too. A daemon thread waits on a pidfd (Linux >= 5.3), else
    checks once a second."""

    def wait() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except OSError:
                    pass
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=wait, name="exit-with-importer", daemon=True).start()


# Workers yield the processor to the importing process: it reads and writes every batch alone (the critical path of
# an import; the workers are ahead of it), and on a core shared with them or other programs it must not wait.
WORKER_NICE = 5
CHUNK = 64          # jobs per task sent to a worker: enough to amortize the round trip, small enough to share


class Workers:
    """A pool of ``n`` worker processes for ``prepare_jobs``, started on first use, shut down by ``close``.

    Workers are forked from a fresh server process (``forkserver``) that has imported the parser, not from the
    importing process: a fork would inherit its open files, among them the pipe into ``git cat-file``, which
    would then never see the end of its input. The server also parses a small report and loads the default
    classifier (``triage.pool_warm``), so every worker starts with the parser's patterns compiled and the model
    read, once for all of them. As with any
    process pool, a script that imports from the pipeline must guard its top-level code with
    ``if __name__ == "__main__":`` (worker processes import the main module).
    """

    def __init__(self, n: int, classify: bool, classifier: Any = None, prefilter: bool = True):
        self.n = n
        self.classify = classify
        self.classifier = classifier
        self.prefilter = prefilter
        # what the jobs returned so far took: the workers' processor time, their wall time (n x the pool's life
        # minus this is how long they sat idle), and how long the importing process waited for results; and how
        # long starting the pool held up the importing process (the fork server's warm-up)
        self.cpu_seconds = self.busy_seconds = self.waited_seconds = self.start_seconds = 0.0
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, jobs: Sequence[Job | MailJob]) -> list[Future]:
        """Start ``jobs`` (in chunks); ``results`` gathers them."""
        futures: list[Future] = []
        if self._pool is None:
            started = time.perf_counter()
            server = "forkserver" in multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if server else "spawn")
            if server:
                ctx.set_forkserver_preload(["triage.workers", "triage.pool_warm"])
            self._pool = ProcessPoolExecutor(self.n, mp_context=ctx, initializer=_init_worker,
                                             initargs=(self.classifier, os.getpid()))
            futures.append(self._pool.submit(_prepare_timed, list(jobs[:CHUNK]), self.classify, self.prefilter))
            self.start_seconds += time.perf_counter() - started      # the first submit starts a process
            jobs = jobs[CHUNK:]
        return futures + [self._pool.submit(_prepare_timed, list(jobs[i:i + CHUNK]), self.classify, self.prefilter)
                          for i in range(0, len(jobs), CHUNK)]

    def results(self, futures: Sequence[Future]) -> list[Result]:
        """The results of ``submit``'s jobs, in order (waiting for them)."""
        out: list[Result] = []
        for future in futures:
            if not future.done():
                waited = time.perf_counter()
                future.result()
                self.waited_seconds += time.perf_counter() - waited
            results, cpu, busy = future.result()
            out += results
            self.cpu_seconds += cpu
            self.busy_seconds += busy
        return out

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


# A small report of the usual shape (a warning with its call trace) for ``warm``.
WARM_TEXT = """------------[ cut here ]------------
WARNING: CPU: 1 PID: 5120 at mm/page_alloc.c:4623 __alloc_pages_slowpath mm/page_alloc.c:4623 [inline]
WARNING: CPU: 1 PID: 5120 at mm/page_alloc.c:4623 __alloc_pages_noprof+0x1a2c/0x2330 mm/page_alloc.c:4909
Modules linked in:
CPU: 1 UID: 0 PID: 5120 Comm: syz-executor Not tainted 6.12.0-syzkaller #0
Call Trace:
 <TASK>
 __alloc_pages_noprof+0x1a2c/0x2330 mm/page_alloc.c:4909
 alloc_pages_mpol_noprof+0x1e4/0x4e0 mm/mempolicy.c:2265
 folio_alloc_noprof+0x1e/0x30 mm/mempolicy.c:2343
 ext4_writepages+0x2c0/0x3a0 fs/ext4/inode.c:2780
 do_writepages+0x1a3/0x7f0 mm/page-writeback.c:2683
 do_syscall_64+0xcd/0x250 arch/x86/entry/common.c:83
 entry_SYSCALL_64_after_hwframe+0x77/0x7f
 </TASK>
"""


def warm(classify: bool = True) -> None:
    """Compile the parser's patterns (a parse, a prefilter test, a prepared row) and load the default classifier
    (``classify``), in the pool's fork server: its workers inherit them. Nothing here may stop the server."""
    try:
        result = prepare_job(Job(WARM_TEXT, "file", "<warm-up>"))
        if classify and isinstance(result, PreparedReport):
            classify_prepared([result])
    except Exception:  # a worker then does the same work itself, and reports what fails
        pass


def default_workers() -> int:
    """Worker processes for a large import: one per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
