"""Which kernel subsystems a report belongs to, derived from the report itself.

The table is data: ``subsystems.txt`` beside this module, in the kernel's MAINTAINERS format (a name, then
``L:`` list, ``F:`` path, ``X:`` excluded path and ``K:`` text pattern lines). A report belongs to

1. the subsystem of its guilty file (the most specific ``F:`` pattern, as ``get_maintainer.pl`` picks),
2. every subsystem whose ``K:`` pattern one of its log messages matches (``EXT4-fs (sda1): ...``),
3. every filesystem its crash stack passes through (a frame's file under an entry's ``fs/<name>/``, else its
   function matched by the entry's ``K:`` prefix, ``^xfs_``),

in that order, without repeats. A syzbot bug's own subsystems, when known, take precedence over these: its
dashboard's (``bugs.subsystems``, read first by ``triage.inbox``), else what its mails say, which the import
writes to its reports (``triage.store.bug_mail``). A report with none is shown to every subscriber.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # annotations only: a reader of the store does not import sqlite-utils
    import sqlite_utils


TABLE = Path(__file__).with_name("subsystems.txt")
MAX_SUBSYSTEMS = 4
GENERIC_FS = "fs"           # the VFS entry: a frame in fs/*.c says nothing about which filesystem


@dataclass
class Entry:
    name: str
    lists: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @property
    def filesystem(self) -> bool:
        """A filesystem of its own (``fs/<name>/``), not the VFS."""
        return self.name != GENERIC_FS and any(f.startswith("fs/") and f.count("/") >= 2 for f in self.files)


def _pattern_matches(pattern: str, path: str) -> bool:
    if pattern.endswith("/"):
        return path.startswith(pattern)
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern


_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")


def parse_table(text: str) -> list[Entry]:
    """MAINTAINERS-format text -> entries: a name (lower case, one word) after a blank line starts one;
    other lines outside an entry are prose."""
    entries: list[Entry] = []
    current: Entry | None = None
    after_blank = False
    for raw in text.splitlines():
        ln = raw.rstrip()
        if not ln:
            after_blank, current = True, None
            continue
        if ln.startswith("#"):
            continue
        m = re.match(r"^([A-Z]):\s*(.*)$", ln)
        if m and current is not None:
            tag, value = m.groups()
            target = {"L": current.lists, "F": current.files, "X": current.excluded, "K": current.keywords}.get(tag)
            if target is not None:
                target.append(value.strip())
        elif after_blank and _NAME.match(ln):
            current = Entry(ln)
            entries.append(current)
        after_blank = False
    return entries


@cache
def table() -> tuple[Entry, ...]:
    return tuple(parse_table(TABLE.read_text(encoding="utf-8")))


def alternatives(pattern: str) -> list[str]:
    """The top-level ``|`` alternatives of a regular expression (groups and classes left whole)."""
    out, cur, depth, in_class, i = [], "", 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            cur, i = cur + pattern[i:i + 2], i + 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            out.append(cur)
            cur, i = "", i + 1
            continue
        cur, i = cur + c, i + 1
    return [*out, cur]


@cache
def _keywords() -> tuple[re.Pattern[str] | None, tuple[tuple[str, re.Pattern[str]], ...]]:
    """The ``K:`` patterns compiled: one regex of every ``^`` alternative (named group per entry, matched at
    the start of a message or a function), and per entry one regex of its other alternatives (searched)."""
    anchored, searched = [], []
    for i, e in enumerate(table()):
        alts = [a for k in e.keywords for a in alternatives(k)]
        starts = [a[1:] for a in alts if a.startswith("^")]
        others = [a for a in alts if not a.startswith("^")]
        if starts:
            anchored.append(f"(?P<k{i}>{'|'.join(f'(?:{a})' for a in starts)})")
        if others:
            searched.append((e.name, re.compile("|".join(others), re.M)))
    return (re.compile("|".join(anchored)) if anchored else None), tuple(searched)


def names() -> list[str]:
    """Every subsystem the table knows, sorted."""
    return sorted(e.name for e in table())


def syzbot_name(name: str) -> str:
    """The table's name for a subsystem name syzbot used: the name itself, or for a filesystem named by its
    directory (``nilfs2``: syzbot's name before it took the table's ``nilfs``) the entry of ``fs/<name>/``."""
    return _fs_dirs().get(name, name) if name not in _names() else name


@cache
def _names() -> frozenset[str]:
    return frozenset(e.name for e in table())


@cache
def _fs_dirs() -> dict[str, str]:
    """A filesystem entry's own directory name (``fs/nilfs2/``: ``nilfs2``) -> the entry's name."""
    return {f.split("/")[1]: e.name for e in table() if e.filesystem for f in e.files
            if f.startswith("fs/") and f.count("/") == 2 and f.endswith("/")}


def entry(name: str) -> Entry | None:
    return next((e for e in table() if e.name == name), None)


@lru_cache(maxsize=1 << 16)
def of_file(path: str | None) -> str | None:
    """The subsystem of a source file: the entry with the longest matching ``F:`` pattern."""
    if not path:
        return None
    path = path.lstrip("./")
    best: tuple[int, str] | None = None
    for e in table():
        if any(_pattern_matches(x, path) for x in e.excluded):
            continue
        for pattern in e.files:
            if _pattern_matches(pattern, path) and (best is None or len(pattern) > best[0]):
                best = (len(pattern), e.name)
    return best[1] if best else None


# Lines that are not messages: stack frames (with an offset, or a symbolizer's ``[inline]`` line) and the
# rows of an OOM report's slab table (``nfs_commit_data   3KB   7KB``), which name caches, not subsystems.
_FRAME_LINE = re.compile(r"\+0x[0-9a-f]+/0x[0-9a-f]+|\s\[inline\]\s*$|^\s*\S+\s+\d+KB\s+\d+KB\s*$")


def of_text(text: str | None) -> list[str]:
    """The subsystems whose ``K:`` patterns match the log messages of ``text`` (its lines that are not
    stack frames): those matched at the start of a message first, in order, then the searched ones."""
    if not text:
        return []
    anchored, searched = _keywords()
    messages = [ln.strip() for ln in text.splitlines() if not _FRAME_LINE.search(ln)]
    found: list[str] = []
    entries = table()
    for ln in messages if anchored else ():
        m = anchored.match(ln)
        if m and entries[int(m.lastgroup[1:])].name not in found:
            found.append(entries[int(m.lastgroup[1:])].name)
    joined = "\n".join(messages)
    found += [name for name, rx in searched if name not in found and rx.search(joined)]
    return found


@lru_cache(maxsize=1 << 16)
def of_frame(path: str | None, function: str | None) -> str | None:
    """The filesystem a crash-stack frame is in: by its file, else by its function's ``K:`` prefix."""
    if path:
        name = of_file(path)
        return name if name in _filesystems() else None
    anchored = _keywords()[0]
    m = anchored.match(function or "") if anchored else None
    name = table()[int(m.lastgroup[1:])].name if m else None
    return name if name in _filesystems() else None


@cache
def _filesystems() -> frozenset[str]:
    return frozenset(e.name for e in table() if e.filesystem)


def derive(guilty_file: str | None, crash_frames: Iterable[tuple[str | None, str | None]], text: str | None
           ) -> list[str]:
    """The report's subsystems: its guilty file's, its messages', then the filesystems of its crash stack
    (``crash_frames``: (file, function) pairs, top first)."""
    out: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in out and len(out) < MAX_SUBSYSTEMS:
            out.append(name)

    add(of_file(guilty_file))
    for name in of_text(text):
        add(name)
    for path, function in crash_frames:
        add(of_frame(path, function))
    return out


def _crash_stack(stack: str) -> bool:
    return stack == "crash" or stack.startswith("crash-") or stack in ("irq", "nmi")


def of_report(rep) -> list[str]:
    """``derive`` for a parsed ``triage.report.Report``."""
    text = rep.report or (rep.event or {}).get("text") or ""
    return derive(rep.guilty_file, ((f.file, f.function) for f in rep.frames if _crash_stack(f.stack)), text)


def subsystems_json(rep) -> str:
    """The ``reports.subsystems`` value of a parsed report (a JSON list; ``[]`` when nothing says)."""
    return json.dumps(of_report(rep))


def backfill(db: sqlite_utils.Database, batch: int = 2000) -> int:
    """Derive ``reports.subsystems`` for the stored reports that have none; returns how many were set."""
    done = 0
    last = 0
    while True:
        rows = db.execute(
            "SELECT id, guilty_file, COALESCE(json_extract(parsed, '$.report'), '') || char(10) || "
            "COALESCE(json_extract(parsed, '$.event.text'), '') FROM reports "
            "WHERE subsystems IS NULL AND id > ? ORDER BY id LIMIT ?", [last, batch]).fetchall()
        if not rows:
            return done
        ids = [r[0] for r in rows]
        frames: dict[int, list[tuple[str | None, str | None]]] = {}
        for rid, stack, path, function in db.execute(
                f"SELECT report_id, stack, file, function FROM frames WHERE report_id IN ({','.join('?' * len(ids))})"
                " ORDER BY report_id, pos", ids):
            if _crash_stack(stack):
                frames.setdefault(rid, []).append((path, function))
        db.conn.executemany("UPDATE reports SET subsystems = ? WHERE id = ?",
                            [(json.dumps(derive(guilty, frames.get(rid, []), text)), rid)
                             for rid, guilty, text in rows])
        done += len(rows)
        last = ids[-1]
