"""A parsed ``Mail`` -> a ``messages`` row (threading fields, authors, dates).

The thread resolution, ``#syz`` commands and trailer tags are filled in by the mail-thread logic
(lore / public-inbox); this module only maps the header fields.
"""

from __future__ import annotations

import json

from scrapers.mail import Mail


def message_row(mail: Mail, source: str) -> dict:
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
        "syz_commands": "[]",
        "tags": "{}",
        "patch_subject": None,
        "bug_extid": None,
        "source": source,
    }
