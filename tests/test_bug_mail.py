"""What a syzbot bug's mails say of it (``triage.store.bug_mail``): its subsystems (its subject's tags, a maintainer's
``#syz set subsystems``: what the inbox's subsystem filter shows a subscriber of a list archive) and its reproducer."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage

from test_inbox_data import mail, synthetic

from triage.store import open_db
from triage.store.bug_mail import stated
from triage.store.messages import set_subsystems, subject_subsystems, syzbot_repro, syzbot_subject_title

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


def _subs(mails) -> list[str] | None:
    return stated((subject, commands, None) for subject, commands in mails).subsystems


def test_the_latest_word_of_the_mails():
    guess = ("[syzbot] [nilfs2?] [btrfs?] WARNING in x", "[]")
    assert _subs([guess]) == ["nilfs", "btrfs"]          # syzbot's old name of nilfs made the table's
    assert _subs([guess, ("Re: [syzbot] [nilfs2?] [btrfs?] WARNING in x", _cmd("subsystems: nilfs"))]) == ["nilfs"]
    # a subject showing a maintainer's setting (made elsewhere) beats syzbot's guess, a command beats both
    human = ("Re: [syzbot] [fs] WARNING in x", "[]")
    assert _subs([guess, human]) == ["fs"]
    assert _subs([guess, ("Re: x", _cmd("subsystems: ext4")), human]) == ["ext4"]
    # a later reply quoting the guessed subject does not undo either
    assert _subs([guess, human, guess]) == ["fs"]
    assert _subs([("Re: x", "[]"), ("[syzbot] WARNING in x", "not json")]) is None
    # hostile mail: as many names as a report's own at most, none longer than a name
    assert _subs([("[syzbot] " + "".join(f"[s{i}?] " for i in range(10_000)) + "x", "[]")]) == ["s0", "s1", "s2", "s3"]
    assert _subs([("[syzbot] [" + "a" * 100 + "?] x", "[]")]) is None


NO_REPRO = "Unfortunately, I don't have any reproducer for this issue yet.\n"
LINKS = ("syz repro:      https://syzkaller.appspot.com/x/repro.syz?x=1\n"
         "C reproducer:   https://syzkaller.appspot.com/x/repro.c?x=2\n")


def test_reproducer_syzbot_says_its_bug_has():
    assert syzbot_repro(LINKS) == "C" and syzbot_repro(LINKS.split("C ")[0]) == "syz"
    assert syzbot_repro("C repro:   https://syzkaller.appspot.com/x/repro.c?x=2\n") == "C"     # 2018 mails
    assert syzbot_repro(NO_REPRO) == "" and syzbot_repro("Hello,\n") is None
    assert syzbot_repro("syz repro:      [OBSOLETE] https://syzkaller.appspot.com/x/repro.syz?x=1\n") is None
    assert syzbot_repro("> C reproducer:   https://syzkaller.appspot.com/x/repro.c?x=2\n") is None   # quoted
    # the best any of syzbot's mails says: its report had none, then it found one; a human's mail says nothing
    assert stated([("[syzbot] x", "[]", NO_REPRO), ("Re: [syzbot] x", "[]", LINKS)]).repro == "C"
    assert stated([("[syzbot] x", "[]", LINKS), ("Re: [syzbot] x", "[]", NO_REPRO)]).repro == "C"
    assert stated([("Re: [syzbot] x", "[]", None)]).repro is None


def _mail(n: int, subject: str, body: str, sender: str = SYZBOT, reply_to: int | None = None) -> EmailMessage:
    return mail(f"bs-{n}@example.org", sender, subject, body, n + 1,
                reply_to=f"bs-{reply_to}@example.org" if reply_to is not None else None,
                to="linux-nilfs@vger.kernel.org, syzbot+0123456789abcdef0123@syzkaller.appspotmail.com")


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


def _repro(cli, title: str) -> str | None:
    out = cli("inbox", "--json", "--limit", "0")
    return next(json.loads(line)["repro"] for line in out.stdout.splitlines() if json.loads(line)["title"] == title)


def test_a_list_archive_puts_a_bug_where_syzbot_does(cli, db_path, tmp_path):
    # an ext4-looking crash syzbot sent to the nilfs list, tagged nilfs (by its old name) and btrfs
    title = "KASAN: use-after-free Read in nilfs_thing"
    report = _mail(1, f"[syzbot] [nilfs2?] [btrfs?] {title}", NO_REPRO + synthetic("nilfs_thing"))
    other = _mail(2, "[syzbot] KASAN: use-after-free Read in other_thing", synthetic("other_thing").replace(
        "0123456789abcdef0123", "x"), sender="syzbot <syzbot+fedcba9876543210fedc@syzkaller.appspotmail.com>")
    assert cli("import", _mbox(tmp_path / "a.mbox", report, other)).exit_code == 0
    db = open_db(db_path)
    subs = dict(db.execute("SELECT title, subsystems FROM reports").fetchall())
    assert json.loads(subs[title]) == ["nilfs", "btrfs"]
    assert json.loads(subs["KASAN: use-after-free Read in other_thing"]) == ["ext4"]     # no tag: its own
    assert title in _area(cli, "nilfs") and title in _area(cli, "btrfs") and title not in _area(cli, "ext4")
    assert _repro(cli, title) is None and db.execute(        # syzbot said it has none yet
        "SELECT repro FROM reports WHERE title = ?", [title]).fetchone()[0] == ""

    # then it found one: its mail (a report too) gives the bug's line its C reproducer
    found = _mail(4, f"Re: [syzbot] [nilfs2?] [btrfs?] {title}", "syzbot has found a reproducer for the following "
                  "issue on:\n\n" + LINKS + "\n" + synthetic("nilfs_thing", variant=1), reply_to=1)
    assert cli("import", _mbox(tmp_path / "c.mbox", found)).exit_code == 0
    assert _repro(cli, title) == "C"
    rid = str(db.execute("SELECT id FROM reports WHERE title = ?", [title]).fetchone()[0])
    assert "syzbot: reproducer C (as its mails say)" in cli("show", rid).stdout

    # its cause bisection: the commit syzbot's mail blames (a maintainer's patch citing another commit is not it)
    assert "bisected to" not in cli("show", rid).stdout
    bisected = _mail(5, f"Re: [syzbot] [nilfs2?] [btrfs?] {title}", "syzbot has bisected this issue to:\n\n"
                     "commit 4a445b7b6178d88956192c0202463063f52e8667\n\nReported-by: syzbot+0123456789abcdef0123"
                     "@syzkaller.appspotmail.com\nFixes: 4a445b7b6178 (\"btrfs: don't merge pages into bio\")\n",
                     reply_to=1)
    patch = _mail(6, "Re: [syzbot] x", "Fixes: 0123456789ab (\"another commit\")\n",
                  sender="A Maintainer <maint@example.org>", reply_to=1)
    assert cli("import", _mbox(tmp_path / "e.mbox", bisected, patch)).exit_code == 0
    assert 'bisected to: 4a445b7b6178 ("btrfs: don\'t merge pages into bio")' in cli("show", rid).stdout

    # a maintainer moves it: the next import writes it to the bug's reports (and their inbox groups)
    move = _mail(3, f"Re: [syzbot] [nilfs2?] [btrfs?] {title}", "#syz set subsystems: ext4\n",
                 sender="A Maintainer <maint@example.org>", reply_to=1)
    assert cli("import", _mbox(tmp_path / "b.mbox", move)).exit_code == 0
    assert title in _area(cli, "ext4") and title not in _area(cli, "nilfs")
    # re-parsing the report keeps what the mails say
    assert cli("reparse", "--all").exit_code == 0
    assert json.loads(open_db(db_path).execute("SELECT subsystems FROM reports WHERE title = ?",
                                               [title]).fetchone()[0]) == ["ext4"]


def test_a_store_migrated_to_16_puts_its_bugs_where_their_mails_say(cli, db_path, tmp_path, monkeypatch):
    from triage.pipeline import import_paths
    from triage.store import bug_mail

    title = "KASAN: use-after-free Read in nilfs_thing"
    old = open_db(db_path, migrate_to=15)
    with monkeypatch.context() as m:
        m.setattr(bug_mail, "COLUMNS", ())         # an import of schema 15: what the report's text suggests
        import_paths(old, [str(_mbox(tmp_path / "a.mbox", _mail(1, f"[syzbot] [nilfs?] {title}",
                                                                 LINKS + synthetic("nilfs_thing"))))], classify=False)
    assert old.execute("SELECT subsystems FROM reports").fetchone()[0] == '["ext4"]'
    old.conn.commit()
    old.conn.close()
    assert title in _area(cli, "nilfs") and title not in _area(cli, "ext4")


def test_a_store_migrated_to_17_shows_the_reproducers_its_mails_link(cli, db_path, tmp_path, monkeypatch):
    from triage.pipeline import import_paths
    from triage.store import bug_mail

    title = "KASAN: use-after-free Read in nilfs_thing"
    old = open_db(db_path, migrate_to=16)
    with monkeypatch.context() as m:
        m.setattr(bug_mail, "COLUMNS", ("subsystems",))      # an import of schema 16: no reproducer column
        import_paths(old, [str(_mbox(tmp_path / "a.mbox", _mail(1, f"[syzbot] [nilfs?] {title}",
                                                                 LINKS + synthetic("nilfs_thing"))))], classify=False)
    old.conn.commit()
    old.conn.close()
    assert _repro(cli, title) == "C"


MONTHLY = """Hello nilfs maintainers/developers,

This is a 31-day syzbot report for the nilfs subsystem.

Some of the still happening issues:

Ref Crashes Repro Title
<1> {n}    Yes   KASAN: use-after-free Read in nilfs_thing
                 https://syzkaller.appspot.com/bug?extid=0123456789abcdef0123
<2> 12      No    WARNING in nilfs_rename (2)
                 https://syzkaller.appspot.com/bug?extid=f6c7e1f1809f235eeb90
"""


def test_crash_counts_of_syzbot_monthly_reports():
    from triage.store.messages import digest_counts

    sender = "syzbot+list91fd19ac4f0e1b0d9d06@syzkaller.appspotmail.com"
    assert digest_counts("[syzbot] Monthly nilfs report (Sep 2025)", sender, MONTHLY.format(n=2519)) == \
        {"0123456789abcdef0123": 2519, "f6c7e1f1809f235eeb90": 12}
    # the 2023 layout: no reference column
    assert digest_counts("[syzbot] Monthly nilfs report", sender, "Crashes Repro Title\n1236    Yes   INFO: task hung\n"
                         "              https://syzkaller.appspot.com/bug?extid=221d75710bde87fa0e97\n") == \
        {"221d75710bde87fa0e97": 1236}
    # anyone else's mail, or a reply quoting the table, counts nothing
    assert digest_counts("[syzbot] Monthly nilfs report", "a@example.org", MONTHLY.format(n=1)) == {}
    assert digest_counts("Re: [syzbot] Monthly nilfs report", sender, MONTHLY.format(n=1)) == {}


def _monthly(n: int, month: int, crashes: int) -> EmailMessage:
    msg = _mail(n, f"[syzbot] Monthly nilfs report (month {month})", MONTHLY.format(n=crashes),
                sender="syzbot <syzbot+list91fd19ac4f0e1b0d9d06@syzkaller.appspotmail.com>")
    msg.replace_header("Date", f"Mon, 01 {['Jan', 'Feb', 'Mar', 'Apr'][month]} 2026 10:00:00 +0000")
    return msg


def _crashes(cli, title: str) -> int:
    out = cli("inbox", "--json", "--limit", "0")
    return next(json.loads(line)["crashes"] for line in out.stdout.splitlines() if json.loads(line)["title"] == title)


def test_a_bug_counts_the_crashes_syzbot_last_listed(cli, db_path, tmp_path):
    title = "KASAN: use-after-free Read in nilfs_thing"
    assert cli("import", _mbox(tmp_path / "a.mbox", _mail(1, f"[syzbot] [nilfs?] {title}",
                                                           synthetic("nilfs_thing")))).exit_code == 0
    assert _crashes(cli, title) == 1                      # only the report stored
    assert cli("import", _mbox(tmp_path / "b.mbox", _monthly(10, 2, 2519))).exit_code == 0
    assert _crashes(cli, title) == 2519
    # an older report imported later does not undo the newer count; a newer one replaces it
    assert cli("import", _mbox(tmp_path / "c.mbox", _monthly(11, 1, 900))).exit_code == 0
    assert _crashes(cli, title) == 2519
    assert cli("import", _mbox(tmp_path / "d.mbox", _monthly(12, 3, 3000))).exit_code == 0
    assert _crashes(cli, title) == 3000
    assert _area_crashes(cli, "nilfs", title) == 3000     # the subsystem filter's rows too
    rid = open_db(db_path).execute("SELECT id FROM reports WHERE title = ?", [title]).fetchone()[0]
    assert "3000 crashes by 2026-04-01 (as its mails say)" in cli("show", str(rid)).stdout
    # and the dataset's view of the report says the same
    assert open_db(db_path).execute("SELECT num_crashes FROM inbox_reports WHERE report_id = ?",
                                    [rid]).fetchone()[0] == 3000


def _area_crashes(cli, sub: str, title: str) -> int:
    out = cli("inbox", "--json", "-s", sub, "--limit", "0")
    return next(json.loads(line)["crashes"] for line in out.stdout.splitlines() if json.loads(line)["title"] == title)


def test_a_store_migrated_to_18_counts_the_crashes_its_monthly_reports_list(cli, db_path, tmp_path, monkeypatch):
    from triage import pipeline

    title = "KASAN: use-after-free Read in nilfs_thing"
    old = open_db(db_path, migrate_to=17)
    with monkeypatch.context() as m:
        m.setattr(pipeline, "record_counts", lambda db, rows: 0)      # an import of schema 17: no counts kept
        pipeline.import_paths(old, [str(_mbox(tmp_path / "a.mbox", _mail(1, f"[syzbot] [nilfs?] {title}",
                                                                          synthetic("nilfs_thing")),
                                              _monthly(10, 2, 2519)))], classify=False)
    old.conn.commit()
    old.conn.close()
    assert _crashes(cli, title) == 2519


SUSPECT = """syzbot suspects this issue was fixed by commit:

commit d24396c5290ba8ab04ba505176874c4e04a2d53c
Author: Rustam Kovhaev <rkovhaev@gmail.com>

    reiserfs: add check for an invalid ih_entry_count

If the result looks correct, please mark the issue as fixed by replying with:

#syz fix: reiserfs: add check for an invalid ih_entry_count
"""


def _line(cli, title: str) -> dict:
    out = cli("inbox", "--json", "--limit", "0", "--all")
    return next(d for d in map(json.loads, out.stdout.splitlines()) if d["title"] == title)


def test_a_fix_syzbot_suspects_until_a_maintainer_says(cli, db_path, tmp_path):
    from triage.store.messages import syzbot_fix_suspect

    assert syzbot_fix_suspect(SUSPECT) == {"hash": "d24396c5290ba8ab04ba505176874c4e04a2d53c",
                                           "title": "reiserfs: add check for an invalid ih_entry_count"}
    assert syzbot_fix_suspect(LINKS) is None
    title = "KASAN: use-after-free Read in nilfs_thing"
    report = _mail(1, f"[syzbot] [nilfs?] {title}", synthetic("nilfs_thing"))
    assert cli("import", _mbox(tmp_path / "a.mbox", report)).exit_code == 0
    assert _line(cli, title)["status"] is None
    suspect = _mail(2, f"Re: [syzbot] [nilfs?] {title}", SUSPECT, reply_to=1)
    assert cli("import", _mbox(tmp_path / "b.mbox", suspect)).exit_code == 0
    line = _line(cli, title)
    assert (line["status"], line["status_detail"]) == ("fix suspected",
                                                       "reiserfs: add check for an invalid ih_entry_count")
    rid = str(line["id"])
    assert f"triage reply {rid} --fix 'reiserfs: add check for an invalid ih_entry_count'" in cli("show", rid).stdout
    # a maintainer's later word is the status: confirmed, then taken back
    fix = _mail(3, f"Re: [syzbot] [nilfs?] {title}", "#syz fix: reiserfs: add check for an invalid ih_entry_count\n",
                sender="A Maintainer <maint@example.org>", reply_to=2)
    assert cli("import", _mbox(tmp_path / "c.mbox", fix)).exit_code == 0
    assert _line(cli, title)["status"] == "fix pending"
    unfix = _mail(4, f"Re: [syzbot] [nilfs?] {title}", "#syz unfix\n", sender="A Maintainer <maint@example.org>",
                  reply_to=3)
    assert cli("import", _mbox(tmp_path / "d.mbox", unfix)).exit_code == 0
    assert _line(cli, title)["status"] in (None, "open")
