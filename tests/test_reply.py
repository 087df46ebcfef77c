"""Acting on a report: ``triage reply`` (#syz command mails threaded under the report, written or sent, recorded
so the inbox shows the bug's new status at once), ``triage mbox`` and ``triage outbox``."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import shutil

import pytest
from conftest import shared_data
from test_digest import _Collect, _free_port
from test_inbox_data import add, bug, message, synthetic

from triage.status import BugStatus, from_commands, merge
from triage.store.messages import syz_commands

REPORT_MID = "68c7c2b3.050a0220.3c6139.0d0d.GAE@google.com"
EXTID = "fd3f70a4509fca8c265d"
SYZBOT = f"syzbot+{EXTID}@syzkaller.appspotmail.com"


@pytest.fixture
def report(cli, tmp_path):
    """The real syzbot report mail for bug fd3f70a4509fca8c265d, imported as a maintainer would."""
    src = tmp_path / "mail" / "01-report.eml"
    src.parent.mkdir()
    shutil.copy(shared_data("lore", "archive-copies", "linux-kernel", "01-report.eml"), src)
    res = cli("import", "--json", src)
    assert res.exit_code == 0, res.output
    return 1


def _read(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def _inbox(cli) -> dict:
    return {x["id"]: x for x in map(json.loads, cli("inbox", "--json", "--all").output.splitlines())}


def test_reply_threads_under_the_report_and_reaches_everyone(cli, report, tmp_path):
    out = tmp_path / "fix.eml"
    res = cli("reply", report, "--fix", "ext4: do not warn on NOFAIL from reclaim", "--out", out,
              "--from", "Jan Doe <jan@example.org>")
    assert res.exit_code == 0, res.output
    assert "git send-email" in res.output
    msg = _read(out)
    assert msg["In-Reply-To"] == f"<{REPORT_MID}>" and msg["References"].split()[-1] == f"<{REPORT_MID}>"
    assert msg["Subject"] == "Re: [syzbot] [mm?] WARNING in ext4_mb_load_buddy_gfp"
    assert msg["From"] == "Jan Doe <jan@example.org>"
    assert SYZBOT in msg["To"]
    cc = str(msg["Cc"])
    for addr in ("akpm@linux-foundation.org", "linux-mm@kvack.org", "linux-kernel@vger.kernel.org",
                 "syzkaller-bugs@googlegroups.com"):
        assert addr in cc, addr                                # the original's To and Cc
    assert "jan@example.org" not in cc and SYZBOT not in cc    # no self, no duplicates
    body = msg.get_content()
    assert body.splitlines()[0] == "#syz fix: ext4: do not warn on NOFAIL from reclaim"
    assert "syzbot wrote:" in body and "\n> syzbot found the following issue on:" in body
    # the same command parser the store uses for the lists reads it as syzbot will
    assert syz_commands(body) == [{"command": "fix", "args": "ext4: do not warn on NOFAIL from reclaim"}]


def test_reply_threads_in_a_real_mbox(cli, report, tmp_path, db_path):
    """The original and the reply in one mbox, imported into a fresh store: the reply sits under the report."""
    reply = tmp_path / "dup.eml"
    assert cli("reply", report, "--dup", "WARNING in __alloc_pages_slowpath", "--out", reply).exit_code == 0
    box_path = tmp_path / "thread.mbox"
    box = mailbox.mbox(str(box_path))
    box.add(shared_data("lore", "archive-copies", "linux-kernel", "01-report.eml").read_bytes())
    box.add(reply.read_bytes())
    box.flush()
    box.close()
    fresh = tmp_path / "fresh.db"
    assert cli("--db", fresh, "import", box_path).exit_code == 0
    from triage.store import open_db

    rows = dict((mid, (thread, parent)) for mid, thread, parent in open_db(fresh).execute(
        "SELECT message_id, thread_id, parent_id FROM messages"))
    reply_mid = _read(reply)["Message-ID"].strip("<>")
    assert rows[reply_mid] == (REPORT_MID, REPORT_MID) and rows[REPORT_MID][0] == REPORT_MID


def test_recorded_reply_changes_the_status_at_once(cli, report, tmp_path, db):
    assert _inbox(cli)[report]["status"] is None
    for args, status in ((("--fix", "ext4: fix it"), "fix pending"), (("--undup",), "open"),
                         (("--dup", "WARNING in other"), "dup"), (("--invalid",), "invalid")):
        assert cli("reply", report, *args, "--out", tmp_path / f"{status}.eml").exit_code == 0
        item = _inbox(cli)[report]
        assert item["status"] == status, (args, item)
    assert cli("inbox", "--all").output.count("invalid") == 1          # the status column
    default = cli("inbox").output                                       # an invalid bug is out of the default view
    assert "Inbox empty" in default and "--all shows them" in default, default
    out = cli("show", report).output
    assert "status: invalid (from a #syz command, 20" in out and "#syz invalid" in out
    # the user's own replies are not "new replies"
    assert _inbox(cli)[report]["new_replies"] == 0
    # nothing is stored twice when the list's copy of a reply is imported later
    n = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    assert cli("import", tmp_path / "invalid.eml").exit_code == 0
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == n


def test_syzbot_status_read_later_wins_over_an_older_command():
    cmd = from_commands([("2026-01-01T00:00:00Z", [{"command": "fix", "args": "x: y"}]),
                         ("2026-01-02T00:00:00Z", [{"command": "test", "args": "git://a b"}])])
    assert cmd == BugStatus("fix pending", "x: y", "command", "2026-01-01T00:00:00Z")
    fixed_later = BugStatus("fixed", "x: y", "syzbot", "2026-02-01T00:00:00Z")
    assert merge(fixed_later, cmd) is fixed_later
    synced_before = BugStatus("open", "", "syzbot", "2025-12-01T00:00:00Z")
    assert merge(synced_before, cmd) is cmd and merge(None, cmd) is cmd and merge(synced_before, None) is synced_before
    assert from_commands([("d", [{"command": "set", "args": "subsystems: ext4"}])]) is None


def test_reply_refusals_are_one_line(cli, db, report, tmp_path):
    local = add(db, synthetic("local_fn"), "local", days_ago=1)
    cases = [((local, "--invalid"), 2, "not a syzbot bug"), ((report,), 2, "nothing to say"),
             ((report, "--fix", "a", "--invalid"), 2, "one status command"), ((report, "--fix", " "), 2, "empty"),
             ((report, "--invalid", "--send"), 2, "--send needs a From"), ((999, "--invalid"), 1, "no report")]
    for args, code, needle in cases:
        res = cli("reply", *args, "--out", tmp_path / "x.eml") if "--send" not in args else cli("reply", *args)
        assert res.exit_code == code and needle in res.output, (args, res.output)
        assert len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "x.eml").exists()
    assert db.execute("SELECT COUNT(*) FROM messages WHERE source = 'triage reply'").fetchone()[0] == 0


def test_reply_without_a_stored_mail_goes_to_syzbot_by_address(cli, db, tmp_path):
    rid = add(db, synthetic("mailless_fn"), "syz", days_ago=1, bug="0123456789abcdef0123")
    bug(db, "0123456789abcdef0123", title="KASAN: use-after-free in mailless_fn")
    db.conn.commit()
    res = cli("reply", rid, "--set", "subsystems: ext4", "--out", tmp_path / "r.eml")
    assert res.exit_code == 0 and "not threaded" in res.output
    msg = _read(tmp_path / "r.eml")
    assert msg["To"] == "syzbot+0123456789abcdef0123@syzkaller.appspotmail.com" and msg["In-Reply-To"] is None
    assert msg["Subject"] == "Re: [syzbot] KASAN: use-after-free in mailless_fn"
    assert msg.get_content().startswith("#syz set subsystems: ext4\n")
    assert syz_commands(msg.get_content()) == [{"command": "set", "args": "subsystems: ext4"}]


def test_send_outbox_and_resend(cli, report, tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    from triage.paths import data_dir

    cfg = tmp_path / "config.toml"
    cfg.write_text('user = "Jan Doe <jan@example.org>"\n')
    monkeypatch.setenv("TRIAGE_CONFIG", str(cfg))
    dead = f"127.0.0.1:{_free_port()}"                         # nothing listens there
    res = cli("reply", report, "--invalid", "--send", "--smtp", dead)
    assert res.exit_code == 1 and "kept in" in res.output and "outbox --resend" in res.output
    assert _inbox(cli)[report]["status"] == "invalid"          # recorded all the same: it will go out
    res = cli("outbox", "--json")
    (pending,) = [json.loads(x) for x in res.output.splitlines()]
    assert pending["kind"] == "reply" and SYZBOT in pending["to"] and "akpm@linux-foundation.org" in pending["to"]
    assert "ext4_mb_load_buddy_gfp" in cli("outbox").output
    assert cli("outbox", "--resend", "--smtp", dead).exit_code == 1
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        res = cli("outbox", "--resend", "--smtp", f"127.0.0.1:{controller.port}")
        assert res.exit_code == 0, res.output
        (mail_from, rcpts, raw), = handler.messages
        assert mail_from == "jan@example.org" and SYZBOT in rcpts and "linux-mm@kvack.org" in rcpts
        assert email.message_from_bytes(raw)["In-Reply-To"] == f"<{REPORT_MID}>"
        assert list((data_dir() / "outbox").glob("*.eml")) == [] and cli("outbox").output.strip() == "outbox empty"
        res = cli("reply", report, "--undup", "--send", "--smtp", f"127.0.0.1:{controller.port}")
        assert res.exit_code == 0 and "sent to" in res.output and len(handler.messages) == 2
    finally:
        controller.stop()


def test_mbox_writes_the_thread_from_the_store(cli, db, report, tmp_path):
    message(db, "<reply1@x>", EXTID, 0.5, author="Ted Tso", subject="Re: [syzbot] [mm?] WARNING",
            body="From the look of it this is benign.\nLooks fine.")
    db.execute("UPDATE messages SET in_reply_to = ?, refs = ? WHERE message_id = '<reply1@x>'",
               [REPORT_MID, json.dumps([REPORT_MID])])
    db.conn.commit()
    assert cli("reply", report, "--invalid", "--out", tmp_path / "r.eml").exit_code == 0
    out = tmp_path / "thread.mbox"
    res = cli("mbox", report, "-o", out)
    assert res.exit_code == 0 and "3 messages" in res.output
    box = list(mailbox.mbox(str(out)))
    assert [m["Message-ID"] for m in box][0] == f"<{REPORT_MID}>"
    by_author = {str(m["From"]): m for m in box}
    ted = next(m for a, m in by_author.items() if "Ted Tso" in a)
    assert ted["In-Reply-To"] == f"<{REPORT_MID}>"
    assert b"\n>From the look of it" in out.read_bytes()          # mboxrd quoting of a body's "From " line
    assert any("#syz invalid" in m.get_payload(decode=True).decode() for m in box)
    # read back by an mboxrd reader (the importer, as b4 and git am read lore's mboxes): bodies as stored
    fresh = tmp_path / "fresh.db"
    assert cli("--db", fresh, "import", out).exit_code == 0
    from triage.store import open_db

    bodies = dict(open_db(fresh).execute("SELECT message_id, body FROM messages").fetchall())
    assert bodies["reply1@x"].startswith("From the look of it this is benign.")
    assert len(bodies) == 3
    original = box[0]
    assert "syzbot found the following issue" in original.get_payload(decode=True).decode()
    assert original["Subject"] == "[syzbot] [mm?] WARNING in ext4_mb_load_buddy_gfp"
    # to stdout, for a pipe into `b4 am -m -` or mutt
    res = cli("mbox", report, "-o", "-")
    assert res.exit_code == 0 and res.output.startswith("From ") and res.output.count("\nFrom ") == 2
    local = add(db, synthetic("no_mail_fn"), "local", days_ago=1)
    res = cli("mbox", local, "-o", tmp_path / "none.mbox")
    assert res.exit_code == 1 and "no stored mail" in res.output and not (tmp_path / "none.mbox").exists()

