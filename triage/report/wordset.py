"""Which of a fixed list of words (literal texts) a text holds, from one linear pass.

The parser asks this of every input for its tables' words (the marker table's 47 gate words, the oops headers):
a substring test per word reads the text once per word; an RE2 set (google-re2) reads it once for all of them.
Without the package, or for a text RE2 cannot take (a lone surrogate is no UTF-8), the substring tests answer.
``required_literals`` and ``match_texts`` read such words out of a regexp: literal texts every match of it holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def required_literals(pattern: re.Pattern[str]) -> list[str] | None:
    """One literal text per alternative of ``pattern`` that every match of that alternative contains (the
    longest run of plain characters in its top-level sequence); None if some alternative has none (or the
    pattern is case-insensitive, or Python's parser of patterns is not there)."""
    try:
        from re import _parser as sre_parse  # Python >= 3.11
    except ImportError:  # pragma: no cover
        return None
    if pattern.flags & re.IGNORECASE:
        return None
    items = list(sre_parse.parse(pattern.pattern, pattern.flags))
    branches = items[0][1][1] if len(items) == 1 and items[0][0] is sre_parse.BRANCH else [items]
    out = []
    for branch in branches:
        runs, run = [], ""
        for op, arg in branch:
            if op is sre_parse.LITERAL:
                run += chr(arg)
            else:
                runs.append(run)
                run = ""
        runs.append(run)
        best = max(runs, key=lambda r: len(r.strip()))
        if not best.strip():
            return None
        out.append(best)
    return out


def gate_text(pattern: re.Pattern[str]) -> str:
    """A text every match of ``pattern`` holds (``required_literals``' when it gives one), else "" (every text holds
    that): a line without it needs no search."""
    texts = required_literals(pattern)
    return texts[0] if texts is not None and len(texts) == 1 else ""


def match_texts(pattern: str, flags: int = 0) -> list[str] | None:
    """Literal texts one of which every match of the regexp ``pattern`` holds: its longest run of plain characters,
    or the texts of a group it passes through once (an alternation's: one text each, any of them), the choice whose
    shortest text is longest; None when it has none (or Python's parser of patterns is not there). The general form
    of ``required_literals`` (which reads only the runs of each top-level alternative)."""
    try:
        from re import _parser as sre  # Python >= 3.11
    except ImportError:  # pragma: no cover
        return None
    return _any_of(list(sre.parse(pattern, flags)), sre)


def _any_of(seq: list, sre) -> list[str] | None:
    """``match_texts`` of the parsed sequence ``seq`` (``sre``: Python's parser of patterns)."""
    best: list[str] | None = None
    run = ""
    for op, arg in [*seq, (None, None)]:
        if op is sre.LITERAL:
            run += chr(arg)
            continue
        for found in ([run] if run.strip() else None), _group_any_of(op, arg, sre):
            if found and (best is None or min(map(len, found)) > min(map(len, best))):
                best = found
        run = ""
    return best


def _group_any_of(op, arg, sre) -> list[str] | None:
    """``match_texts`` of an item passed through once: a group (its sequence) or an alternation (one text each)."""
    if op is sre.SUBPATTERN:
        return _any_of(list(arg[-1]), sre)
    if op is sre.BRANCH:
        out: list[str] = []
        for alt in arg[1]:
            found = _any_of(list(alt), sre)
            if found is None:
                return None
            out += found
        return out
    return None


def alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regexp's text (``a|b(c|d)`` -> ``a``, ``b(c|d)``)."""
    out, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 1
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":       # "[]...]": a class starting with "]"
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out


def literal_search(pattern: re.Pattern[str]) -> Callable[[str], re.Match[str] | None]:
    """``pattern.search``, found by a literal: when every match holds a run of plain characters at a fixed distance
    from its start (``[^k] backtrace:``), the run is found by ``str.find`` and the pattern only matched there (``re``
    tries a pattern that starts with a class at every character). Otherwise ``pattern.search`` itself."""
    try:
        from re import _parser as sre_parse  # Python >= 3.11
    except ImportError:  # pragma: no cover
        return pattern.search
    if pattern.flags & re.IGNORECASE:
        return pattern.search
    parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    items = list(parsed)
    best, i = (0, 0), 0
    while i < len(items):
        j = i
        while j < len(items) and items[j][0] is sre_parse.LITERAL:
            j += 1
        if j - i > best[1] - best[0]:
            best = (i, j)
        i = j + 1
    if best[0] == 0:            # no literal, or one at the start (which re's own search looks for first)
        return pattern.search
    low, high = sre_parse.SubPattern(parsed.state, items[:best[0]]).getwidth()
    if low != high:
        return pattern.search
    text_run = "".join(chr(items[k][1]) for k in range(*best))

    def search(text: str) -> re.Match[str] | None:
        at = text.find(text_run, low)
        while at >= 0:
            m = pattern.match(text, at - low)
            if m is not None:
                return m
            at = text.find(text_run, at + 1)
        return None
    return search


class WordSet:
    """``WordSet(words).present(text)``: the words ``text`` holds, exactly ``{w for w in words if w in text}``."""

    def __init__(self, words: tuple[str, ...]):
        self.words = words
        self._set = None
        try:
            import re2
        except ImportError:  # pragma: no cover (the fallback: one substring test per word)
            return
        opts = re2.Options()
        opts.literal = True
        found = re2.Set.SearchSet(opts)
        for w in words:
            found.Add(w)
        found.Compile()
        self._set = found

    def present(self, text: str) -> set[str]:
        if self._set is not None:
            try:
                return {self.words[i] for i in self._set.Match(text) or ()}
            except UnicodeError:
                pass
        return {w for w in self.words if w in text}


# What ``re`` (str patterns) and RE2 may read differently, even in an ASCII text: ``\s`` (``re`` takes \v and
# \x1c-\x1f too), back-references and octal escapes, groups RE2 lacks (lookaround, inline flags), POSIX classes
# (a plain set to ``re``) and ``{,n}`` (a repetition to ``re``, a literal to RE2). A pattern holding one is searched
# by ``re`` alone. (``\d``, ``\w``, ``\b`` and their complements read an ASCII text alike.)
_NOT_RE2 = re.compile(r"\\[sS0-9]|\(\?(?!:)|\[:|\{,")


_NONE: frozenset[int] = frozenset()


class RegexpSet:
    """Which of a list of regexps have a match in a text, from one RE2 pass for all of them (``re`` tries an
    alternation of 200 frame-skip patterns at every character of a name: ~20 us a name). ``matching(text)``: the
    positions of those with a match, asked only of an ASCII text without a line break (where RE2 answers as ``re``
    does: ``$`` of ``re`` also matches before a final line break); None when RE2 cannot answer (no package, or such a
    text). ``usable(i)``: whether pattern ``i`` is in the set (RE2 reads it as ``re`` does; for another, ``re`` must
    answer). Compiled on first use: importing stays light."""

    def __init__(self, patterns: tuple[str, ...]):
        self.patterns = patterns
        self._set = None
        self._index: dict[int, int] = {}         # a pattern's position -> its position in the RE2 set
        self._ids: list[int] = []                # the RE2 set's positions -> the patterns'
        self._whole = False                      # every pattern is in the set (then at its own position)

    def _compile(self) -> None:
        try:
            import re2
        except ImportError:  # pragma: no cover
            self._set = False
            return
        opts = re2.Options()
        opts.max_mem = 64 << 20                  # (RE2's default, 8 MiB, may not hold the DFA of 200 patterns)
        found = re2.Set.SearchSet(opts)
        for i, p in enumerate(self.patterns):
            if _NOT_RE2.search(p) is not None:
                continue
            try:
                k = found.Add(p)
            except re2.error:
                continue
            self._index[i] = k
            self._ids.append(i)
        found.Compile()
        self._set = found
        self._whole = len(self._ids) == len(self.patterns)

    def usable(self, i: int) -> bool:
        if self._set is None:
            self._compile()
        return i in self._index

    def usable_all(self) -> bool:
        """Whether every pattern is in the set."""
        if self._set is None:
            self._compile()
        return self._whole

    def matching(self, text: str) -> frozenset[int] | None:
        if self._set is None:
            self._compile()
        if not self._set or not text.isascii() or "\n" in text:
            return None
        found = self._set.Match(text)
        if not found:
            return _NONE
        # (every pattern in the set: its positions are the patterns')
        return frozenset(found) if self._whole else frozenset(map(self._ids.__getitem__, found))
