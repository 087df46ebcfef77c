"""Helpers shared by the workflow tests (inbox, review, digest, dataset): build a small store.

Reports go through the real pipeline (``store_text``); verdicts, bugs, messages and reproducer runs
are written directly, the way the classifier, the scrapers and the simulator will write them.
"""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from conftest import shared_data

from triage.pipeline import store_text
from triage.store.fts import index_new

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(days_ago: float = 0.0) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def synthetic(func: str, variant: int = 0, title_extra: str = "") -> str:
    """A small KASAN report in syzbot's shape; ``variant`` changes only a non-signature line."""
    return f"""==================================================================
BUG: KASAN: use-after-free in {func}+0x12/0x40 fs/ext4/{func}.c:10{title_extra}
Read of size 8 at addr ffff8880{variant:08x} by task syz-executor/{1000 + variant}

CPU: 0 PID: {1000 + variant} Comm: syz-executor Not tainted 6.1.0-syzkaller #0
Call Trace:
 <TASK>
 __dump_stack lib/dump_stack.c:88 [inline]
 dump_stack_lvl+0xd9/0x150 lib/dump_stack.c:106
 {func}+0x12/0x40 fs/ext4/{func}.c:10
 ext4_caller_{func}+0x1/0x2 fs/ext4/inode.c:20
 do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80
 </TASK>
==================================================================
"""


def labelled_text(n: int) -> str:
    return (shared_data("labelled", "reports") / f"{n:03d}.txt").read_text(encoding="utf-8", errors="replace")


def add(db, text: str, location: str, days_ago: float = 0.0, bug: str | None = None,
        message_id: str | None = None) -> int:
    # these tests set verdicts themselves: no classification
    rid = store_text(db, text, kind="file", location=location, reported_at=iso(days_ago), bug_extid=bug,
                     message_id=message_id, classify=False)
    assert rid is not None, f"{location}: the parser found no crash"
    return rid


def verdict(db, rid: int, label: str, confidence: float = 0.9, needs_review: bool = False,
            source: str = "combined", evidence: dict | None = None) -> None:
    db["verdicts"].upsert(
        {"report_id": rid, "source": source, "label": label, "confidence": confidence,
         "needs_review": int(needs_review), "evidence": json.dumps(evidence or {"rule": "test"}),
         "classifier_version": "test-1", "created_at": iso()},
        pk=("report_id", "source"),
    )


def bug(db, extid: str, status: str = "open", crashes: int = 1, subsystems: tuple[str, ...] = ("ext4",),
        repro: str = "", fix: list | None = None, title: str | None = None) -> None:
    db["bugs"].upsert(
        {"extid": extid, "title": title or f"bug {extid}", "status": status, "subsystems": json.dumps(subsystems),
         "num_crashes": crashes, "repro": repro, "fix_commits": json.dumps(fix or []),
         "link": f"https://syzkaller.appspot.com/bug?extid={extid}", "updated_at": iso()},
        pk="extid",
    )


def message(db, mid: str, bug_extid: str | None, days_ago: float, author: str = "Jan Kara", body: str = "",
            thread: str | None = None, subject: str = "Re: report", syz: list | None = None,
            list_id: str = "linux-ext4.vger.kernel.org", parent: str | None = None,
            refs: list[str] | None = None) -> None:
    db["messages"].insert(
        {"message_id": mid, "thread_id": thread, "parent_id": parent, "in_reply_to": parent,
         "refs": json.dumps(refs or ([parent] if parent else [])), "subject": subject, "author_name": author,
         "author_email": author.lower().replace(" ", ".") + "@example.org", "date": iso(days_ago),
         "list": list_id, "body": body, "syz_commands": json.dumps(syz or []), "tags": "{}",
         "bug_extid": bug_extid, "source": "test"},
        pk="message_id", replace=True,
    )
    index_new(db)                   # a writer of messages brings the search index up to date (triage.store.fts)


def repro_run(db, rid: int, outcome: str, scenario: str = "ext4-evict-nofail") -> None:
    db["repro_runs"].insert({"report_id": rid, "scenario": scenario, "variant": "buggy", "params": "{}",
                             "seed": 1, "outcome": outcome, "evidence": json.dumps({"detector": outcome}),
                             "console": "", "sim_version": "t", "created_at": iso()})


def mail(mid: str, sender: str, subject: str, body: str, day: int, reply_to: str | None = None,
         to: str = "linux-ext4@vger.kernel.org") -> EmailMessage:
    """A mail of day ``day`` of September 2025 (``mid``, ``reply_to``: message-ids without their ``<>``)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = f"Mon, {day:02d} Sep 2025 10:00:00 +0000"
    msg["Message-ID"] = f"<{mid}>"
    if reply_to is not None:
        msg["In-Reply-To"] = f"<{reply_to}>"
    msg.set_content(body)
    return msg


def import_mails(cli, path, *mails: EmailMessage) -> None:
    """``triage import`` of an mbox at ``path`` holding ``mails``."""
    box = mailbox.mbox(str(path))
    for m in mails:
        box.add(m)
    box.close()
    res = cli("import", path)
    assert res.exit_code == 0, res.output
