"""Input clean-up before parsing: bytes to text, line ends, mail quoting.

Real input is pasted from consoles, syzbot mails and replies: invalid UTF-8, CRLF line ends, and reports
quoted with ``> `` (possibly nested). The result is plain console text in which quoting is undone, so the
same crash reads the same whichever way it came in.
"""

from __future__ import annotations

import re

from vocab.console import STAMP as _TS

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


_PROGRAM_OUTPUT = re.compile(r"^(?:\d{4}/\d\d/\d\d |\[[ \d*]|executing program|syzkaller login)")
_MIN_WRAP = 60             # a break is a wrap only if the next word would not have fit in this many columns
_WRAP_WIDTH = 100          # mail clients wrap at 72-80 columns; kernel consoles print RIP/Code lines far longer
# Header lines a wrap can cut before their end, and what the rest must look like (a function, a number).
_CUT_HEADERS = [
    (re.compile(r"WARNING: CPU: \d+ PID: \d+ at \S+:\d+\s*$"),
     re.compile(r"^[A-Za-z_][\w.]*(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \S+:\d+)?(?: \[inline\])?\s*$")),
    (re.compile(r"INFO: task .* blocked for more than\s*$"), re.compile(r"^\d+ seconds")),
    (re.compile(r"(?:BUG|WARNING|INFO|KASAN|KMSAN|KCSAN|UBSAN): .* in\s*$"),
     re.compile(r"^[A-Za-z_][\w.]*(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \S+:\d+)?(?: \[inline\])?\s*$")),
]


def looks_wrapped(lines: list[str]) -> bool:
    """A text whose lines were re-wrapped by a mail client: hardly any line is longer than the wrap width."""
    long = sum(1 for ln in lines if len(ln) > _WRAP_WIDTH)
    return long * 50 < len(lines) and len(lines) >= 5


def unwrap(text: str) -> str:
    """Join lines a mail client broke. Only in texts that look wrapped (no long lines at all), and only
    continuations that cannot be lines of their own: a line without a console timestamp after a timestamped
    one (timestamped logs), or the rest of an oops header line (plain excerpts)."""
    lines = text.split("\n")
    if not looks_wrapped(lines):
        return text
    stamped = sum(1 for ln in lines if _TS.match(ln))
    timestamped = stamped * 3 >= sum(1 for ln in lines if ln.strip())
    out: list[str] = []
    for ln in lines:
        prev = out[-1] if out else None
        if prev is not None and ln.strip() and not _TS.match(ln) and not _PROGRAM_OUTPUT.match(ln.lstrip()):
            if timestamped and _TS.match(prev):
                message = prev[_TS.match(prev).end():]
                if not message.strip():
                    out[-1] = prev.rstrip() + " " + ln.lstrip()
                    continue
                if len(prev.rstrip()) + 1 + len(ln.split(None, 1)[0]) > _MIN_WRAP:
                    out[-1] = prev.rstrip() + " " + ln.strip()
                    continue
            elif not timestamped and any(h.search(prev) and rest.match(ln) for h, rest in _CUT_HEADERS):
                out[-1] = prev.rstrip() + " " + ln.strip()
                continue
        out.append(ln)
    return "\n".join(out)


def clean_text(data: str | bytes) -> str:
    """Decoded, LF-only, unquoted and unwrapped text."""
    text = to_text(data)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return unwrap(unquote(text))
