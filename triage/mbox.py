"""``triage mbox ID``: a report's mail thread, from the store, as an mbox for mutt or ``b4 am``.

Each stored message becomes an RFC 5322 message again: From, Date, Subject, Message-ID, In-Reply-To,
References, List-Id and the plain-text body the store kept (the original's other headers and attachments are
not stored). The replies ``triage reply`` recorded are part of the thread.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import datetime
from email.charset import Charset
from email.generator import BytesGenerator
from email.message import Message
from email.utils import formataddr
from pathlib import Path

import sqlite_utils

from records.mail import header_date
from triage.inbox import thread_message_ids_sql
from triage.review import ReviewError, group_ids

_MBOXRD = re.compile(rb"^(>*From )", re.M)      # mboxrd: one more ">" on every (quoted) From line
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = None          # 8bit bodies: an mbox is read by people and by git am as written

COLUMNS = ("message_id", "in_reply_to", "refs", "subject", "author_name", "author_email", "date", "list", "body")


def thread(db: sqlite_utils.Database, report_id: int) -> list[dict]:
    """The stored messages of the threads about the report's duplicate group, oldest first."""
    members = group_ids(db, report_id)
    marks = ",".join("?" * len(members))
    bugs = [b for (b,) in db.execute(
        f"SELECT DISTINCT bug_extid FROM reports WHERE id IN ({marks}) AND bug_extid IS NOT NULL", members)]
    mids = [m for (m,) in db.execute(
        f"SELECT DISTINCT message_id FROM reports WHERE id IN ({marks}) AND message_id IS NOT NULL", members)]
    cond, params = thread_message_ids_sql(bugs, mids)
    if cond == "0":
        return []
    cur = db.execute(f"SELECT {', '.join('m.' + c for c in COLUMNS)} FROM messages m WHERE {cond} "
                     "ORDER BY m.date, m.rowid", params)
    return [dict(zip(COLUMNS, row, strict=True)) for row in cur]




def _header(value: str) -> str:
    """A stored value made safe as a header: one line (a newline in it cannot add a header)."""
    return " ".join(str(value).split())


def _msgid(value: str) -> str:
    return "<" + _header(value).strip("<>") + ">"


def to_message(row: dict) -> Message:
    """A stored ``messages`` row as an e-mail message (headers kept as stored: RFC 2047 where not ASCII)."""
    msg = Message()
    if row["author_email"] or row["author_name"]:
        msg["From"] = _header(formataddr((row["author_name"] or "", row["author_email"] or ""), charset="utf-8"))
    date = header_date(row["date"])
    if date:
        msg["Date"] = date
    msg["Subject"] = _header(row["subject"] or "")
    msg["Message-ID"] = _msgid(row["message_id"])
    if row["in_reply_to"]:
        msg["In-Reply-To"] = _msgid(row["in_reply_to"])
    try:
        refs = [str(r) for r in json.loads(row["refs"] or "[]")]
    except ValueError:
        refs = []
    if refs:
        msg["References"] = " ".join(_msgid(r) for r in refs)
    if row["list"]:
        msg["List-Id"] = _msgid(row["list"])
    msg.set_payload(row["body"] or "", _UTF8)
    return msg


def to_bytes(rows: list[dict]) -> bytes:
    """The messages as an mbox (mboxrd: a body line ``>*From `` gets one more ``>``, undone by mboxrd readers)."""
    if not rows:
        raise ReviewError("no stored mail for this report (import its thread: triage sync lore, or the archive)")
    buf = io.BytesIO()
    for row in rows:
        msg = to_message(row)
        when = _when(row["date"])
        msg.set_unixfrom(f"From {row['author_email'] or 'MAILER-DAEMON'} {time.asctime(when)}")
        one = io.BytesIO()
        BytesGenerator(one, mangle_from_=False).flatten(msg, unixfrom=True)
        head, sep, body = one.getvalue().partition(b"\n\n")
        buf.write(head + sep + _MBOXRD.sub(rb">\1", body) + b"\n")
    return buf.getvalue()


def _when(iso: str | None) -> time.struct_time:
    try:
        return datetime.fromisoformat((iso or "").replace("Z", "+00:00")).utctimetuple()
    except ValueError:
        return time.gmtime(0)


def write(rows: list[dict], path: Path) -> int:
    """Write the messages as an mbox at ``path`` (replaced atomically); returns how many."""
    data = to_bytes(rows)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(rows)
