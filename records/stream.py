"""What sources yield: plain records, in the order they were read, for the one pipeline to store.

A source (files and mail archives, a public-inbox mirror, lore, syzbot) is an iterator of these. It knows
nothing of the store: what it must know of it (a cursor, the bugs already synced) is passed in by the caller,
and what it yields is data only. A ``Checkpoint`` covers every record yielded before it: the pipeline saves
its cursor in the same transaction as that data, so a killed run resumes from a cursor that never runs ahead
of what was stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from records.inputs import InputError
from records.mail import Mail


@dataclass
class MailRecord:
    """An e-mail message and where it was read; its body may hold a kernel report."""

    mail: Mail
    kind: str                       # eml | mbox | maildir | public-inbox | lore
    location: str                   # path, path#N inside an mbox, repository#commit, URL


@dataclass
class MailBytes:
    """An e-mail message as its source read it, not parsed yet: the pipeline parses it (``records.mail``),
    in worker processes when the import is large. An unreadable one becomes an error naming ``location``."""

    raw: bytes
    kind: str                       # eml | mbox | maildir | public-inbox
    location: str


@dataclass
class ReportText:
    """A text that may hold a kernel report, with its origin."""

    text: str
    kind: str                       # file | syzbot | sim | ...
    location: str                   # path, URL, simulator run
    reported_at: str | None = None  # ISO 8601 UTC, when the origin says
    bug_extid: str | None = None    # the syzbot bug it belongs to, when the origin says
    message_id: str | None = None
    title: str | None = None        # a title the origin already gave (syzbot's), used if the parser finds none


@dataclass
class Crash:
    """One crash of a syzbot bug (a row of its crash table) and its report text, if it has one."""

    key: str                        # the report blob id (x=...), else a hash of the row's links
    fields: dict                    # time, title, kernel, commits, manager, links, repro options
    report: ReportText | None = None


@dataclass
class Bug:
    """A syzbot bug as the dashboard shows it now, with its crashes."""

    extid: str                      # syzbot+EXTID (the 40-hex id for bugs never mailed)
    key: str                        # the key it was listed under (extid or id): finds a row stored under another
    fields: dict                    # title, status, subsystems, counts, commits, discussions, link, raw
    crashes: list[Crash] = field(default_factory=list)


@dataclass
class BugUnchanged:
    """A listed bug whose list row and JSON did not change since the last sync (nothing was fetched)."""

    extid: str


@dataclass
class BugState:
    """What a syzbot source needs to know of a stored bug to skip it: its extid and its last list row."""

    extid: str
    list_digest: dict | None


@dataclass
class ThreadHint:
    """A bug's discussion link names this message: its thread is about that bug (unless it names another)."""

    message_id: str
    bug_extid: str


@dataclass
class Checkpoint:
    """A source's resume point (``cursor``, JSON-able), valid once every record before it is stored."""

    source: str                     # the key of the source: "public-inbox:<repo>", "lore:<url>", ...
    cursor: dict


@dataclass
class Expect:
    """How many messages or texts a source is about to yield (a public-inbox mirror knows its new commits before
    reading them): a large import can start its worker processes at once."""

    count: int


Record = MailRecord | MailBytes | ReportText | Bug | BugUnchanged | ThreadHint | Checkpoint | Expect | InputError


class SyncStopped(Exception):
    """A source cannot go on (host unreachable, bot challenge, list page not understood); one line.

    What the records before it brought is kept.
    """
