"""What the classifiers look at: a parsed report plus the lines of its text, organised for rules and features.

``ReportView.build(report, text)`` takes the parser's ``Report`` (title, type, markers, gfp, frames) and the
report text, and derives the facts the labels depend on, each tied to a line a maintainer can find in the text:

- the *primary crash*: its header line, its kind (``warning``, ``lockdep-circular``, ``hang``, ...), its task,
  and the function it fired in (``WARNING ... at FILE:LINE func`` / ``RIP: 0010:func``);
- frames grouped into stacks (``crash``, ``lockdep-chain-N``, ``fault-injection-N``, ``task:<comm>``,
  ``usage``, ``irq`` for interrupt frames of the crash);
- lockdep lock names and usage states, markers (``FAULT_INJECTION``, lost writes, ...) with the task that printed
  them, gfp flags.

Everything is read defensively: the parser may or may not provide frames / markers / gfp yet; the text lines
are always scanned, so the view works on a stub parser, on mail-quoted text and on bare call traces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Prefixes removed before reading a line (the rest of the line is a suffix of the original, so evidence
# taken from it can always be found in the text): mail quotes, syslog "Mon DD HH:MM:SS host kernel:",
# console timestamps "[  12.345678]" and caller ids "[ T1234]" / "[ C0]".
_PREFIX = re.compile(
    r"^(?:\s*>)*\s?"
    r"(?:\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\s*)?"
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ )?"
    r"(?:kernel: ?)?"
    r"(?:\s*\[\s*\d+\.\d+\])?(?:\s*\[\s*[TC]\d+\])?\s?"
)

_FRAME = re.compile(
    r"""^\s*
    (?:\[<[0-9a-fA-Fx]+>\]\s*)?
    (?:\?\s+)?
    (?P<func>[A-Za-z_][\w.$]*)
    (?P<off>\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?
    (?:\s+\[(?P<module>[\w-]+)\])?
    (?:\s+(?P<file>[\w./+-]+\.(?:[chS]|rs)):(?P<line>-?\d+)(?::\d+)?)?
    (?:\s+\[inline\])?
    (?:\s+[\w./+-]+\.[chS]:\d+)*
    \s*$""",
    re.X,
)
_SUFFIX = re.compile(r"(\.(?:constprop|isra|part|cold|lto_priv|llvm|specialized)(?:\.\d+)*)+$")
_RIP = re.compile(r"^(?:RIP|pc|PC is at|epc)\s*:\s*(?:0010:)?(?:\[<[0-9a-f]+>\]\s*)?(?P<func>[A-Za-z_][\w.]*)")
_CPU_LINE = re.compile(r"\bCPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>\S+)")
_WARN_AT = re.compile(r"^WARNING: CPU: \d+ PID: (?P<pid>\d+) at (?P<file>[^\s:]+):\d+(?:\s+(?P<func>[A-Za-z_][\w.]*))?")
_LOCK = re.compile(r"\((?P<name>[^(){}\s][^(){}]*?)\)\{[^}]*\}")
_LOCK_SCENARIO = re.compile(r"^\s*lock\((?P<name>[^()]+)\);")
_USAGE = re.compile(r"\{(?P<usage>(?:IN-)?[A-Z_]+-(?:ON-)?[RW])\}")
_CHAIN = re.compile(r"^-> #(?P<n>\d+) \(")
_TASK_ACQ = re.compile(r"^(?P<comm>\S+)/(?P<pid>\d+) (?:is trying to acquire|takes:|just changed the state)")
_HUNG = re.compile(r"^INFO: task (?P<comm>.+):(?P<pid>\d+) blocked for more than")
_TASK_DUMP = re.compile(r"^task:(?P<comm>\S+)\s+state:")

# The crash headers, first match wins: (regex, kind).
CRASH_HEADERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), kind) for p, kind in [
        (r"^WARNING: possible circular locking dependency detected", "lockdep-circular"),
        (r"^WARNING: possible recursive locking detected", "lockdep-recursive"),
        (r"^WARNING: inconsistent lock state", "lockdep-inconsistent"),
        (r"^WARNING: (?:HARDIRQ|SOFTIRQ)-safe -> (?:HARDIRQ|SOFTIRQ)-unsafe lock order detected", "lockdep-irq"),
        (r"^WARNING: (?:suspicious RCU usage|Invalid wait context|bad unlock balance|held lock freed"
         r"|lock held when returning|nested lock|locking bug)", "lockdep-other"),
        (r"^\[ BUG: (?:Invalid wait context|bad unlock balance)", "lockdep-other"),
        (r"^INFO: task .* blocked for more than", "hang"),
        (r"^INFO: rcu .*stall|^rcu: INFO: rcu_\w+ (?:self-)?detected (?:stall|expedited)|"
         r"^BUG: soft lockup|^BUG: workqueue lockup|^watchdog: BUG: soft lockup", "stall"),
        (r"^BUG: (?:KASAN|KMSAN|KCSAN|KFENCE)|^KASAN:|^UBSAN:", "memory-safety"),
        (r"^BUG: memory leak", "leak"),
        (r"^(?:BUG: unable to handle|BUG: kernel NULL pointer dereference|Unable to handle kernel"
         r"|general protection fault|Oops: general protection|Oops[: ]|BUG: stack guard page)", "oops"),
        (r"^(?:kernel BUG at|------------\[ cut here \]------------\s*kernel BUG|BUG: Bad page|BUG: )", "bug"),
        (r"^WARNING: (?:CPU: |kmalloc bug|.* at [\w./-]+:\d+)", "warning"),
        (r"^Kernel panic|^kernel panic", "panic"),
    ]
]
_HEADER_HINT = re.compile(r"^(?:WARNING|BUG|INFO|KASAN|UBSAN|Oops|Unable|general|kernel|Kernel|rcu|watchdog|\[ BUG)")

# Markers found in lines: (regex, kind). Kinds are shared with the parser's markers where they exist.
MARKERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I if i else 0), kind) for p, kind, i in [
        (r"FAULT_INJECTION: forcing a failure", "fault-injection", 0),
        (r"lost (?:async |sync )?page write", "lost-write", 0),
        (r"Buffer I/O error on dev(?:ice)? \S+, logical block \d+, lost", "lost-write", 0),
        # ext4's bio completion: the failed pages end writeback clean, with only an errseq mark left
        (r"I/O error -?\d+ writing to inode", "lost-write", 0),
        (r"This should not happen!! Data will be lost", "data-will-be-lost", 0),
        (r"failed to convert unwritten extents to written extents -- potential data loss", "unwritten-extents", 0),
        (r"page discard on page", "page-discard", 0),
        (r"Memory failure: .*dirty (?:LRU |page.cache |pagecache |shmem )?page", "hwpoison-dirty", 1),
        (r"I/O error,? .*\b(?:op 0x1:\(WRITE\)|WRITE)\b", "write-io-error", 0),
        (r"Delayed block allocation failed", "delalloc-failed", 0),
        (r"(?:EXT[234]-fs|XFS|BTRFS|F2FS|NILFS|ntfs3?)[^:]*\berror\b|[Cc]orrupt|bad block bitmap|"
         r"Structure needs cleaning", "fs-error", 0),
        (r"can't allocate|cannot allocate|failed to allocate|-ENOMEM\b|\berror -12\b", "alloc-failure", 1),
    ]
]
_MARKER_WORDS = ("FAULT_INJ", "lost", "Data will", "unwritten", "discard", "Memory failure", "I/O error", "Delayed",
                 "error", "orrupt", "allocate", "ENOMEM", "should not", "Structure needs")
_MARKER_HINT = re.compile(r"FAULT_INJ|lost|Data will|unwritten|discard|Memory failure|I/O error|Delayed|error|"
                          r"[Cc]orrupt|allocate|ENOMEM|should not|Structure needs")

# The parser's marker kinds mapped onto ours: kind -> (our kind, predicate on the marker dict or None).
PARSER_MARKERS: dict[str, tuple[str, Any]] = {
    "fault_injection": ("fault-injection", None),
    "lost_async_page_write": ("lost-write", None),
    "lost_page_write": ("lost-write", None),
    "buffer_io_error": ("lost-write", lambda m: bool(m.get("lost"))),
    "page_discard": ("page-discard", None),
    "data_will_be_lost": ("data-will-be-lost", None),
    "potential_data_loss": ("unwritten-extents", None),
    "memory_failure": ("hwpoison-dirty", lambda m: bool(m.get("dirty"))),
    "fs_error": ("fs-error", None),
    "fs_corruption": ("fs-error", None),
    "io_error": ("write-io-error", lambda m: str(m.get("op") or "").upper() == "WRITE"),
}

GFP_FLAG = re.compile(r"\b__GFP_[A-Z_]+\b|\bGFP_[A-Z_]+\b")
_GFP_LINE = re.compile(r"gfp_mask=|mode:0x|gfp=|GFP_")


def clean(line: str) -> str:
    """The line without quote / syslog / timestamp prefixes (a suffix of the original line)."""
    return _PREFIX.sub("", line, count=1).rstrip()


@lru_cache(maxsize=65536)
def norm_function(func: str) -> str:
    return _SUFFIX.sub("", func)


@dataclass(slots=True)
class VFrame:
    function: str          # normalized
    stack: str
    line: int              # 0-based index into ReportView.lines
    text: str              # the frame line as printed (without prefixes)
    unreliable: bool = False  # printed with "?": a stale return address on the stack


@dataclass(slots=True)
class Marker:
    kind: str
    line: int              # index into lines, -1 if it only came from the parser
    text: str
    pid: str | None = None
    comm: str | None = None
    error: int | None = None
    task_line: int = -1     # the "CPU: .. PID: .. Comm: .." line naming the task that printed it
    extra: str = ""         # the continuation line when a mail client wrapped the marker


@dataclass
class ReportView:
    title: str | None
    crash_type: str | None
    corrupted: bool
    lines: list[str]
    crash_kind: str = "none"          # kind of the primary crash, "none" if no header found
    crash_line: int = -1
    crash_function: str | None = None
    crash_function_line: int = -1
    crash_file: str | None = None
    crash_pid: str | None = None
    crash_comm: str | None = None
    crash_task_line: int = -1
    headers: list[tuple[int, str]] = field(default_factory=list)   # every crash header (line, kind)
    frames: list[VFrame] = field(default_factory=list)
    locks: list[tuple[str, int]] = field(default_factory=list)     # (lock name, line)
    usages: list[tuple[str, int]] = field(default_factory=list)    # (usage state, line)
    markers: list[Marker] = field(default_factory=list)
    gfp: list[tuple[str, int]] = field(default_factory=list)       # (flag, line; -1 from the parser)
    in_irq: bool = False
    _stacks: dict[str, list[VFrame]] | None = field(default=None, repr=False)

    # -- derived lookups ---------------------------------------------------------------------------
    def stack(self, name: str) -> list[VFrame]:
        return [f for f in self.frames if f.stack == name]

    def stacks(self) -> dict[str, list[VFrame]]:
        """Frames by stack, in print order (callee first); computed once."""
        if self._stacks is None:
            self._stacks = {}
            for f in self.frames:
                self._stacks.setdefault(f.stack, []).append(f)
        return self._stacks

    @property
    def crash_header(self) -> str | None:
        return self.lines[self.crash_line] if self.crash_line >= 0 else None

    @classmethod
    def build(cls, report: Any, text: str | None = None) -> ReportView:
        return _build(report, text)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


_DUMP_LINES = frozenset(["RAX:", "RBX:", "RCX:", "RDX:", "RSI:", "RDI:", "RBP:", "RSP:", "R08:", "R09:", "R10:",
                         "R11:", "R12:", "R13:", "R14:", "R15:", "Code", "FS: ", "CS: ", "CR2:", "DR0:", "DR3:",
                         "Hard", "Modu", "Call", "EFLA", "ORIG"])
_HEADER_FIRST = frozenset("WBIKUOugkrw[")


def _header_kind(line: str) -> str | None:
    if line[0] not in _HEADER_FIRST or not _HEADER_HINT.match(line):
        return None
    for rx, kind in CRASH_HEADERS:
        if rx.match(line):
            return kind
    return None


def _build(report: Any, text: str | None) -> ReportView:
    if text is None:
        text = _get(report, "report") or ""
    text = text.replace("\r\n", "\n")
    if _needs_clean(text):
        lines = [clean(x) for x in text.split("\n")]
    else:
        lines = text.split("\n")
    view = ReportView(title=_get(report, "title"), crash_type=_get(report, "type"),
                      corrupted=bool(_get(report, "corrupted", False)), lines=lines)
    stack = "pre"
    in_stack = 0                     # frames read since the last header / stack switch
    n_crash = n_fi = 0
    last_fi: Marker | None = None
    prev_delalloc_err: int | None = None
    in_irq = rip_seen = False
    n = len(lines)
    maybe_markers = any(w in text for w in _MARKER_WORDS)
    for i, s in enumerate(lines):
        if not s:
            continue
        if s[0] in " \t":
            s = s.lstrip()
            if not s:
                continue
        first = s[0]
        # frames first: the commonest line (cheap substring tests before the regex)
        j = s.find("+0x")
        if j > 0 and s[j - 1] != " ":
            # the usual frame "[? ][[<addr>] ]func+0xOFF/0xSIZE [module] [file:line]": string ops, no regex
            head = s[:j]
            sp = head.rfind(" ")
            func = head[sp + 1:]
            prefix = head[:sp + 1].strip() if sp >= 0 else ""
            if (not prefix or prefix == "?" or prefix[:2] == "[<") and func.replace(".", "_").isidentifier() \
                    and "/0x" in s[j:j + 40]:
                if view.headers and view.headers[-1][0] == i - 1 and _AT_FILE_END.search(lines[i - 1]):
                    if view.crash_line == i - 1 and view.crash_function is None:
                        view.crash_function, view.crash_function_line = norm_function(func), i
                    continue
                unreliable = prefix[-1:] == "?"
                view.frames.append(VFrame(norm_function(func), stack, i, s, unreliable))
                if not unreliable:
                    in_stack += 1
                    if in_irq and stack == "crash":
                        view.in_irq = True
                continue
        elif j < 0 and s.endswith(" [inline]"):
            # "func file.c:LINE [inline]"
            parts = s.split()
            if len(parts) == 3 and parts[0].replace(".", "_").isidentifier() and ":" in parts[1] and \
                    not (view.headers and view.headers[-1][0] == i - 1):
                view.frames.append(VFrame(norm_function(parts[0]), stack, i, s))
                in_stack += 1
                if in_irq and stack == "crash":
                    view.in_irq = True
                continue
        if s.endswith("[inline]") or (j > 0 and ".c:" in s):
            m = _FRAME.match(s)
            if m is not None and (m.group("off") or m.group("file")):
                if view.headers and view.headers[-1][0] == i - 1 and _AT_FILE_END.search(lines[i - 1]):
                    # a mail client wrapped "WARNING: ... at FILE:LINE" before the function name
                    if view.crash_line == i - 1 and view.crash_function is None:
                        view.crash_function, view.crash_function_line = norm_function(m.group("func")), i
                    continue
                unreliable = first == "?" or "] ? " in s[:40]
                view.frames.append(VFrame(norm_function(m.group("func")), stack, i, s, unreliable))
                if not unreliable:
                    in_stack += 1
                    if in_irq and stack == "crash":
                        view.in_irq = True
                continue
        if s[:4] in _DUMP_LINES:
            continue                         # register / code dump lines: never a header, lock or marker
        if first == "<":
            if s.startswith(("<IRQ>", "<SOFTIRQ>", "<NMI>")):
                in_irq = True
            elif s.startswith(("</IRQ>", "</SOFTIRQ>", "</NMI>", "<TASK>")):
                in_irq = False
            continue
        kind = _header_kind(s)
        if kind:
            view.headers.append((i, kind))
            if view.crash_line < 0:
                view.crash_line, view.crash_kind = i, kind
                n_crash = 1
                stack, in_stack = "crash", 0
                m = _WARN_AT.match(s)
                if m:
                    view.crash_pid, view.crash_file = m.group("pid"), m.group("file")
                    if m.group("func"):
                        view.crash_function, view.crash_function_line = norm_function(m.group("func")), i
                m = _HUNG.match(s)
                if m:
                    view.crash_comm, view.crash_pid, view.crash_task_line = m.group("comm"), m.group("pid"), i
            elif in_stack == 0 and stack.startswith("crash"):
                pass                 # another header line of the same crash (inline expansion, KASAN line)
            elif kind == "hang":
                m = _HUNG.match(s)
                stack, in_stack = (f"task:{m.group('comm')}/{m.group('pid')}" if m else f"task:{i}"), 0
            else:
                n_crash += 1
                stack, in_stack = f"crash-{n_crash}", 0
            in_irq = False
            continue
        if first == "-" and s.startswith("-> #"):
            m = _CHAIN.match(s)
            if m:
                stack, in_stack = f"lockdep-chain-{m.group('n')}", 0
        elif first == "s" and s.startswith("stack backtrace:"):
            if view.crash_line >= 0:
                stack, in_stack = "crash", 0
        elif first == "t" and s.startswith("task:"):
            m = _TASK_DUMP.match(s)
            if m and not (stack == "crash" and in_stack == 0):
                stack, in_stack = f"task:{m.group('comm')}", 0
        elif "state was registered at:" in s:
            stack, in_stack = "usage", 0
        # the RIP of the primary crash names the function it fired in
        if first in "RpPe" and stack == "crash" and not rip_seen:
            m = _RIP.match(s)
            if m and "0033:" not in s:
                rip_seen = True
                view.crash_function, view.crash_function_line = norm_function(m.group("func")), i
                continue
        if "PID:" in s and "Comm:" in s:
            m = _CPU_LINE.search(s)
            if m:
                if last_fi is not None and last_fi.pid is None and i - last_fi.line <= 4:
                    last_fi.pid, last_fi.comm, last_fi.task_line = m.group("pid"), m.group("comm"), i
                elif stack == "crash" and view.crash_task_line < 0 and \
                        (view.crash_pid is None or view.crash_pid == m.group("pid")):
                    view.crash_pid, view.crash_comm, view.crash_task_line = m.group("pid"), m.group("comm"), i
                continue
        if view.crash_task_line < 0 and view.crash_line >= 0 and "/" in s:
            m = _TASK_ACQ.match(s)
            if m:
                view.crash_comm, view.crash_pid, view.crash_task_line = m.group("comm"), m.group("pid"), i
        if "){" in s:
            for m in _LOCK.finditer(s):
                view.locks.append((m.group("name").strip(), i))
        elif first == "l" and s.startswith("lock("):
            m = _LOCK_SCENARIO.match(s)
            if m:
                view.locks.append((m.group("name").strip(), i))
        if "-W}" in s or "-R}" in s:
            for m in _USAGE.finditer(s):
                view.usages.append((m.group("usage"), i))
        if "GFP" in s or "gfp" in s or "mode:0x" in s:
            for m in GFP_FLAG.finditer(s):
                view.gfp.append((m.group(0), i))
        if maybe_markers and _MARKER_HINT.search(s):
            nxt = lines[i + 1].strip() if i + 1 < n else ""
            window = f"{s} {nxt}" if nxt else s
            mk = _marker(s, window, i)
            if mk is None:
                continue
            if mk.extra:
                mk.extra = nxt
            if mk.kind == "fault-injection":
                n_fi += 1
                stack, in_stack = f"fault-injection-{n_fi}", 0
                last_fi = mk
            elif mk.kind == "delalloc-failed":
                e = _ERRNO.search(window)
                prev_delalloc_err = abs(int(e.group(1))) if e else None
            elif mk.kind == "data-will-be-lost":
                mk.error = prev_delalloc_err
            elif mk.kind == "unwritten-extents":
                e = _ERRNO.search(window)
                mk.error = abs(int(e.group(1))) if e else None
            view.markers.append(mk)
    # unreliable "? func" frames are dropped, unless a stack has nothing else (some dumps print only those)
    reliable = {f.stack for f in view.frames if not f.unreliable}
    view.frames = [f for f in view.frames if not f.unreliable or f.stack not in reliable]
    if view.crash_line < 0:
        # a bare call trace: its frames are the crash
        for f in view.frames:
            if f.stack == "pre":
                f.stack = "crash"
    _merge_parser(view, report)
    return view


def _needs_clean(text: str) -> bool:
    """Whether some line may carry a console / syslog / mail-quote prefix (cheap substring tests)."""
    return text[:1] in "[>" or "\n[" in text or "\n>" in text or "\n >" in text or "kernel:" in text


# Lines that carry a console / syslog / mail-quote prefix somewhere in the text.
_NEEDS_CLEAN = re.compile(
    r"^(?:[ \t]*>|[ \t]*\[[ \t]*\d+\.\d+\]|\[\d{4}-\d\d-|[A-Z][a-z]{2} [ \d]\d \d\d:|kernel:)", re.M)
_FRAME_ML = re.compile(
    r"^[ \t]*(?:\[<[0-9a-fA-Fx]+>\][ \t]*)?(?:\?[ \t]+)?(?P<func>[A-Za-z_][\w.$]*)"
    r"(?P<off>\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?(?:[ \t]+\[(?P<module>[\w-]+)\])?"
    r"(?:[ \t]+(?P<file>[\w./+-]+\.(?:[chS]|rs)):(?P<line>-?\d+)(?::\d+)?)?(?:[ \t]+\[inline\])?"
    r"(?:[ \t]+[\w./+-]+\.[chS]:\d+)*[ \t]*$", re.M)
# Lines that may start a crash / stack / lockdep section, and lines that may hold a task, lock, gfp or marker.
_EVENT_START = re.compile(
    r"^[ \t]*(?:WARNING|BUG|INFO|KASAN|UBSAN|Oops|Unable|general protection|kernel BUG|[Kk]ernel panic|rcu|"
    r"watchdog|\[ BUG|-> #|stack backtrace|task:|</?(?:IRQ|SOFTIRQ|NMI|TASK)>|RIP|pc ?:|PC is at|epc|lock\()", re.M)
_EVENT_WORDS = (
    "PID: ", "){", "-W}", "-R}", "GFP", "gfp", "mode:0x", "FAULT_INJ", "lost", "Data will", "unwritten", "discard",
    "Memory failure", "I/O error", "Delayed", "error", "orrupt", "allocate", "ENOMEM", "should not",
    "is trying to acquire", "takes:", "just changed", "state was registered", "Structure needs", "bad block",
)
_AT_FILE_END = re.compile(r" at [\w./-]+:\d+$")
_ERRNO = re.compile(r"\berror (-?\d+)")


def _marker(s: str, window: str, i: int) -> Marker | None:
    """The first marker on line ``s``, also when a mail client wrapped it onto the next line."""
    for rx, kind in MARKERS:
        m = rx.search(window)
        if m and m.start() < len(s):
            mk = Marker(kind, i, s)
            mk.extra = "wrapped" if m.end() > len(s) else ""
            return mk
    return None


def _merge_parser(view: ReportView, report: Any) -> None:
    """Add what the parser found and the text scan did not: markers printed outside the report text (the
    parser reads the whole input; a stored report keeps only the crash), and decoded gfp flags."""
    seen = [m.text for m in view.markers]
    for pm in _get(report, "markers") or []:
        if not isinstance(pm, dict):
            continue
        mapped = PARSER_MARKERS.get(str(pm.get("kind")))
        if mapped is None or (mapped[1] is not None and not mapped[1](pm)):
            continue
        line = clean(str(pm.get("line") or "")).strip()
        if not line or any(line == t or line in t or t in line for t in seen):
            continue
        task = pm.get("task") if isinstance(pm.get("task"), dict) else {}
        pid = task.get("pid")
        err = pm.get("error")
        view.markers.append(Marker(mapped[0], -1, line, str(pid) if pid is not None else None, task.get("comm"),
                                   abs(err) if isinstance(err, int) else None))
        seen.append(line)
    have = {g for g, _ in view.gfp}
    for g in _get(report, "gfp") or []:
        flags = _get(g, "flags") or []
        if isinstance(flags, str):
            flags = GFP_FLAG.findall(flags)
        for flag in flags:
            if flag not in have:
                view.gfp.append((flag, -1))
                have.add(flag)
    if not view.frames:
        for f in _get(report, "frames") or []:
            fn = _get(f, "norm_function") or _get(f, "function")
            if fn:
                view.frames.append(VFrame(fn, _get(f, "stack") or "crash", -1, _get(f, "function") or fn))
