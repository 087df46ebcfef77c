"""The guilty source file of a report: the first file in the report that is not reporting, allocator,
locking, scheduling or library plumbing (syzkaller's guiltyFileIgnores), then deepened along the stack.

The ignore list is a table of path regexps; adding an entry is adding a row.
"""

from __future__ import annotations

import posixpath
import re

from triage.report.memo import by_name

GUILTY_FILE_IGNORES = [re.compile(r) for r in (
    r".*\.h$", r"^lib/.*", r"^virt/lib/.*", r"^mm/kasan/.*", r"^mm/kmsan/.*", r"^kernel/kcov\.c",
    r"^mm/sl.b\.c", r"^mm/slab_common\.c", r"^mm/filemap\.c", r"^mm/folio-compat\.c", r"^mm/truncate\.c",
    r"^mm/memory\.c", r"^mm/mempolicy\.c",
    r"^mm/percpu.*", r"^mm/vmalloc\.c", r"^mm/page_alloc\.c", r"^mm/mempool\.c", r"^mm/util\.c",
    r"^kernel/rcu/.*", r"^arch/.*/kernel/traps\.c", r"^arch/.*/kernel/unwind.*\.c", r"^arch/.*/mm/fault\.c",
    r"^arch/.*/mm/physaddr\.c", r"^arch/.*/kernel/stacktrace\.c", r"^arch/.*/kernel/apic/apic\.c",
    r"^arch/arm64/kernel/entry.*\.c", r"^arch/arm64/kernel/process\.c", r"^kernel/locking/.*",
    r"^kernel/panic\.c", r"^kernel/printk/printk.*\.c", r"^kernel/softirq\.c", r"^kernel/kthread\.c",
    r"^kernel/sched/.*\.c", r"^kernel/stacktrace\.c", r"^kernel/time/timer\.c", r"^kernel/workqueue\.c",
    r"^net/core/dev\.c", r"^net/core/sock\.c", r"^net/core/skbuff\.c", r"^fs/proc/generic\.c",
    r"^trusty/", r"^drivers/usb/core/urb\.c", r"^drivers/media/usb/pvrusb2/pvrusb2-hdw\.c",
    r"^drivers/media/usb/pvrusb2/pvrusb2-context\.c", r"^drivers/gpu/drm/drm_gem\.c",
    r"^drivers/gpu/drm/drm_atomic\.c", r"^drivers/gpu/drm/drm_crtc_helper\.c", r"^drivers/gpu/drm/drm_edid\.c",
    r"^drivers/gpu/drm/drm_fb_helper\.c", r"^mm/kfence/.*", r"^mm/kmemleak\.c", r"^mm/page_owner\.c",
    r"^kernel/locking/lockdep.*", r"^mm/debug.*\.c", r"^kernel/entry/.*", r"^arch/.*/entry/.*",
    r"^kernel/irq_work\.c", r"^kernel/time/hrtimer\.c", r"^kernel/smp\.c",
)]
GUILTY_LINE_IGNORE = re.compile(
    r"(hardirqs|softirqs)\s+last\s+(enabled|disabled)|^Register r\d+ information|^\s*#\d+: ")  # held-lock lines
# syzkaller's "([a-zA-Z0-9_\-\./]*[a-zA-Z0-9_\-]+\.(?:c|h|rs)):[0-9]+", which retries from every character of a
# path (cubic in its length). Its leftmost match always starts where a run of path characters starts (one starting
# inside a run extends to the run's start) and ends at the run's end (":" is not a path character), so tried only
# at run starts, with the two classes' overlap removed, it finds the same files in one pass.
FILENAME_RE = re.compile(r"(?<![a-zA-Z0-9_\-./])([a-zA-Z0-9_\-./]*[a-zA-Z0-9_\-]\.(?:c|h|rs)):[0-9]+")
# rcu stalls: start reading at the interrupted context, not in the rcu/timer plumbing above it.
_STALL_ENTRIES = ("apic_timer_interrupt+", "asm_sysvec_apic_timer_interrupt+", "Exception stack")


_IGNORED_FILE = re.compile("|".join(f"(?:{rx.pattern})" for rx in GUILTY_FILE_IGNORES))


@by_name
def _ignored_file(path: str) -> bool:
    return _IGNORED_FILE.match(path) is not None


_normpath = by_name(posixpath.normpath)


_MARK = re.compile(r"\.(?:c|h|rs):")          # what a line naming a source file holds (``FILENAME_RE`` ends so)
# A path ``normpath`` changes holds one of these (it ends in a file name, never in "/" or "."): any other path deeper
# than a directory holds the directory's name and "/".
UNNORMAL = ("./", "//")
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./")
_DEEPER = re.compile(r"[a-zA-Z0-9_\-.]*+/")       # a run of path characters holding a "/" (its start up to the first)


def _line_file(line: str) -> str | None:
    """The line's first file (None: none, or a held-lock line, whose files are not the crash's)."""
    k = line.find(".c:")
    if k >= 0:
        # A match ends at such a mark and holds no blank: with ".c:" the only mark, none starts before the blank
        # ahead of it (the search skips the function name most lines start with).
        start = 0 if ".h:" in line or ".rs:" in line else line.rfind(" ", 0, k) + 1
    elif ".h:" in line or ".rs:" in line:
        start = 0
    else:
        return None
    m = FILENAME_RE.search(line, start)
    return None if m is None else m.group(1)


def _held_lock_line(line: str) -> bool:
    return ("irqs" in line or "Register" in line or "#" in line) and GUILTY_LINE_IGNORE.search(line) is not None


def _guilty(report: str, unnormal: tuple[str, ...] = UNNORMAL) -> str | None:
    """First file that is not plumbing; then a deeper file under the same directory further down the stack
    (``net/socket.c`` -> ``net/tipc/topsrv.c``: the generic layer called the specific one). Only the lines that
    can change the answer are read: those with a file (``_MARK``, found in C) up to the guilty one, then those
    naming a path under its directory (or one ``normpath`` may move there). ``unnormal``: those of ``UNNORMAL``
    the report may hold."""
    first = guilty = None
    n = len(report)
    mark = _MARK.search(report)
    pos = 0
    while mark is not None:          # each line naming a source file, up to the first that is not plumbing
        lo = report.rfind("\n", 0, mark.start()) + 1
        hi = report.find("\n", mark.end())
        hi = n if hi < 0 else hi
        pos = hi + 1
        line = report[lo:hi]
        path = _line_file(line)
        if path is not None:
            if first is None:
                first = path
            if not _ignored_file(path) and not _held_lock_line(line):
                guilty = _normpath(path)
                break
        mark = _MARK.search(report, pos)
    if guilty is None:
        return first
    deepest = posixpath.dirname(guilty)
    if not deepest:
        return guilty
    # The lines after it that may name a deeper file: each holds the directory's name (or an unnormal path). A
    # deeper directory's name holds the shallower one's, so these lines are all the walk below needs to read.
    # A normal path deeper than the directory starts with its name (so where a run of path characters starts) and
    # holds a "/" past it: other places of the name are passed over.
    starts = set()
    for needle in (deepest + "/", *unnormal):
        plain = needle not in UNNORMAL
        at = report.find(needle, pos)
        while at >= 0:
            if plain and (report[at - 1] in _PATH_CHARS or _DEEPER.match(report, at + len(needle)) is None):
                at = report.find(needle, at + 1)
                continue
            lo = report.rfind("\n", 0, at) + 1
            starts.add(lo)
            hi = report.find("\n", at)
            if hi < 0:
                break
            at = report.find(needle, hi)
    for lo in sorted(starts):
        hi = report.find("\n", lo)
        line = report[lo:n if hi < 0 else hi]
        path = _line_file(line)
        if path is None or _ignored_file(path) or _held_lock_line(line):
            continue
        path = _normpath(path)
        if path.startswith(deepest + "/") and "/" in path[len(deepest) + 1:]:
            guilty, deepest = path, posixpath.dirname(path)
    return guilty


def guilty_file(title: str | None, report: str, words: set[str] | None = None) -> str | None:
    """The source file most likely at fault, or None if the report has no file:line at all. ``words``: a set
    holding each of ``UNNORMAL`` the report holds, if known (the others are not looked for)."""
    unnormal = UNNORMAL if words is None else tuple(w for w in UNNORMAL if w in words)
    if title and title.startswith("INFO: rcu detected stall"):
        for entry in _STALL_ENTRIES:
            pos = report.find(entry)
            if pos >= 0:
                found = _guilty(report[pos:], unnormal)
                if found:
                    return found
    return _guilty(report, unnormal)
