"""What a syzbot bug's mails say of it (its subsystems, its reproducer), written to its reports: a bug known only
from a list archive (no ``triage sync``) is shown as syzbot shows it.

Subsystems. syzbot tags the subject of each report with the bug's subsystems (``[syzbot] [nilfs?] [btrfs?] TITLE``:
a "?" on each it guessed) and Cc's their lists; a maintainer moves the bug with ``#syz set subsystems: a, b``, after
which syzbot's subjects carry the tags without "?". The bug is in:

1. the subsystems of the last ``#syz set subsystems`` command among its mails;
2. else the tags of its last subject that shows a maintainer's setting (no "?": set elsewhere, on another list
   or the dashboard);
3. else the tags of its first tagged subject (syzbot's guess, in its report);

a name syzbot no longer uses made the table's (``triage.subsystems.syzbot_name``); at most ``MAX_SUBSYSTEMS``, as a
report's own.

Reproducer. syzbot's own mails about the bug (its report, "found a reproducer", a bisection) link the reproducers
it has (``C reproducer:``, ``syz repro:``) or say it has none yet (``messages.syzbot_repro``): the bug's is the best
any says (C, else syz, else none), unknown when none says.

Crash count. syzbot's monthly report of a subsystem's open bugs lists the most frequent with their crash counts
(``messages.digest_counts``): each bug's latest is kept in ``bug_counts`` (``record_counts``), which the inbox and
digest read beside the dashboard's count (``bugs.num_crashes`` first, at least the reports stored).

The import (and ``triage reparse``) writes the subsystems and reproducer to every report of the bug
(``reports.subsystems``, in place of what the report's own text suggests, as it writes syzbot's title in place of
the parser's; ``reports.repro``): the inbox, its subsystem filter, the digest and the dataset then show the bug as
syzbot does. A bug ``triage sync`` stored is read from the dashboard first (``bugs.subsystems``, ``bugs.repro``);
what no mail says is left as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from triage.store.messages import (
    REPRO_RANK,
    digest_counts,
    is_syzbot,
    set_subsystems,
    subject_subsystems,
    syzbot_repro,
)
from triage.subsystems import MAX_SUBSYSTEMS, syzbot_name

if TYPE_CHECKING:
    import sqlite_utils

_CHUNK = 500
COLUMNS = ("subsystems", "repro")        # the ``reports`` columns a bug's mails set


class Word(NamedTuple):
    """What the mails of a bug say of it (None: nothing)."""

    subsystems: list[str] | None
    repro: str | None                     # '' | syz | C


def stated(mails: Iterable[tuple[str | None, str | None, str | None]]) -> Word:
    """What the mails of a bug ((subject, ``syz_commands`` JSON, body of a syzbot mail else None), in date
    order) say of it (module doc)."""
    command = human = guess = repro = None
    for subject, commands, body in mails:
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
        said = syzbot_repro(body) if body else None
        if said is not None and (repro is None or REPRO_RANK[said] > REPRO_RANK[repro]):
            repro = said
    names = command or human or guess
    return Word(list(dict.fromkeys(map(syzbot_name, names)))[:MAX_SUBSYSTEMS] if names else None, repro)


def may_say(row: dict) -> bool:
    """Whether a ``messages`` row may say something of its bug (a syzbot subject or mail, a ``#syz set``)."""
    return bool(row["bug_extid"]) and ("[syzbot]" in (row["subject"] or "") or '"set"' in (row["syz_commands"] or "")
                                       or is_syzbot(row["author_email"] or ""))


def apply(db: sqlite_utils.Database, extids: Iterable[str | None], columns: tuple[str, ...] | None = None) -> int:
    """Write what each of these bugs' mails say (of ``columns``, default ``COLUMNS``: a migration names those its
    schema has) to its reports that hold something else; returns how many reports changed (the
    ``reports.subsystems`` trigger marks their groups for ``groups.settle``)."""
    columns = COLUMNS if columns is None else columns
    changed = 0
    for extid in sorted({e for e in extids if e}):
        rows = db.execute("SELECT subject, syz_commands, author_email, CASE WHEN author_email LIKE 'syzbot%' "
                          "THEN body END FROM messages WHERE bug_extid = ? ORDER BY date", [extid])
        word = stated((subj, cmds, body if is_syzbot(author or "") else None) for subj, cmds, author, body in rows)
        values = {c: json.dumps(word.subsystems) if c == "subsystems" else word.repro for c in columns
                  if getattr(word, c) is not None}
        if values:
            sets = ", ".join(f"{c} = ?" for c in values)
            differ = " OR ".join(f"{c} IS NOT ?" for c in values)
            changed += db.execute(f"UPDATE reports SET {sets} WHERE bug_extid = ? AND ({differ})",
                                  [*values.values(), extid, *values.values()]).rowcount
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


# each bug's latest count: a report listing it later than the stored one replaces it, an earlier one does not
_COUNT_UPSERT = """INSERT INTO bug_counts (extid, crashes, date, message_id) VALUES (?, ?, ?, ?)
    ON CONFLICT (extid) DO UPDATE SET crashes = excluded.crashes, date = excluded.date, message_id = excluded.message_id
    WHERE excluded.date > bug_counts.date"""


def record_counts(db: sqlite_utils.Database, rows: Iterable[dict]) -> int:
    """Keep the crash counts syzbot's monthly reports among these ``messages`` rows give (module doc); returns how
    many rows they listed (a changed count marks the bug's groups, by trigger)."""
    values = [(extid, n, row["date"] or "", row["message_id"]) for row in rows
              for extid, n in digest_counts(row["subject"], row["author_email"], row["body"]).items()]
    if values:
        db.conn.executemany(_COUNT_UPSERT, values)
    return len(values)
