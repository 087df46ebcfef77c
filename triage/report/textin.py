"""Input clean-up before parsing: bytes to text, line ends, mail quoting.

Real input is pasted from consoles, syzbot mails and replies: invalid UTF-8, CRLF line ends, and reports
quoted with ``> `` (possibly nested). The result is plain console text in which quoting is undone, so the
same crash reads the same whichever way it came in.
"""

from __future__ import annotations

import re

_QUOTE = re.compile(r"^[ \t]*((?:>[ \t]?)+)", re.M)
_QUOTED_LINE = re.compile(r"^[ \t]*>", re.M)


def to_text(data: str | bytes) -> str:
    if isinstance(data, bytes | bytearray):
        return bytes(data).decode("utf-8", "replace")
    if not data.isascii():
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:        # lone surrogates (e.g. from surrogateescape): not printable anywhere
            data = data.encode("utf-8", "replace").decode("utf-8")
    return data


def unquote(text: str) -> str:
    """Remove mail quote markers (``> ``, ``>> ``, ``> > ``) from quoted lines; other lines stay."""
    if ">" not in text or _QUOTED_LINE.search(text) is None:
        return text
    return _QUOTE.sub("", text)


def clean_text(data: str | bytes) -> str:
    """Decoded, LF-only, unquoted text."""
    text = to_text(data)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return unquote(text)
