"""Could a text hold a report? A substring test the import runs before the full parse of every mail body
(which words of the table a text holds: one RE2 pass, ``wordset.WordSet``).

Most mails of a list archive are patches, reviews and discussion; the parser would read each of them line by
line to find nothing. It makes a report of a text only when, after ``textin.clean_text`` (quoting undone,
mail-client wrapping joined):

1. a line carries an oops header of ``formats.OOPSES`` (the title), or
2. an event of ``events.EVENTS`` matches: its regexp's literal text is in a line (``required_literals``
   reads it from the compiled pattern), or
3. a header-less call trace has ``events.MIN_BARE_TRACE`` frames, which ``stacks.extract_frames`` reads only in
   a text holding ``+0x`` or ``.c:`` (``FRAME_GATE``), and only from lines holding an offset, a source file or
   an arm ``) from [<`` (``FRAME_MARKS``, after ``stacks._frame``): a text needs that many of them.

``may_hold_report`` passes a text in which one of those phrases could be, so it is built from the parser's own
tables and cannot drift from them: a phrase of one word must be in the raw text as it is (cleaning removes quote
marks and joins lines, which never splits or creates a word); a phrase of several words may be cut by a mail
client's wrap, so the raw text must hold its rarest word, and then the phrase with any line break and quote
marks between its words (one regexp, run only on the few texts that hold the word). The frame marks are counted
(a line is at most one frame). A text holding a NUL (which cleaning deletes, and so could join two words) always
passes. ``tests/test_prefilter.py`` checks on every mail of
three list archives, the labelled reports and the syzbot sample that nothing the parser makes a report of is
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from triage.report import formats
from triage.report.events import EVENTS, MIN_BARE_TRACE
from triage.report.wordset import WordSet, required_literals

FRAME_GATE = ("+0x", ".c:")        # stacks.extract_frames reads no frame from a text without either
FRAME_MARKS = ("+0x", ".c:", ".h:", ".S:", ".rs:", ") from [<")    # every frame line holds one (stacks._frame)

# between two words of a phrase in the raw text: a space, or a line break that unwrapping joins (trailing and
# leading blanks, mail quote marks)
_JOIN = r"(?: |[^\S\n\r]*(?:\r\n|\r|\n)[ \t]*(?:>[ \t]?)*\s*)"


def phrases() -> list[str]:
    """Every phrase whose presence (after cleaning) can make the parser report: oops headers and the literal
    text of each event."""
    out = [o.header for o in formats.OOPSES]
    for ev in EVENTS:
        lits = required_literals(ev.pattern)
        if lits is None:
            raise ValueError(f"event {ev.kind!r}: no literal text in its regexp for the prefilter to look for")
        out += lits
    return list(dict.fromkeys(p for p in out if p.strip()))


def _key(phrase: str) -> str:
    """The word of ``phrase`` to look for first: the one least likely in ordinary mail (three letters or digits
    at least, then punctuation or capitals in it, then length)."""
    words = phrase.split()
    return max(words, key=lambda w: (sum(c.isalnum() for c in w) >= 3, any(not c.isalpha() for c in w),
                                     sum(c.isupper() for c in w) > 1, len(w)))


def _compile(items: Iterable[str]) -> tuple[tuple[str, ...], dict[str, re.Pattern[str] | None]]:
    """The words to look for, and for each the phrases (as one regexp) it stands for; None: the word alone
    is a phrase (no second look)."""
    checks: dict[str, list[str]] = {}
    alone: set[str] = set()
    for phrase in items:
        words = phrase.split()
        key = _key(phrase)
        if len(words) == 1 and phrase.strip() == key:
            alone.add(key)
        else:
            edge = (r"\s*" if phrase[:1].isspace() else "", r"\s*" if phrase[-1:].isspace() else "")
            checks.setdefault(key, []).append(edge[0] + _JOIN.join(map(re.escape, words)) + edge[1])
    # a word that is a phrase of its own makes the other phrases it stands for moot
    rx = {k: None if k in alone else re.compile("|".join(v)) for k, v in checks.items()}
    rx.update({k: None for k in alone})
    # a word containing another word is covered by it (a pass of the shorter one is needed anyway)
    keys = sorted(rx, key=len)
    kept = [k for i, k in enumerate(keys) if not any(o in k and rx[o] is None for o in keys[:i])]
    return tuple(kept), {k: rx[k] for k in kept}


_KEYS, _PHRASES = _compile(phrases())
_WORDS = WordSet(_KEYS)             # which keys a text holds, in one pass over it (not one per key)


def may_hold_report(text: str) -> bool:
    """False only if the parser would find no report in ``text`` (no oops header, no event, too few frames)."""
    if "\x00" in text:
        return True
    for key in _WORDS.present(text):
        rx = _PHRASES[key]
        if rx is None or rx.search(text):
            return True
    if any(g in text for g in FRAME_GATE):
        return sum(text.count(m) for m in FRAME_MARKS) >= MIN_BARE_TRACE
    return False
