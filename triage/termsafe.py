"""Data printed as data: text from reports and mails made inert before it reaches a terminal.

A report title, a path, a mail subject or an author's name comes from the outside. Printed raw, an escape
sequence in it can set the terminal's title (OSC), clear the screen or move the cursor (CSI), and a bidi
override (U+202E ...) can make a line read differently from what it is. Every terminal output path passes
such text through ``clean`` (multi-line text) or ``line`` (one line): control characters are shown as
visible escapes (``\\x1b``, ``\\u202e``), tab and (for ``clean``) newline kept.

Rich is never given data as markup: ``plain`` wraps a string in a ``rich.text.Text`` (so ``[/x]`` or
``[link=...]`` in a title stays text); for a string that must pass through markup, ``markup`` escapes it.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings / overrides / isolates, and the
# line / paragraph separators (some terminals break lines on them).
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROL}]")
_UNSAFE_LINE = re.compile(f"[{_CONTROL}\n]")


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """``text`` (any value, ``None`` prints as empty) with its control characters shown as escapes;
    newlines and tabs are kept."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, s)


def line(text: object) -> str:
    """Like ``clean``, for a one-line field: a newline is shown as ``\\x0a`` too."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE_LINE.sub(_escape, s)


def is_clean(text: str) -> bool:
    """True if ``text`` holds nothing ``clean`` would escape."""
    return _UNSAFE.search(text) is None


def markup(text: object) -> str:
    """One-line text made safe for a string Rich parses as markup."""
    from rich.markup import escape

    return escape(line(text))


def plain(text: object, style: str = ""):
    """A ``rich.text.Text`` of one line of data: never parsed as markup, control characters escaped."""
    from rich.text import Text

    return Text(line(text), style=style)


def json_safe(dumped: str) -> str:
    """A JSON document with the characters JSON leaves raw (C1 controls, bidi, separators) escaped as ``\\uXXXX``.

    ``json.dumps`` already escapes C0 controls; the result stays valid JSON with the same value.
    """
    return re.sub(f"[{_CONTROL}]", lambda m: f"\\u{ord(m.group()):04x}", dumped)
