"""Storing one e-mail the same way for every source: a ``messages`` row and, if it holds a crash, a report."""

from __future__ import annotations

from scrapers.mail import Mail
from scrapers.messages import message_row
from triage.ingest import Ingest


def store_mail(ing: Ingest, mail: Mail, *, kind: str, location: str) -> bool:
    """Queue ``mail``; False if its message-id is already stored (nothing is added then)."""
    if ing.has_message(mail.message_id):
        ing.summary.skipped += 1
        return False
    row = message_row(mail, source=location)
    ing.add_message(row)
    try:
        ing.add_text(mail.body, kind=kind, location=location, message_id=mail.message_id,
                     reported_at=mail.date, bug_extid=row["bug_extid"])
    except Exception as exc:  # a parser bug must not lose the rest of the batch
        ing.summary.errors.append(f"{location}: could not parse ({type(exc).__name__}: {exc})")
    return True
