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

import re
from collections.abc import Iterator, Sequence
from itertools import count, repeat
from typing import NamedTuple

from vocab.console import PREFIX as _PREFIX

MAX_LINE = 2000

_PREFIX_START = frozenset("[<>")
# First characters of a line that cannot start a prefix (nor blanks before one): letters, digits, most signs.
_PLAIN_START = frozenset(chr(c) for c in range(33, 127)) - _PREFIX_START
# The lines whose ``vocab.console.PREFIX`` may be more than empty: past blanks a quote (">"), a level ("<4>"), a
# timestamp, caller tag or logger date ("[" and a digit, "T" or "C"); not "[<ffffffff81...>]" nor "<TASK>". The
# blanks are taken possessively ("*+": what follows them is no blank, so giving one back never makes a match; ``re``
# then skips its backtracking repeat, the most of a failed try at each line break).
_PREFIXED = r"[ \t]*+(?:>|<\d|\[[ \t\u00a0]*+[\dTC])"
_MAY_PREFIX = re.compile("\n" + _PREFIXED)      # (past the first line; a literal start is searched fast)
_MAY_PREFIX_FIRST = re.compile(_PREFIXED)


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


class Messages(NamedTuple):
    """The lines of a text, cleaned, as two parallel lists (no object per line): what the parsers' loops walk."""

    texts: list[str]                 # each line's message (``Line.text``); shared: never changed by a caller
    tags: list[str | None] | None    # each line's caller tag; None when no line has one


_last_messages: tuple[str | None, Messages] = (None, Messages([], None))
_last: tuple[str, list[Line]] = ("", [])


def messages(text: str) -> Messages:
    """Every line of ``text`` cleaned (``clean``), remembered for the last text: the parsers of one report
    share one pass. A line that cannot start with a prefix (``_PREFIXED``) is kept as it is (cut to ``MAX_LINE``,
    no CR), and the few others are found by one search of the text."""
    global _last_messages
    cached_text, cached = _last_messages
    if text is cached_text or text == cached_text:      # (an equal text: a report excerpt that is all the input)
        return cached
    raws = text.split("\n")
    tags: list[str | None] | None = None
    if " kernel: " in text:             # syslog lines: each line is looked at
        texts, tags = [], []
        for raw in raws:
            tag, msg = _clean_line(raw)
            texts.append(msg)
            tags.append(tag)
        if all(t is None for t in tags):
            tags = None
    else:
        texts = raws
        if "\r" in text or (len(text) > MAX_LINE and _long_line(text) and max(map(len, raws)) > MAX_LINE):
            texts = [raw[:MAX_LINE].rstrip("\r\n") for raw in raws]
        first = _MAY_PREFIX_FIRST.match(raws[0]) is not None
        for i in ([0] if first else []), _prefixed(text):
            for k in i:
                tag, texts[k] = _clean_line(raws[k])
                if tag is not None:
                    if tags is None:
                        tags = [None] * len(raws)
                    tags[k] = tag
    out = Messages(texts, tags)
    if len(text) > 512:                 # one-line lookups (a marker's own line) must not evict the report
        _last_messages = (text, out)
    return out


def _prefixed(text: str) -> Iterator[int]:
    """The index of each line past the first that may start with a prefix (``_PREFIXED``)."""
    i, pos = 0, 0
    for m in _MAY_PREFIX.finditer(text):
        i += text.count("\n", pos, m.end())
        pos = m.end()
        yield i


def _long_line(text: str) -> bool:
    """False when no line of ``text`` is longer than ``MAX_LINE``: such a line holds a whole block of
    ``MAX_LINE // 2`` characters starting at a multiple of it, and each block holds a line break (a few
    ``str.find``); True when one may be."""
    block = MAX_LINE // 2
    find = text.find
    return any(find("\n", j, j + block) < 0 for j in range(0, len(text) - block + 1, block))


def message(raw: str, syslog: bool) -> str:
    """``messages(text).texts[k]`` of one line ``raw`` of ``text`` (its k-th, without the "\\n"), computed alone;
    ``syslog``: whether ``text`` holds " kernel: " (then every line is cleaned)."""
    if syslog or _MAY_PREFIX_FIRST.match(raw) is not None:
        return _clean_line(raw)[1]
    return raw[:MAX_LINE].rstrip("\r\n")      # (what ``messages`` keeps of a line without a prefix, cut or not)


def lines_with(text: str, words: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    """(start, end) of each line of ``text`` holding one of ``words`` (none holds a "\\n"), in order, each once,
    by substring searches (no regexp tried at every character). A word is searched only up to the line found so
    far: a caller that stops at the first line does not read the whole text once per word."""
    n = len(text)
    find = text.find
    found: list[int] = [-1] * len(words)     # each word's occurrence found at or after ``lo`` (-1: none yet)
    lo = [0] * len(words)                    # no occurrence of the word starts in [the cursor, lo) but ``found``
    tails = [len(w) - 1 for w in words]
    pos = 0                                  # where the next line starts
    while True:
        best = n
        for k, w in enumerate(words):
            at = found[k]
            if at < pos:                     # not searched yet past the cursor: up to ``best`` (an occurrence
                start = lo[k]                # starting past it is not the earliest; find clamps an end past n)
                if start < pos:
                    start = pos
                if start >= best:
                    continue
                at = find(w, start, best + tails[k])
                found[k] = at
                if at < 0:
                    lo[k] = best
                    continue
            if at < best:
                best = at
        if best >= n:
            return
        end = text.find("\n", best)
        end = n if end < 0 else end
        yield text.rfind("\n", 0, best) + 1, end
        pos = end + 1


def word_lines(text: str, words: tuple[str, ...]) -> set[int]:
    """The index (0-based, as in ``messages``) of each line of ``text`` holding one of ``words`` (literal texts;
    the lines ``lines_with`` finds): searched in the raw text (a line's message is a part of it), so a superset of
    the messages holding one; a caller that needs the exact lines tests the message again. Each word is found
    by ``str.find`` from the line after its last occurrence (one C-level search per line found, no Python step
    per word and line): each word reads the text once."""
    if "" in words:                          # (every line but what ``lines_with`` makes of an empty word)
        return _word_lines_of(text, words)
    find = text.find
    found: list[int] = []
    for w in words:
        at = find(w)
        while at >= 0:
            found.append(at)
            end = find("\n", at + len(w))
            if end < 0:
                break
            at = find(w, end + 1)
    out: set[int] = set()
    if found:
        found.sort()
        count = text.count
        i = last = 0
        for at in found:
            i += count("\n", last, at)
            last = at
            out.add(i)
    return out


def _word_lines_of(text: str, words: tuple[str, ...]) -> set[int]:
    """``word_lines`` from ``lines_with``."""
    out: set[int] = set()
    i = last = 0
    count = text.count
    for start, _ in lines_with(text, words):
        i += count("\n", last, start)
        last = start
        out.add(i)
    return out


def _clean_line(raw: str) -> tuple[str | None, str]:
    """``_line``'s (tag, text)."""
    _, tag, msg = _line(0, raw)
    return tag, msg


class LineView(Sequence):
    """``Messages`` read as a list of ``Line`` objects, each made when it is indexed (``cleaned`` makes them all):
    for a reader that looks at a few lines around the one it was given."""

    __slots__ = ("tags", "texts")

    def __init__(self, msgs: Messages):
        self.texts, self.tags = msgs

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, k):  # type: ignore[override]
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self.texts)))]
        k = range(len(self.texts))[k]          # a list's index rules (negative, IndexError)
        return _new_line(Line, (k + 1, self.tags[k] if self.tags is not None else None, self.texts[k]))


def cleaned(text: str) -> list[Line]:
    """``clean_lines`` as a list (``messages`` as ``Line`` objects), remembered for the last text."""
    global _last
    cached_text, cached = _last
    if text is cached_text:
        return cached
    texts, tags = messages(text)
    out = list(map(_new_line, repeat(Line), zip(count(1), repeat(None) if tags is None else tags, texts)))
    if len(text) > 512:
        _last = (text, out)
    return out
