"""Console lines, cleaned: the one place the structural parsers strip what wraps a kernel message.

A report reaches us as a raw console log (``[  12.345678][ T1234] msg``), a syzbot excerpt (bare ``msg``),
an e-mail reply (``> msg``, ``> > msg``), with CRLF or LF line ends; the prefixes are ``vocab.console``'s
grammar. ``clean_lines`` yields, per line, the
message as the kernel printed it (leading indentation kept, so tables such as the lockdep unsafe-scenario
still line up) and the console caller tag (``T1234`` / ``C0``) when there is one, so a stack printed by one
task can be told apart from lines other CPUs interleave into it.

Every line is cut to ``MAX_LINE`` characters before any regexp sees it: that bounds the per-line work and
keeps all the parsers linear in the input size, whatever the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from vocab.console import PREFIX as _PREFIX

MAX_LINE = 2000

_PREFIX_START = frozenset("[<>")
# First characters of a line that cannot start a prefix (nor blanks before one): letters, digits, most signs.
_PLAIN_START = frozenset(chr(c) for c in range(33, 127)) - _PREFIX_START


class Line(NamedTuple):
    lineno: int          # 1-based line number in the input
    tag: str | None      # console caller tag: "T1234" (task) or "C0" (cpu), None if the log has none
    text: str            # the message, console/mail prefixes removed, CR removed, cut to MAX_LINE


def clean(raw: str) -> tuple[str | None, str]:
    """Strip mail quoting and console prefixes from one raw line: (caller tag, message)."""
    raw = raw[:MAX_LINE].rstrip("\r\n")
    c = raw[:1]
    if (c not in _PREFIX_START and not (c in " \t" and raw.lstrip(" \t")[:1] in _PREFIX_START)
            and " kernel: " not in raw[:100]):
        return None, raw
    m = _PREFIX.match(raw)
    if m is None or m.end() == 0:
        return None, raw
    rest = raw[m.end():]
    if m.group(0).rstrip().endswith("]") and rest.startswith(" "):
        rest = rest[1:]                     # the one space printk puts after the timestamp
    return m.group("tag"), rest


def _line(lineno: int, raw: str) -> Line:
    """``Line(lineno, *clean(raw))``, without the call for a line that starts with no prefix character."""
    c = raw[:1]
    if (c in _PLAIN_START or (c in " \t" and raw.lstrip(" \t")[:1] not in _PREFIX_START)) \
            and " kernel: " not in raw[:100]:
        return _new_line(Line, (lineno, None, raw[:MAX_LINE].rstrip("\r\n")))
    return Line(lineno, *clean(raw))


_new_line = tuple.__new__


def clean_lines(text: str) -> Iterator[Line]:
    """Every line of ``text`` (LF or CRLF), cleaned; never raises on any str."""
    yield from cleaned(text)


_last: tuple[str, list[Line]] = ("", [])


def cleaned(text: str) -> list[Line]:
    """``clean_lines`` as a list, remembered for the last text: the parsers of one report share one pass."""
    global _last
    cached_text, cached = _last
    if text is cached_text:
        return cached
    raws = text.split("\n")
    if " kernel: " in text:             # syslog lines: each line is looked at
        out = [_line(i, raw) for i, raw in enumerate(raws, 1)]
    else:
        # Only a line whose first character past blanks is "[", "<" or ">" can carry a prefix (``_line``, inlined)
        out = [_new_line(Line, (i, None, raw[:MAX_LINE].rstrip("\r\n")))
               if raw[:1] in _PLAIN_START or raw.lstrip(" \t")[:1] not in _PREFIX_START else _line(i, raw)
               for i, raw in enumerate(raws, 1)]
    if len(text) > 512:                 # one-line lookups (a marker's own line) must not evict the report
        _last = (text, out)
    return out
