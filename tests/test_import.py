"""``triage import``: the five input kinds, idempotency, bad inputs, and a kill in the middle."""

from __future__ import annotations

import json
import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import ROOT, shared_data

from triage.store import open_db

# Reports with a crash the parser must find, picked for variety (WARNING, hang, lockdep, KASAN, BUG).
_LABELLED = ["001.txt", "005.txt", "010.txt", "020.txt", "025.txt", "037.txt", "050.txt", "060.txt",
             "070.txt", "080.txt"]


def _reports() -> list[str]:
    folder = shared_data("labelled", "reports")
    return [(folder / name).read_text(errors="replace") for name in _LABELLED]


def distinct(text: str, i: int) -> str:
    """The same crash made distinct: a marker line inside the report, right after its first line."""
    from triage.report import parse

    first = parse(text).report.split("\n", 1)[0]
    return text.replace(first, f"{first}\nsyz-triage-test-marker {i}", 1)


def _mail(body: str, n: int, subject: str = "[syzbot] crash", reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "syzbot <syzbot+0123456789abcdef0123@syzkaller.appspotmail.com>"
    msg["To"] = "linux-ext4@vger.kernel.org"
    msg["Subject"] = subject
    msg["Date"] = f"Mon, {n % 28 + 1:02d} Sep 2025 10:00:00 +0000"
    msg["Message-ID"] = f"<test-{n}@example.org>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
    msg.set_content(body)
    return msg


def make_mixed_dir(root: Path) -> tuple[Path, int, int]:
    """A directory mixing raw logs, report excerpts, .eml, mbox and maildir; returns (dir, reports, messages)."""
    texts = _reports()
    inbox = root / "inbox"
    inbox.mkdir()
    # 1. a raw console log (syzkaller golden file body: timestamps, noise, other CPUs)
    golden = shared_data("syzkaller-reports", "report", "1001").read_text(errors="replace")
    (inbox / "console.log").write_text(golden.split("\n\n", 1)[1])
    # 2. syzbot report excerpts as plain files
    for i in range(2):
        (inbox / f"report{i}.txt").write_text(texts[i])
    # 3. single e-mails
    for i in range(2, 4):
        (inbox / f"mail{i}.eml").write_bytes(_mail(texts[i], i).as_bytes())
    # 4. an mbox: two reports and one reply without a crash
    box = mailbox.mbox(str(inbox / "list.mbox"))
    box.add(_mail(texts[4], 4))
    box.add(_mail(texts[5], 5))
    box.add(_mail("Thanks, I'll take a look.\n", 99, "Re: [syzbot] crash", reply_to="test-4@example.org"))
    box.close()
    # 5. a maildir
    md = mailbox.Maildir(str(inbox / "Maildir"), create=True)
    for i in range(6, 8):
        md.add(_mail(texts[i], i))
    md.close()
    return inbox, 1 + 2 + 2 + 2 + 2, 2 + 3 + 2


def test_import_mixed_directory_is_idempotent(cli, db_path, tmp_path):
    inbox, n_reports, n_messages = make_mixed_dir(tmp_path)
    first = cli("import", "--json", inbox)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["reports_new"] == n_reports
    assert summary["messages_new"] == n_messages
    assert summary["errors"] == []

    db = open_db(db_path)
    kinds = {r[0] for r in db.execute("SELECT DISTINCT source_kind FROM reports")}
    assert kinds == {"file", "eml", "mbox", "maildir"}
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == n_reports
    # every report knows where it came from and has its frames stored for SQL
    assert db.execute("SELECT count(*) FROM reports WHERE source IS NULL OR parsed IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(DISTINCT report_id) FROM frames").fetchone()[0] == n_reports

    second = cli("import", "--json", inbox)
    assert second.exit_code == 0
    again = json.loads(second.stdout)
    assert again["reports_new"] == 0 and again["messages_new"] == 0
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == n_reports
    assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == n_reports


def test_bad_inputs_are_named_and_the_rest_imported(cli, db_path, tmp_path):
    texts = _reports()
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a-good.txt").write_text(texts[0])
    (batch / "b-empty.txt").write_text("")
    (batch / "c-binary.bin").write_bytes(bytes(range(256)) * 64)
    box = mailbox.mbox(str(tmp_path / "full.mbox"))
    box.add(_mail(texts[1], 1))
    box.add(_mail(texts[2], 2))
    box.close()
    data = (tmp_path / "full.mbox").read_bytes()
    (batch / "d-truncated.mbox").write_bytes(data[: len(data) - len(texts[2]) // 2])
    (batch / "e-good.txt").write_text(texts[3])

    result = cli("import", "--json", batch)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    errors = summary["errors"]
    assert len(errors) == 3
    for name in ("b-empty.txt", "c-binary.bin", "d-truncated.mbox"):
        assert sum(name in e for e in errors) == 1, errors
    assert all("\n" not in e for e in errors)
    # the good files and the complete first message of the truncated mbox are stored
    assert summary["reports_new"] == 3
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 3

    # without --json the errors go to stderr, one line each, naming the file
    again = cli("import", batch)
    assert again.exit_code == 1
    assert "b-empty.txt: empty file" in again.stderr


def test_missing_path_is_an_error(cli, tmp_path):
    result = cli("import", tmp_path / "nope")
    assert result.exit_code == 1
    assert "nope: no such file or directory" in result.stderr


@pytest.mark.slow
def test_sigkill_midway_leaves_no_duplicates_or_half_reports(tmp_path):
    """Kill ``triage import`` with SIGKILL while it writes; the re-run completes the set exactly."""
    from triage.report import parse
    from triage.report.source import content_hash

    def marks(t: str) -> bool:  # the marker survives report extraction
        return content_hash(parse(distinct(t, 1)).report) != content_hash(parse(distinct(t, 2)).report)

    texts = [t for t in _reports() if parse(t).title and marks(t)]
    assert len(texts) >= 5
    corpus = tmp_path / "many"
    corpus.mkdir()
    n = 3000
    hashes = set()
    for i in range(n):  # distinct reports: a marker line inside each crash, right after its header
        text = distinct(texts[i % len(texts)], i)
        hashes.add(content_hash(parse(text).report)) if i < 50 else None
        (corpus / f"r{i:05d}.txt").write_text(text)
    assert len(hashes) == 50
    db_path = tmp_path / "kill.db"
    env = {**os.environ, "TRIAGE_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "triage", "import", "--json", str(corpus)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db_path, timeout=1) as conn:
                stored = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        except sqlite3.Error:
            continue
        if stored > 0:
            break
    assert proc.poll() is None, "import finished before it could be killed; make the corpus larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db_path) as conn:
        partial = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    assert 0 < partial < n

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["reports_new"] == n - partial
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == n
        assert conn.execute("SELECT count(DISTINCT content_hash) FROM reports").fetchone()[0] == n
        # no half-written report: each has its source, its review row and its frames
        orphans = conn.execute(
            "SELECT count(*) FROM reports r WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.report_id = r.id)"
            " OR NOT EXISTS (SELECT 1 FROM reviews v WHERE v.report_id = r.id)"
            " OR NOT EXISTS (SELECT 1 FROM frames f WHERE f.report_id = r.id)"
        ).fetchone()[0]
        assert orphans == 0


def test_text_summary_agrees_with_json(cli, tmp_path):
    texts = _reports()
    (tmp_path / "a.txt").write_text(texts[0])
    assert cli("import", tmp_path / "a.txt").exit_code == 0
    text = cli("import", tmp_path / "a.txt")              # the same file again: its report is known
    out = json.loads(cli("import", "--json", tmp_path / "a.txt").stdout)
    assert out["reports_known"] == 1 and out["reports_new"] == 0
    assert "0 new reports, 1 reports already stored" in text.stdout
    for key, value in out.items():
        if isinstance(value, int):                         # every number of the JSON is in the text
            assert f"{value} " in text.stdout, (key, text.stdout)


def test_a_file_without_a_report_says_so(cli, tmp_path):
    (tmp_path / "x.txt").write_text("just some notes, no kernel output\n")
    res = cli("import", tmp_path / "x.txt")
    assert res.exit_code == 0
    assert f"triage: {tmp_path / 'x.txt'}: no kernel report found" in res.stderr
    out = json.loads(cli("import", "--json", tmp_path / "x.txt").stdout)
    assert out["notes"] == [f"{tmp_path / 'x.txt'}: no kernel report found"] and out["errors"] == []


def test_inputs_that_could_block_loop_or_explode_are_named(cli, tmp_path, monkeypatch):
    """A FIFO, a directory symlink loop, a gzip bomb and unreadable mails: one line each, the rest stored."""
    import gzip

    import records.inputs

    monkeypatch.setattr(records.inputs, "MAX_INPUT_BYTES", 8 * 1024 * 1024)   # the bomb need not be 512 MiB

    texts = _reports()
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a-good.txt").write_text(texts[0])
    os.mkfifo(batch / "b-fifo")
    (batch / "c-loop").symlink_to(batch)
    with gzip.open(batch / "d-bomb.txt.gz", "wb", compresslevel=9) as f:
        for _ in range(9):
            f.write(bytes(1024 * 1024))
    (batch / "e-utf7.eml").write_bytes(
        b"From: a@b\nSubject: x\nMessage-ID: <utf7@x>\nContent-Type: text/plain; charset=utf-7\n\n+AGEAYgBj-\n")
    deep = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(5000))
    (batch / "f-deep.eml").write_bytes(b"From: a@b\nSubject: x\nMessage-ID: <deep@x>\n" + deep + b"\nhello\n")
    (batch / "g-good.txt").write_text(texts[1])
    res = cli("import", "--json", batch)
    out = json.loads(res.stdout)
    assert res.exit_code == 1
    errors = out["errors"]
    assert all("\n" not in e for e in errors)
    assert any("b-fifo: not a regular file" in e for e in errors)
    assert any("c-loop: directory already read" in e for e in errors)
    assert any("d-bomb.txt.gz: gzip decompresses to more than" in e for e in errors)
    assert out["reports_new"] == 2
    db = open_db(os.environ["TRIAGE_DB"])
    assert db["messages"].count_where("message_id = 'utf7@x'") == 1     # read, body decoded as UTF-8
    assert any("f-deep.eml: unreadable e-mail (RecursionError)" in e for e in errors)


@pytest.mark.slow
def test_two_imports_into_one_new_database_both_complete(tmp_path):
    """Two real ``triage import`` processes at once (issue 15: one died with 'database is locked', a migration
    race or a report id taken twice). Writers take the lock up front and wait; SQLite allocates the ids."""
    from triage.report import parse
    from triage.report.source import content_hash

    texts = [t for t in _reports() if parse(t).title
             and content_hash(parse(distinct(t, 1)).report) != content_hash(parse(distinct(t, 2)).report)]
    halves = [tmp_path / "a", tmp_path / "b"]
    for n, half in enumerate(halves):
        half.mkdir()
        for i in range(60):
            (half / f"r{i:03d}.txt").write_text(distinct(texts[i % len(texts)], 1000 * n + i))
        box = mailbox.mbox(str(half / "shared.mbox"))        # the same mails in both: one of them stores each
        for i in range(4):
            box.add(_mail(distinct(texts[i], 9000 + i), i))
        box.close()
    db_path = tmp_path / "new.db"
    env = {**os.environ, "TRIAGE_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "triage", "import", "--json", str(half)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for half in halves]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert [err for _, err in outputs] == ["", ""]
    summaries = [json.loads(out) for out, _ in outputs]
    assert sum(s["messages_new"] for s in summaries) == 4 and sum(s["skipped"] for s in summaries) == 4
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 120 + 4
        assert sum(s["reports_new"] for s in summaries) == 124
        assert conn.execute("SELECT count(*) FROM verdicts WHERE source = 'combined'").fetchone()[0] == 124
