"""Where a bug stands: syzbot's status merged with the ``#syz`` commands stored from the mailing lists.

syzbot closes a bug on mail commands (``#syz fix: TITLE``, ``#syz dup: TITLE``, ``#syz invalid``,
``#syz undup`` / ``#syz unfix``); the store holds those commands (``messages.syz_commands``, including the
replies ``triage reply`` records), so a bug shows as *fix pending* / *dup* / *invalid* as soon as the command
is written, before syzbot's next sync says so. The latest word wins: a command newer than the last sync of
the bug overrides syzbot's status, an older one does not. (Patches' ``Reported-by`` / ``Closes`` trailers
are the next evidence to add here.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

STATUSES = ("open", "fix pending", "fixed", "dup", "invalid")
# ``#syz`` verb -> the status it leaves the bug in (other verbs: test, set, uncc, ... change nothing)
VERB_STATUS = {"fix": "fix pending", "unfix": "open", "dup": "dup", "undup": "open", "invalid": "invalid"}


@dataclass
class BugStatus:
    status: str                 # one of STATUSES
    detail: str = ""            # the fix's commit title, the dup's title
    source: str = "syzbot"      # syzbot | mail
    date: str | None = None     # when it was said (the command's mail Date, the bug's last sync)

    def __str__(self) -> str:
        return self.status + (f": {self.detail}" if self.detail else "")


def from_commands(mails: Iterable[tuple[str | None, list]]) -> BugStatus | None:
    """The status the ``#syz`` commands of ``mails`` ((date, commands) in date order) leave, or None."""
    last = None
    for date, commands in mails:
        for cmd in commands or []:
            verb = cmd.get("command") if isinstance(cmd, dict) else None
            if verb in VERB_STATUS:
                last = BugStatus(VERB_STATUS[verb], str(cmd.get("args") or "").strip(), "mail", date)
    return last


def merge(syzbot: BugStatus | None, mail: BugStatus | None) -> BugStatus | None:
    """The latest word: a command mailed after syzbot's status was read wins; syzbot's status read after
    the command already reflects it."""
    if syzbot is None or mail is None:
        return mail or syzbot
    return mail if (mail.date or "") > (syzbot.date or "") else syzbot


def _fix_title(fixes: str | None) -> str:
    try:
        data = json.loads(fixes) if fixes else []
    except ValueError:
        return ""
    if isinstance(data, list) and data:
        first = data[0]
        return str(first.get("title") or first.get("hash") or "") if isinstance(first, dict) else str(first)
    return ""


def bug_status(db: sqlite_utils.Database, bugs: list[str], message_ids: list[str]) -> BugStatus | None:
    """The status of the bug a duplicate group stands for (its syzbot bugs ``bugs``, its report mails
    ``message_ids``); None when nothing is known (no syzbot bug and no command)."""
    from triage.inbox import thread_message_ids_sql

    syzbot = None
    if bugs:
        marks = ",".join("?" * len(bugs))
        row = db.execute(f"SELECT status, updated_at, fix_commits FROM bugs WHERE extid IN ({marks}) "
                         "ORDER BY status = 'open' DESC, updated_at DESC LIMIT 1", bugs).fetchone()
        if row:
            status, updated, fixes = row
            status = status if status in STATUSES else "open"
            fix = _fix_title(fixes)
            if status == "open" and fix:
                status = "fix pending"
            syzbot = BugStatus(status, fix if status in ("fixed", "fix pending") else "", "syzbot", updated)
    cond, params = thread_message_ids_sql(bugs, message_ids)
    mail = None
    if cond != "0":
        rows = db.execute(f"SELECT m.date, m.syz_commands FROM messages m WHERE {cond} "
                          "AND m.syz_commands IS NOT NULL AND m.syz_commands NOT IN ('', '[]') "
                          "ORDER BY m.date, m.rowid", params).fetchall()
        mail = from_commands((date, _commands(raw)) for date, raw in rows)
    return merge(syzbot, mail)


def _commands(raw: str | None) -> list:
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []
