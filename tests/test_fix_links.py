"""A fix posted for a report no syzbot bug names: a patch whose ``Closes:`` / ``Link:`` trailer names the report's mail
by its lore link makes the report 'fix pending' (as regzbot tracks a regression's fix), and a reply saying it
was applied says so."""

from __future__ import annotations

import json
import mailbox

from test_inbox_data import import_mails, synthetic
from test_inbox_data import mail as _mail

from triage.store import open_db
from vocab.lore import message_link

ROBOT = "kernel test robot <oliver.sang@intel.com>"
DEV = "Dev <dev@example.org>"
REPORT = "202408062249.2194d51b-lkp@intel.com"


def _status(cli) -> list[tuple[str | None, str]]:
    out = cli("inbox", "--json", "--limit", "0")
    return [((d := json.loads(line))["status"], d["status_detail"]) for line in out.stdout.splitlines()]


def _patch(mid: str, trailer: str, day: int, title: str = "ext4: check the buddy's bitmap"):
    return _mail(mid, DEV, f"[PATCH] {title}", f"The fix.\n\n{trailer}\nSigned-off-by: Dev <dev@example.org>\n"
                 "---\n fs/ext4/mballoc.c | 2 +-\n\ndiff --git a/fs/ext4/mballoc.c b/fs/ext4/mballoc.c\n", day)


def test_a_patch_closing_a_reports_lore_link_makes_it_fix_pending(cli, db_path, tmp_path):
    report = _mail(REPORT, ROBOT, "[linux-next:master] [ext4] 1234abcd: KASAN:use-after-free",
                   "Hello,\n\nkernel test robot noticed:\n\n" + synthetic("ext4_mb_load_buddy"), 1)
    other = _mail("other@x", ROBOT, "[linux-next:master] [ext4] 5678ef01: KASAN:use-after-free",
                  "Hello,\n\n" + synthetic("ext4_other_fn"), 2)
    # a patch citing another page of lore, and one naming the report in prose only: neither is its fix
    import_mails(cli, tmp_path / "a.mbox", report, other,
            _patch("unrelated@x", "Link: https://lore.kernel.org/linux-ext4/", 3),
            _patch("prose@x", f"This fixes the report {REPORT}.", 3, "ext4: another thing"))
    assert _status(cli) == [(None, ""), (None, "")]
    import_mails(cli, tmp_path / "b.mbox", _patch("fix@x", f"Closes: {message_link(REPORT, 'oe-lkp')}", 4))
    assert set(_status(cli)) == {(None, ""), ("fix pending", "ext4: check the buddy's bitmap")}
    import_mails(cli, tmp_path / "c.mbox", _mail("applied@x", "Maintainer <m@example.org>",
                                            "Re: [PATCH] ext4: check the buddy's bitmap", "Applied, thanks!\n", 5,
                                            reply_to="fix@x"))
    assert ("fix pending", "ext4: check the buddy's bitmap (applied)") in _status(cli)
    # show names the patch as what said so, with its date, not a #syz command nobody sent
    fixed = [d["id"] for d in map(json.loads, cli("inbox", "--json", "--limit", "0").stdout.splitlines())
             if d["status"]]
    shown = cli("show", str(fixed[0]), "--json").stdout
    assert json.loads(shown)["status"]["source"] == "patch"
    assert "(applied) (from a posted patch, 20" in cli("show", str(fixed[0])).stdout
    db = open_db(db_path)
    assert db.execute("SELECT target, message_id, tag FROM message_links").fetchall() == [(REPORT, "fix@x", "Closes")]


def test_a_store_migrated_to_21_reads_the_links_its_mails_hold(cli, db_path, tmp_path, monkeypatch):
    from triage.store import messages

    old = open_db(db_path, migrate_to=20)
    with monkeypatch.context() as m:
        m.setattr(messages, "message_links", lambda *_: [])      # an import of schema 20: no table to fill
        from triage.pipeline import import_paths

        box = mailbox.mbox(str(tmp_path / "a.mbox"))
        for mail in (_mail(REPORT, ROBOT, "[linux-next:master] [ext4] 1234abcd: KASAN:use-after-free",
                           "Hello,\n\n" + synthetic("ext4_mb_load_buddy"), 1),
                     _patch("fix@x", f"Link: https://lore.kernel.org/r/{REPORT}", 4)):
            box.add(mail)
        box.close()
        import_paths(old, [str(tmp_path / "a.mbox")], classify=False)
    old.conn.commit()
    old.conn.close()
    assert _status(cli) == [("fix pending", "ext4: check the buddy's bitmap")]
