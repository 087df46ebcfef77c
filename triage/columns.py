"""Plain aligned tables that fit the terminal: columns dropped or narrowed by width, the main one kept readable.

``terminal_width()`` is ``COLUMNS`` when set, else the terminal's width, else None (piped: no limit).
``fit`` decides which columns a table keeps at a width: every column has a priority (0 = always kept; the
highest number is dropped first) and may be narrowed to a short form; the ``flex`` column (a title) takes
what the others leave and is cut with an ellipsis only past its minimum.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from dataclasses import dataclass

GAP = 2                      # spaces between columns


def terminal_width() -> int | None:
    """``COLUMNS`` if set (a person's habit, and tests), else the terminal's width, else None (piped)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    return None


@dataclass
class Column:
    name: str
    priority: int = 0            # 0: never dropped; higher numbers are dropped first
    right: bool = False          # right-aligned (numbers)
    flex: bool = False           # takes the remaining width (at most one column)
    min_width: int = 48          # a flex column is not narrowed below this (or its longest cell)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else (text[: width - 1] + "…" if width > 1 else text[:width])


def fit(columns: list[Column], rows: list[list[str]], width: int | None) -> tuple[list[int], list[int]]:
    """Which columns to keep (indexes) and their widths, for ``width`` characters (None: no limit)."""
    natural = [max([len(c.name)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    keep = list(range(len(columns)))
    if width is None:
        return keep, natural
    flex = next((i for i, c in enumerate(columns) if c.flex), None)

    def needed(kept: list[int]) -> int:
        fixed = sum(natural[i] for i in kept if i != flex)
        want = min(natural[flex], max(columns[flex].min_width, len(columns[flex].name))) if flex in kept else 0
        return fixed + want + GAP * (len(kept) - 1)

    # columns with nothing to say (every cell "-" or empty) go first, then by priority, rightmost first
    blank = {i for i in range(len(columns)) if all(r[i] in ("", "-") for r in rows)}
    droppable = sorted((i for i, c in enumerate(columns) if c.priority > 0),
                       key=lambda i: (i not in blank, -columns[i].priority, -i))
    for i in droppable:
        if needed(keep) <= width:
            break
        keep.remove(i)
    widths = list(natural)
    if flex is not None and flex in keep:
        others = sum(natural[i] for i in keep if i != flex) + GAP * (len(keep) - 1)
        widths[flex] = max(len(columns[flex].name), min(natural[flex], width - others))
    return keep, widths


def layout(columns: list[Column], rows: list[list[str]], width: int | None) -> list[tuple[int, str, int]]:
    """The kept columns as (index, header, width)."""
    keep, widths = fit(columns, rows, width)
    return [(i, columns[i].name, widths[i]) for i in keep]


def cell(text: str, width: int, right: bool = False) -> str:
    text = _cut(text, width)
    return text.rjust(width) if right else text.ljust(width)


def render(columns: list[Column], rows: list[list[str]], width: int | None) -> list[str]:
    """Header and rows as aligned plain lines (trailing spaces stripped)."""
    cols = layout(columns, rows, width)
    out = ["  ".join(cell(name, w, columns[i].right) for i, name, w in cols).rstrip()]
    for r in rows:
        out.append("  ".join(cell(r[i], w, columns[i].right) for i, _name, w in cols).rstrip())
    return out


def wrap(text: str, width: int | None) -> str:
    """Each line longer than ``width`` wrapped under its own indentation plus four spaces."""
    if not width:
        return text
    out = []
    for ln in text.split("\n"):
        if len(ln) <= width:
            out.append(ln)
            continue
        indent = " " * min(len(ln) - len(ln.lstrip(" ")), width // 2)
        out.append(textwrap.fill(ln.strip(" "), width=width, initial_indent=indent, subsequent_indent=indent + "    ",
                                 break_long_words=True, break_on_hyphens=False))
    return "\n".join(out)
