"""A syzbot bug's subsystems as its mails say (``triage.store.bug_subsystems``): its subject's tags, a maintainer's
``#syz set subsystems``; what the inbox's subsystem filter shows a subscriber of a list archive."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage

from test_inbox_data import synthetic

from triage.store import open_db
from triage.store.bug_subsystems import stated
from triage.store.messages import set_subsystems, subject_subsystems, syzbot_subject_title

SYZBOT = "syzbot <syzbot+0123456789abcdef0123@syzkaller.appspotmail.com>"


def test_subject_tags_and_set_commands():
    assert subject_subsystems("[syzbot] [nilfs?] [btrfs?] WARNING in filemap_unaccount_folio") == \
        (["nilfs", "btrfs"], False)
    assert subject_subsystems("Re: [syzbot] [nilfs] [fs] kernel BUG in submit_bh_wbc (3)") == (["nilfs", "fs"], True)
    assert subject_subsystems("Re: [syzbot] [mm] [fs?] WARNING in x") == (["mm", "fs"], False)
    assert subject_subsystems("[syzbot] WARNING in x") is None              # an older report: no tags
    assert subject_subsystems("Re: [PATCH] nilfs2: fix [nilfs?] x") is None
    assert subject_subsystems("[syzbot] Monthly nilfs report (Sep 2025)") is None
    # a maintainer's tags (no "?") are not part of syzbot's title either
    assert syzbot_subject_title("Re: [syzbot] [nilfs] [fs] kernel BUG in submit_bh_wbc (3)") == \
        "kernel BUG in submit_bh_wbc (3)"
    assert set_subsystems([{"command": "set", "args": "subsystems: nilfs, fs"}]) == ["nilfs", "fs"]
    assert set_subsystems([{"command": "set", "args": "subsystems: intergrity, overlayfs"},
                           {"command": "set", "args": "subsystems: integrity, overlayfs"},
                           {"command": "fix", "args": "x"}]) == ["integrity", "overlayfs"]
    assert set_subsystems([{"command": "set", "args": "prio: low"}]) is None


def _cmd(args: str) -> str:
    return json.dumps([{"command": "set", "args": args}])


def test_the_latest_word_of_the_mails():
    guess = ("[syzbot] [nilfs2?] [btrfs?] WARNING in x", "[]")
    assert stated([guess]) == ["nilfs", "btrfs"]          # syzbot's old name of nilfs made the table's
    assert stated([guess, ("Re: [syzbot] [nilfs2?] [btrfs?] WARNING in x", _cmd("subsystems: nilfs"))]) == ["nilfs"]
    # a subject showing a maintainer's setting (made elsewhere) beats syzbot's guess, a command beats both
    human = ("Re: [syzbot] [fs] WARNING in x", "[]")
    assert stated([guess, human]) == ["fs"]
    assert stated([guess, ("Re: x", _cmd("subsystems: ext4")), human]) == ["ext4"]
    # a later reply quoting the guessed subject does not undo either
    assert stated([guess, human, guess]) == ["fs"]
    assert stated([("Re: x", "[]"), ("[syzbot] WARNING in x", "not json")]) is None


def _mail(n: int, subject: str, body: str, sender: str = SYZBOT, reply_to: int | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "linux-nilfs@vger.kernel.org, syzbot+0123456789abcdef0123@syzkaller.appspotmail.com"
    msg["Subject"] = subject
    msg["Date"] = f"Mon, {n + 1:02d} Sep 2025 10:00:00 +0000"
    msg["Message-ID"] = f"<bs-{n}@example.org>"
    if reply_to is not None:
        msg["In-Reply-To"] = f"<bs-{reply_to}@example.org>"
    msg.set_content(body)
    return msg


def _mbox(path, *mails: EmailMessage):
    box = mailbox.mbox(str(path))
    for m in mails:
        box.add(m)
    box.close()
    return path


def _area(cli, sub: str) -> list[str]:
    out = cli("inbox", "--json", "-s", sub, "--limit", "0")
    assert out.exit_code == 0, out.output
    return [json.loads(line)["title"] for line in out.stdout.splitlines()]


def test_a_list_archive_puts_a_bug_where_syzbot_does(cli, db_path, tmp_path):
    # an ext4-looking crash syzbot sent to the nilfs list, tagged nilfs (by its old name) and btrfs
    title = "KASAN: use-after-free Read in nilfs_thing"
    report = _mail(1, f"[syzbot] [nilfs2?] [btrfs?] {title}", synthetic("nilfs_thing"))
    other = _mail(2, "[syzbot] KASAN: use-after-free Read in other_thing", synthetic("other_thing").replace(
        "0123456789abcdef0123", "x"), sender="syzbot <syzbot+fedcba9876543210fedc@syzkaller.appspotmail.com>")
    assert cli("import", _mbox(tmp_path / "a.mbox", report, other)).exit_code == 0
    db = open_db(db_path)
    subs = dict(db.execute("SELECT title, subsystems FROM reports").fetchall())
    assert json.loads(subs[title]) == ["nilfs", "btrfs"]
    assert json.loads(subs["KASAN: use-after-free Read in other_thing"]) == ["ext4"]     # no tag: its own
    assert title in _area(cli, "nilfs") and title in _area(cli, "btrfs") and title not in _area(cli, "ext4")

    # a maintainer moves it: the next import writes it to the bug's reports (and their inbox groups)
    move = _mail(3, f"Re: [syzbot] [nilfs2?] [btrfs?] {title}", "#syz set subsystems: ext4\n",
                 sender="A Maintainer <maint@example.org>", reply_to=1)
    assert cli("import", _mbox(tmp_path / "b.mbox", move)).exit_code == 0
    assert title in _area(cli, "ext4") and title not in _area(cli, "nilfs")
    # re-parsing the report keeps what the mails say
    assert cli("reparse", "--all").exit_code == 0
    assert json.loads(open_db(db_path).execute("SELECT subsystems FROM reports WHERE title = ?",
                                               [title]).fetchone()[0]) == ["ext4"]


def test_a_store_migrated_to_16_puts_its_bugs_where_their_mails_say(cli, db_path, tmp_path):
    from triage.pipeline import import_paths

    title = "KASAN: use-after-free Read in nilfs_thing"
    old = open_db(db_path, migrate_to=15)
    import_paths(old, [str(_mbox(tmp_path / "a.mbox", _mail(1, f"[syzbot] [nilfs?] {title}",
                                                             synthetic("nilfs_thing"))))], classify=False)
    old.execute("UPDATE reports SET subsystems = '[\"ext4\"]'")         # what an older import wrote
    old.conn.commit()
    old.conn.close()
    assert title in _area(cli, "nilfs") and title not in _area(cli, "ext4")
