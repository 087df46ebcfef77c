"""The whole input, read once line by line: every crash header, frame and evidence marker, with its line.

``parse`` extracts one report (the first crash, as syzkaller would) and describes it; the labels are decided by
weighing that crash against what the rest of the log shows: a fault injection 40 lines earlier in the same
task, a lost write after a hang, the other tasks of a hung-task dump. ``read_console(text)`` gives that, for
the input exactly as given (line numbers are the input's: evidence a maintainer can find):

- ``events``: every crash header, with its kind (``KINDS``: warning, lockdep-circular, hang, memory-safety, ...)
  and the task the header or its ``CPU: N PID: M Comm: X`` line names;
- ``crash``: the primary crash, the first header: its kind, the function it fired in (``WARNING ... at FILE:LINE
  func`` / ``RIP:``), its file, its task and the line naming it, whether its stack ran in interrupt context,
  and the lines just before it;
- ``frames``: every frame (its function without compiler suffixes such as ``.constprop.0``; ``unreliable``
  when printed with ``?``), with its line and the stack it belongs to (stack names as in ``triage.report.stacks``:
  ``crash``, ``crash-N`` for later crash headers, ``lockdep-chain-N``, ``lockdep-usage:STATE``,
  ``other-task:COMM/PID`` for other tasks of a hang, ``fault-injection-N`` for the stack a ``FAULT_INJECTION``
  message prints, ``stack`` before any header); unreliable ``? func`` frames are dropped unless their stack has
  nothing else;
- ``markers``: evidence markers (``triage.report.markers``), the task each was printed by, and for a fault
  injection the ``CPU:`` line that follows it;
- ``locks``: the lockdep locks and usage states (``stacks.lockdep_locks``); ``gfp``: every gfp mask, decoded
  with the layout of ``kernel`` (``gfp.find_gfp``).

One pass, linear in the input; each line is cut to ``lines.MAX_LINE`` characters first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.report import markers as mk
from triage.report.frames import strip_suffix
from triage.report.gfp import LINE_WORDS, find_gfp
from triage.report.lines import LineView, Messages, messages
from triage.report.stacks import ARM32_FRAME, LOCKDEP_WORDS, lockdep_locks
from triage.report.wordset import WordSet

# The crash headers, first match wins: (regexp, kind). The kinds are the words rules.toml's ``crash`` uses.
CRASH_KINDS: list[tuple[re.Pattern[str], str]] = [
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
         r"|general protection fault|Oops: general protection|Oops[: ]|BUG: stack guard page"
         r"|divide error: )", "oops"),
        (r"^(?:kernel BUG at|------------\[ cut here \]------------\s*kernel BUG|BUG: Bad page|BUG: )", "bug"),
        (r"^WARNING: (?:CPU: |kmalloc bug|.* at [\w./-]+:\d+|[\w./-]+:\d+ at \S)", "warning"),
        (r"^Kernel panic|^kernel panic", "panic"),
    ]
]
KINDS: tuple[str, ...] = (*dict.fromkeys(kind for _, kind in CRASH_KINDS), "none")
# CRASH_KINDS as one match: group ``kN`` is row N (an alternation takes its first alternative that matches)
_CRASH_ANY = re.compile("|".join(f"(?P<k{n}>{rx.pattern})" for n, (rx, _) in enumerate(CRASH_KINDS)))
_CRASH_KIND = {f"k{n}": kind for n, (_, kind) in enumerate(CRASH_KINDS)}
_HEADER_FIRST = frozenset("WBIKUOugkrw[d")
# First characters of the lines ``_Walk.line`` may act on without a word tested for it: "<IRQ>"..., headers,
# "-> #", "stack backtrace:", "task:", "NMI backtrace", "RIP:" / "pc :" / "PC is at" / "epc :".
_ACTS_FIRST = _HEADER_FIRST | frozenset("<-stNRpPe")
_HEADER_HINT = re.compile(
    r"^(?:WARNING|BUG|INFO|KASAN|UBSAN|Oops|Unable|general|kernel|Kernel|rcu|watchdog|\[ BUG|divide)")

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
_RIP = re.compile(r"^(?:RIP|pc|PC is at|epc)\s*:\s*(?:0010:)?(?:\[<[0-9a-f]+>\]\s*)?(?P<func>[A-Za-z_][\w.]*)")
_CPU_LINE = re.compile(r"\bCPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>\S+)")
_WARN_AT = re.compile(r"^WARNING: CPU: \d+ PID: (?P<pid>\d+) at (?P<file>[^\s:]+):\d+(?:\s+(?P<func>[A-Za-z_][\w.]*))?")
# the format of 6.18+: "WARNING: mm/vmalloc.c:3940 at vmalloc_fix_flags+0x9c/0xe0 mm/vmalloc.c:3939, CPU#0: syz/6023"
_WARN_AT_NEW = re.compile(r"^WARNING: (?P<file>[^\s:]+):\d+ at (?P<func>[A-Za-z_][\w.]*)[^,]*, CPU#\d+: "
                          r"(?P<comm>.+)/(?P<pid>\d+)\s*$")
_NMI = re.compile(r"^NMI backtrace for cpu (?P<cpu>\d+)")
_CHAIN = re.compile(r"^-> #(?P<n>\d+) \(")
_TASK_ACQ = re.compile(r"^(?P<comm>\S+)/(?P<pid>\d+) (?:is trying to acquire|takes:|just changed the state|"
                       r"is leaving the kernel with locks still held|is trying to release lock|is freeing memory|"
                       r"is exiting with locks still held)")
_TAG_PID = re.compile(r"^T(\d+)$")
_HUNG = re.compile(r"^INFO: task (?P<comm>.+):(?P<pid>\d+) blocked for more than")
_TASK_DUMP = re.compile(r"^task:(?P<comm>\S+)\s+state:(?:.*?\bpid:\s*(?P<pid>\d+))?")
_USAGE_STACK = re.compile(r"^\{(?P<state>[A-Z_-]+)\} state was registered at:")
_AT_FILE_END = re.compile(r" at [\w./-]+:\d+$")
# Register / code dump lines: never a header, a task or a marker.
_DUMP_LINES = frozenset(["RAX:", "RBX:", "RCX:", "RDX:", "RSI:", "RDI:", "RBP:", "RSP:", "R08:", "R09:", "R10:",
                         "R11:", "R12:", "R13:", "R14:", "R15:", "Code", "FS: ", "CS: ", "CR2:", "DR0:", "DR3:",
                         "Hard", "Modu", "Call", "EFLA", "ORIG"])
LINES_BEFORE = 3          # lines kept before the primary crash header (the error message a failing path printed)
MAX_FRAMES = 5_000        # bounds on what one input can make the structure hold (it is stored with the report)
MAX_EVENTS = 1_000
MAX_MARKERS = 2_000
MAX_LOCKS = 2_000
MAX_GFP = 1_000
# The words the reading's whole-text searches ask about, found by one pass of a word set: the marker table's gates
# (``mk.hints``), the words of a gfp mask's line (``find_gfp`` reads none without one) and of lockdep's lines
# (``lockdep_locks`` searches only those the text holds); a text without "{" has no lockdep lock, one without
# "fs_reclaim" no fs_reclaim marker.
_TEXT_WORDS = WordSet(tuple(dict.fromkeys((*mk.GATE_WORDS, *LINE_WORDS, *LOCKDEP_WORDS, "fs_reclaim"))))
TEXT_WORDS: tuple[str, ...] = _TEXT_WORDS.words      # what a caller's own pass must search to answer for this one


@dataclass
class Console:
    """What ``read_console`` found (see the module doc); every item is JSON-able."""

    crash: dict | None = None
    events: list[dict] = field(default_factory=list)
    frames: list[dict] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    locks: list[dict] = field(default_factory=list)     # stacks.lockdep_locks: lockdep locks and usage states
    gfp: list[dict] = field(default_factory=list)       # gfp.find_gfp: every gfp mask, decoded


def header_kind(line: str) -> str | None:
    """The crash kind a (cleaned, stripped) line announces, or None."""
    if not line or line[0] not in _HEADER_FIRST or not _HEADER_HINT.match(line):
        return None
    m = _CRASH_ANY.match(line)
    return _CRASH_KIND[m.lastgroup] if m is not None else None


_PLAIN, _INLINE, _ARM = 0, 1, 2       # frame line forms (``_frame_shape``)
_strip = strip_suffix                 # a function name without compiler suffixes (remembered per name)

# The two usual frame lines as one match each of the stripped line reads them (a subset of the lines
# ``_frame_shape``'s string tests accept, with the same reading: ASCII names, spaces between the parts): a line
# with "+0x" "[[<addr>] ][? ]func+0xOFF/0xSIZE..." (``q``: the "?" of an unreliable frame), one without
# "func file.c:LINE [inline]". Any other line is left to ``_frame_shape``. Written for ``re``'s cheap steps, with
# the same matches and groups: an optional part as "(?:X|)" (X, else nothing: ``re`` runs "(?:X)?" as its general
# repeat), and a run the character after it can never continue taken possessively ("*+", "++", "{1,34}+": giving a
# character back never makes a match).
_PLAIN_FRAME = re.compile(r"(?:\[<[0-9a-fA-F]++>\] ++|)(?:(?P<q>\?) ++|)"
                          r"(?P<f>[A-Za-z_][A-Za-z0-9_.]*+)\+0x[0-9a-fA-F]{1,34}+/0x")
# The first character of a (stripped) line ``_frame_shape`` may read as a frame, past an identifier's first: its
# function's when it has no prefix ("." is "_" to its test), the "[<addr>]" or "?" prefix (``_FRAME``, arm32's).
_FRAME_START = frozenset("[?.")
# A line that starts with a name and a colon ("RIP:", "BUG:", "WARNING:"): no reading of ``_frame_shape`` takes it
# (its function would hold the colon, or follow a prefix other than "?" or "[<addr>]"; arm32's starts with "[<")
_label = re.compile(r"[A-Za-z_][\w.$]*:").match
_INLINE_FRAME = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*+) ++[A-Za-z0-9_./-]++:[0-9]++(?::[0-9]++|) ++\[inline\]$")


def _may_be_frame(s: str) -> bool:
    """Whether ``_frame_shape`` may read the (stripped, non-empty) line ``s`` as a frame: it starts as a frame does
    ("[<addr>]", "? ", a name: ``_FRAME_START``) and not with a name and a colon (``_label``)."""
    return (s[0] in _FRAME_START or s[0].isidentifier()) and not _label(s)


def _frame_shape(s: str) -> tuple[int, str, bool] | None:
    """What a (stripped) line is as a frame: None if no frame; else (form, function without compiler suffixes
    (``strip_suffix``), unreliable). An ``_INLINE`` frame ("func file.c:LINE [inline]") right after a header is
    that header's cut-off rest, not a frame (``_other_frame_shape`` reads it as no ``_INLINE`` frame); a
    ``_PLAIN`` frame right after one names the header's function (``_Walk.header_frame``)."""
    j = s.find("+0x")
    if j > 0 and s[j - 1] != " ":
        # the usual frame "[? ][[<addr>] ]func+0xOFF/0xSIZE [module] [file:line]": string ops, no regexp
        head = s[:j]
        sp = head.rfind(" ")
        func = head[sp + 1:]
        prefix = head[:sp + 1].strip() if sp >= 0 else ""
        if (not prefix or prefix == "?" or prefix[:2] == "[<") and func.replace(".", "_").isidentifier() \
                and "/0x" in s[j:j + 40]:
            return _PLAIN, _strip(func), prefix[-1:] == "?"
    elif j < 0 and s.endswith(" [inline]"):
        parts = s.split()             # "func file.c:LINE [inline]"
        if len(parts) == 3 and parts[0].replace(".", "_").isidentifier() and ":" in parts[1]:
            return _INLINE, _strip(parts[0]), False
    return _other_frame_shape(s, j)


def _other_frame_shape(s: str, j: int) -> tuple[int, str, bool] | None:
    """``_frame_shape`` of the forms string ops do not read: by ``_FRAME``, then arm32's."""
    if s.endswith("[inline]") or (j > 0 and ".c:" in s):
        m = _FRAME.match(s)
        if m is not None and (m.group("off") or m.group("file")):
            return _PLAIN, _strip(m.group("func")), s[0] == "?" or "] ? " in s[:40]
    if ") from [<" in s:
        m = ARM32_FRAME.match(s)        # arm32: "[<pc>] (func) from [<lr>] (caller+0x1/0x2)"
        if m is not None:
            return _ARM, _strip(m.group("func")), False
    return None


def _task(comm: str | None, pid: str | int | None) -> dict:
    return {"comm": comm, "pid": int(pid) if pid is not None else None}


class _Walk:
    """State of one pass (the stack being printed, the primary crash, the open fault injection)."""

    def __init__(self, text: str, kernel: str | None, words: set[str] | None = None):
        self.texts, self.tags = messages(text)
        self.out = Console()
        self.stack = "stack"
        # the count of reliable frames read when the stack began (``switch``) and when it or the interrupt state last
        # changed (``settle``): what a stack read is told from these, with no step per frame
        self.mark = self.irq_mark = 0
        self.n_crash = self.n_fi = 0
        self.in_irq = self.rip_seen = False
        self.crash_irq = False
        self.n_unreliable = 0             # "? func" frames read
        self.last_fi: dict | None = None
        self.event_task_open: dict | None = None     # the last event, until a CPU line names its task
        self.prev_header = -1                        # index of the last header line
        self.ctx: dict = {"kernel": kernel, "tag_pid": None, "delalloc": None}
        self.found = _TEXT_WORDS.present(text) if words is None else words      # (``_TEXT_WORDS``)
        self.gate = mk.hints(text, self.found)
        # the lines a message marker may be on (its gate's words found in the text, a superset): one search
        self.gate_lines = self.gate.message_lines(text) if self.gate.message is not None else ()

    @property
    def lines(self) -> LineView:
        """The lines as ``Line`` objects (what the marker readers take), each made when a reader looks at it."""
        return LineView(Messages(self.texts, self.tags))

    # -- frames ------------------------------------------------------------------------------------------
    def frame(self, i: int, func: str, s: str, unreliable: bool) -> None:
        """A frame of ``func`` (compiler suffixes stripped) on line ``i`` (``s``: stripped)."""
        if len(self.out.frames) >= MAX_FRAMES:
            return
        frame = {"function": func, "stack": self.stack, "lineno": i + 1, "line": s}
        if unreliable:
            frame["unreliable"] = True
            self.n_unreliable += 1
        self.out.frames.append(frame)

    def settle(self) -> None:
        """Before the stack or the interrupt state changes: ``crash_irq`` if the crash's stack read a reliable frame
        in interrupt context since the state began."""
        total = len(self.out.frames) - self.n_unreliable
        if total > self.irq_mark and self.in_irq and self.stack == "crash":
            self.crash_irq = True
        self.irq_mark = total

    def switch(self, stack: str) -> None:
        """The stack the frames that follow belong to."""
        self.settle()
        self.stack, self.mark = stack, self.irq_mark

    def no_frame(self) -> bool:
        """Whether the stack has no reliable frame yet."""
        return len(self.out.frames) - self.n_unreliable == self.mark

    def header_frame(self, i: int, func: str) -> bool:
        """A frame line right after a header cut by a mail client at "at FILE:LINE": the header's function (``func``:
        compiler suffixes stripped)."""
        if self.prev_header == i - 1 and _AT_FILE_END.search(self.texts[i - 1].rstrip()):
            crash = self.out.crash
            if crash is not None and crash["lineno"] == i and crash["function"] is None:
                crash.update(function=func, function_lineno=i + 1,
                             function_line=self.texts[i].strip())
            return True
        return False

    def try_frame(self, i: int, s: str, shape: tuple[int, str, bool]) -> bool:
        """A frame line right after a header line (``shape``: its ``_frame_shape``); False if it is none there."""
        kind, func, unreliable = shape
        if kind == _INLINE:
            shape = _other_frame_shape(s, -1)
            if shape is None:
                return False
            kind, func, unreliable = shape
        if kind == _ARM or not self.header_frame(i, func):
            self.frame(i, func, s, unreliable)
        return True

    # -- headers -----------------------------------------------------------------------------------------
    def header(self, i: int, s: str, kind: str) -> None:
        event: dict = {"kind": kind, "lineno": i + 1, "line": s, "task": None, "task_lineno": None}
        m = _WARN_AT.match(s) if kind == "warning" else None
        new = _WARN_AT_NEW.match(s) if kind == "warning" and m is None else None
        hung = _HUNG.match(s) if kind == "hang" else None
        if m:
            event["task"] = _task(None, m.group("pid"))
        if new:
            event.update(task=_task(new.group("comm"), new.group("pid")), task_lineno=i + 1)
        tag = self.tags[i] if self.tags is not None else None
        tag = _TAG_PID.match(tag) if tag else None
        if tag and event["task"] is None:
            event["task"] = _task(None, tag.group(1))       # the console caller tag: the task that printed it
        if hung:
            event.update(task=_task(hung.group("comm"), hung.group("pid")), task_lineno=i + 1)
        if len(self.out.events) < MAX_EVENTS:
            self.out.events.append(event)
        self.event_task_open = event if event["task_lineno"] is None else None
        if self.out.crash is None:
            before = [[k + 1, self.texts[k].rstrip()] for k in range(max(0, i - LINES_BEFORE), i)]
            crash = {"kind": kind, "lineno": i + 1, "line": s, "function": None, "function_lineno": None,
                     "function_line": None, "file": None, "task": None, "task_lineno": None, "task_line": None,
                     "in_irq": False, "before": before}
            if m:
                crash.update(task=_task(None, m.group("pid")), file=m.group("file"))
                if m.group("func"):
                    crash.update(function=strip_suffix(m.group("func")), function_lineno=i + 1, function_line=s)
            if new:
                crash.update(task=_task(new.group("comm"), new.group("pid")), task_lineno=i + 1, task_line=s,
                             file=new.group("file"), function=strip_suffix(new.group("func")),
                             function_lineno=i + 1, function_line=s)
            if hung:
                crash.update(task=_task(hung.group("comm"), hung.group("pid")), task_lineno=i + 1, task_line=s)
            if crash["task"] is None and event["task"] is not None:
                crash["task"] = dict(event["task"])
            self.out.crash = crash
            self.n_crash = 1
            self.switch("crash")
        elif self.stack.startswith("crash") and self.no_frame():
            # another header line of the same crash (inline expansion, KASAN line): the event it repeats
            if len(self.out.events) >= 2 and self.out.events[-1] is event:
                prev = self.out.events[-2]
                event["repeat_of"] = prev.get("repeat_of", len(self.out.events) - 2)
        elif kind == "hang":
            self.switch(f"other-task:{hung.group('comm')}/{hung.group('pid')}" if hung else "other-task")
        else:
            self.n_crash += 1
            self.switch(f"crash-{self.n_crash}")
        self.settle()
        self.in_irq = False

    # -- the pass ----------------------------------------------------------------------------------------
    def line(self, i: int, s: str) -> None:
        """Line ``i``, stripped (``s``: not empty), when it is no frame."""
        first = s[0]
        if s[:4] in _DUMP_LINES:
            return
        if first == "<":
            if s.startswith(("<IRQ>", "<SOFTIRQ>", "<NMI>")):
                self.settle()
                self.in_irq = True
            elif s.startswith(("</IRQ>", "</SOFTIRQ>", "</NMI>", "<TASK>")):
                self.settle()
                self.in_irq = False
            return
        kind = header_kind(s) if first in _HEADER_FIRST else None
        if kind:
            self.header(i, s, kind)
            self.prev_header = i
            self.marker(i, s, header=True)
            return
        crash = self.out.crash
        if first == "-" and s.startswith("-> #"):
            m = _CHAIN.match(s)
            if m:
                self.switch(f"lockdep-chain-{m.group('n')}")
        elif first == "s" and s.startswith("stack backtrace:"):
            if crash is not None:
                self.switch("crash")
        elif first == "t" and s.startswith("task:"):
            m = _TASK_DUMP.match(s)
            if m and not (self.stack == "crash" and self.no_frame()):
                name = m.group("comm") + (f"/{m.group('pid')}" if m.group("pid") else "")
                self.switch(f"other-task:{name}")
        elif first == "N" and s.startswith("NMI backtrace for cpu"):
            m = _NMI.match(s)           # a running CPU's stack, not a blocked task's nor the crash's
            self.switch(f"nmi:cpu{m.group('cpu') if m else '?'}")
        elif "state was registered at:" in s:
            m = _USAGE_STACK.match(s)
            self.switch(f"lockdep-usage:{m.group('state')}" if m else "lockdep-usage")
        # the RIP of the primary crash names the function it fired in
        if first in "RpPe" and self.stack == "crash" and not self.rip_seen:
            m = _RIP.match(s)
            if m and "0033:" not in s:
                self.rip_seen = True
                crash.update(function=strip_suffix(m.group("func")), function_lineno=i + 1, function_line=s)
                return
        if "PID:" in s and "Comm:" in s:
            m = _CPU_LINE.search(s)
            if m:
                self.cpu_line(i, s, m)
                return
        if crash is not None and crash["task_lineno"] is None and "/" in s:
            m = _TASK_ACQ.match(s)
            if m:
                crash.update(task=_task(m.group("comm"), m.group("pid")), task_lineno=i + 1, task_line=s)
        if i in self.gate_lines:
            self.marker(i, s)

    def cpu_line(self, i: int, s: str, m: re.Match[str]) -> None:
        task = _task(m.group("comm"), m.group("pid"))
        ev = self.event_task_open
        if ev is not None:
            if ev["task"] is None or ev["task"]["pid"] == task["pid"]:
                ev.update(task=task, task_lineno=i + 1)
            self.event_task_open = None
        fi = self.last_fi
        if fi is not None and fi["task_lineno"] is None and i + 1 - fi["lineno"] <= 4:
            fi.update(task=task, task_lineno=i + 1, task_line=s)
            return
        crash = self.out.crash
        if self.stack == "crash" and crash["task_lineno"] is None and \
                (crash["task"] is None or crash["task"]["pid"] == task["pid"]):
            crash.update(task=task, task_lineno=i + 1, task_line=s)

    def marker(self, i: int, s: str, header: bool = False) -> None:
        gate = self.gate.header if header else self.gate.message
        if gate is None or gate.search(s) is None:      # (matches() asks again: this spares the window)
            return
        texts = self.texts
        nxt = texts[i + 1].strip() if i + 1 < len(texts) else ""
        if len(self.out.markers) >= MAX_MARKERS:
            return
        for row, m in mk.matches(s, f"{s} {nxt}" if nxt else s, header, self.gate):
            d = mk.marker(row, m, self.lines, i, self.ctx)
            if d is not None:
                break
        else:
            return
        if m.end() > len(s) and nxt:
            d["continued"] = nxt
        last = self.out.markers[-1] if self.out.markers else None
        if row.on == "header" and last is not None and last["kind"] == d["kind"] and last["lineno"] == i and \
                last.get("file") == d.get("file"):
            # the symbolizer repeats a WARNING header per inlined function: one marker, the last (real) one
            self.out.markers[-1] = d
            return
        if d["kind"] == "fault-injection":
            self.n_fi += 1
            self.switch(f"fault-injection-{self.n_fi}")
            self.last_fi = d
        self.out.markers.append(d)


def read_console(text: str, kernel: str | None = None, first_lineno: int = 1,
                 words: set[str] | None = None) -> Console:
    """Events, the primary crash, frames by stack, markers, locks and gfp masks of the whole ``text`` (see the
    module doc). ``kernel``: the release the gfp masks are decoded for; ``first_lineno``: the input line
    number of ``text``'s first line (when it is a part of a bigger input); ``words``: the ``TEXT_WORDS`` ``text``
    holds (it may hold other words too), when the caller's own pass read them."""
    if not isinstance(text, str):
        return Console()
    w = _Walk(text, kernel, words)
    out = w.out
    frames, gate_lines = out.frames, w.gate_lines
    try_frame, other = w.try_frame, w.line
    texts = w.texts
    plain, inline = _PLAIN_FRAME.match, _INLINE_FRAME.match
    for i, s in enumerate(texts):
        s = s.strip()
        if not s:
            continue
        # ``_frame_shape(s)``: only a line with one of its words can be a frame, the usual ones read by a match
        shape = None
        if "+0x" in s:
            m = plain(s)
            if m is not None:
                q, f = m.groups()
                if q is None and w.prev_header != i - 1:
                    # the usual frame line: a reliable ``_PLAIN`` frame not right after a header (as below)
                    if len(frames) < MAX_FRAMES:
                        frames.append({"function": _strip(f) if "." in f else f, "stack": w.stack, "lineno": i + 1,
                                       "line": s})     # (most names have no dot)
                    continue
                shape = (_PLAIN, _strip(f) if "." in f else f, q is not None)
            elif _may_be_frame(s):
                shape = _frame_shape(s)
        elif "[inline]" in s:
            m = inline(s)
            if m is not None:
                f = m[1]
                if w.prev_header != i - 1:
                    # the usual inlined frame line, not right after a header: as the usual frame line above
                    if len(frames) < MAX_FRAMES:
                        frames.append({"function": _strip(f) if "." in f else f, "stack": w.stack, "lineno": i + 1,
                                       "line": s})
                    continue
                shape = (_INLINE, _strip(f) if "." in f else f, False)
            elif _may_be_frame(s):
                shape = _frame_shape(s)
        elif ") from [<" in s:
            shape = _frame_shape(s)
        if shape is not None:
            if w.prev_header != i - 1:
                # a frame line not right after a header (``try_frame`` of every form), ``_Walk.frame`` inlined
                if len(frames) < MAX_FRAMES:
                    stack = w.stack
                    if shape[2]:
                        frames.append({"function": shape[1], "stack": stack, "lineno": i + 1, "line": s,
                                       "unreliable": True})
                        w.n_unreliable += 1
                    else:
                        frames.append({"function": shape[1], "stack": stack, "lineno": i + 1, "line": s})
                continue
            if try_frame(i, s, shape):
                continue
        elif (s[0] not in _ACTS_FIRST and i not in gate_lines and "PID:" not in s
              and "state was registered at:" not in s
              and ("/" not in s or out.crash is None or out.crash["task_lineno"] is not None)) or s[:4] in _DUMP_LINES:
            continue                    # a line ``_Walk.line`` does nothing with (the crash's task line: "comm/pid")
        other(i, s)
    w.settle()
    if out.crash is not None:
        out.crash["in_irq"] = w.crash_irq
    # unreliable "? func" frames are dropped, unless a stack has nothing else (some dumps print only those)
    if w.n_unreliable:
        reliable = {f["stack"] for f in out.frames if "unreliable" not in f}
        out.frames = [f for f in out.frames if "unreliable" not in f or f["stack"] not in reliable]
    if out.crash is None:
        for f in out.frames:              # a bare call trace: its frames are the crash
            if f["stack"] == "stack":
                f["stack"] = "crash"
    found = w.found
    if "{" in found:
        out.locks = lockdep_locks(text, found)[:MAX_LOCKS]
        if "fs_reclaim" in found:
            out.markers += mk.fs_reclaim_markers(out.locks, w.lines)
            out.markers.sort(key=lambda d: d["lineno"])
    if not found.isdisjoint(LINE_WORDS):
        out.gfp = find_gfp(text, kernel)[:MAX_GFP]
    attribute(out)
    if first_lineno != 1:
        _shift(out, first_lineno - 1)
    return out


def attribute(out: Console) -> None:
    """Each marker's ``event``: the index in ``out.events`` of the crash it belongs to, or None. A header marker
    belongs to its header's event; a marker whose task the log names (``task.pid``: its caller tag, the
    ``CPU: N PID: M`` line after a fault injection) to that task's event, the last one printed before it,
    else the first after it; any other marker (a bio completion's lost write, an fs error) to no event."""
    events = out.events
    for e in events:
        root = events[e["repeat_of"]] if "repeat_of" in e else None
        if root is not None and root["task"] is None and e["task"] is not None:
            root.update(task=e["task"], task_lineno=e["task_lineno"])     # the task line follows the repeat
    by_pid: dict[int, list[int]] = {}
    for k, e in enumerate(events):
        pid = (e.get("task") or {}).get("pid")
        if pid is not None and "repeat_of" not in e:
            by_pid.setdefault(pid, []).append(k)
    at_line = {e["lineno"]: e.get("repeat_of", k) for k, e in enumerate(events)}
    for m in out.markers:
        k = at_line.get(m["lineno"])
        if k is None:
            pid = (m.get("task") or {}).get("pid")
            ks = by_pid.get(pid) if pid is not None else None
            if ks:
                before = [j for j in ks if events[j]["lineno"] <= m["lineno"]]
                k = before[-1] if before else ks[0]
        m["event"] = k


_LINENOS = ("lineno", "task_lineno", "function_lineno")


def _shift(out: Console, by: int) -> None:
    """Line numbers of a part of the input made line numbers of the input."""
    items = [*out.events, *out.frames, *out.markers, *out.locks, *out.gfp]
    if out.crash is not None:
        items.append(out.crash)
        out.crash["before"] = [[n + by, t] for n, t in out.crash["before"]]
    for d in items:
        for key in _LINENOS:
            if isinstance(d.get(key), int):
                d[key] += by
