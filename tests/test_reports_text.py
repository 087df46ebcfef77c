"""What becomes a report, from the text (issue 10): kernel output only, corroborated, never a diff hunk, a quoted
format string, prose, a digest or a bisection log; report types say what was printed."""

from __future__ import annotations

from conftest import shared_data

from records.mail import Mail
from triage.pipeline import quoted_from, report_text
from triage.report import parse
from triage.report.textin import mask_code, undecode

SYZBOT_WARNING = """------------[ cut here ]------------
WARNING: CPU: 1 PID: 5824 at fs/inode.c:407 drop_nlink+0xc4/0x110 fs/inode.c:407
Modules linked in:
CPU: 1 UID: 0 PID: 5824 Comm: syz-executor223 Not tainted 6.12.0-syzkaller-12113-gbcc8eda6d349 #0
RIP: 0010:drop_nlink+0xc4/0x110 fs/inode.c:407
Call Trace:
 <TASK>
 nilfs_rmdir+0x1b0/0x250 fs/nilfs2/namei.c:342
 vfs_rmdir+0x3a3/0x510 fs/namei.c:4394
 do_rmdir+0x3b5/0x580 fs/namei.c:4453
 __x64_sys_rmdir+0x47/0x50 fs/namei.c:4470
 do_syscall_64+0xf3/0x230 arch/x86/entry/common.c:83
 entry_SYSCALL_64_after_hwframe+0x77/0x7f
"""


def title(text: str) -> str | None:
    return parse(text).display_title


def test_prose_naming_a_crash_is_not_a_report():
    """(A header given entirely alone is taken as given: syzkaller's golden files hold such one-line logs.)"""
    for text in (
        'Hi,\nwe found a crash "kernel BUG in reiserfs_update_sd_size" in upstream,\nand reproduced it.\n',
        "We encountered a general protection fault while using our modified\nSyzkaller on 6.9-rc3.\n",
        "It seems to me the original crash general protection fault is not related\nto this commit.\n",
        # syzbot's bisection log and monthly digest: titles, not kernel output
        "run #0: basic kernel testing failed: possible deadlock in fs_reclaim_acquire\n"
        "run #1: crashed: KASAN: out-of-bounds Read in leaf_paste_in_buffer\nrun #2: OK\n",
        "Ref Crashes Repro Title\n<1> 4       Yes   WARNING in nilfs_btree_assign (3)\n"
        "                  https://syzkaller.appspot.com/bug?extid=158be45e4d99232e1900\n",
        # checkpatch / kbuild output
        "WARNING: use scnprintf or sprintf.\n#34: FILE: fs/reiserfs/item_ops.c:25:\n+\tsprintf(buf, \"%s\", x);\n\n"
        "total: 0 errors, 1 warnings, 20 lines checked\n",
        "make W=1 allmodconfig all:\n  MODPOST Module.symvers\nWARNING: modpost: missing MODULE_DESCRIPTION() in "
        "drivers/net/amt.o\nmake[1]: Leaving directory '/src'\n",
        # the kernel test robot's build log: a run of warnings, each header between two others, no kernel line
        "All errors (new ones prefixed by >>, old ones prefixed by <<):\n\n"
        + "".join(f"WARNING: modpost: missing MODULE_DESCRIPTION() in drivers/net/{m}.o\n"
                  for m in ("amt", "macvtap", "tap", "ppp/ppp_generic"))
        + "\n-- \n0-DAY CI Kernel Test Service\n",
        "./scripts/checkpatch.pl 0001-reiserfs.patch\nWARNING: fs/reiserfs/item_ops.c is marked as 'obsolete' in the "
        "MAINTAINERS hierarchy.  No unnecessary modifications please.\ntotal: 0 errors, 1 warnings\n",
    ):
        assert title(text) is None, text


def test_the_same_header_with_kernel_output_around_it_is_one():
    # (syzbot's own title for this report: drop_nlink, generic inode code, is skipped)
    assert title(SYZBOT_WARNING) == "WARNING in nilfs_rmdir"
    # a sentence just above a pasted report does not borrow its stack, and does not hide it
    text = "We encountered a general protection fault while using our modified\n\n" + SYZBOT_WARNING
    assert title(text) == "WARNING in nilfs_rmdir"
    # a tool's own WARNING above a pasted dmesg is not the kernel's
    tool = ("# mkfs.nilfs2 /dev/vdc\nWARNING: Device /dev/vdc appears to contain an existing xfs superblock.\n"
            "WARNING: All data will be lost after format!\n\n[   51.908189] NILFS version 2 loaded\n"
            + "".join(f"[   52.0{i}] {ln}\n" for i, ln in enumerate(SYZBOT_WARNING.splitlines())))
    assert title(tool) == "WARNING in nilfs_rmdir"


def test_diff_hunks_and_quoted_format_strings_are_not_kernel_output():
    diff = ("Here is the fix.\n\n"
            "diff --git a/fs/buffer.c b/fs/buffer.c\n--- a/fs/buffer.c\n+++ b/fs/buffer.c\n"
            "@@ -10,3 +10,4 @@ static void end_write(struct buffer_head *bh)\n"
            " \tif (!uptodate) {\n"
            '-\t\tpr_warn("lost page write due to I/O error on %s\\n", bdevname(bh->b_bdev));\n'
            '+\t\tpr_warn_ratelimited("Buffer I/O error on dev %pg, logical block %llu, lost async page write\\n",\n'
            "+\t\t\t\t    bh->b_bdev, bh->b_blocknr);\n"
            " \t}\n")
    assert title(diff) is None
    masked = mask_code(diff)
    assert masked.count("\n") == diff.count("\n") and "lost" not in masked and "Here is the fix." in masked
    quoted = "> " + diff.replace("\n", "\n> ")              # the same diff quoted in a review
    assert title(quoted) is None
    # a hunk adding a whole oops (to documentation) holds kernel output that is not this mail's
    doc_hunk = SYZBOT_WARNING.strip("\n").split("\n")
    doc = ("diff --git a/Documentation/x.rst b/Documentation/x.rst\n--- a/Documentation/x.rst\n"
           f"+++ b/Documentation/x.rst\n@@ -1,1 +1,{len(doc_hunk) + 1} @@\n Example:\n"
           + "".join(f"+{ln}\n" for ln in doc_hunk))
    assert title(doc) is None and title(SYZBOT_WARNING) is not None
    for text in ('The message "lost page write due to I/O error on %s" is printed when ...\n',
                 '-\tWARN(1, "BUG: Dentry %p{i=%lx,n=%pd} still in use\\n", dentry);\n',
                 "We saw lost page write due to IO error in the log.\n"):
        assert title(text) is None, text
    # a cut quoted hunk ("[..]") ends where the quoting changes: the replier's own lines after it are read
    cut = "> @@ -1397,27 +1397,25 @@ int f(void)\n>   \tif (!parent)\n> -\t\tgoto unlock;\n\nThis broke it:\n\n"
    assert title(cut + SYZBOT_WARNING) == "WARNING in nilfs_rmdir"


def test_decoded_and_dmesg_decoded_logs_read_as_console_output():
    decoded = ("[  194.668209][ T8083] BUG: KASAN: slab-use-after-free in __discard_prealloc "
               "(fs/reiserfs/bitmap.c:505)\n[  194.669524][ T8083] Read of size 4 at addr ffff888159b1d63c by task "
               "a.out/8083\n[  194.671351][ T8083] CPU: 0 PID: 8083 Comm: a.out Not tainted 6.9.0 #8\n"
               "[  194.672773][ T8083] Call Trace:\n[  194.673475][ T8083]  <TASK>\n"
               "[  194.675770][ T8083]  __discard_prealloc (fs/reiserfs/bitmap.c:505 (discriminator 2))\n"
               "[  194.677662][ T8083]  reiserfs_discard_prealloc (fs/reiserfs/bitmap.c:1234)\n")
    assert "__discard_prealloc+0x0/0x0 fs/reiserfs/bitmap.c:505" in undecode(decoded)
    assert title(decoded) == "KASAN: slab-use-after-free Read in __discard_prealloc"
    lkp = "".join(f"kern  :warn  : [  407.4{i}] {ln}\n" for i, ln in enumerate(SYZBOT_WARNING.splitlines()))
    lkp = lkp.replace("Modules linked in:\n", "Modules linked in:\nuser  :notice: [  407.5] fanotify06.c:217: "
                      "TINFO: Test #1: merge\n")
    assert title(lkp) == "WARNING in nilfs_rmdir"


def test_event_reports_are_typed_by_what_was_printed_not_by_a_verdict():
    lost = "[  12.3] Buffer I/O error on dev dm-1, logical block 4242, lost sync page write\n"
    rep = parse(lost)
    assert rep.title is None and rep.event["title"] == "Buffer I/O error on dev dm-1, lost sync page write"
    assert rep.event["type"] == "LOST_WRITE" and rep.type is None
    trace = parse(shared_data("labelled", "reports", "078.txt").read_bytes())   # a bare, header-less call trace
    assert trace.event["type"] == "CALL_TRACE" and trace.event["title"] == "call trace in __ext4_std_error"
    assert "DATA_LOSS" not in (rep.event["type"], trace.event["type"])
    dept = parse("===================================================\nDEPT: Circular dependency has been detected.\n"
                 "6.2.0-rc3 #1 Tainted: G        W\n---------------------------------------------------\n"
                 "[S] lock(&ni->ni_lock:0):\nstacktrace:\n" + "".join(
                     f"      {f}+0x{i + 1:x}0/0x400\n" for i, f in enumerate(
                         ["ntfs3_setattr", "notify_change", "do_truncate", "path_openat", "do_filp_open",
                          "do_sys_openat2", "__x64_sys_creat", "do_syscall_64"])))
    assert dept.event["type"] == "DEPT" and dept.event["title"] == "DEPT: circular dependency in ntfs3_setattr"
    # a FAULT_INJECTION dump is not a crash: its stack alone is no report
    fi = ("[   64.050342][ T5103] FAULT_INJECTION: forcing a failure.\n"
          "[   64.050342][ T5103] name failslab, interval 1, probability 0, space 0, times 0\n"
          "[   64.055933][ T5103] CPU: 0 UID: 0 PID: 5103 Comm: syz-executor195 Not tainted 6.12.0-rc4 #0\n"
          "[   64.063941][ T5103] Call Trace:\n" + "".join(
              f"[   64.0{70 + i}][ T5103]  {f}+0x{i + 1:x}0/0x400\n" for i, f in enumerate(
                  ["dump_stack_lvl", "should_fail_ex", "should_failslab", "__kmalloc_cache_noprof",
                   "ovl_encode_real_fh", "ovl_encode_fh", "exportfs_encode_fh", "ovl_copy_up_flags",
                   "ovl_open", "do_dentry_open"])))
    assert title(fi) is None


def test_a_kmemleak_record_without_its_header_is_titled_as_syzkaller_titles_leaks():
    leak = """kmemleak reports this:

unreferenced object 0xffff888008ad8240 (size 192):
  comm "fanotify06", pid 1803, jiffies 4294890084
  hex dump (first 32 bytes):
    01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc ee6a93ea):
    [<00000000ab4340a4>] __create_object+0x22/0x83
    [<0000000053dcaf3b>] kmem_cache_alloc_noprof+0x156/0x1e6
    [<00000000b4a08c1d>] prepare_creds+0x1d/0xf9
    [<00000000c55dfb6c>] ovl_setup_cred_for_create+0x27/0x93
    [<00000000f82af4ee>] ovl_create_or_link+0x73/0x1bd
"""
    rep = parse(leak)
    assert rep.title is None and rep.event["title"] == "memory leak in prepare_creds" and rep.event["type"] == "LEAK"


def _mail(subject: str, body: str, author: str = "dev@example.org", **kw) -> Mail:
    return Mail(message_id="m@x", subject=subject, author_email=author, body=body, **kw)


def test_patches_and_digests_hold_no_report_a_review_quoting_its_changelog_neither():
    changelog = "syzbot reported a WARNING:\n\n" + SYZBOT_WARNING + "\nReported-by: syzbot+9260@x\n---\n"
    for subject in ("[PATCH v2] nilfs2: prevent use of deleted inode",
                    "[PATCH AUTOSEL 5.17 30/43] nilfs2: fix it",
                    'FAILED: patch "[PATCH] nilfs2: fix it" failed to apply to 5.15-stable tree'):
        assert report_text(_mail(subject, changelog)) is None, subject
    assert report_text(_mail("nilfs2: fix it", changelog + "diff --git a/x b/x\n")) is None   # its own diff
    assert report_text(_mail("[syzbot] Monthly nilfs report (Jan 2025)", "...",
                             author="syzbot+list7e77@syzkaller.appspotmail.com")) is None
    # a reply to the patch quotes its changelog: not a report; a crash pasted in the thread is one
    review = "> " + changelog.replace("\n", "\n> ") + "\nPlease split the tags.\n"
    rep = parse(review)
    assert rep.title == "WARNING in nilfs_rmdir"
    assert quoted_from(rep, [changelog])
    assert not quoted_from(rep, ["an unrelated patch\n+\tfoo();\n"])
    assert report_text(_mail("Re: [PATCH v2] nilfs2: prevent use of deleted inode", review)) == review


def _ci_mail(findings: list[str]) -> Mail:
    """A syzbot ci mail (its form: the series, the findings' titles, each finding after "***", a closing part)."""
    titles = [f.split("\n", 1)[0] for f in findings]
    body = ("syzbot ci has tested the following series\n\n[v2] nilfs2: do things\nhttps://lore.kernel.org/all/x@y\n"
            "* [PATCH v2 1/2] nilfs2: do one thing\n\nand found the following issues:\n"
            + "".join(f"* {t}\n" for t in titles) + "\nFull report is available here:\nhttps://ci.syzbot.org/series/1"
            + "".join(f"\n\n***\n\n{f}" for f in findings)
            + "\n\n***\n\nIf these findings have caused you to resend the series or submit a\nseparate fix, "
              "please add the following tag to your commit message:\n"
              "  Tested-by: syzbot@syzkaller.appspotmail.com\n")
    return _mail("[syzbot ci] Re: nilfs2: do things", body,
                 author="syzbot+ci0123456789abcdef@syzkaller.appspotmail.com")


def test_each_finding_of_a_syzbot_ci_mail_is_a_report_titled_as_the_mail_titles_it():
    from triage.mail_reports import report_texts

    head = "\n\ntree:      torvalds\narch:      amd64\n{repro}\n"
    warning = "WARNING in nilfs_rmdir" + head.format(repro="C repro:   https://ci.syzbot.org/findings/1/c_repro\n"
                                                             "syz repro: https://ci.syzbot.org/findings/1/syz_repro")
    deadlock = "possible deadlock in nilfs_rmdir" + head.format(repro="syz repro: https://ci.syzbot.org/f/2/syz_repro")
    texts = report_texts(_ci_mail([warning + SYZBOT_WARNING, deadlock + SYZBOT_WARNING.replace("PID: 5824", "PID: 1")]))
    assert [(t.title, t.repro) for t in texts] == [("WARNING in nilfs_rmdir", "C"),
                                                   ("possible deadlock in nilfs_rmdir", "syz")]
    assert [title(t.text) for t in texts] == ["WARNING in nilfs_rmdir"] * 2 and "***" not in texts[0].text
    assert "Tested-by" not in texts[1].text and "found the following issues" not in texts[0].text
    # another mail is one text, its body; a patch none
    body = "Hi,\n\n" + SYZBOT_WARNING
    assert report_texts(_mail("Re: WARNING in nilfs_rmdir", body)) == [(body, None, None)]
    assert report_texts(_mail("[PATCH] nilfs2: fix it", body + "diff --git a/x b/x\n")) == []
    # a hostile list line (a title with 200,000 blanks) is no title, read in linear time
    hostile = _ci_mail([warning + SYZBOT_WARNING]).body.replace("* WARNING in nilfs_rmdir\n",
                                                                  "* WARNING" + " " * 200_000 + "x\n")
    assert report_texts(_mail("[syzbot ci] Re: nilfs2: do things", hostile,
                              author="syzbot+ci0123456789abcdef@syzkaller.appspotmail.com"))[0].title is None


def test_a_syzbot_ci_mail_imports_as_its_findings(cli, db):
    """A real syzbot ci mail (linux-ext4, five KASAN findings on one patch series): five reports, each with its title
    and reproducer, all of the one message; imported before as one report, the first."""
    raw = shared_data("lore", "lore.kernel.org", "linux-ext4", "69a6922a.050a0220.21ae90.0005.GAE@google.com", "raw")
    from triage.pipeline import import_paths

    summary = import_paths(db, [str(raw)])
    assert summary.reports_new == 5 and summary.errors == [], summary.as_dict()
    rows = db.execute("SELECT title, repro, message_id, bug_extid FROM reports ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["KASAN: slab-out-of-bounds Read in ext4_xattr_block_csum_set",
                                    "KASAN: slab-use-after-free Read in ext4_xattr_block_csum_set",
                                    "KASAN: slab-use-after-free Read in ext4_xattr_set_entry",
                                    "KASAN: use-after-free Read in ext4_xattr_block_csum_set",
                                    "KASAN: use-after-free Read in ext4_xattr_set_entry"]
    assert {r[2] for r in rows} == {"69a6922a.050a0220.21ae90.0005.GAE@google.com"} and {r[3] for r in rows} == {None}
    assert [r[1] for r in rows] == ["syz", "C", "syz", "C", "C"]
    # the mail is the source of each of them
    sources = db.execute("SELECT COUNT(DISTINCT report_id) FROM sources WHERE message_id = ?", [rows[0][2]])
    assert sources.fetchone() == (5,)
    # each its own line of the inbox: five crashes, not one
    lines = [ln for ln in cli("inbox").output.splitlines()[1:] if ln.strip()]
    assert len(lines) == 5


def test_gated_corroboration_agrees_with_the_alternation():
    """``corroborates`` searches each alternative only in a line holding its required text: on every line of the
    real reports (and lines made to sit on the gates' edges) it answers as the one alternation does."""
    from triage.report.corroborate import CORROBORATION, corroborates

    lines = ["Tainted: G", "Not tainted", "  ESR = 0x96000004", "2024/01/02 03:04:05 fuzzer started",
             "foo.c:12", " foo bar.c:12 [inline]", "Tainted:  G", "xNot tainted", "hardirqs last  enabled at",
             "1 lock held by syz/1:", "RAX: 0000000000000000", "  pwq 4: cpus=1", "\x1c RIP: 0010:x"]
    for sub in ("syzbot-sample", "labelled/reports"):
        for path in sorted(shared_data(sub).glob("*.txt"))[:300]:
            lines += path.read_text(errors="replace").split("\n")
    hits = [corroborates(ln) for ln in lines]
    assert hits == [CORROBORATION.search(ln) is not None for ln in lines]
    assert 0 < sum(hits) < len(lines)


KASAN_ROWS = """BUG: KASAN: use-after-free in nilfs_lookup+0x1d/0x90 fs/nilfs2/namei.c:58
Read of size 8 at addr ffff888012345608 by task syz-executor/5123
Memory state around the buggy address:
 ffff888012345500: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb
 ffff888012345580: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc
>ffff888012345600: fa fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb
                      ^
 ffff888012345680: fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb
==================================================================
"""


def test_kasan_buggy_row_mark_is_kernel_output_not_a_mail_quote():
    """KASAN prints its shadow dump's row of the buggy address as ">%px: " (mm/kasan/report.c), where a mail quote
    would be: the report keeps that ">" as syzkaller's does; one quote level around it is still undone."""
    row = ">ffff888012345600: fa fb fb fb fb fb fb fb fb fb fb fb fb fb fb fb"
    assert row in parse(KASAN_ROWS).report.split("\n")
    quoted = "".join(f"> {line}\n" for line in KASAN_ROWS.split("\n"))
    assert row in parse(quoted).report.split("\n")
    assert row in parse(quoted.replace("> ", ">")).report.split("\n")


def test_every_syzbot_report_keeps_its_buggy_row_mark():
    """The 217 syzbot-sample reports whose shadow dump marks a row: the parsed report holds the row as printed."""
    seen = 0
    for path in sorted(shared_data("syzbot-sample").glob("*.txt")):
        text = path.read_text(errors="replace")
        rows = [ln for ln in text.split("\n") if ln.startswith(">ffff")]
        if not rows:
            continue
        report = parse(text).report.split("\n")
        assert all(r in report for r in rows), path.name
        seen += 1
    assert seen >= 200


def test_a_web_mailers_character_references_are_read_as_the_characters_the_kernel_printed():
    from triage.report.textin import unescape_html

    sent = ("WARNING: possible circular locking dependency detected\n"
            "-&gt; #1 (&amp;ei-&gt;i_lock){+.+.}-{3:3}:\n&nbsp;&nbsp; lock_acquire+0x1/0x2\n&amp;gt; &lt;TASK&gt;\n")
    got = unescape_html(sent)
    assert got == ("WARNING: possible circular locking dependency detected\n"
                   "-> #1 (&ei->i_lock){+.+.}-{3:3}:\n\xa0\xa0 lock_acquire+0x1/0x2\n&gt; <TASK>\n")   # one pass
    assert got.count("\n") == sent.count("\n")              # lines stay where the input has them
    # kernel output holds "&" (lock names) and maybe a stray "&amp;" (a fuzzed file name): left as it is
    for text in ("(&ei->i_lock){+.+.}", "EXT4-fs error: name 'a&amp;b'"):
        assert unescape_html(text) is text


def test_a_store_migrated_to_22_gives_each_finding_of_a_mail_its_source(db_path):
    """Before migration 22 a message could be the source of one report: a syzbot ci mail's other findings were
    stored without a source row."""
    from triage.pipeline import import_paths
    from triage.store import open_db

    raw = shared_data("lore", "lore.kernel.org", "linux-ext4", "69a6922a.050a0220.21ae90.0005.GAE@google.com", "raw")
    old = open_db(db_path, migrate_to=21)
    assert import_paths(old, [str(raw)], classify=False).reports_new == 5
    assert old.execute("SELECT COUNT(*) FROM sources").fetchone() == (1,)
    old.conn.commit()
    old.conn.close()
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(DISTINCT report_id) FROM sources WHERE message_id = "
                      "'69a6922a.050a0220.21ae90.0005.GAE@google.com'").fetchone() == (5,)
