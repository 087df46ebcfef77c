"""lore.kernel.org's links to a message: ``https://lore.kernel.org/all/<message-id>/``, the message-id escaped as
public-inbox escapes it (``PublicInbox::MID::mid_escape``: RFC 3986's path characters kept, ``/``, ``%``, ``?``,
``#`` and the rest percent-encoded), so that an id such as bugzilla's ``bug-219497-695@https.bugzilla.kernel.org/``
links to its message."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

LORE = "https://lore.kernel.org"
MSGID_SAFE = "@!$&'()*+,;=:~-._"        # kept as they are, beside letters and digits


def msgid_path(message_id: str) -> str:
    """A message-id (with or without its ``<>``) as a path segment of a public-inbox URL."""
    return quote(message_id.strip().strip("<>"), safe=MSGID_SAFE)


def message_link(message_id: str, inbox: str = "all") -> str:
    """The lore page of a message."""
    return f"{LORE}/{inbox}/{msgid_path(message_id)}/"


# A link to a message on lore (``/all/<id>/``, ``/<list>/<id>/``, the ``/r/<id>`` redirect, or no inbox at all), as a
# patch's ``Closes:`` / ``Link:`` trailer names the report it fixes; the id is what the path holds up to "/" or a blank
LORE_MESSAGE = re.compile(r"https?://lore\.kernel\.org/(?:[A-Za-z0-9._+-]{1,64}/)?([^/\s<>\"]{1,400}(?:@|%40)"
                          r"[^/\s<>\"]{1,400})")


def linked_message(url: str) -> str | None:
    """The message-id a lore link names (``msgid_path`` undone), or None when ``url`` is no such link."""
    m = LORE_MESSAGE.match(url.strip().strip("<>"))
    return unquote(m.group(1)) if m else None
