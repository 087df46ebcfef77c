"""Messages in the store: a ``Mail`` -> its ``messages`` row (threading headers, author, date, ``#syz``
commands, trailer tags, the patch subject and the syzbot bug the message is about), stored once per message-id.

Every mail source's messages come through here (``.eml``, mbox, maildir, public-inbox, lore); ``threads``
then resolves ``thread_id`` / ``parent_id`` (including the subject fallback) over what was stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from triage.store.schema import now
from vocab.lore import linked_message

if TYPE_CHECKING:       # annotations only: the readers of the store (the inbox) load neither the mail model
    import sqlite_utils  # (email, dateutil) nor sqlite-utils

    from records.mail import Mail

OUTGOING = "triage reply"          # messages.source of the mails triage composed (``triage.reply``)

SYZBOT_ADDR = re.compile(r"^syzbot(?:\+([0-9a-f]{8,40}))?@syzkaller\.appspotmail\.com$", re.I)
SYZBOT_SENDER = re.compile(r"^syzbot(?:\+[\w.-]+)?@syzkaller\.appspotmail\.com$", re.I)   # also its list mails
SYZBOT_TAG = re.compile(r"syzbot\+([0-9a-f]{8,40})@syzkaller\.appspotmail\.com", re.I)
EXTID_LINK = re.compile(r"https?://(?:syzkaller\.appspot\.com|syzbot\.org)/bug\?(?:[^\s>]*&)?extid=([0-9a-f]{8,40})")

# ``#syz`` verbs (syzkaller pkg/email/parser.go): verb -> takes arguments
SYZ_VERBS = {"fix": True, "unfix": False, "dup": True, "undup": False, "test": True, "invalid": False,
             "uncc": False, "set": True, "unset": True, "upstream": False, "regenerate": False}
SYZ_LINE = re.compile(r"^#syz[ \t:-]+([a-z-]+):?[ \t]*(.*?)\s*$")

# trailer tags kept per message (name as written in the mail -> key in ``tags``)
TRAILERS = {"reported-by": "Reported-by", "closes": "Closes", "link": "Link", "fixes": "Fixes",
            "tested-by": "Tested-by", "reviewed-by": "Reviewed-by", "acked-by": "Acked-by",
            "suggested-by": "Suggested-by", "signed-off-by": "Signed-off-by", "cc": "Cc"}
TRAILER_LINES = re.compile(r"^([A-Za-z][A-Za-z-]*):[ \t]+(\S.*?)[^\S\n]*$", re.M)

REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|sv)\s*:\s*)+", re.I)
PATCH_TAG = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*")
FORWARD_MARK = "\n***\n"
PATCH_IN_SUBJECT = re.compile(r"\[[^\]]*\bPATCH\b[^\]]*\]", re.I)     # [PATCH v2 1/3], [RFC PATCH], [PATCH AUTOSEL]
OWN_DIFF = re.compile(r"^(?:diff --git |@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@|\+\+\+ b/)", re.M)
# syzbot's own mails that carry no crash: digests, bisection and fix-suspect notices, reminders
SYZBOT_DIGEST = re.compile(r"^\[syzbot\] Monthly .* [Rr]eport\b|^\[syzbot\] \S+ report \(", re.I)


def is_syzbot(addr: str) -> bool:
    return bool(SYZBOT_SENDER.match(addr or ""))


def base_subject(subject: str) -> str:
    """The subject public-inbox threads on: leading ``Re:`` prefixes dropped, whitespace folded."""
    return re.sub(r"\s+", " ", REPLY_PREFIX.sub("", subject or "")).strip()


def is_reply_subject(subject: str) -> bool:
    return bool(REPLY_PREFIX.match(subject or ""))


def unquoted_lines(body: str) -> list[str]:
    return [line for line in body.split("\n") if not line.lstrip().startswith(">")]


def command_text(mail: Mail) -> str:
    """The part of the body that can carry commands. syzbot's own mails quote the commands as help
    text, except its archival forwards of a human's command mail (after the ``***`` line)."""
    if is_syzbot(mail.author_email):
        if mail.subject.startswith("Forwarded:") and FORWARD_MARK in mail.body:
            return mail.body.split(FORWARD_MARK, 1)[1]
        return ""
    return mail.body


def syz_commands(text: str) -> list[dict]:
    if "#syz" not in text:                        # no line can start with it
        return []
    lines = unquoted_lines(text)
    out = []
    for i, line in enumerate(lines):
        m = SYZ_LINE.match(line.rstrip())
        if not m or m.group(1) not in SYZ_VERBS:
            continue
        verb, args = m.group(1), m.group(2)
        if verb == "test" and not args and i + 1 < len(lines) and re.match(r"^\s*(git|https?)://", lines[i + 1]):
            args = lines[i + 1].strip()           # "#syz test:" with the tree on the next line
        out.append({"command": verb, "args": args if SYZ_VERBS[verb] else ""})
    return out


def trailer_tags(text: str) -> dict[str, list[str]]:
    """``Name: value`` lines of the known trailers, not quoted (a quoted line never starts with a letter)."""
    tags: dict[str, list[str]] = {}
    for line in text.split("\n"):                # a match never spans lines: the regexp only on named ones
        name, colon, _ = line.partition(":")
        if colon and name.lower() in TRAILERS and (m := TRAILER_LINES.match(line)):
            values = tags.setdefault(TRAILERS[m.group(1).lower()], [])
            if m.group(2) not in values:
                values.append(m.group(2))
    return tags


def has_own_diff(body: str) -> bool:
    """The body carries a diff of its own (unquoted ``diff --git`` / ``+++ b/`` / hunk header lines)."""
    return ("\ndiff --git " in body or "\n@@ -" in body or "\n+++ b/" in body or body.startswith(("diff ", "@@ "))) \
        and OWN_DIFF.search(body) is not None


def is_patch(mail: Mail) -> bool:
    """A patch mail: not a reply, and a ``[PATCH`` subject (also AUTOSEL and stable-bot ``FAILED: patch
    "[PATCH] ..."`` mails) or a body with a diff of its own. (A reply that proposes a diff may still paste its
    own reproduction of the crash.)"""
    subj = mail.subject or ""
    return not is_reply_subject(subj) and (PATCH_IN_SUBJECT.search(subj) is not None or has_own_diff(mail.body))


def is_patch_reply(mail: Mail) -> bool:
    """A reply in a patch's thread (``Re: [PATCH ...]``): what it quotes is the patch."""
    subj = mail.subject or ""
    return is_reply_subject(subj) and PATCH_IN_SUBJECT.search(subj) is not None


def is_digest(mail: Mail) -> bool:
    """syzbot's monthly digest of a subsystem's open bugs (titles only)."""
    return is_syzbot(mail.author_email) and SYZBOT_DIGEST.search(mail.subject or "") is not None


# A syzbot report's subject tags its bug with subsystems: ``[syzbot] [nilfs?] [btrfs?] TITLE``, a "?" on each syzbot
# guessed, none on those a maintainer set (docs/formats.md); an older subject has no tags.
_NAME = r"[a-z0-9][a-z0-9_.-]{0,63}"     # a subsystem's name as syzbot writes it (a longer one is none)
SUBSYSTEM_TAG = re.compile(rf"\[({_NAME})(\??)\]\s*")
SYZBOT_SUBJECT_TAGS = re.compile(rf"^\s*(?:\[syzbot\]\s*(?:\[{_NAME}\??\]\s*)*|(?:\[[^\]]*\?\]\s*)*)")
SET_SUBSYSTEMS = re.compile(r"^subsystems\s*:?\s*(.*)$", re.I)
SUBSYSTEM_NAME = re.compile(rf"^{_NAME}$")
SYZBOT_STILL = re.compile(r"reproducer is still triggering an issue:\n([^\n]+)\n")


def syzbot_title(mail: Mail) -> str | None:
    """The title syzbot gave the crash its mail carries: the subject of its report (``[syzbot] [nilfs?] WARNING
    in nilfs_rename (2)``), the title printed in a patch-test result; None for other mails."""
    if not is_syzbot(mail.author_email):
        return None
    subj = mail.subject or ""
    if is_reply_subject(subj):
        m = SYZBOT_STILL.search(mail.body)
        return m.group(1).strip() or None if m else None
    if subj.startswith(("Forwarded:", "[syzbot ci]")) or is_digest(mail):
        return None
    return SYZBOT_SUBJECT_TAGS.sub("", subj).strip() or None       # older reports: the bare title


def syzbot_subject_title(subject: str | None) -> str | None:
    """The bug title a subject about a syzbot report carries (``Re: [syzbot] [nilfs?] WARNING in x (2)`` ->
    ``WARNING in x (2)``); None when the subject is not about one."""
    subj = base_subject(subject or "")
    if not subj.startswith("[syzbot]"):
        return None
    return SYZBOT_SUBJECT_TAGS.sub("", subj).strip() or None


def subject_subsystems(subject: str | None) -> tuple[list[str], bool] | None:
    """The subsystems a syzbot subject tags its bug with (``Re: [syzbot] [nilfs?] [btrfs?] TITLE``: nilfs, btrfs)
    and whether a maintainer set them (no tag has a "?"); None for a subject with no tag."""
    subj = base_subject(subject or "")
    if not subj.startswith("[syzbot]"):
        return None
    rest, pos, names, guessed = subj[len("[syzbot]"):].lstrip(), 0, [], False
    while (m := SUBSYSTEM_TAG.match(rest, pos)) is not None:
        names.append(m.group(1))
        guessed = guessed or bool(m.group(2))
        pos = m.end()
    return (names, not guessed) if names else None


# syzbot's word on its bug's reproducer, in its own mails about the bug (a report, "found a reproducer", a
# bisection): "C reproducer:   URL", "syz repro:      URL" ("C repro:" in older ones; "[OBSOLETE] " before a revoked
# one's URL), or that it has none yet (docs/formats.md 2.2); a quoted line (">") is another mail's
REPRO_LINE = re.compile(r"^(C reproducer|C repro|syz repro):[ \t]+(\[OBSOLETE\][ \t]*)?https?://", re.M)
NO_REPRO = re.compile(r"^Unfortunately, I don't have any reproducer for this (?:issue|crash|bug) yet", re.M)
REPRO_RANK = {"": 0, "syz": 1, "C": 2}      # the best reproducer a bug has: a C program beats a syz one


def syzbot_repro(body: str | None) -> str | None:
    """The reproducer a syzbot mail says its bug has: ``C``, ``syz``, ``''`` (none yet), None (it does not say)."""
    body = body or ""
    if "repro" not in body:
        return None
    linked = {"syz" if m.group(1) == "syz repro" else "C" for m in REPRO_LINE.finditer(body) if not m.group(2)}
    if linked:
        return max(linked, key=REPRO_RANK.__getitem__)
    return "" if NO_REPRO.search(body) else None


# A row of syzbot's monthly report of a subsystem's open bugs ("Ref Crashes Repro Title", the reference "<N>" since
# late 2023), then the bug's dashboard link on the next line
DIGEST_ROW = re.compile(r"^(?:<\d+>[ \t]+)?(\d{1,9})[ \t]+(?:Yes|No)[ \t]+\S[^\n]*\n[ \t]+"
                        r"https?://syzkaller\.appspot\.com/bug\?extid=([0-9a-f]{8,40})\b", re.M)


def digest_counts(subject: str | None, author: str | None, body: str | None) -> dict[str, int]:
    """The crash count of each bug syzbot's monthly report (``is_digest``) lists, by extid; empty for another mail."""
    if not is_syzbot(author or "") or SYZBOT_DIGEST.search(subject or "") is None:
        return {}
    return {extid: int(n) for n, extid in DIGEST_ROW.findall(body or "")}


# The commit syzbot's cause bisection blames, as its mails give it (the bisection result, a report bisected before it
# was sent): 'Fixes: 4a445b7b6178 ("btrfs: don't merge pages ...")'; an inconclusive bisection gives none
CAUSE_LINE = re.compile(r'^Fixes: ([0-9a-f]{12,40}) \("(.{1,300})"\)[ \t]*$', re.M)


def syzbot_cause(body: str | None) -> dict | None:
    """The commit a syzbot mail says its cause bisection found (``{"hash", "title"}``), or None."""
    found = CAUSE_LINE.findall(body) if body and "Fixes: " in body else []
    return {"hash": found[-1][0], "title": found[-1][1]} if found else None


# syzbot's fix bisection: "syzbot suspects this issue was fixed by commit:", the commit, and the command it asks a
# maintainer to reply with if the result looks right ("#syz fix: TITLE", in its help text)
FIX_SUSPECT = "syzbot suspects this issue was fixed by commit:"
_SUSPECT_COMMIT = re.compile(r"^commit ([0-9a-f]{12,40})$", re.M)
_SUSPECT_TITLE = re.compile(r"^#syz fix: (.{1,300}?)[ \t]*$", re.M)


def syzbot_fix_suspect(body: str | None) -> dict | None:
    """The commit a syzbot mail says its fix bisection found (``{"hash", "title"}``: the title to reply
    ``#syz fix:`` with), or None."""
    at = (body or "").find(FIX_SUSPECT)
    if at < 0:
        return None
    commit, title = _SUSPECT_COMMIT.search(body, at), _SUSPECT_TITLE.search(body, at)
    return {"hash": commit.group(1) if commit else "", "title": title.group(1)} if title else None


# syzbot ci tests a patch series under review; its mail names the series it tested, then lists what it found:
# "syzbot ci has tested the following series\n\n[v5] TITLE\nhttps://lore.../COVER\n* [PATCH v5 01/14] ..."
CI_SUBJECT = "[syzbot ci]"
# the subjects starting CI_SUBJECT, as a range of the subject index: subject >= [0] AND subject < [1]
CI_SUBJECTS = (CI_SUBJECT, CI_SUBJECT[:-1] + chr(ord(CI_SUBJECT[-1]) + 1))
CI_INTRO = "syzbot ci has tested the following series"
_CI_SERIES = re.compile(r"\s*\[v(\d{1,4})\][ \t]+(\S.{0,300}?)[ \t]*$", re.M)
_SUBJECT_TAG = re.compile(r"\[([^\]\[]{0,200})\]")          # a subject's bracketed tag: "[PATCH v6 03/15]"
_VERSION = re.compile(r"(?:\b|(?<=PATCH))v(\d{1,4})\b", re.I)     # (also "[PATCHv2]")


def is_ci_mail(subject: str | None, author: str | None) -> bool:
    """Whether a mail is syzbot ci's (its subject, its sender)."""
    return (subject or "").startswith(CI_SUBJECT) and is_syzbot(author or "")


def ci_series(body: str | None) -> tuple[int, str] | None:
    """The version and title of the series a syzbot ci mail says it tested (``[v5] TITLE``), or None."""
    k = (body or "").find(CI_INTRO)
    m = _CI_SERIES.match(body, k + len(CI_INTRO)) if k >= 0 else None
    return (int(m.group(1)), m.group(2)) if m else None


def patch_version(subject: str | None) -> int:
    """A patch's version in its subject (``[PATCH v6 03/15]`` -> 6; none written: 1)."""
    for tag in _SUBJECT_TAG.finditer((subject or "")[:1000]):
        if "PATCH" in tag.group(1).upper():
            m = _VERSION.search(tag.group(1))
            return int(m.group(1)) if m else 1
    return 1


def set_subsystems(commands: Iterable[dict]) -> list[str] | None:
    """The subsystems the last ``#syz set subsystems: a, b`` among ``commands`` (a message's) gives its bug; None
    when none sets them."""
    last = None
    for cmd in commands:
        m = SET_SUBSYSTEMS.match(str(cmd.get("args") or "").strip()) if cmd.get("command") == "set" else None
        if m:
            names = [n for n in re.split(r"[\s,]+", m.group(1).lower()) if SUBSYSTEM_NAME.match(n)]
            last = list(dict.fromkeys(names)) or last
    return last


def patch_bodies(db: sqlite_utils.Database, message_ids: list[str]) -> list[str]:
    """The bodies of the stored patch mails among ``message_ids``."""
    if not message_ids:
        return []
    marks = ",".join("?" * len(message_ids))
    return [r[0] or "" for r in db.execute(
        f"SELECT body FROM messages WHERE message_id IN ({marks}) AND patch_subject IS NOT NULL", message_ids)]


def patch_subject(mail: Mail) -> str | None:
    """The commit title of a patch mail (``[PATCH v2 1/3] ext4: fix x`` -> ``ext4: fix x``)."""
    subj = mail.subject or ""
    if is_reply_subject(subj) or subj.startswith("Forwarded:"):
        return None
    if re.match(r"^\s*\[[^\]]*PATCH[^\]]*\]", subj, re.I) or "\ndiff --git " in mail.body:
        return PATCH_TAG.sub("", subj).strip() or None
    return None


def bug_extid(mail: Mail, tags: dict[str, list[str]]) -> str | None:
    """The syzbot bug a message is about, strongest evidence first."""
    m = SYZBOT_ADDR.match(mail.author_email or "")
    if m and m.group(1):
        return m.group(1)
    for value in tags.get("Reported-by", []) + tags.get("Tested-by", []):
        m = SYZBOT_TAG.search(value)
        if m:
            return m.group(1)
    for value in tags.get("Closes", []) + tags.get("Link", []):
        m = EXTID_LINK.search(value)
        if m:
            return m.group(1)
    for addr in mail.recipients:
        m = SYZBOT_ADDR.match(addr)
        if m and m.group(1):
            return m.group(1)
    text = command_text(mail) or ""
    m = EXTID_LINK.search("\n".join(unquoted_lines(text))) if "extid=" in text else None
    return m.group(1) if m else None


_COLUMNS = ("message_id", "thread_id", "parent_id", "in_reply_to", "refs", "subject", "author_name", "author_email",
            "date", "list", "body", "syz_commands", "tags", "patch_subject", "bug_extid", "source")


def message_row(mail: Mail, source: str) -> dict:
    tags = trailer_tags(mail.body)
    return {
        "message_id": mail.message_id,
        "thread_id": None,
        "parent_id": mail.in_reply_to or (mail.refs[-1] if mail.refs else None),
        "in_reply_to": mail.in_reply_to,
        "refs": json.dumps(mail.refs),
        "subject": mail.subject,
        "author_name": mail.author_name,
        "author_email": mail.author_email,
        "date": mail.date,
        "list": mail.list_id,
        "body": mail.body,
        "syz_commands": json.dumps(syz_commands(command_text(mail))),
        "tags": json.dumps(tags),
        "patch_subject": patch_subject(mail),
        "bug_extid": bug_extid(mail, tags),
        "source": source,
    }


def has_message(db: sqlite_utils.Database, message_id: str) -> bool:
    """Whether the message (or a report that came in it) is stored."""
    return bool(
        db.execute("SELECT 1 FROM messages WHERE message_id = ?", [message_id]).fetchone()
        or db.execute("SELECT 1 FROM sources WHERE message_id = ?", [message_id]).fetchone()
    )


def known_messages(db: sqlite_utils.Database, message_ids: Iterable[str]) -> set[str]:
    """Those of ``message_ids`` that are stored (as a message, or as the source of a report): one query per
    500 ids instead of two per message."""
    ids = list(dict.fromkeys(message_ids))
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        marks = ",".join("?" * len(part))
        out.update(m for (m,) in db.execute(
            f"SELECT message_id FROM messages WHERE message_id IN ({marks}) "
            f"UNION SELECT message_id FROM sources WHERE message_id IN ({marks})", part + part))
    return out


def insert_message(db: sqlite_utils.Database, row: dict) -> bool:
    """Store a ``messages`` row (``thread_id`` unresolved); False if its message-id was already stored."""
    return insert_messages(db, [row]) == 1


def insert_messages(db: sqlite_utils.Database, rows: list[dict]) -> int:
    """Store ``messages`` rows in order (``thread_id`` unresolved), one statement, and the messages their trailers
    link (``message_links``); returns how many were new (a message-id stored already is left as it is)."""
    stamp = now()
    cur = db.conn.executemany(
        f"INSERT OR IGNORE INTO messages ({', '.join(_COLUMNS)}, imported_at) "
        f"VALUES ({', '.join('?' * len(_COLUMNS))}, ?)", [[row[c] for c in _COLUMNS] + [stamp] for row in rows])
    new = max(cur.rowcount, 0)
    links = [link for row in rows for link in message_links(row["message_id"], row["tags"])]
    if links:
        db.conn.executemany(LINKS_INSERT, links)
    return new


LINK_TAGS = ("Closes", "Link")        # the trailers by which a patch names the report it fixes
LINKS_INSERT = "INSERT OR IGNORE INTO message_links (target, message_id, tag) VALUES (?, ?, ?)"


def message_links(message_id: str, tags: str | dict | None) -> list[tuple[str, str, str]]:
    """(target, message_id, tag): each message a mail's ``Closes:`` / ``Link:`` trailers name by its lore link
    (``tags``: the mail's ``trailer_tags``, or their JSON)."""
    if isinstance(tags, str):
        if "lore.kernel.org" not in tags:       # (most mails name none: their trailers are not read)
            return []
        try:
            tags = json.loads(tags)
        except ValueError:
            return []
    if not isinstance(tags, dict):
        return []
    out = []
    for tag in LINK_TAGS:
        values = tags.get(tag)
        for value in values if isinstance(values, list) else ():
            target = linked_message(str(value)) if "lore.kernel.org" in str(value) else None
            if target and target != message_id:
                out.append((target, message_id, tag))
    return out
