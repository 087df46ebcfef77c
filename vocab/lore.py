"""lore.kernel.org's links to a message: ``https://lore.kernel.org/all/<message-id>/``, the message-id escaped as
public-inbox escapes it (``PublicInbox::MID::mid_escape``: RFC 3986's path characters kept, ``/``, ``%``, ``?``,
``#`` and the rest percent-encoded), so that an id such as bugzilla's ``bug-219497-695@https.bugzilla.kernel.org/``
links to its message."""

from __future__ import annotations

from urllib.parse import quote

LORE = "https://lore.kernel.org"
MSGID_SAFE = "@!$&'()*+,;=:~-._"        # kept as they are, beside letters and digits


def msgid_path(message_id: str) -> str:
    """A message-id (with or without its ``<>``) as a path segment of a public-inbox URL."""
    return quote(message_id.strip().strip("<>"), safe=MSGID_SAFE)


def message_link(message_id: str, inbox: str = "all") -> str:
    """The lore page of a message."""
    return f"{LORE}/{inbox}/{msgid_path(message_id)}/"
