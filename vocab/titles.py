"""Words of syzbot's titles: syzkaller's word for a frame it could not read, which titles, signatures and duplicate
groups share, and syzbot's recurrence suffix.

When syzkaller finds a crash header but no stack frame to name it by, it titles the crash with ``corrupted`` in the
frame's place (``WARNING in corrupted``: a reply quoting a header without its trace, a log cut by the console) and
calls the whole report ``corrupted report`` when it cannot read even that. Such a title names no function: two
reports that share it share nothing but their crash kind.

syzbot names the second bug of one title ``TITLE (2)``, the third ``TITLE (3)``: the crash is the same as the parser's
``TITLE`` (``base_title``).
"""

from __future__ import annotations

import re

RECURRENCE = re.compile(r"\s+\(\d+\)$")      # syzbot's " (2)" for the second bug of one title
UNREAD_FRAME = "corrupted"                 # the frame name in such a title (``pkg/report``'s "corrupted")
_FRAMELESS = re.compile(rf"\bin {UNREAD_FRAME}\b|^{UNREAD_FRAME} report")


def frameless(title: str | None) -> bool:
    """Whether ``title`` names no frame (``... in corrupted``, ``corrupted report``)."""
    return isinstance(title, str) and _FRAMELESS.search(title) is not None


def base_title(title: str | None) -> str:
    """A title without syzbot's recurrence suffix `` (2)`` and extra whitespace."""
    return RECURRENCE.sub("", " ".join((title or "").split()))
