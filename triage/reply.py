"""``triage reply``: a ``#syz`` command mail in reply to a report's message, and the record of it.

The mail threads under the report's message (``In-Reply-To``, ``References``, ``Re:`` subject), goes to the
original's sender (syzbot's ``syzbot+EXTID@`` address for a syzbot report) with the original's To and Cc as
Cc, plus the bug's syzbot address and the list it came through. The original's recipients are not kept in
the store: they are read back from the message's source when it is still there (an ``.eml``, an mbox, a
maildir file, a public-inbox commit); otherwise the sender, the list and syzbot are the recipients.

``record`` stores the reply in ``messages`` (``source`` = ``OUTGOING``) with its ``#syz`` commands, so
``triage.status`` shows the bug as fix pending / dup / invalid at once; when the list's copy is imported
later, its message-id is already known and nothing is stored twice.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr, parsedate_to_datetime
from pathlib import Path

import sqlite_utils

from records.mail import header_date
from triage.review import ReviewError, group_ids, stamp, utcnow
from triage.store import transaction
from triage.store.messages import OUTGOING

SYZBOT_DOMAIN = "syzkaller.appspotmail.com"
QUOTE_LINES = 12                   # lines of the original quoted under the commands
STATUS_VERBS = ("fix", "dup", "invalid", "undup", "unfix")


class ReplyError(ReviewError):
    """The reply cannot be composed (no syzbot bug, no message, bad command)."""


@dataclass
class Command:
    verb: str
    args: str = ""

    @property
    def line(self) -> str:
        """As syzbot documents it: ``#syz fix: TITLE``, ``#syz dup: TITLE``, ``#syz set subsystems: ext4``."""
        if not self.args:
            return f"#syz {self.verb}"
        return f"#syz {self.verb} {self.args}" if self.verb == "set" else f"#syz {self.verb}: {self.args}"

    def to_dict(self) -> dict:
        return {"command": self.verb, "args": self.args}


def commands(fix: str | None = None, dup: str | None = None, invalid: bool = False, undup: bool = False,
             sets: list[str] | None = None) -> list[Command]:
    """The commands of one reply, checked: at most one that changes the bug's status, one line each."""
    out = [Command(verb, value.strip()) for verb, value in (("fix", fix), ("dup", dup)) if value is not None]
    out += [Command(verb) for verb, on in (("invalid", invalid), ("undup", undup)) if on]
    out += [Command("set", value.strip()) for value in sets or []]
    if not out:
        raise ReplyError("nothing to say: give --fix TITLE, --dup TITLE, --invalid, --undup or --set VALUE")
    status = [c.verb for c in out if c.verb in STATUS_VERBS]
    if len(status) > 1:
        raise ReplyError(f"one status command per mail ({', '.join('--' + v for v in status)} given)")
    for c in out:
        if c.verb in ("fix", "dup", "set") and not c.args:
            raise ReplyError(f"--{c.verb}: the value is empty")
        if "\n" in c.args or "\r" in c.args:
            raise ReplyError(f"--{c.verb}: one line only")
    return out


@dataclass
class Original:
    """The message a reply answers, as stored (plus its recipients when its source could be read)."""

    message_id: str
    subject: str
    author_name: str
    author_email: str
    date: str | None
    refs: list[str]
    thread_id: str | None
    list_id: str | None
    body: str
    source: str | None
    recipients: list[str]               # To + Cc of the original, when known


def syzbot_address(extid: str) -> str:
    return f"syzbot+{extid}@{SYZBOT_DOMAIN}"


def list_address(list_id: str | None) -> str | None:
    """``linux-ext4.vger.kernel.org`` -> ``linux-ext4@vger.kernel.org``."""
    if not list_id or "." not in list_id:
        return None
    name, _, domain = list_id.strip("<>").partition(".")
    return f"{name}@{domain}" if name and "." in domain else None


def report_bug(db: sqlite_utils.Database, report_id: int) -> tuple[str | None, list[int]]:
    """The syzbot bug of the report's duplicate group (from the reports, else from their mails), and the group."""
    members = group_ids(db, report_id)
    marks = ",".join("?" * len(members))
    row = db.execute(f"SELECT bug_extid FROM reports WHERE id IN ({marks}) AND bug_extid IS NOT NULL "
                     "ORDER BY id = ? DESC LIMIT 1", [*members, report_id]).fetchone()
    if row:
        return row[0], members
    row = db.execute(f"SELECT m.bug_extid FROM messages m JOIN reports r ON r.message_id = m.message_id "
                     f"WHERE r.id IN ({marks}) AND m.bug_extid IS NOT NULL LIMIT 1", members).fetchone()
    return (row[0] if row else None), members


def find_original(db: sqlite_utils.Database, report_id: int, extid: str | None, members: list[int]
                  ) -> Original | None:
    """The report's own message, else a group member's, else the bug's earliest mail from syzbot."""
    marks = ",".join("?" * len(members))
    cols = ("m.message_id, m.subject, m.author_name, m.author_email, m.date, m.refs, m.thread_id, m.list, m.body, "
            "m.source")
    row = db.execute(f"SELECT {cols} FROM reports r JOIN messages m ON m.message_id = r.message_id "
                     f"WHERE r.id IN ({marks}) ORDER BY r.id = ? DESC, m.date LIMIT 1",
                     [*members, report_id]).fetchone()
    if row is None and extid:
        row = db.execute(f"SELECT {cols} FROM messages m WHERE m.bug_extid = ? AND m.author_email LIKE ? "
                         "AND COALESCE(m.source, '') <> ? ORDER BY m.date LIMIT 1",
                         [extid, f"syzbot%@{SYZBOT_DOMAIN}", OUTGOING]).fetchone()
    if row is None:
        return None
    mid, subject, name, addr, date, refs, thread, list_id, body, source = row
    try:
        ref_list = [str(r) for r in json.loads(refs or "[]")]
    except ValueError:
        ref_list = []
    return Original(mid, subject or "", name or "", addr or "", date, ref_list, thread, list_id, body or "",
                    source, read_recipients(source, mid))


def read_recipients(source: str | None, message_id: str) -> list[str]:
    """To + Cc of a stored message, read back from its source (file, mbox#N, maildir, public-inbox#commit);
    empty when the source is gone or is not local."""
    if not source:
        return []
    from records.mail import parse_bytes

    raw = None
    m = re.fullmatch(r"(.+)#([0-9a-f]{40})", source)
    try:
        if m and Path(m.group(1)).is_dir():
            out = subprocess.run(["git", "-C", m.group(1), "cat-file", "blob", f"{m.group(2)}:m"],
                                 capture_output=True, timeout=30, check=False)
            raw = out.stdout if out.returncode == 0 else None
        else:
            path = Path(re.sub(r"#\d+$", "", source))
            if path.is_file():
                from scrapers.archives import read_file

                for item in read_file(path):
                    raw = getattr(item, "raw", None)            # a MailBytes
                    mail = parse_bytes(raw) if raw is not None else None
                    if mail is not None and mail.message_id == message_id:
                        return list(mail.recipients)
                raw = None
    except (OSError, subprocess.SubprocessError):
        return []
    if raw:
        mail = parse_bytes(raw)
        if mail.message_id == message_id:
            return list(mail.recipients)
    return []


def _quote(orig: Original) -> str:
    lines = orig.body.strip("\n").splitlines()
    head = lines[:QUOTE_LINES]
    when = header_date(orig.date)
    who = orig.author_name or orig.author_email or "someone"
    out = [f"On {when}, {who} wrote:" if when else f"{who} wrote:"]
    out += [("> " + ln).rstrip() for ln in head]
    if len(lines) > len(head):
        out.append("> [...]")
    return "\n".join(out)




def _unique(addresses: list[str], exclude: set[str]) -> list[str]:
    out, seen = [], set(exclude)
    for a in addresses:
        addr = parseaddr(a)[1].lower()
        if addr and addr not in seen:
            seen.add(addr)
            out.append(a)
    return out


def compose(db: sqlite_utils.Database, report_id: int, cmds: list[Command], sender: str | None,
            now: datetime | None = None) -> tuple[EmailMessage, Original | None, str]:
    """The reply mail for ``report_id`` carrying ``cmds``; returns it with the original it answers (None when
    no mail of the bug is stored: the reply then reaches syzbot by its address alone) and the bug's extid."""
    extid, members = report_bug(db, report_id)
    if not extid:
        raise ReplyError(f"report {report_id} is not a syzbot bug (no extid known): #syz commands go to syzbot; "
                         "use triage ack / mute / label for a local report")
    orig = find_original(db, report_id, extid, members)
    title = db.execute("SELECT COALESCE((SELECT title FROM bugs WHERE extid = ?), title) FROM reports WHERE id = ?",
                       [extid, report_id]).fetchone()[0]
    now = now or utcnow()
    msg = EmailMessage()
    own = parseaddr(sender or "")[1].lower()
    syz = syzbot_address(extid)
    if orig is not None:
        to = [formataddr((orig.author_name, orig.author_email))] if orig.author_email else [syz]
        cc = orig.recipients + [syz] + [a for a in [list_address(orig.list_id)] if a]
        subject = orig.subject if re.match(r"(?i)^\s*re:", orig.subject) else f"Re: {orig.subject}"
    else:
        to, cc, subject = [syz], [], f"Re: [syzbot] {title or ''}".rstrip()   # syzbot reads the bug off its address
    to = _unique(to, {own})
    cc = _unique(cc, {own} | {parseaddr(a)[1].lower() for a in to})
    domain = own.partition("@")[2] or "syz-triage.invalid"
    if sender:
        msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{now:%Y%m%d%H%M%S}.{secrets.token_hex(6)}.triage@{domain}>"
    if orig is not None:
        msg["In-Reply-To"] = f"<{orig.message_id}>"
        msg["References"] = " ".join(f"<{r}>" for r in [*orig.refs, orig.message_id] if r)
    body = "\n".join(c.line for c in cmds) + "\n"
    if orig is not None and orig.body.strip():
        body += "\n" + _quote(orig) + "\n"
    # 8bit, not quoted-printable: lists and git am read it as written (no line of it nears the 998 limit)
    msg.set_content(body, cte="8bit" if max(map(len, body.splitlines()), default=0) < 990 else None)
    return msg, orig, extid


def record(db: sqlite_utils.Database, msg: EmailMessage, cmds: list[Command], extid: str,
           orig: Original | None) -> str:
    """Store the reply as an outgoing message with its commands; returns its message-id."""
    mid = str(msg["Message-ID"]).strip().strip("<>")
    name, addr = parseaddr(str(msg["From"] or ""))
    row = {
        "message_id": mid,
        "thread_id": (orig.thread_id or orig.message_id) if orig else None,
        "parent_id": orig.message_id if orig else None,
        "in_reply_to": orig.message_id if orig else None,
        "refs": json.dumps([*orig.refs, orig.message_id] if orig else []),
        "subject": str(msg["Subject"]),
        "author_name": name or None,
        "author_email": addr.lower() or None,
        "date": stamp(parsedate_to_datetime(str(msg["Date"]))),
        "list": orig.list_id if orig else None,
        "body": msg.get_content(),
        "syz_commands": json.dumps([c.to_dict() for c in cmds]),
        "tags": "{}",
        "patch_subject": None,
        "bug_extid": extid,
        "source": OUTGOING,
        "imported_at": stamp(),
    }
    from triage.store.fts import index_new

    with transaction(db):
        db["messages"].insert(row, ignore=True)
        index_new(db)
    return mid

