"""Whether a crash header is kernel output: the lines around it must look like the kernel printed them.

syzkaller reads console logs, where every line is kernel output; mails are mostly prose, and prose names
crashes ("we found a general protection fault while fuzzing", ``run #1: crashed: KASAN: ...``, a syzbot digest's
``<1> 4 Yes WARNING in foo``, checkpatch's ``WARNING: use scnprintf``). A header counts when it is corroborated:

- its line carries a console timestamp, or is itself unmistakable (``WARNING: CPU: 0 PID: 1 at ...``, an
  address, ``SYZFAIL:``);
- it starts its line (or follows only a printk prefix such as ``rcu:``): one of the ``AFTER`` lines below it
  (or ``BEFORE`` above it), up to the next header, is kernel output of a crash (``CORROBORATION``: a stack
  frame, ``Call Trace:``, ``CPU: N PID: M``, ``RIP:``, ``Modules linked in``, ``---[ end trace``, lockdep's and
  KASAN's own lines, ...), or a line next to it carries the same printk prefix (a run of one driver's
  messages). Console timestamps below an untimestamped header do not count: in a timestamped log the header
  has its own (a tool's ``WARNING:`` above a pasted dmesg is not the kernel's);
- it follows other words (a sentence): only its own line or the ``NEAR`` lines after it count, so a sentence
  that happens to precede a pasted report does not borrow the report's stack;
- it is alone (nothing but empty lines around it): a header given on its own is taken as given.

The lines looked at are bounded, so the check is linear in the input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from triage.report.wordset import RegexpSet, alternatives, gate_text
from vocab.console import SYZKALLER_CONSOLE

AFTER = 30
NEAR = 3
BEFORE = 3

CORROBORATIONS = (
    r"\b[A-Za-z_][\w.]*\+0x[0-9a-f]+/0x[0-9a-f]+",                  # a frame: func+0x12/0x34
    r"^\s*(?:\[<[0-9a-f]+>\]\s*)?(?:\?\s+)?[A-Za-z_][\w.]*\s+[\w./+-]+\.(?:[chS]|rs):\d+(?::\d+)?"
    r"(?:\s+\[inline\])?\s*$",                                        # a symbolized frame: func file.c:12
    r"\[<[0-9a-f]{8,16}>\]",                                          # a program counter
    r"\bCall [Tt]race:|^\s*(?:stack )?backtrace(?: \(crc [0-9a-f]+\))?:|^Backtrace:",
    r"\bCPU: \d+ (?:UID: \d+ )?PID: \d+",
    r"^\s*(?:RIP|EIP|RSP|pc|lr|PC is at|LR is at|epc)\s*: ?\S",
    r"\bModules linked in",
    r"---\[ end (?:trace|Kernel panic)",
    r"\bHardware name: ",
    r"\bNot tainted\b|\bTainted: [A-Z]",
    r"^\s*Workqueue: \S",
    r"^-> #\d+ \(|is trying to acquire lock:|is already holding lock:|\*\*\* DEADLOCK \*\*\*|\d+ locks? held by ",
    r"(?:Read|Write) of size \d+ at addr|The buggy address |Memory state around the buggy address",
    r"Allocated by task \d+|Freed by task \d+",
    r"^\s*unreferenced object 0x[0-9a-f]+ \(size \d+\)",
    r"hung_task_timeout_secs|^\s*task:\S+\s+state:\S|Showing all locks held",
    r"^\s*Code: (?:[0-9a-f<>()]{2,4} ){4}|^\s*R[A-D]X: [0-9a-f]{8}",
    r"#PF: |\b[0-9a-f]{4} \[#\d+\]",                                   # the oops counter: "Oops: 0000 [#1]"
    r"Kernel Offset: |Rebooting in \d+ seconds|Dumping ftrace buffer",
    r"^\s*page:[0-9a-f]+ refcount:|page dumped because|^\s*raw: [0-9a-f]{16} ",
    r"Showing busy workqueues|^\s*pwq \d+: cpus=",
    r"NMI backtrace for cpu|Sending NMI from CPU",
    r"irq event stamp:|hardirqs last +(?:en|dis)abled at|softirqs last +(?:en|dis)abled at",
    r"^\s*Mem abort info:|^\s*ESR = 0x[0-9a-f]+",                       # arm64 faults
    r"^goroutine \d+ \[|^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ",                 # syzkaller's Go side (fuzzer, manager)
)
CORROBORATION = re.compile("|".join(f"(?:{p})" for p in CORROBORATIONS))


# Each alternative of a row of ``CORROBORATIONS``: a text every match of it holds (``gate_text``) and its regexp.
_GATED = [(gate_text(rx), rx) for rx in (re.compile(alt) for p in CORROBORATIONS for alt in alternatives(p))]
# The alternatives RE2 reads as ``re`` does, asked in one pass; the others (``\s``: RE2 reads it otherwise) are
# searched as below.
_SET = RegexpSet(tuple(rx.pattern for _, rx in _GATED))


@functools.cache
def _re_only() -> list[tuple[str, re.Pattern[str]]]:
    """The alternatives ``_SET`` does not hold (asked once it is compiled: importing stays light)."""
    return [g for i, g in enumerate(_GATED) if not _SET.usable(i)]


def corroborates(line: str) -> bool:
    """``CORROBORATION.search(line) is not None``: the whole alternation tries each of its 25 rows at every
    character (~0.5 us a character); here each alternative is searched only in a line holding its text, and
    those RE2 can answer for are asked of it at once (a line RE2 cannot read: each searched so)."""
    found = _SET.matching(line)
    if found:
        return True
    for text, rx in _GATED if found is None else _re_only():
        if text in line and rx.search(line) is not None:
            return True
    return False


# The header line alone is enough: syzkaller's own executor failures, netdev's refcount wait, a reboot.
SELF = re.compile(r"SYZFAIL:|SYZFATAL:|Usage count = -?\d+|^Booting the kernel")


def _self(line: str) -> bool:
    """``SELF.search(line)`` of a line (no line break): only a line holding one of its texts (or starting as its last
    row, anchored at the start) is searched (its alternation is tried at every character)."""
    return ("SYZF" in line or "Usage count = " in line or line.startswith("Booting the kernel")) \
        and SELF.search(line) is not None


ADDRESS = re.compile(r"\b(?:0x)?[0-9a-f]{8,16}\b")       # on a header line that starts the line
LOGIN = re.compile(r"^.* login: ")                         # syzkaller strips a login prompt the same way
PRINTK_PREFIX = re.compile(r"^(?:[\w.()/-]+: ?)+$")        # "rcu:", "BFS-fs: bfs_fill_super():"


def _line_at(text: str, pos: int) -> tuple[str, int]:
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    return text[pos:end][:2000], end + 1


def _window(text: str, start: int, pos: int, before: int, after: int, other_header: Callable[[str], bool]):
    """The lines around the header line (``start``; ``pos``: the next line's offset), nearest first (those after
    it, then those before), each side stopping before another header: what follows that one is that one's; that
    header itself is given as None (the header is not alone, but its neighbour's lines are not its evidence).
    A generator: the reader stops at the first line that corroborates."""
    while after and pos < len(text):
        ln, pos = _line_at(text, pos)
        if other_header(ln):
            yield None
            break
        yield ln
        after -= 1
    lo = start
    while before and lo > 0:
        lo = text.rfind("\n", 0, lo - 1) + 1
        ln = text[lo:text.find("\n", lo)][:2000]
        if other_header(ln):
            yield None
            break
        yield ln
        before -= 1


def corroborated(text: str, start: int, header_at: int, other_header: Callable[[str], bool]) -> bool:
    """Whether the header found at offset ``header_at`` of the line starting at ``start`` is kernel output.
    ``other_header(line)``: the line starts another report (its own header, not one that belongs to this)."""
    line, pos = _line_at(text, start)
    if SYZKALLER_CONSOLE.match(line) or corroborates(line) or _self(line):
        return True
    lead = line[:max(0, header_at - start)]
    m = LOGIN.match(lead)
    lead = lead[m.end():] if m else lead
    lead = lead.strip()
    at_start = not lead
    prefix = PRINTK_PREFIX.match(lead) is not None
    if at_start and ADDRESS.search(line):
        return True
    wide = at_start or prefix
    around = _window(text, start, pos, BEFORE if wide else 0, AFTER if wide else NEAR, other_header)
    if prefix:
        lines = list(around)
        word = lead.split(":", 1)[0] + ":"
        if any(ln is not None and ln.lstrip().startswith(word) for ln in lines[:2] + lines[-BEFORE:]):
            return True
        around = iter(lines)
    blank = True
    for ln in around:               # (the first corroborating line decides: the rest of the window is not read)
        if ln is None:              # another header next to it: a run of headers (a build log's warnings) is
            blank = False           # not a header given on its own
        elif corroborates(ln):
            return True
        else:
            blank = blank and not ln.strip()
    return wide and blank
