"""``triage show`` as a person reads it: markers once, gfp as flags, lockdep chain #0 not repeated, a one-line
lockdep summary, wrapped long lines, ``--raw``, the syzbot crash table, and a pager only on a terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

import pytest
from conftest import ROOT
from test_inbox_data import add, bug, iso, labelled_text, verdict


@pytest.fixture
def lockdep(db):
    rid = add(db, labelled_text(13), "lockdep", days_ago=1)        # possible deadlock in start_this_handle
    verdict(db, rid, "reclaim-deadlock")
    db.conn.commit()
    return rid


def test_markers_once_gfp_as_flags_and_lockdep_chain_not_repeated(cli, db, lockdep, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = cli("show", lockdep).output
    markers = next(x for x in out.splitlines() if x.startswith("  markers:"))
    assert markers.count("fs-reclaim-lock") == 1 and "fs-reclaim-lock x6" in markers
    assert "  lockdep: acquiring jbd2_handle (start_this_handle) while holding fs_reclaim" in out
    assert "chain jbd2_handle --> &ei->xattr_sem --> fs_reclaim" in out
    # chain link #0 is the crash stack from check_prev_add on: named, not printed twice
    assert "[lockdep-chain-0] = [crash] from check_prev_add on" in out
    assert out.count("start_this_handle fs/jbd2/transaction.c:463") == 1
    assert "[lockdep-chain-1]" in out and "ext4_xattr_set_handle" in out
    gfp_report = add(db, labelled_text(89), "oom", days_ago=1)
    out = cli("show", gfp_report).output
    assert "  gfp: gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE)" in out and "['" not in out


def test_long_lines_wrap_under_their_indentation(cli, lockdep, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    lines = cli("show", lockdep).output.rstrip("\n").splitlines()
    assert all(len(x) <= 60 for x in lines), [x for x in lines if len(x) > 60]
    # the wrapped lockdep summary continues four columns deeper than its own indentation
    i = next(n for n, x in enumerate(lines) if x.startswith("  lockdep: acquiring"))
    assert lines[i + 1].startswith("      ") and not lines[i + 1].startswith("       ")
    # nothing wraps to column 0: only the section headings start there
    headings = ("#", "Trace", "Links:", "Next:", "syzbot bug", "Similar", "Thread:", "Reproducer")
    assert all(x.startswith(headings) for x in lines if x and not x[0].isspace()), lines


def test_raw_prints_the_stored_text(cli, db, lockdep):
    text = db.execute("SELECT text FROM reports WHERE id = ?", [lockdep]).fetchone()[0]
    res = cli("show", "--raw", lockdep)
    assert res.exit_code == 0 and res.output.rstrip("\n") == text.rstrip("\n")


def test_syzbot_crash_table_and_links(cli, db):
    rid = add(db, labelled_text(1), "syz", days_ago=2, bug="fd3f70a4509fca8c265d")
    bug(db, "fd3f70a4509fca8c265d", crashes=2, repro="C")
    base = "https://syzkaller.appspot.com"
    for n, (when, manager) in enumerate(((iso(2), "ci-upstream-kasan-gce"), (iso(5), "ci2-upstream-fs"))):
        db["crashes"].insert({"bug_extid": "fd3f70a4509fca8c265d", "crash_key": f"k{n}", "time": when,
                              "title": "WARNING in ext4_mb_load_buddy_gfp", "kernel": "upstream",
                              "kernel_commit": "f83ec76bf285bea5727f478a68b894f5543ca76e", "manager": manager,
                              "report_link": f"{base}/x/report.txt?x=r{n}", "log_link": f"{base}/x/log.txt?x=l{n}",
                              "c_repro_link": f"{base}/x/repro.c?x=c{n}" if n == 0 else None})
    db.conn.commit()
    out = cli("show", rid).output
    assert "crashes (latest first):" in out
    first = out.index("ci-upstream-kasan-gce")
    assert first < out.index("ci2-upstream-fs")                          # latest first
    assert "f83ec76bf285  ci-upstream-kasan-gce  repro: C" in out and "repro: -" in out
    for link in (f"{base}/x/report.txt?x=r0", f"{base}/x/log.txt?x=l1", f"{base}/x/repro.c?x=c0"):
        assert link in out


def _run_on_a_terminal(args: list[str], env: dict) -> tuple[int, str]:
    """Run ``python -m triage ARGS`` with stdout on a pseudo-terminal; returns (exit code, what it printed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "triage", *args], stdout=slave, stderr=slave,
                            stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:            # the child closed its side
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_a_pager_on_a_terminal_never_when_piped(db_path, lockdep, tmp_path):
    paged = tmp_path / "paged.txt"
    env = {**os.environ, "TRIAGE_DB": str(db_path), "PAGER": f"cat > '{paged}'", "COLUMNS": "100",
           "PYTHONPATH": str(ROOT)}
    env.pop("TRIAGE_PAGER", None)
    code, shown = _run_on_a_terminal(["show", str(lockdep)], env)
    assert code == 0, shown
    text = paged.read_text()
    assert "possible deadlock in start_this_handle" in text and "Trace (* = guilty frame):" in text
    assert "Trace (* = guilty frame)" not in shown           # it went to the pager, not the terminal
    # --no-pager, and a pipe, print directly
    paged.unlink()
    code, shown = _run_on_a_terminal(["show", "--no-pager", str(lockdep)], env)
    assert code == 0 and "Trace (* = guilty frame)" in shown and not paged.exists()
    piped = subprocess.run([sys.executable, "-m", "triage", "show", str(lockdep)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "Trace (* = guilty frame)" in piped.stdout and not paged.exists()
