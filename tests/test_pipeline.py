"""The pipeline: a record is written whole, in one transaction with its report, threading and cursor
(issue 15: a kill between a mail and its report lost the report forever)."""

from __future__ import annotations

import mailbox
import re
import sqlite3
import subprocess

import pytest
from conftest import shared_data
from test_import import _mail, _reports

from scrapers.archives import walk
from triage import sources
from triage.pipeline import Pipeline, Summary
from triage.store import open_db

INSERT = re.compile(r"""^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\["']?(\w+)""", re.I)
MID = re.compile(r"test-\d+@example\.org")


def make_mbox(path, n: int, reply: bool = True):
    texts = _reports()
    box = mailbox.mbox(str(path))
    for i in range(n):
        box.add(_mail(texts[i], i))
    if reply:
        box.add(_mail("Thanks, I'll take a look.\n", 99, "Re: [syzbot] crash", reply_to="test-0@example.org"))
    box.close()
    return path


def transactions(statements: list[str]) -> list[dict[str, set[str]]]:
    """Per transaction, in order: table -> the message-ids of the rows its INSERT statements wrote (the trace
    shows statements with their values; lines of triggers start with ``--`` and are left out)."""
    out, current = [], None
    for sql in statements:
        head = sql.strip().upper()
        if head.startswith("BEGIN"):
            current = {}
        elif head.startswith(("COMMIT", "ROLLBACK")) and current is not None:
            out.append(current)
            current = None
        elif current is not None and (m := INSERT.match(sql)):
            first = MID.search(sql)          # the row's own message-id comes first (a reply names others after)
            current.setdefault(m.group(1).lower(), set()).update([first.group()] if first else [])
    return out


def test_a_mail_and_its_report_commit_in_one_transaction(db, tmp_path):
    """Batches as small as they get (one write each): still, every mail commits with its report."""
    mbox = make_mbox(tmp_path / "list.mbox", 3)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    summary = Pipeline(db, classify=False, batch_size=1).run(walk([mbox]))
    db.conn.set_trace_callback(None)
    assert summary.reports_new == 3 and summary.messages_new == 4
    per_tx = [(t["messages"], t.get("reports", set())) for t in transactions(statements) if "messages" in t]
    mails = [{f"test-{i}@example.org"} for i in (0, 1, 2)]
    assert per_tx == [(m, m) for m in mails] + [({"test-99@example.org"}, set())]


def test_a_failure_mid_batch_rolls_back_the_mail_with_its_report(db, tmp_path):
    mbox = make_mbox(tmp_path / "list.mbox", 4, reply=False)
    db.execute("CREATE TEMP TRIGGER fail AFTER INSERT ON main.reports WHEN NEW.message_id = 'test-2@example.org' "
               "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    pipe = Pipeline(db, classify=False, batch_size=2)      # two mails (each with its report) per batch
    with pytest.raises(sqlite3.DatabaseError, match="injected failure"):
        pipe.run(walk([mbox]))
    stored = {r[0] for r in db.execute("SELECT message_id FROM messages")}
    reported = {r[0] for r in db.execute("SELECT message_id FROM reports")}
    assert stored == reported == {"test-0@example.org", "test-1@example.org"}
    assert pipe.summary.reports_new == 2                   # the rolled-back batch is not counted

    db.execute("DROP TRIGGER fail")
    again = Pipeline(db, classify=False).run(walk([mbox]))
    assert again.skipped == 2 and again.messages_new == 2 and again.reports_new == 2
    assert {r[0] for r in db.execute("SELECT message_id FROM reports")} == {f"test-{i}@example.org" for i in range(4)}


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, text=True).stdout


def make_inbox(repo, n: int) -> list[str]:
    """A public-inbox v2 epoch of ``n`` small messages; returns the commits, oldest first."""
    repo.mkdir()
    git(repo, "init", "-q")
    for i in range(1, n + 1):
        (repo / "m").write_text(f"From: Dev <dev@example.org>\nSubject: note {i}\nMessage-ID: <pi-{i}@example.org>\n"
                                f"Date: Mon, 0{i} Jun 2026 10:00:00 +0000\n\nplain text {i}\n")
        git(repo, "add", "m")
        git(repo, "commit", "-q", "-m", f"note {i}")
    return git(repo, "log", "--reverse", "--format=%H").split()


def test_a_cursor_commits_with_the_data_it_covers(db, tmp_path, monkeypatch):
    import scrapers.public_inbox

    repo = tmp_path / "inbox"
    commits = make_inbox(repo, 6)
    monkeypatch.setattr(scrapers.public_inbox, "CHECKPOINT", 2)
    db.execute("CREATE TEMP TRIGGER fail AFTER INSERT ON main.messages WHEN NEW.message_id = 'pi-4@example.org' "
               "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    # records: m1 m2 checkpoint(2) | m3 m4 checkpoint(4) | m5 m6 checkpoint(6), three writes a batch
    with pytest.raises(sqlite3.DatabaseError, match="injected failure"):
        Pipeline(db, classify=False, batch_size=3).run(sources.public_inbox(db, repo))
    from triage.store.cursors import load_cursor

    key = f"public-inbox:{repo.resolve()}"
    assert {r[0] for r in db.execute("SELECT message_id FROM messages")} == {"pi-1@example.org", "pi-2@example.org"}
    assert load_cursor(db, key) == {"last": commits[1]}      # the cursor of what was stored, not beyond

    db.execute("DROP TRIGGER fail")
    again = Pipeline(db, classify=False).run(sources.public_inbox(db, repo))
    assert again.messages_new == 4 and again.skipped == 0     # resumed after commit 2
    assert load_cursor(db, key) == {"last": commits[-1]}
    assert db["threads"].count == 6


def test_a_source_that_stops_keeps_the_records_before(db, tmp_path):
    from records import SyncStopped

    mbox = make_mbox(tmp_path / "list.mbox", 2, reply=False)

    def stops():
        yield from walk([mbox])
        raise SyncStopped("the host went away")

    pipe = Pipeline(db, classify=False)
    with pytest.raises(SyncStopped):
        pipe.run(stops())
    assert pipe.summary.reports_new == 2 and db["reports"].count == 2


def test_new_reports_are_classified_in_their_batch(db, tmp_path):
    shared_data("labelled")
    mbox = make_mbox(tmp_path / "list.mbox", 2, reply=False)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    Pipeline(db, batch_size=1).run(walk([mbox]))
    db.conn.set_trace_callback(None)
    for tx in transactions(statements):
        if "reports" in tx:
            assert "verdicts" in tx
    assert db.execute("SELECT count(*) FROM reports r JOIN verdicts v ON v.report_id = r.id "
                      "AND v.source = 'combined'").fetchone()[0] == 2


def test_summary_text_says_what_json_says():
    s = Summary()
    s.counts.update({"reports_new": 2, "reports_known": 1, "skipped": 3, "threads_new": 1})
    s.errors.append("x: bad")
    out = s.as_dict(["bugs_new"])
    text = s.text(["bugs_new"])
    assert out["reports_known"] == 1 and out["messages_new"] == 0 and out["bugs_new"] == 0
    for key, value in out.items():
        if isinstance(value, int):
            assert re.search(rf"\b{value} [a-z]", text), (key, text)
    assert "1 reports already stored" in text and "3 messages already stored" in text and text.endswith("1 errors")


def test_a_pool_that_breaks_leaves_the_rest_to_this_process(db, tmp_path, monkeypatch):
    """Worker processes that die (killed, out of memory) cost time, not data: the batches they held are
    prepared again here, in order."""
    from concurrent.futures.process import BrokenProcessPool

    from triage.workers import Workers

    mbox = make_mbox(tmp_path / "list.mbox", 4)
    calls = []

    def broken(self, futures):
        calls.append(len(futures))
        raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(Workers, "results", broken)
    pipe = Pipeline(db, classify=False, workers=2, batch_size=2)
    summary = pipe.run(walk([mbox]))
    assert calls and pipe.workers == 0                       # it gave up on the pool after the first failure
    assert summary.messages_new == 5 and summary.reports_new == 4 and not summary.errors
    assert db.execute("SELECT COUNT(*) FROM messages WHERE thread_id IS NULL").fetchone()[0] == 0


def test_a_mirror_that_announces_a_large_import_gets_its_pool_from_the_first_mail(db, tmp_path, monkeypatch):
    """A public-inbox mirror says how many commits follow (``Expect``): past ``POOL_AFTER`` the pipeline hands
    every mail to worker processes from the first batch on; below it, none (a small import never starts them)."""
    repo = tmp_path / "inbox"
    make_inbox(repo, 4)
    monkeypatch.setattr(Pipeline, "POOL_AFTER", 4)
    pipe = Pipeline(db, classify=False, batch_size=2)
    pipe.run(sources.public_inbox(db, repo))
    assert pipe.expected == 4 and pipe.jobs_seen == pipe.jobs_pooled == 4
    assert db["threads"].count == 4

    monkeypatch.setattr(Pipeline, "POOL_AFTER", 5)
    other = tmp_path / "other"
    make_inbox(other, 4)
    small = Pipeline(open_db(tmp_path / "small.db"), classify=False, batch_size=2)
    small.run(sources.public_inbox(small.db, other))
    assert small.expected == 4 and small.jobs_seen == 4 and small.jobs_pooled == 0
