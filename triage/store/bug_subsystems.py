"""A syzbot bug's subsystems as its mails say, written to its reports: the area a list archive puts a bug in.

syzbot tags the subject of each report with the bug's subsystems (``[syzbot] [nilfs?] [btrfs?] TITLE``: a "?" on
each it guessed) and Cc's their lists; a maintainer moves the bug with ``#syz set subsystems: a, b``, after which
syzbot's subjects carry the tags without "?". A bug known only from the mails (no ``triage sync``) is in:

1. the subsystems of the last ``#syz set subsystems`` command among its mails;
2. else the tags of its last subject that shows a maintainer's setting (no "?": set elsewhere, on another list
   or the dashboard);
3. else the tags of its first tagged subject (syzbot's guess, in its report);

a name syzbot no longer uses made the table's (``triage.subsystems.syzbot_name``). The import (and ``triage
reparse``) writes that list to every report of the bug (``reports.subsystems``), in place of what the report's own
text suggests (``triage.subsystems.derive``), as it writes syzbot's title in place of the parser's: the inbox's
subsystem filter, the digest and the dataset then put the bug where syzbot does. A bug ``triage sync`` stored is
read from the dashboard first (``bugs.subsystems``); a bug no mail tags keeps its reports' own subsystems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from triage.store.messages import set_subsystems, subject_subsystems
from triage.subsystems import syzbot_name

if TYPE_CHECKING:
    import sqlite_utils

_CHUNK = 500


def stated(mails: Iterable[tuple[str | None, str | None]]) -> list[str] | None:
    """The subsystems the mails of a bug ((subject, ``syz_commands`` JSON), in date order) put it in (module
    doc); None when none says."""
    command = human = guess = None
    for subject, commands in mails:
        try:
            cmds = json.loads(commands) if commands else []
        except ValueError:
            cmds = []
        names = set_subsystems(c for c in cmds if isinstance(c, dict)) if isinstance(cmds, list) else None
        if names:
            command = names
        tagged = subject_subsystems(subject)
        if tagged is not None:
            if tagged[1]:
                human = tagged[0]
            elif guess is None:
                guess = tagged[0]
    names = command or human or guess
    return list(dict.fromkeys(map(syzbot_name, names))) if names else None


def may_say(row: dict) -> bool:
    """Whether a ``messages`` row may say its bug's subsystems (a syzbot subject, a ``#syz set`` command)."""
    return bool(row["bug_extid"]) and ("[syzbot]" in (row["subject"] or "") or '"set"' in (row["syz_commands"] or ""))


def apply(db: sqlite_utils.Database, extids: Iterable[str | None]) -> int:
    """Write each of these bugs' stated subsystems to its reports that hold another list; returns how many
    reports changed (the ``reports.subsystems`` trigger marks their groups for ``groups.settle``)."""
    changed = 0
    for extid in sorted({e for e in extids if e}):
        names = stated(db.execute("SELECT subject, syz_commands FROM messages WHERE bug_extid = ? ORDER BY date",
                                  [extid]))
        if names is not None:
            value = json.dumps(names)
            changed += db.execute("UPDATE reports SET subsystems = ? WHERE bug_extid = ? AND subsystems IS NOT ?",
                                  [value, extid, value]).rowcount
    return changed


def apply_reports(db: sqlite_utils.Database, ids: list[int], extids: Iterable[str | None] = ()) -> int:
    """``apply`` for the bugs of these reports, and ``extids``."""
    bugs = set(extids)
    for start in range(0, len(ids), _CHUNK):
        part = ids[start:start + _CHUNK]
        bugs.update(e for (e,) in db.execute(
            f"SELECT DISTINCT bug_extid FROM reports WHERE id IN ({','.join('?' * len(part))}) "
            "AND bug_extid IS NOT NULL", part))
    return apply(db, bugs)
