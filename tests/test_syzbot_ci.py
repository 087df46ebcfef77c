"""syzbot ci's findings on a patch series under review: each a report, and closed ('superseded') once a newer version
of the series is posted (syzbot ci tests that one itself and mails again what it still shows)."""

from __future__ import annotations

import json

from test_inbox_data import import_mails, mail, synthetic

from triage import workers
from triage.mail_reports import MailText, ci_listed
from triage.store import open_db
from triage.store.messages import ci_series, patch_version

CI = "syzbot ci <syzbot+ci0123456789abcdef@syzkaller.appspotmail.com>"
DEV = "Dev <dev@example.org>"
SERIES = "nilfs2: rework the segment constructor"


def _ci_body(version: int, funcs: list[str]) -> str:
    titles = [f"KASAN: use-after-free Read in {f}" for f in funcs]
    return (f"syzbot ci has tested the following series\n\n[v{version}] {SERIES}\n"
            f"https://lore.kernel.org/all/cover-v{version}@example.org\n"
            f"* [PATCH v{version} 1/2] nilfs2: one\n* [PATCH v{version} 2/2] nilfs2: two\n\n"
            "and found the following issues:\n" + "".join(f"* {t}\n" for t in titles)
            + "\nFull report is available here:\nhttps://ci.syzbot.org/series/1\n"
            + "".join(f"\n***\n\n{t}\n\ntree:      torvalds\narch:      amd64\n"
                      f"syz repro: https://ci.syzbot.org/findings/{k}/syz_repro\n\n{synthetic(f, k)}"
                      for k, (t, f) in enumerate(zip(titles, funcs, strict=True)))
            + "\n***\n\nIf these findings have caused you to resend the series or submit a\nseparate fix, please add "
              "the following tag to your commit message:\n  Tested-by: syzbot@syzkaller.appspotmail.com\n")


def _mail(n: int, sender: str, subject: str, body: str, reply_to: int | None = None):
    return mail(f"ci-{n}@example.org", sender, subject, body, n + 1, to="linux-nilfs@vger.kernel.org",
                reply_to=f"ci-{reply_to}@example.org" if reply_to is not None else None)


def _lines(cli, *args: str) -> dict[str, str | None]:
    out = cli("inbox", "--json", "--limit", "0", *args)
    assert out.exit_code == 0, out.output
    return {(d := json.loads(line))["title"]: d["status"] for line in out.stdout.splitlines()}


def test_the_series_a_ci_mail_tested_and_a_patch_version():
    assert ci_series(_ci_body(3, ["nilfs_a"])) == (3, SERIES)
    assert ci_series("Hello,\n\n[v3] not syzbot ci\n") is None
    assert [patch_version(s) for s in ("[PATCH v6 00/15] x", "[PATCH] x", "[RFC PATCH v2 1/3] x", "[PATCH 1/3 v4] x",
                                       "[PATCHv5] x", "[patch v7] x", "Re: x")] == [6, 1, 2, 4, 5, 7, 1]
    assert patch_version("[" + "PATCH " * 20000) == 1       # (no closing bracket: no tag, read in linear time)


def test_findings_on_a_series_version_a_newer_one_replaced_are_superseded(cli, tmp_path):
    cover = _mail(0, DEV, f"[PATCH v2 0/2] {SERIES}", "Two patches.\n")
    found = _mail(1, CI, f"[syzbot ci] Re: {SERIES}", _ci_body(2, ["nilfs_a", "nilfs_b"]), reply_to=0)
    import_mails(cli, tmp_path / "a.mbox", cover, found)
    lines = _lines(cli)
    assert lines == {"KASAN: use-after-free Read in nilfs_a": None, "KASAN: use-after-free Read in nilfs_b": None}
    # another patch of the series, or a reply, replaces nothing; its next version does
    import_mails(cli, tmp_path / "b.mbox", _mail(2, DEV, f"Re: [PATCH v2 0/2] {SERIES}", "Thanks.\n", reply_to=1),
            _mail(3, DEV, f"[PATCH v2 1/2] {SERIES}", "One.\n"))
    assert set(_lines(cli)) == set(lines)
    assert "Read in nilfs_a" in cli("digest").output          # open and quiet: in the weekly mail's stale list
    import_mails(cli, tmp_path / "c.mbox", _mail(4, DEV, f"[PATCH v3 0/2] {SERIES}", "Reworked.\n"))
    assert _lines(cli) == {}
    assert "Read in nilfs_a" not in cli("digest").output
    assert _lines(cli, "--all") == {t: "superseded" for t in lines}
    shown = cli("show", "1").output
    assert "status: superseded: v3 posted (syzbot ci found this on an older version of the series" in shown
    res = cli("inbox")
    assert "2 fixed, dup, invalid or superseded: triage inbox --all shows them" in res.output, res.output
    # what syzbot ci then finds on v3 is open again: its own line
    import_mails(cli, tmp_path / "d.mbox",
                 _mail(5, CI, f"[syzbot ci] Re: {SERIES}", _ci_body(3, ["nilfs_c"]), reply_to=4))
    assert _lines(cli) == {"KASAN: use-after-free Read in nilfs_c": None}


def test_reparse_keeps_the_title_syzbot_ci_gave_a_finding(cli, db_path, tmp_path):
    """As the import stores it: the mail's title for the finding, not the parser's (here they differ)."""
    named = "KASAN: use-after-free Read in nilfs_named_by_ci"
    from triage.reparse import reparse
    from triage.store import open_db

    body = _ci_body(2, ["nilfs_a"]).replace("Read in nilfs_a\n", "Read in nilfs_named_by_ci\n")
    import_mails(cli, tmp_path / "a.mbox", _mail(1, CI, f"[syzbot ci] Re: {SERIES}", body))
    db = open_db(db_path)
    assert [t for (t,) in db.execute("SELECT title FROM reports")] == [named]
    db.execute("UPDATE reports SET parser_version = '0.1', title = 'scrambled'")
    db.conn.commit()
    assert reparse(db, classify=False)["reparsed"] == 1
    assert [t for (t,) in db.execute("SELECT title FROM reports")] == [named]


def test_a_store_imported_before_findings_were_cut_gets_them_from_reparse(cli, db_path, tmp_path, monkeypatch):
    """A store whose import kept a ci mail whole (one report, titled by its first crash): ``triage reparse`` cuts it
    as an import does now. The report keeps its id and review state, and becomes the first finding; the others
    are new reports of the mail, each with its title and reproducer."""
    found = _mail(1, CI, f"[syzbot ci] Re: {SERIES}", _ci_body(2, ["nilfs_a", "nilfs_b", "nilfs_c"]))
    with monkeypatch.context() as m:        # the import of before: the body, whole
        m.setattr(workers, "report_texts", lambda mail: [MailText(mail.body)])
        import_mails(cli, tmp_path / "a.mbox", found)
    db = open_db(db_path)
    [(rid, title)] = db.execute("SELECT id, title FROM reports").fetchall()
    assert title == "KASAN: use-after-free Read in nilfs_a"
    assert cli("ack", str(rid)).exit_code == 0
    out = cli("reparse")                    # (no --all: such a report counts as stale whatever parser read it)
    assert out.exit_code == 0 and "2 findings of syzbot ci mails stored whole" in out.stdout, out.output
    rows = db.execute("SELECT r.id, r.title, r.repro, v.state, instr(r.text, 'syzbot ci has tested') FROM reports r "
                      "JOIN reviews v ON v.report_id = r.id ORDER BY r.id").fetchall()
    assert [r[1] for r in rows] == [f"KASAN: use-after-free Read in nilfs_{x}" for x in "abc"]
    assert rows[0][0] == rid and rows[0][3] == "acked" and [r[3] for r in rows[1:]] == ["new", "new"]
    assert [r[2] for r in rows] == ["syz"] * 3 and [r[4] for r in rows] == [0, 0, 0]
    assert db.execute("SELECT COUNT(*) FROM sources WHERE message_id = 'ci-1@example.org'").fetchone()[0] == 3
    assert db.execute("SELECT COUNT(*) FROM verdicts WHERE source = 'combined'").fetchone()[0] == 3
    assert db.execute("SELECT COUNT(*) FROM reports_fts WHERE reports_fts MATCH 'nilfs_c'").fetchone()[0] == 1
    # once cut, nothing is stale and a second reparse changes nothing
    again = cli("reparse", "--json")
    assert json.loads(again.stdout)["findings_added"] == 0
    assert db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 3


def test_a_ci_mail_of_one_finding_is_cut_too(cli, db_path, tmp_path):
    """Of one finding syzbot ci writes "found the following issue:" and the title alone on the next line
    (linux-unionfs, 68a8c4d7.050a0220.37038e.005c.GAE@google.com): the finding is cut from the mail as well, with its
    title and reproducer."""
    body = _ci_body(6, ["ovl_weird"]).replace("found the following issues:\n* ", "found the following issue:\n")
    assert ci_listed(body) == {"KASAN: use-after-free Read in ovl_weird"}
    import_mails(cli, tmp_path / "a.mbox", _mail(1, CI, f"[syzbot ci] Re: {SERIES}", body))
    rows = open_db(db_path).execute("SELECT title, repro, instr(text, 'syzbot ci has tested') FROM reports").fetchall()
    assert rows == [("KASAN: use-after-free Read in ovl_weird", "syz", 0)]
    assert ci_listed("found the following issues:\n" + "* x\n" * 100) == {"x"}       # (at most 50 lines read)
