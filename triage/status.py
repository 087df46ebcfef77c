"""Where a bug stands: syzbot's status merged with what the mailing lists say, as syzbot reads its own mail.

syzbot closes a bug on mail commands (``#syz fix: TITLE``, ``#syz dup: TITLE``, ``#syz invalid``,
``#syz undup`` / ``#syz unfix``); the store holds those commands (``messages.syz_commands``, including the
replies ``triage reply`` records). A patch posted with ``Reported-by: syzbot+EXTID`` or ``Closes: ...extid=EXTID``
is a fix posted: *fix pending* (so is a patch whose ``Closes:`` / ``Link:`` trailer names a report's mail by its
lore link, ``message_links``: the fix of a report no syzbot bug names, as regzbot tracks one), and stays so when
replies say it was applied / queued / merged (the detail says so) until the fix is in a tree, which only syzbot
says (``triage sync syzbot``: its *fixed*). The latest word wins: a mail newer than the last sync of the bug
overrides syzbot's status, an older one does not.

syzbot's fix bisection ("syzbot suspects this issue was fixed by commit:") makes an open bug *fix suspected*, with the
title to confirm it with (``triage reply ID --fix TITLE``), until a later word; the bug stays open (syzbot waits for
the command).

A finding syzbot ci mailed about a version of a patch series under review is *superseded* once a newer version of
the series is posted (a patch mail of the series' title with a higher ``vN``): syzbot ci tests each version it sees
and mails again what the newer one still shows, so the older finding says nothing of the series as it now stands.

``CLOSED`` statuses (fixed, dup, invalid) keep a bug out of the default inbox; ``closed_overrides`` gives the
bugs whose mail changes what syzbot's stored status says about that, and ``superseded_groups`` the lines of
superseded findings, for the inbox's SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # annotations only: a reader of the store does not import sqlite-utils
    import sqlite_utils


STATUSES = ("open", "fix pending", "fixed", "dup", "invalid")
FIX_SUSPECTED = "fix suspected"       # syzbot's fix bisection found a commit; open until a maintainer confirms it
SUPERSEDED = "superseded"             # a syzbot ci finding on a series version a newer version replaced (closed)
CLOSED = ("fixed", "dup", "invalid")
# ``#syz`` verb -> the status it leaves the bug in (other verbs: test, set, uncc, ... change nothing)
VERB_STATUS = {"fix": "fix pending", "unfix": "open", "dup": "dup", "undup": "open", "invalid": "invalid"}
_EXTID = re.compile(r"syzbot\+([0-9a-f]{8,40})@|[?&]extid=([0-9a-f]{8,40})")
_APPLIED = re.compile(r"\b(?:applied|queued|merged|picked up|pushed)\b", re.I)
# the messages that can say something about a bug's status (a partial index of the store covers them)
STATUS_MESSAGES = "(m.syz_commands NOT IN ('', '[]') OR m.patch_subject IS NOT NULL)"
# who said a status (``BugStatus.source``) -> how ``triage show`` names it
SOURCES = {
    "syzbot": "syzbot's dashboard",
    "command": "a #syz command",
    "patch": "a posted patch",          # a fix's trailers name the bug or report; a newer version of a series
    "syzbot's mail": "syzbot's mail",    # its fix bisection
}


@dataclass
class BugStatus:
    status: str                 # one of STATUSES
    detail: str = ""            # the fix's commit title, the dup's title
    source: str = "syzbot"      # a key of SOURCES
    date: str | None = None     # when it was said (the mail's Date, the bug's last sync)

    def __str__(self) -> str:
        return self.status + (f": {self.detail}" if self.detail else "")


def from_commands(mails: Iterable[tuple[str | None, list]]) -> BugStatus | None:
    """The status the ``#syz`` commands of ``mails`` ((date, commands) in date order) leave, or None."""
    last = None
    for date, commands in mails:
        for cmd in commands or []:
            verb = cmd.get("command") if isinstance(cmd, dict) else None
            if verb in VERB_STATUS:
                last = BugStatus(VERB_STATUS[verb], str(cmd.get("args") or "").strip(), "command", date)
    return last


def fixes_bug(tags: dict, commands: list, extid: str) -> bool:
    """Whether a patch with these trailers fixes the syzbot bug ``extid`` (``Reported-by: syzbot+EXTID@``,
    ``Closes: ...?extid=EXTID``); a ``#syz test`` patch is only tried, not posted as the fix."""
    if any(isinstance(c, dict) and c.get("command") == "test" for c in commands):
        return False
    values = [str(v) for key in ("Reported-by", "Closes") for v in (tags.get(key) or [])]
    return any(extid in (m.group(1), m.group(2)) for v in values for m in _EXTID.finditer(v))


def from_mail(rows: Iterable[tuple], extid: str) -> BugStatus | None:
    """The status the messages about ``extid`` leave: (date, syz_commands JSON, patch_subject, tags JSON)
    rows in date order; ``#syz`` commands and fix patches, the latest word."""
    last = None
    for date, raw_cmds, patch, raw_tags in rows:
        cmds = _json_list(raw_cmds)
        got = from_commands([(date, cmds)])
        if patch and fixes_bug(_json_dict(raw_tags), cmds, extid):
            got = BugStatus("fix pending", patch, "patch", date)
        last = got or last
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


def syzbot_status(status: str | None, updated: str | None, fixes: str | None) -> BugStatus:
    """syzbot's status of a stored bug (``bugs`` row): an open bug with a fix commit is fix pending."""
    status = status if status in STATUSES else "open"
    fix = _fix_title(fixes)
    if status == "open" and fix:
        status = "fix pending"
    return BugStatus(status, fix if status in ("fixed", "fix pending") else "", "syzbot", updated)


def mail_statuses(db: sqlite_utils.Database, bugs: list[str] | None = None) -> dict[str, BugStatus]:
    """What the mail says of each bug (of ``bugs``, or of every bug mail talks about)."""
    sql = (f"SELECT m.bug_extid, m.date, m.syz_commands, m.patch_subject, m.tags FROM messages m "
           f"WHERE m.bug_extid IS NOT NULL AND {STATUS_MESSAGES}")
    params: list = []
    if bugs is not None:
        if not bugs:
            return {}
        sql += f" AND m.bug_extid IN ({','.join('?' * len(bugs))})"
        params = list(bugs)
    per: dict[str, list[tuple]] = {}
    for extid, *row in db.execute(sql + " ORDER BY m.date, m.rowid", params):
        per.setdefault(extid, []).append(tuple(row))
    out = {}
    for extid, rows in per.items():
        got = from_mail(rows, extid)
        if got is not None:
            out[extid] = got
    return out


def closed_overrides(db: sqlite_utils.Database) -> tuple[list[str], list[str]]:
    """The bugs the mail closes (fixed / dup / invalid, newer than syzbot's word) and those it reopens
    (syzbot's stored status is closed, a newer mail says otherwise)."""
    mail = mail_statuses(db)
    if not mail:
        return [], []
    synced: dict[str, BugStatus] = {}
    ids = sorted(mail)
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        for extid, status, updated, fixes in db.execute(
                f"SELECT extid, status, updated_at, fix_commits FROM bugs WHERE extid IN ({','.join('?' * len(part))})",
                part):
            synced[extid] = syzbot_status(status, updated, fixes)
    closed, reopened = [], []
    for extid, said in mail.items():
        now = merge(synced.get(extid), said)
        if now is not None and now.status in CLOSED:
            closed.append(extid)
        elif extid in synced and synced[extid].status in CLOSED:
            reopened.append(extid)
    return closed, reopened


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
            syzbot = syzbot_status(*row)
    said = [s for s in mail_statuses(db, bugs).values()] if bugs else []
    mail = max(said, key=lambda s: s.date or "") if said else None
    if not bugs and message_ids:        # a report without a syzbot bug: commands in its own threads
        cond, params = thread_message_ids_sql([], message_ids)
        rows = db.execute(f"SELECT m.date, m.syz_commands FROM messages m WHERE {cond} "
                          "AND m.syz_commands IS NOT NULL AND m.syz_commands NOT IN ('', '[]') "
                          "ORDER BY m.date, m.rowid", params).fetchall()
        mail = from_commands((date, _json_list(raw)) for date, raw in rows)
    linked = _linked_fix(db, message_ids) if message_ids else None
    if linked is not None and (mail is None or (linked.date or "") > (mail.date or "")):
        mail = linked
    if mail is not None and mail.status == "fix pending":
        mail.detail = _applied(db, bugs, mail)
    now = merge(syzbot, mail)
    if not bugs and message_ids and (now is None or now.status == "open"):
        found = superseded(db, message_ids)
        if found and len(found) == len(set(message_ids)):      # every report of the line a superseded finding
            return max(found.values(), key=lambda s: s.date or "")
    if bugs and (now is None or now.status == "open"):
        suspect = _fix_suspect(db, bugs)
        if suspect is not None and (now is None or (suspect.date or "") > (now.date or "")):
            return suspect
    return now


def _fix_suspect(db: sqlite_utils.Database, bugs: list[str]) -> BugStatus | None:
    """The commit syzbot's latest fix bisection of these bugs found, from its mail (``FIX_SUSPECTED``)."""
    from triage.store.messages import FIX_SUSPECT, is_syzbot, syzbot_fix_suspect

    marks = ",".join("?" * len(bugs))
    for date, author, body in db.execute(
            f"SELECT date, author_email, body FROM messages WHERE bug_extid IN ({marks}) AND author_email LIKE "
            f"'syzbot%' AND instr(body, ?) ORDER BY date DESC", [*bugs, FIX_SUSPECT]):
        found = syzbot_fix_suspect(body) if is_syzbot(author or "") else None
        if found:
            return BugStatus(FIX_SUSPECTED, found["title"], "syzbot's mail", date)
    return None


def _linked_fix(db: sqlite_utils.Database, message_ids: list[str]) -> BugStatus | None:
    """A fix posted for the report mails ``message_ids``: the first patch whose ``Closes:`` / ``Link:`` trailer
    names one of them by its lore link (``message_links``), as a fix pending."""
    marks = ",".join("?" * len(message_ids))
    row = db.execute(f"SELECT m.date, m.patch_subject FROM message_links l JOIN messages m ON m.message_id = "
                     f"l.message_id WHERE l.target IN ({marks}) AND m.patch_subject IS NOT NULL "
                     f"ORDER BY m.date, m.message_id LIMIT 1", message_ids).fetchone()
    return BugStatus("fix pending", row[1], "patch", row[0]) if row else None


def _applied(db: sqlite_utils.Database, bugs: list[str], fix: BugStatus) -> str:
    """A posted fix's title, with ``(applied)`` when a reply to it says it was applied / queued / merged (the fix:
    a patch of that title about these bugs, or one that names a report by its lore link)."""
    if not fix.detail:
        return fix.detail
    marks = ",".join("?" * len(bugs))
    about = f"(p.bug_extid IN ({marks}) OR " if bugs else "("
    for (body,) in db.execute(
            f"SELECT r.body FROM messages p JOIN messages r ON r.in_reply_to = p.message_id "
            f"WHERE {about}p.message_id IN (SELECT message_id FROM message_links)) AND p.patch_subject = ? "
            f"AND r.author_email IS NOT p.author_email", [*bugs, fix.detail]):
        own = "\n".join(ln for ln in (body or "").split("\n")[:40] if not ln.lstrip().startswith(">"))
        if _APPLIED.search(own):
            return f"{fix.detail} (applied)"
    return fix.detail


def _json_list(raw: str | None) -> list:
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _json_dict(raw: str | None) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def superseded(db: sqlite_utils.Database, message_ids: list[str] | None = None) -> dict[str, BugStatus]:
    """The syzbot ci mails (among ``message_ids``, default all) whose tested series has a newer version posted, each
    with its ``SUPERSEDED`` status (the detail names the version; the date is its mail's)."""
    from triage.store.messages import CI_SUBJECTS, ci_series, is_ci_mail, patch_version

    # (the series is named in the mail's first lines: a ci mail's findings are not read)
    sql = ("SELECT message_id, subject, author_email, substr(body, 1, 2000) FROM messages "
           "WHERE subject >= ? AND subject < ?")
    params: list = list(CI_SUBJECTS)
    if message_ids is not None:
        if not message_ids:
            return {}
        sql += f" AND message_id IN ({','.join('?' * len(message_ids))})"
        params += list(message_ids)
    out: dict[str, BugStatus] = {}
    for mid, subject, author, body in db.execute(sql, params).fetchall():
        series = ci_series(body) if is_ci_mail(subject, author) else None
        if series is None:
            continue
        version, title = series
        for subject, date in db.execute("SELECT subject, date FROM messages WHERE patch_subject = ? ORDER BY date",
                                        [title]):
            newer = patch_version(subject)
            if newer > version:
                out[mid] = BugStatus(SUPERSEDED, f"v{newer} posted", "patch", date)
                break
    return out


def superseded_groups(db: sqlite_utils.Database) -> list[str]:
    """The duplicate groups (``dup_key``) every report of which is a superseded syzbot ci finding (``superseded``)."""
    from triage.store.groups import members

    found = superseded(db)
    if not found:
        return []
    mids = sorted(found)
    keys = {k for (k,) in db.execute(
        f"SELECT COALESCE(r.dup_key, 'report:' || r.id) FROM sources s JOIN reports r ON r.id = s.report_id "
        f"WHERE s.message_id IN ({','.join('?' * len(mids))})", mids)}
    out = []
    for key in sorted(keys):
        ids = members(db, key)
        rows = db.execute(f"SELECT message_id FROM reports WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall()
        if rows and all(mid in found for (mid,) in rows):
            out.append(key)
    return out
