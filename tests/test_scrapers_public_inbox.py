"""``triage import --public-inbox DIR`` on the real linux-nilfs archive (a public-inbox v2 git clone)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import shared_data


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def nilfs(tmp_path):
    bundle = shared_data("public-inbox", "linux-nilfs.bundle")
    repo = tmp_path / "linux-nilfs"
    subprocess.run(["git", "clone", "-q", str(bundle), str(repo)], check=True)
    return repo


def imp(cli, *args):
    res = cli("import", "--json", *args)
    return res, json.loads(res.stdout.strip().splitlines()[-1])


def test_public_inbox_import_links_syzbot_reports_replies_and_commands(nilfs, cli, db):
    res, out = imp(cli, "--public-inbox", nilfs)
    assert res.exit_code == 0, res.stdout
    commits = git(nilfs, "log", "--format=%H").split()
    assert out["messages_new"] + out["skipped"] == len(commits)
    assert out["threads_new"] == db["threads"].count > 0

    # the syzbot reports, counted independently from the commit subjects
    git_reports = [s for s in git(nilfs, "log", "--format=%s").splitlines() if s.startswith("[syzbot]")]
    reports = list(db["messages"].rows_where("subject LIKE '[syzbot]%'"))
    assert len(git_reports) - out["skipped"] <= len(reports) <= len(git_reports)
    for r in reports:
        if "Monthly" not in r["subject"]:                 # bug reports name their bug through their sender
            assert r["bug_extid"] == re.match(r"syzbot\+([0-9a-f]+)@", r["author_email"]).group(1)
    from_syzbot = db.execute(
        "SELECT r.bug_extid, m.bug_extid FROM reports r JOIN messages m ON m.message_id = r.message_id "
        "WHERE r.source_kind = 'public-inbox' AND m.author_email LIKE 'syzbot%'").fetchall()
    assert from_syzbot and all(rb and rb == mb for rb, mb in from_syzbot)

    # replies by header sit in the report's thread and carry its bug
    replies = db.execute(
        "SELECT m.thread_id, r.thread_id, m.bug_extid, r.bug_extid FROM messages m "
        "JOIN messages r ON r.message_id = m.in_reply_to WHERE r.subject LIKE '[syzbot]%'").fetchall()
    assert len(replies) > 50
    assert all(t1 == t2 for t1, t2, _, _ in replies)
    assert sum(b1 == b2 for _, _, b1, b2 in replies) >= 0.9 * len(replies)

    # #syz commands from people, not syzbot's help text
    cmds = [(r["author_email"], c) for r in db["messages"].rows_where("syz_commands != '[]'")
            for c in json.loads(r["syz_commands"])]
    verbs = {c["command"] for _, c in cmds}
    assert {"dup", "fix", "test", "set"} <= verbs
    assert not any(c["args"] in ("exact-commit-title", "exact-subject-of-another-report") for _, c in cmds)
    pairs = {(c["command"], c["args"]) for _, c in cmds}
    assert ("dup", "KASAN: use-after-free Read in nilfs_segctor_confirm") in pairs
    tags = [json.loads(r["tags"]) for r in db["messages"].rows_where("tags LIKE '%Closes%'")]
    assert any("syzkaller.appspot.com/bug?extid=" in v for t in tags for v in t["Closes"])


@pytest.mark.slow
def test_second_import_reads_only_new_commits(nilfs, cli, db):
    imp(cli, "--public-inbox", nilfs)
    report = next(db["messages"].rows_where("subject LIKE '[syzbot]%' AND subject NOT LIKE '%Monthly%'",
                                            order_by="date"))
    extid = report["bug_extid"]
    reply = (f"From: Maintainer <maint@example.org>\nTo: syzbot <{report['author_email']}>\n"
             f"Subject: Re: {report['subject']}\nDate: Mon, 01 Jun 2026 10:00:00 +0000\n"
             f"Message-ID: <new-reply-1@example.org>\nIn-Reply-To: <{report['message_id']}>\n\n"
             "> #syz fix: quoted, not a command\n#syz invalid\n")
    (nilfs / "m").write_text(reply)
    git(nilfs, "commit", "-q", "-am", f"Re: {report['subject']}")
    res, out = imp(cli, "--public-inbox", nilfs)
    assert res.exit_code == 0
    assert out["messages_new"] == 1 and out["skipped"] == 0          # only the new commit was read
    row = db["messages"].get("new-reply-1@example.org")
    assert json.loads(row["syz_commands"]) == [{"command": "invalid", "args": ""}]
    assert row["parent_id"] == report["message_id"] and row["thread_id"] == report["thread_id"]
    assert row["bug_extid"] == extid
    cursor = json.loads(db["sync_state"].get(f"public-inbox:{nilfs.resolve()}")["cursor"])
    assert cursor["last"] == git(nilfs, "rev-parse", "HEAD").strip()
    res, out = imp(cli, "--public-inbox", nilfs)
    assert out["messages_new"] == 0 and out["skipped"] == 0


def test_not_a_public_inbox_is_a_clear_error(tmp_path, cli):
    res, out = imp(cli, "--public-inbox", tmp_path)
    assert res.exit_code == 1
    assert out["errors"] == [f"{tmp_path.resolve()}: not a public-inbox mirror (no git/N.git epochs, "
                             "not a git repository)"]


def test_mbox_import_gets_the_same_threading(tmp_path, cli, db):
    mbox = tmp_path / "thread.mbox"
    mbox.write_text(
        "From a@b Thu Jan  1 00:00:00 1970\nFrom: syzbot <syzbot+0123456789abcdef0123@syzkaller.appspotmail.com>\n"
        "Subject: [syzbot] [fs?] WARNING in foo\nDate: Mon, 01 Jun 2026 10:00:00 +0000\nMessage-ID: <r@x>\n\n"
        "Hello,\n\n#syz fix: exact-commit-title\n\n"
        "From a@b Thu Jan  1 00:00:00 1970\nFrom: Dev <dev@example.org>\nSubject: Re: [syzbot] [fs?] WARNING in foo\n"
        "Date: Mon, 01 Jun 2026 11:00:00 +0000\nMessage-ID: <lost@x>\n\n#syz dup: WARNING in bar\n\n")
    res, out = imp(cli, mbox)
    assert res.exit_code == 0 and out["messages_new"] == 2 and out["threads_new"] == 1
    lost = db["messages"].get("lost@x")
    assert lost["parent_id"] == "r@x" and lost["thread_id"] == "r@x"          # subject fallback
    assert lost["bug_extid"] == "0123456789abcdef0123"
    assert json.loads(lost["syz_commands"]) == [{"command": "dup", "args": "WARNING in bar"}]
    assert json.loads(db["messages"].get("r@x")["syz_commands"]) == []        # syzbot's help text


def test_a_git_repository_that_is_not_a_public_inbox_is_a_clear_error(tmp_path, cli, db):
    repo = tmp_path / "code"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "README").write_text("a project\n")
    (repo / "main.c").write_text("int main(void) { return 0; }\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "start")
    res, out = imp(cli, "--public-inbox", repo)
    assert res.exit_code == 1
    [err] = out["errors"]
    assert err == f"{repo.resolve()}: not a public-inbox mirror (a git repository whose HEAD holds README, main.c, " \
                  "not one message blob 'm')"
    res = cli("import", "--public-inbox", repo)
    assert res.exit_code == 1 and res.stderr == f"triage: {err}\n"
    assert db["messages"].count == 0


def test_a_progress_bar_on_a_terminal_and_nothing_elsewhere(tmp_path, db_path):
    import os
    import pty
    import sys

    from conftest import ROOT
    from test_pipeline import make_inbox

    repo = tmp_path / "inbox"
    make_inbox(repo, 8)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "triage", "import", "--public-inbox", str(repo)]
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:                       # the terminal's other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert b"inbox commits" in shown and b"8/8" in shown
    again = subprocess.run(cmd, env={**env, "TRIAGE_DB": str(tmp_path / "other.db")}, capture_output=True,
                           timeout=60)
    assert again.returncode == 0 and again.stderr == b""
