"""Which mails hold reports: patches and syzbot's digests never do, and a review that quotes the oops its patch's
changelog pasted is not a report of its own. The parser decides the rest from the text.

The import decides in two steps so the costly one can run in a worker process: ``report_text`` and
``quote_lines`` need only the mail and its parsed report; ``quoted_in`` needs the bodies of the patches the mail
replies to, known only to the process that writes (the store, and the batch being written).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from triage.store.messages import is_digest, is_patch

if TYPE_CHECKING:
    from records.mail import Mail
    from triage.report.model import Report


def report_text(mail: Mail) -> str | None:
    """The text of a mail that may hold a crash report, or None when the mail cannot be one.

    Patches are not reports, even when their changelog pastes an oops (they count for a bug's status instead):
    a ``[PATCH`` subject, AUTOSEL and stable-bot mails, a body with a diff of its own. syzbot's monthly digests
    list titles, not crashes. (A reply to a patch may be one: ``quoted_from`` tells a review quoting the
    changelog's oops from a reply quoting or pasting a crash of the thread.)
    """
    if is_patch(mail) or is_digest(mail):
        return None
    return mail.body


MIN_QUOTED = 16        # characters of a report line compared with a patch's lines


def quote_lines(rep: Report) -> list[str]:
    """The first lines of the report ``rep`` (its extracted text) long enough to compare with a patch's lines,
    quote marks and console prefixes set aside; fewer than two: nothing to compare."""
    from triage.report.lines import clean

    text = rep.report or (rep.event or {}).get("text") or ""
    wanted = [t.strip() for t in (clean(ln)[1] for ln in text.split("\n")[:40]) if len(t.strip()) >= MIN_QUOTED][:12]
    return wanted if len(wanted) >= 2 else []


def quoted_in(wanted: list[str], bodies: list[str]) -> bool:
    """Whether most of ``wanted`` (``quote_lines``) appear in one of ``bodies``."""
    from triage.report.lines import clean

    if not wanted:
        return False
    for body in bodies:
        have = {clean(ln)[1].strip() for ln in body.split("\n")}
        if sum(t in have for t in wanted) * 2 >= len(wanted):
            return True
    return False


def quoted_from(rep: Report, bodies: list[str]) -> bool:
    """Whether most of the first lines of the report ``rep`` (at least two) appear in one of ``bodies`` (the
    patches a mail replies to)."""
    return quoted_in(quote_lines(rep), bodies)
