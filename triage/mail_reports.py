"""Which mails hold reports: patches and syzbot's digests never do, and a review that quotes the oops its patch's
changelog pasted is not a report of its own. The parser decides the rest from the text.

The import decides in two steps so the costly one can run in a worker process: ``report_text`` and
``quote_lines`` need only the mail and its parsed report; ``quoted_in`` needs the bodies of the patches the mail
replies to, known only to the process that writes (the store, and the batch being written).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from triage.store.messages import CI_INTRO, is_ci_mail, is_digest, is_patch, syzbot_repro, syzbot_title

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


# syzbot ci tests a patch series under review and mails every crash it found in one mail: an introduction listing
# their titles, then each finding after a line "***" (its title, the tree and reproducer lines, the crash), then a
# closing part (linux-ext4, 69a6922a.050a0220.21ae90.0005.GAE@google.com: five findings)
CI_FOUND = re.compile(r"found the following issues?:")   # then a line "* TITLE" per finding; of one: "TITLE"
_PART_BREAK = re.compile(r"^\*\*\*[ \t]*$", re.M)
MAX_FINDINGS = 50


def ci_listed(intro: str) -> set[str]:
    """The titles the introduction of a syzbot ci mail lists: the lines after ``CI_FOUND`` up to a blank one,
    each ``* TITLE`` (``TITLE`` alone when it found one issue)."""
    found = CI_FOUND.search(intro)
    if found is None:
        return set()
    lines = intro[found.end():].split("\n", MAX_FINDINGS + 1)[1:MAX_FINDINGS + 1]
    listed = []
    for line in lines:
        if not line.strip():
            break
        listed.append(line.strip().removeprefix("* ").strip()[:300])
    return set(listed)


def ci_finding_title(subject: str | None, author: str | None, text: str) -> str | None:
    """The title a syzbot ci mail gave the finding ``text`` is (a part ``report_texts`` cut: its first line), or
    None when the mail is no syzbot ci mail or ``text`` is a whole one (a store imported before they were cut)."""
    if not is_ci_mail(subject, author) or CI_INTRO in text:
        return None
    return text.split("\n", 1)[0].strip() or None


class MailText(NamedTuple):
    """A text of a mail that may hold a crash report, and what its origin says of the crash."""

    text: str
    title: str | None = None        # the title its origin gave it (syzbot's), stored instead of the parser's
    repro: str | None = None        # the reproducer the text links (``messages.syzbot_repro``; None: not said)


def report_texts(mail: Mail) -> list[MailText]:
    """The texts of a mail that may each hold a crash report: none for a patch or a digest (``report_text``); each
    finding of a syzbot ci mail, with the title and the reproducer the mail gives it; else the body, with syzbot's
    title on syzbot's own report (its bug's reproducer is the bug's mails' word: ``store.bug_mail``)."""
    body = report_text(mail)
    if body is None:
        return []
    if is_ci_mail(mail.subject, mail.author_email) and CI_INTRO in body:
        intro, *parts = (p.strip("\n") for p in _PART_BREAK.split(body)[:MAX_FINDINGS + 2])
        listed = ci_listed(intro)
        findings = [MailText(p, t, syzbot_repro(p)) for p in parts
                    if (t := p.split("\n", 1)[0].strip()) in listed and "\n" in p]
        if findings:
            return findings
    return [MailText(body, syzbot_title(mail))]


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
