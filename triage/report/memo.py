"""Remembered results of pure functions of a name (a function, a file path), for the parser's hot paths.

A report names the same few hundred functions again and again (and the next report names most of them again):
normalising a name, testing it against a skip list, splitting its syscall prefixes are each done once per
name. Bounded: only names of at most ``MAX_KEY`` characters are kept (hostile input has longer ones), and a
table that reaches ``MAX_SIZE`` entries starts again empty. ``clear`` empties every table (a benchmark that
repeats the same texts starts each round as a fresh process would, not with every line already remembered).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MAX_KEY = 256
MAX_SIZE = 65_536
_TABLES: list[dict] = []


class Table(dict):
    """A table ``clear`` empties. A hot path's subclass may compute a name's value in its own ``__missing__`` (and keep
    it as ``_Table`` does: ``MAX_KEY``, ``MAX_SIZE``): a miss is then one Python call, not ``by_name``'s two."""

    def __init__(self) -> None:
        super().__init__()
        _TABLES.append(self)


class _Table(Table):
    """A name's remembered result; a name not in the table is computed by ``__missing__`` (a hit is one C-level
    dict lookup, no Python call)."""

    def __init__(self, fn: Callable[[str], T]):
        super().__init__()
        self.fn = fn

    def __missing__(self, name: str) -> T:
        value = self.fn(name)
        if len(name) <= MAX_KEY:
            if len(self) >= MAX_SIZE:
                self.clear()
            self[name] = value
        return value


def by_name(fn: Callable[[str], T]) -> Callable[[str], T]:
    """``fn`` with its results remembered per name (``fn`` must be pure and its result never mutated)."""
    return _Table(fn).__getitem__


def clear() -> None:
    """Forget every remembered result (each table starts again empty)."""
    for table in _TABLES:
        table.clear()
