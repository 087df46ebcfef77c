"""The work a pass over text does, counted without a clock (issue 13: no test asserts a time; the seconds are
bench/linear.py's and bench/bench_parse.py's).

``count(fn, *prefixes)`` runs ``fn`` with every compiled regexp of the loaded modules named by ``prefixes``
(module globals, and the lists, dicts and objects they hold) and the ``re`` module's functions wrapped: each call
is counted, with the characters it was offered (``len(string) - pos``; a ``search`` that matched, up to its match;
an anchored ``match``, what it matched). A pass that re-reads its text from each
line or each match (quadratic) shows as work growing with the square of the input: tests compare the counts at
sizes N and 10N. What one regexp call does inside the engine is not seen here: the patterns of hostile inputs
are kept free of nested repetition, and bench/linear.py times them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Work:
    calls: int = 0
    chars: int = 0
    result: Any = field(default=None, repr=False)

    def grew(self, other: Work) -> tuple[float, float]:
        """How many times ``other``'s calls and characters are this one's."""
        return other.calls / max(1, self.calls), other.chars / max(1, self.chars)


class _Counted:
    """A compiled regexp that counts its calls and the characters offered to it."""

    def __init__(self, rx: re.Pattern[str], work: Work):
        self._rx, self._work = rx, work

    def _tally(self, string: Any, pos: int = 0, endpos: int | None = None) -> None:
        self._work.calls += 1
        n = len(string) if hasattr(string, "__len__") else 0
        self._work.chars += max(0, min(n, n if endpos is None else endpos) - pos)

    def search(self, string, pos=0, endpos=sys.maxsize):
        m = self._rx.search(string, pos, endpos)
        if m:                                   # it read up to its match
            self._work.calls += 1
            self._work.chars += m.end() - pos
        else:
            self._tally(string, pos, endpos)
        return m

    def match(self, string, pos=0, endpos=sys.maxsize):
        return self._anchored(self._rx.match(string, pos, endpos), pos)

    def fullmatch(self, string, pos=0, endpos=sys.maxsize):
        return self._anchored(self._rx.fullmatch(string, pos, endpos), pos)

    def _anchored(self, m: re.Match[str] | None, pos: int) -> re.Match[str] | None:
        """An anchored call reads what it matched (a failed one: the few characters before it failed)."""
        self._work.calls += 1
        self._work.chars += (m.end() - pos) if m else 1
        return m

    def finditer(self, string, pos=0, endpos=sys.maxsize):
        self._tally(string, pos, endpos)
        return self._rx.finditer(string, pos, endpos)

    def findall(self, string, pos=0, endpos=sys.maxsize):
        self._tally(string, pos, endpos)
        return self._rx.findall(string, pos, endpos)

    def sub(self, repl, string, count=0):
        self._tally(string)
        return self._rx.sub(repl, string, count)

    def subn(self, repl, string, count=0):
        self._tally(string)
        return self._rx.subn(repl, string, count)

    def split(self, string, maxsplit=0):
        self._tally(string)
        return self._rx.split(string, maxsplit)

    def __getattr__(self, name: str) -> Any:          # pattern, flags, groups, groupindex, scanner
        return getattr(self._rx, name)


_RE_FUNCS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


def _wrap(value: Any, work: Work, undo: list[Callable[[], None]], seen: dict[int, Any], depth: int) -> Any:
    """``value`` with the regexps it holds counted (containers changed in place, their undo recorded). A regexp
    gets one counter wherever it is held: code may test a pattern's identity (``part is PARSE_STACK``)."""
    if isinstance(value, re.Pattern):
        if id(value) not in seen:
            seen[id(value)] = _Counted(value, work) if isinstance(value.pattern, str) else value
        return seen[id(value)]
    if depth > 8 or id(value) in seen or isinstance(value, (str, bytes, int, float, type(None), type)):
        return value
    seen[id(value)] = value
    if isinstance(value, list):
        for i, v in enumerate(value):
            new = _wrap(v, work, undo, seen, depth + 1)
            if new is not v:
                value[i] = new
                undo.append(lambda c=value, i=i, v=v: c.__setitem__(i, v))
    elif isinstance(value, dict):
        for k, v in list(value.items()):
            new = _wrap(v, work, undo, seen, depth + 1)
            if new is not v:
                value[k] = new
                undo.append(lambda c=value, k=k, v=v: c.__setitem__(k, v))
    elif isinstance(value, tuple) and not hasattr(value, "_fields"):
        items = [_wrap(v, work, undo, seen, depth + 1) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return tuple(items)
    elif hasattr(value, "__dict__") and not isinstance(value, type(sys)) and not callable(value):
        for k, v in list(vars(value).items()):
            new = _wrap(v, work, undo, seen, depth + 1)
            if new is not v:
                object.__setattr__(value, k, new)
                undo.append(lambda o=value, k=k, v=v: object.__setattr__(o, k, v))
    return value


def count(fn: Callable[[], Any], *prefixes: str) -> Work:
    """Run ``fn`` once with the regexps of the modules named by ``prefixes`` counted; the result is kept."""
    work = Work()
    undo: list[Callable[[], None]] = []
    seen: dict[int, Any] = {}           # id -> the object's counted stand-in (containers: themselves)
    try:
        for name, mod in list(sys.modules.items()):
            if mod is None or not any(name == p or name.startswith(p + ".") for p in prefixes):
                continue
            for key, value in list(vars(mod).items()):
                new = _wrap(value, work, undo, seen, 0)
                if new is not value:
                    setattr(mod, key, new)
                    undo.append(lambda m=mod, k=key, v=value: setattr(m, k, v))
        for fname in _RE_FUNCS:
            original = getattr(re, fname)

            def counted(pattern, string, *args, _f=original, **kwargs):
                work.calls += 1
                work.chars += len(string) if isinstance(string, str) else 0
                return _f(pattern, string, *args, **kwargs)

            if fname in ("sub", "subn"):
                def counted(pattern, repl, string, *args, _f=original, **kwargs):  # noqa: F811
                    work.calls += 1
                    work.chars += len(string) if isinstance(string, str) else 0
                    return _f(pattern, repl, string, *args, **kwargs)
            setattr(re, fname, counted)
            undo.append(lambda f=fname, v=original: setattr(re, f, v))
        work.result = fn()
    finally:
        for step in reversed(undo):
            step()
    return work


def linear(small: Work, big: Work, factor: float, slack: float = 2.0) -> bool:
    """``big`` (an input ``factor`` times ``small``'s) did at most ``factor`` x ``slack`` its calls and characters:
    bench/linear.py's criterion (a pass that re-reads its input grows by the square, ``factor`` x more)."""
    calls, chars = small.grew(big)
    return calls <= factor * slack and chars <= factor * slack
