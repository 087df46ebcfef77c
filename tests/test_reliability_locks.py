"""Two writers at once and a kill at a chosen point, with real processes (issue 15).

- review commands (``label`` / ``ack`` / ``mute``) run again and again while ``triage import`` stores a whole
  public-inbox archive: each completes, at most one "waiting" line on stderr, never a traceback;
- a writer held up by another process says so once after a second, then completes; past the busy timeout it
  fails with one line, exit 1, and nothing written;
- the pipeline sizes its batches from the time they hold the write lock;
- a SIGKILL between a mail's message row and its report row (inside one batch) loses both or neither, and a
  re-run stores the rest;
- a killed import leaves no worker, fork server or resource tracker behind.
"""

from __future__ import annotations

import json
import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, shared_data
from test_import import _mail, _reports, distinct

from records import ReportText
from scrapers.archives import walk
from triage.pipeline import Pipeline
from triage.store import open_db
from triage.store.schema import StoreBusy

TRIAGE = [sys.executable, "-m", "triage"]
WAITING = "triage: waiting for another triage process writing "


def _env(db_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TRIAGE_BUSY_TIMEOUT"}
    return {**env, "TRIAGE_DB": str(db_path), "PYTHONPATH": str(ROOT), **extra}


def distinct_reports() -> list[str]:
    """Real reports that ``distinct`` makes distinct (its marker line survives report extraction)."""
    from triage.report import parse
    from triage.report.source import content_hash

    return [t for t in _reports() if parse(t).title
            and content_hash(parse(distinct(t, 1)).report) != content_hash(parse(distinct(t, 2)).report)]


def _seed(db_path: Path, n: int = 3) -> list[int]:
    """A store with ``n`` real reports to review; their ids."""
    db = open_db(db_path)
    Pipeline(db, classify=False).run(ReportText(text, "file", f"seed-{i}.txt") for i, text in enumerate(_reports()[:n]))
    ids = [r[0] for r in db.execute("SELECT id FROM reports ORDER BY id")]
    db.conn.close()
    assert len(ids) == n
    return ids


class _Holder:
    """Another process's write lock, as SQLite sees it: a connection of ours inside BEGIN IMMEDIATE."""

    def __init__(self, db_path: Path):
        self.conn = sqlite3.connect(db_path, isolation_level=None)

    def __enter__(self) -> _Holder:
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def __exit__(self, *exc) -> None:
        self.release()
        self.conn.close()


def _human(db_path: Path) -> dict[int, str]:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT report_id, label FROM verdicts WHERE source = 'human'").fetchall())


def test_a_writer_held_up_says_so_once_then_completes(tmp_path):
    db_path = tmp_path / "t.db"
    rid = _seed(db_path)[0]
    with _Holder(db_path) as lock:
        proc = subprocess.Popen([*TRIAGE, "label", str(rid), "data-loss"], env=_env(db_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = proc.stderr.readline()          # printed while we still hold the lock: the command waits
        assert first == f"{WAITING}{db_path}...\n"
        assert proc.poll() is None and _human(db_path) == {}
        lock.release()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == "" and out.startswith("labelled: #")
    assert _human(db_path) == {rid: "data-loss"}


def test_a_writer_held_up_past_the_busy_timeout_fails_whole_in_one_line(tmp_path):
    db_path = tmp_path / "t.db"
    ids = _seed(db_path)
    env = _env(db_path, TRIAGE_BUSY_TIMEOUT="2")
    with _Holder(db_path):
        label = subprocess.run([*TRIAGE, "label", str(ids[0]), "data-loss"], env=env, capture_output=True, text=True,
                               timeout=60)
        ack = subprocess.run([*TRIAGE, "ack", *map(str, ids)], env=env, capture_output=True, text=True, timeout=60)
    for res in (label, ack):
        assert res.returncode == 1 and res.stdout == ""
        lines = res.stderr.splitlines()
        assert len(lines) == 2, res.stderr            # the wait, then why it gave up: no traceback
        assert lines[0] == f"{WAITING}{db_path}..."
        assert lines[1].startswith(f"triage: {db_path}: another triage process kept it locked for more than 2 s")
        assert "nothing was written" in lines[1]
    assert _human(db_path) == {}
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM reviews WHERE state <> 'new'").fetchone()[0] == 0


def _new_store_locked(path: Path) -> sqlite3.Connection:
    """A new store file in rollback-journal mode whose write lock this connection holds, as a process that
    created it first holds it while it migrates."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE other_writer (a)")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO other_writer VALUES (1)")
    return conn


def test_a_new_store_locked_by_another_writer_opens_once_it_is_free(tmp_path, monkeypatch):
    """Switching to WAL fails at once while another connection holds the write lock (SQLite skips its busy
    handler there): two imports creating one store at once lost one of them to 'database is locked'."""
    monkeypatch.delenv("TRIAGE_BUSY_TIMEOUT", raising=False)
    other = _new_store_locked(tmp_path / "new.db")
    threading.Timer(0.5, other.execute, ("COMMIT",)).start()
    db = open_db(tmp_path / "new.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "reports" in db.table_names() and "other_writer" in db.table_names()


def test_a_new_store_locked_past_the_busy_timeout_is_store_busy(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_BUSY_TIMEOUT", "1")
    other = _new_store_locked(tmp_path / "new.db")
    with pytest.raises(StoreBusy, match=r"new\.db: another triage process kept it locked for more than 1 s"):
        open_db(tmp_path / "new.db")
    other.execute("COMMIT")
    assert other.execute("SELECT count(*) FROM other_writer").fetchone()[0] == 1


@pytest.mark.slow
def test_review_commands_during_a_whole_archive_import_all_complete(tmp_path):
    """``triage label`` / ``ack`` / ``mute`` over and over while ``triage import --public-inbox`` stores a whole
    list archive (issue 15: 6 in 17 failed with a traceback; the import held the lock up to 27.6 s)."""
    bundle = shared_data("public-inbox", "reiserfs-devel.bundle")
    repo = tmp_path / "reiserfs-devel"
    subprocess.run(["git", "clone", "-q", str(bundle), str(repo)], check=True)
    commits = subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
    db_path = tmp_path / "t.db"
    ids = _seed(db_path)
    env = _env(db_path)
    imp = subprocess.Popen([*TRIAGE, "import", "--json", "--public-inbox", str(repo)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the import writes (its first batch is in), so the review commands meet its transactions
    deadline = time.monotonic() + 120
    while imp.poll() is None and time.monotonic() < deadline:
        with sqlite3.connect(db_path, timeout=30) as conn:
            if conn.execute("SELECT count(*) FROM messages").fetchone()[0]:
                break
        time.sleep(0.05)
    commands = [("label", "data-loss"), ("ack",), ("mute",), ("label", "other")]
    runs: list[tuple[list[str], subprocess.CompletedProcess, float]] = []
    during = 0
    while imp.poll() is None:
        name, *rest = commands[len(runs) % len(commands)]
        args = [name, str(ids[len(runs) % len(ids)]), *rest]
        start = time.monotonic()
        res = subprocess.run([*TRIAGE, *args], env=env, capture_output=True, text=True, timeout=120)
        runs.append((args, res, time.monotonic() - start))
        during += imp.poll() is None           # the import was still running when this one ended
    out, err = imp.communicate(timeout=300)
    assert imp.returncode == 0, err
    summary = json.loads(out)
    assert summary["messages_new"] + summary["skipped"] == int(commits) and summary["errors"] == []
    assert during >= 3, f"the import ended before {len(runs)} review commands could overlap it"
    for args, res, _ in runs:
        assert res.returncode == 0, (args, res.stderr)
        assert "Traceback" not in res.stderr
        assert res.stderr in ("", f"{WAITING}{db_path}...\n"), (args, res.stderr)
    labels = [a for a, _, _ in runs if a[0] == "label"]
    last = {int(a[1]): a[2] for a in labels}             # the last label given to each report is the one kept
    assert _human(db_path) == last
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == summary["messages_new"]
    waits = sorted(t for _, _, t in runs)
    print(f"\n{len(runs)} review commands during the import; slowest {waits[-1]:.2f} s, median "
          f"{waits[len(waits) // 2]:.2f} s (each includes start-up; loaded machine)")


def test_a_batch_holds_the_lock_about_lock_seconds(db, tmp_path, monkeypatch):
    """Writing a report costs at least 20 ms under the lock (parsing and classifying happen before the lock is
    taken, so the store write is slowed): after the first batch measured it, no transaction holds more reports
    than fit in ``lock_seconds`` (0.2 s / 20 ms = 10), whatever the machine's load."""
    import triage.pipeline as pipeline

    real = pipeline.store_reports

    def slow_store(db, reports):
        time.sleep(0.02 * len(reports))
        return real(db, reports)

    monkeypatch.setattr(pipeline, "store_reports", slow_store)

    texts = distinct_reports()
    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(80):
        (folder / f"r{i:03d}.txt").write_text(distinct(texts[i % len(texts)], i))
    per_tx: list[int] = []                      # reports written per transaction

    class Counting(Pipeline):
        def _commit(self, batch) -> None:
            super()._commit(batch)
            per_tx.append(len(batch.units)) if batch.units else None

    pipe = Counting(db, lock_seconds=0.2, batch_seconds=3600, workers=0)   # batches end by count only
    pipe.batch_limit = 40                       # a first batch far too large for the lock time
    summary = pipe.run(walk([folder]))
    assert summary.reports_new == sum(per_tx) == 80
    assert per_tx[0] == 40 and max(per_tx[1:]) <= 10 and len(per_tx) >= 5, per_tx


KILL_AT_REPORT = """
import os, signal, sys
import triage.pipeline as pipeline
from triage.store import open_db
from scrapers.archives import walk

seen = 0
real = pipeline.store_reports

def store_reports(db, reports):
    global seen
    if reports and seen + len(reports) >= int(sys.argv[3]):   # the batch holding the Nth report: its message
        assert db.execute("SELECT 1 FROM messages WHERE message_id = ?", [reports[0].message_id]).fetchone()
        os.kill(os.getpid(), signal.SIGKILL)                  # rows are written, its report rows are next
    seen += len(reports)
    return real(db, reports)

pipeline.store_reports = store_reports
pipeline.Pipeline(open_db(sys.argv[1]), classify=False, batch_size=2).run(walk([sys.argv[2]]))
"""


@pytest.mark.slow
def test_a_kill_between_a_message_and_its_report_loses_neither(tmp_path):
    """SIGKILL right after a mail's message row is written and before its report row (one batch per mail): the
    store has the mails before it, each with its report, and not that mail; a re-run stores it whole."""
    texts = distinct_reports()
    box = mailbox.mbox(str(tmp_path / "list.mbox"))
    for i in range(5):
        box.add(_mail(distinct(texts[i], i), i))
    box.close()
    db_path = tmp_path / "t.db"
    env = _env(db_path)
    killed = subprocess.run([sys.executable, "-c", KILL_AT_REPORT, str(db_path), str(tmp_path / "list.mbox"), "3"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr

    def stored() -> tuple[set[str], set[str]]:
        with sqlite3.connect(db_path) as conn:
            return ({r[0] for r in conn.execute("SELECT message_id FROM messages")},
                    {r[0] for r in conn.execute("SELECT message_id FROM reports")})

    assert stored() == ({"test-0@example.org", "test-1@example.org"},) * 2
    rerun = subprocess.run([*TRIAGE, "import", "--json", str(tmp_path / "list.mbox")], env=env, capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    out = json.loads(rerun.stdout)
    assert out["messages_new"] == 3 and out["skipped"] == 2 and out["reports_new"] == 3
    assert stored() == ({f"test-{i}@example.org" for i in range(5)},) * 2


@pytest.mark.parametrize("name", ["a#b.db", "a?mode=rwc.db", "a%20b.db"])
def test_read_only_open_of_a_path_with_uri_characters(tmp_path, name):
    """Unquoted, ``file:a#b.db?mode=ro`` opened (and made) an empty read-write file ``a``."""
    path = tmp_path / name
    open_db(path).conn.close()
    db = open_db(path, read_only=True)
    assert db.execute("PRAGMA user_version").fetchone()[0] > 0       # the real store, migrated
    with pytest.raises(sqlite3.OperationalError):
        db.execute("CREATE TABLE x (y)")
    assert {p.name for p in tmp_path.iterdir()} <= {name, f"{name}-wal", f"{name}-shm"}   # no stray file 'a'


def test_concurrent_label_threads_in_one_process_do_not_fail(tmp_path):
    """Several connections of one process writing at once (the serve / test-harness case): all wait, none fails."""
    db_path = tmp_path / "t.db"
    ids = _seed(db_path)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        from triage.review import set_label, set_state

        db = open_db(db_path)
        try:
            for k in range(20):
                set_label(db, ids[(n + k) % len(ids)], "other", who=f"w{n}")
                set_state(db, [ids[k % len(ids)]], "acked", who=f"w{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert set(_human(db_path)) == set(ids)


def _session(sid: int) -> list[str]:
    """The command lines of the live processes of session ``sid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(cmdline)
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads sessions from /proc (Linux)")
def test_a_killed_import_leaves_no_worker_behind(tmp_path):
    """SIGKILL an import while its worker pool runs: the workers, the pool's fork server and its resource tracker
    all end (a pool's idle workers used to wait for jobs forever, holding the fork server open)."""
    bundle = shared_data("public-inbox", "reiserfs-devel.bundle")
    repo = tmp_path / "reiserfs-devel"
    subprocess.run(["git", "clone", "-q", "--bare", str(bundle), str(repo / "git" / "0.git")], check=True)
    imp = subprocess.Popen([*TRIAGE, "import", "--public-inbox", str(repo)], env=_env(tmp_path / "t.db"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while imp.poll() is None and time.monotonic() < deadline:
        if sum("forkserver" in c for c in _session(imp.pid)) >= 2:     # the server and a worker
            break
        time.sleep(0.05)
    assert imp.poll() is None, "the import ended before its pool could be seen"
    imp.kill()
    imp.wait()
    deadline = time.monotonic() + 60        # a bound on waiting, not a speed: a worker ends within a second or so
    while _session(imp.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _session(imp.pid)
    if left:
        os.killpg(imp.pid, signal.SIGKILL)  # a failing run leaves nothing behind either
    assert left == []
