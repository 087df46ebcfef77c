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
    out = [Line(i, *clean(raw)) for i, raw in enumerate(text.split("\n"), 1)]
    if len(text) > 512:                 # one-line lookups (a marker's own line) must not evict the report
        _last = (text, out)
    return out
