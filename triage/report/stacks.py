"""Every stack in a kernel report, each frame attributed to the stack it belongs to.

``extract_frames(text)`` scans the report line by line (linear time) and returns ``Frame`` objects (their
``norm_function`` the canonical name, ``normalize.canonical``) whose ``stack`` says where they come from:

    crash                         the crashing task's trace; the kernel RIP / pc / IP frame first
    crash-2, crash-3, ...         later traces printed by the same task (a second WARN/BUG in the excerpt)
    irq, nmi                      the <IRQ> / <NMI> / <SOFTIRQ> part of the crash trace (where it crashed)
    <stack>/irq, <stack>/nmi      the same sections inside any other stack
    lockdep-chain-N               the frames of the ``-> #N (lock){...}:`` entry of a lockdep report
    other-task:<comm>/<pid>       another task's trace (hung-task dumps, NMI backtraces of other CPUs, ...)
    allocated, freed              KASAN / KFENCE allocation and free stacks
    last-potentially-related, second-last-potentially-related
                                  KASAN aux (call_rcu / work creation) stacks
    page-alloc, page-free         page_owner stacks of the page that holds the buggy address
    stack                         a trace whose owner the text does not say (no crash trace before it)

Frames printed as ``? func+0x1/0x2`` (unreliable: a stale return address the unwinder found on the
stack) are left out, as syzkaller does (``Frame`` has no field to flag them), except in a trace that has
no reliable frame at all (32-bit or frame-pointer-less kernels print only those): then they are all we have.

``lockdep_locks(text)`` lists the locks a lockdep report names: per chain link, the acquire/held pair,
the ``Chain exists of`` list, the unsafe-scenario table and the usage states of an inconsistent-lock-state
report (``{IN-RECLAIM_FS-W} -> {RECLAIM_FS-ON-W}``).
"""

from __future__ import annotations

import re
from itertools import islice, repeat, takewhile
from operator import itemgetter

from triage.report.frames import frame_fields, parse_frame_line, read_frame_fields
from triage.report.lines import messages, word_lines
from triage.report.memo import MAX_KEY, MAX_SIZE, Table
from triage.report.model import Frame
from triage.report.normalize import canonical_name

# ---------------------------------------------------------------------------------------------------------
# Lines that open a stack, with the label of the stack they open. First match wins.
# A label containing "{...}" is formatted with the match's groups.
_OPENERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^-> #(?P<n>\d+) "), "lockdep-chain-{n}"),
    (re.compile(r"^(?:Allocated|Allocation) by task -?\d+|^Allocated in |^allocated by task \d+"), "allocated"),
    (re.compile(r"^Freed by task -?\d+|^Freed in |^freed by task \d+"), "freed"),
    (re.compile(r"^Second to last (?:potentially related work creation|call_rcu\(\) call trace)"),
     "second-last-potentially-related"),
    (re.compile(r"^Last (?:potentially related work creation|call_rcu\(\) call trace)"), "last-potentially-related"),
    (re.compile(r"^page last allocated via order|^page allocated via order"), "page-alloc"),
    (re.compile(r"^page last free(?:d)? (?:stack trace|pid \d+ tgid \d+ stack trace)"), "page-free"),
    (re.compile(r"^\{(?P<state>[A-Z_-]+)\} state was registered at:"), "lockdep-usage:{state}"),
]

# "Call Trace:" ends the line; a console race can glue it to the previous message ("...0000Call Trace:").
_CALL_TRACE = re.compile(r"(?:^|[\s\w])Call [Tt]race:\s*$|^\s*(?:Backtrace|Stack backtrace):?\s*$")
_CPU_LINE = re.compile(r"CPU: \d+ (?:UID: \d+ |)PID: (?P<pid>\d+) Comm: (?P<comm>\S.*?)(?: (?:Not tainted|Tainted:)|$)")
_HUNG = re.compile(r"^INFO: task (?P<comm>.+):(?P<pid>\d+) (?:blocked for more than|can't die)")
# sched_show_task(): "task:syz-executor state:D stack:0 pid:1234 ..." (5.x+) and the old column format
# "syz-executor6   D21192  4522      1 0x00000004" (comm, state, free stack, pid, ppid, flags).
_TASK_NEW = re.compile(r"^task:(?P<comm>.+?)\s+state:\S+ .*?\bpid:\s*(?P<pid>\d+)")
_TASK_OLD = re.compile(r"^(?P<comm>\S.{0,15}?)\s+[RSDTtXZPIWK]\s*\d+\s+(?P<pid>\d+)\s+\d+\s+0x[0-9a-f]+\s*$")
_HEX = "0123456789abcdef"     # (a line ``_TASK_OLD`` matches ends with "0x", these, then blanks)

# The crashing instruction: x86 RIP/IP, arm64 pc, arm PC. (``_act_outside`` tries it on a line without a test of its
# words first: a match fails at the line's first characters, for fewer instructions than a call that looks for the
# words; ``_step_in_trace``, which has the stripped line, after a test of its start.)
_IP = re.compile(
    r"^\s*+(?:RIP: (?:[0-9a-f]{4}:|)|IP: |pc : |PC is at |EIP: (?:[0-9a-f]{4}:|))"
    r"(?:\[<[0-9a-fx]++>\]\s*+)*+(?P<rest>.*)$"
)
# What every (stripped) line ``_IP`` matches starts with: a trace's other lines ("RAX: ...", "Code: ...") are not
# tried (a match call costs more than the test, even one that fails at the first character)
_IP_STARTS = ("RIP:", "IP:", "pc :", "PC is at", "EIP:")
# Markers inside a trace, each a whole (stripped) line: the start of an interrupt section (its kind), the end of one
# or the start of the task's part (""), the end of the trace (None).
_TRACE_MARKS: dict[str, str | None] = {"<IRQ>": "IRQ", "<NMI>": "NMI", "<SOFTIRQ>": "SOFTIRQ", "</IRQ>": "",
                                       "</NMI>": "", "</SOFTIRQ>": "", "<EOI>": "", "<TASK>": "", "</TASK>": None}
# Lines that end any open trace.
_ENDERS = re.compile(
    r"^(?:---\[ end |Kernel panic|Kernel Offset|Rebooting in|Dumping ftrace|Showing all locks held|"
    r"Showing busy workqueues|=====|-----|other info that might help|Chain exists of|"
    r" Possible unsafe locking scenario|The buggy address|Memory state around|BUG: |WARNING: |"
    r"INFO: |Modules linked in|Sending NMI from|Mem-Info:|\d+ locks? held by|no locks held by)"
)
# Lines a trace may contain that are not frames (registers, code bytes, user-mode RIP, module lists).
_NOISE = re.compile(
    r"^\s*+(?:R[SABCD]X|R[SD]I|RBP|RSP|R\d{1,2}|FS|CS|CR2|DR[0-7]|Code|ORIG_RAX|EFLAGS|RIP: 0033|"
    r"x\d+\s*:|sp :|lr :|pstate|PKRU|RAX|Hardware name|irq event stamp|hardirqs|softirqs|"
    r"task:|Workqueue:|NMI backtrace|\[<[0-9a-f]+>\]\s*$|r\d+\s*:|Exception stack|Function entered at)"
)
_NOISE_FIRST = frozenset("RFCDOExslpPHihtWN[r")     # the first characters of ``_NOISE``'s alternatives
ARM32_FRAME = re.compile(r"^\s*\[<[0-9a-f]+>\] \((?P<func>[A-Za-z_.$][\w.$]*)(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?\) from \[<")
_UNRELIABLE = re.compile(r"^\s*(?:\[<[0-9a-fA-Fx]+>\]\s*)?\? ")
_MODULE_BUILD_ID = re.compile(r"\[([\w-]+) [0-9a-f]{16,64}\]")
_DOUBLE_LOC = re.compile(r"(\.(?:[chS]|rs):\d+(?: \[inline\])?)(?: [\w./+-]{1,200}\.(?:[chS]|rs):\d+)+\s*$")
_PPC = re.compile(r"^\s*\[[0-9a-f]{8,16}\]\s+\[[0-9a-f]{8,16}\]\s+")
_RESET_IP = re.compile(r"^(?:WARNING: CPU: \d+ PID: \d+ at |NMI backtrace for cpu \d+|stack backtrace:)")
_RESET_IP_STARTS = ("WARNING: CPU: ", "NMI backtrace for cpu ", "stack backtrace:")


def _union(*patterns: str) -> re.Pattern[str]:
    """One regexp matching where any of ``patterns`` matches (named groups dropped)."""
    return re.compile("|".join("(?:" + re.sub(r"\(\?P<\w+>", "(?:", p) + ")" for p in patterns))


_OPENER_ANY = _union(*(rx.pattern for rx, _ in _OPENERS))
# The first characters of the lines ``_OPENER_ANY`` may match (each opener's alternatives start "^" and one of these):
# a line starting otherwise is not tried (the union has no literal start: ``re`` tries each alternative at a line).
# tests/test_report_stacks.py checks it against every opener's lines in the real reports.
_OPENER_FIRST = frozenset("-AaFfSLp{")
# Any line _act_outside acts on (one test instead of a dozen matches for the lines it ignores): the expressions
# anchored at the start in one match (but _TASK_OLD: half its cost, and only a line holding "0x" can match it), the
# others each after a substring they contain.
_OUTSIDE_AT_START = _union(_OPENER_ANY.pattern, r"^\s*(?:Backtrace|Stack backtrace):?\s*$", _HUNG.pattern,
                           r"^task:", _RESET_IP.pattern, _IP.pattern, r"^\s*\? ")
_OFFSET = re.compile(r"\+0x[0-9a-fA-F]+/0x")


class _ActsOutside(Table):
    """Whether ``_act_outside`` acts on a line (remembered per line: half the lines it is asked about are lines of
    other reports of the same build, "Call Trace:", inline frames outside a trace)."""

    def __missing__(self, line: str) -> bool:
        value = (("+0x" in line and _OFFSET.search(line) is not None) or _OUTSIDE_AT_START.match(line) is not None
                 or ("0x" in line and _TASK_OLD.match(line) is not None)
                 or ("CPU: " in line and _CPU_LINE.search(line) is not None)
                 or ("race:" in line and _CALL_TRACE.search(line) is not None))
        if len(line) <= MAX_KEY:              # (``memo._Table.__missing__``'s rule, written out: a call less a miss)
            if len(self) >= MAX_SIZE:
                self.clear()
            self[line] = value
        return value


_acts_outside = _ActsOutside().__getitem__
_MAX_GAP = 3          # unknown non-frame lines tolerated inside a trace before it is closed


class _Scan:
    """State of one pass over a report."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.label: str | None = None       # label of the open trace (None: no trace open)
        self.tag: str | None = None         # console tag of the open trace's lines
        self.base: str | None = None        # label outside an <IRQ> section
        self.gap = 0
        self.pending_ip: Frame | None = None
        self.ip_frame: Frame | None = None  # the RIP/pc frame just added (its twin in the trace is dropped)
        self.reliable = 0                   # reliable frames in the open trace
        self.unreliable: list[Frame] = []   # its "? func" frames, kept only if it has no reliable one
        self.resumable: tuple[str | None, str | None, str | None] | None = None  # trace cut by interleaving
        self.crash_task: tuple[str, str] | None = None    # (comm, pid) of the crashing task
        self.expect: tuple[str, str] | None = None        # hung task named by "INFO: task X:pid blocked"
        self.crash_seen = False
        self.crash_count = 0
        self.cur_task: tuple[str, str] | None = None

    # -- labels --------------------------------------------------------------------------------
    def label_for_task(self, task: tuple[str, str] | None) -> str:
        """Label of a trace printed for ``task``: crash, crash-N or other-task:comm/pid."""
        if not self.crash_seen:
            if self.expect is None or task is None or task[1] == self.expect[1]:
                if task is not None:
                    self.crash_task = task
                return "crash"
        if task is None:
            return self.next_crash_label() if self.crash_task is None else "stack"
        if self.crash_task is not None and task[1] == self.crash_task[1]:
            return self.next_crash_label()
        return f"other-task:{task[0]}/{task[1]}"

    def next_crash_label(self) -> str:
        return f"crash-{self.crash_count + 1}" if self.crash_seen else "crash"

    # -- traces --------------------------------------------------------------------------------
    def open(self, label: str, tag: str | None) -> None:
        self.close()
        if label == "crash" or label.startswith("crash-"):
            if self.crash_seen and label == "crash":
                label = self.next_crash_label()
            self.crash_seen = True
            self.crash_count += 1
        self.label = self.base = label
        self.tag = tag
        self.gap = 0
        if self.pending_ip is not None:
            self.add(self.pending_ip)
            self.ip_frame, self.pending_ip = self.pending_ip, None

    def close(self) -> None:
        if self.label is not None and self.reliable == 0 and self.unreliable:
            self.frames.extend(self.unreliable)      # a trace with nothing else: its "?" frames are all we have
        self.unreliable = []
        self.reliable = 0
        self.label = self.base = None
        self.gap = 0

    def add(self, frame: Frame) -> None:
        frame.stack = self.label or "stack"
        self.reliable += 1
        last, self.ip_frame = self.ip_frame, None
        if (last is not None and last.function == frame.function and last.offset == frame.offset
                and last.line == frame.line):
            return                           # arm64: "pc :" repeats as the first Call trace frame
        self.frames.append(frame)


def _irq_label(base: str, kind: str) -> str:
    kind = "nmi" if kind == "NMI" else "irq"
    return kind if base == "crash" else f"{base}/{kind}"


def _ip_frame(m: re.Match[str], label: str) -> Frame | None:
    """The frame of an ``_IP`` line's match (its ``norm_function`` the canonical name, as every frame here)."""
    f = parse_frame_line(" " + m.group("rest").strip(), label)
    if f is not None:
        f.norm_function = canonical_name(f.function)
    return f


class _LineFields(Table):
    """A trace line's ``Frame`` fields but the stack (``norm_function`` the canonical name), and last whether the line
    is a plain frame line (not an unreliable one, ``? func`` or ``[<addr>] ? func``: the frames a trace takes without
    a look at anything else); ``_NO_FRAME`` for a line that is not a frame. Remembered per line (see
    ``frames.frame_fields``); the usual lines read here, the others by ``_other_line_fields``."""

    def __missing__(self, line: str) -> tuple:
        if "+0x" not in line and "." not in line and "[" not in line:
            value = _NO_FRAME                 # (a register or code line: every frame form needs one of these)
        else:
            m = _USUAL_FRAME.match(line)
            if m is not None and (m[2] or m[5]):
                func, off, size, module, file, lineno, inline = m.groups()
                value = func, canonical_name(func), off, size, file, int(lineno) if lineno else None, \
                    inline is not None, module, True
            else:
                value = _other_line_fields(line)
        # (``memo._Table.__missing__``'s rule, written out: a call less a miss)
        if len(line) <= MAX_KEY:
            if len(self) >= MAX_SIZE:
                self.clear()
            self[line] = value
        return value


def _other_line_fields(line: str) -> tuple:
    """``_LineFields`` of a line ``_USUAL_FRAME`` does not read."""
    if "+0x" not in line and "[inline]" not in line and ".c:" not in line and ".h:" not in line \
            and ".S:" not in line and ".rs:" not in line and ") from [<" not in line:
        return _NO_FRAME
    if _NOT_FRAME.match(line):
        return _NO_FRAME
    first = line.lstrip()[:1]
    # a plain frame line: what ``_step_in_trace`` does not take as unreliable
    plain = first != "?" and (first != "[" or _UNRELIABLE.match(line.strip()) is None)
    if ") from [<" in line:
        m = ARM32_FRAME.match(line)
        if m:
            func = m.group("func")
            return func, canonical_name(func), None, None, None, None, False, None, plain
    read = line
    if first == "[" and line.lstrip()[:2] != "[<":
        m = _PPC.match(line)
        if m:
            if line.endswith("(unreliable)"):
                return _NO_FRAME
            read = " " + line[m.end():]
    fields = read_frame_fields(read)         # (not ``frame_fields``: this function's table remembers the line)
    if fields is None and ("[" in read or read.count(":") > 1):
        # forms parse_frame_line does not take: "[xfs <build id>]" module tags, doubled "file:line file:line"
        # (each ``sub`` only where its regexp matches: a ``sub`` parses its template on every call)
        fixed = _MODULE_BUILD_ID.sub(r"[\1]", read) if _MODULE_BUILD_ID.search(read) else read
        fixed = _DOUBLE_LOC.sub(r"\1", fixed) if _DOUBLE_LOC.search(fixed) else fixed
        if fixed != read:
            fields = frame_fields(fixed)
    if fields is None:
        return _NO_FRAME
    func, _norm, off, size, file, lineno, inline, module = fields
    return func, canonical_name(func), off, size, file, lineno, inline, module, plain


# A line no frame form reads (``_USUAL_FRAME``, ``frames.FRAME_RE`` with or without the fixes, arm32's, ppc's): past
# blanks a "#" (" #0: ... (lock){...}, at: f+0x1/0x2") or a label and its colon ("BUG: ... in f+0x1/0x2", "RIP: ...",
# "lr : ...": a function name is never followed by ":"; no console prefix starts so)
_NOT_FRAME = re.compile(r"\s*+(?:#|[A-Za-z_][A-Za-z0-9_]*+ ?:)")
# ``_LineFields`` of a line that is not a frame: a tuple (its last field false, as a frame line's that is not
# plain), so that ``_PLAIN`` can read any line's fields
_NO_FRAME = (None, None, None, None, None, None, False, None, False)
_PLAIN = itemgetter(8)
# The usual frame line, read whole (four in five distinct frame lines): blanks, then ``FRAME_RE``'s fields with a
# blank for each ``\s+``, an ASCII line ending at its last field (any other form takes the general path, which
# reads the same fields from a line this matches). Written for ``re``'s matcher, same matches and groups: an
# optional part as ``(?:X|)`` (a greedy ``?`` of a group runs its general repeat, a third of the cost), a run no
# backtracking can shorten possessive (``++``, ``*+``: each is followed by a character it does not hold).
_USUAL_FRAME = re.compile(r" ++([A-Za-z_.$][A-Za-z0-9_.$]*+)(?:\+(0x[0-9a-fA-F]++)/(0x[0-9a-fA-F]++)|)"
                          r"(?: \[([A-Za-z0-9_-]++)\]|)(?: ([A-Za-z0-9_./+-]+\.[chS]|[A-Za-z0-9_./+-]+\.rs):([0-9]++)|)"
                          r"(?:( \[inline\])|)\Z")
_frame_fields = _LineFields().__getitem__


def _frame_of(fields: tuple, label: str) -> Frame:
    """The frame of a line's ``_frame_fields`` (a frame's), in the stack ``label``."""
    return Frame(fields[0], fields[1], label, *fields[2:8])


def extract_frames(text: str) -> list[Frame]:
    """All frames of all stacks in ``text``, in order, each with its ``stack`` label (see module doc)."""
    if not isinstance(text, str) or ("+0x" not in text and ".c:" not in text):
        return []
    s = _Scan()
    frames = s.frames
    fields_of = _frame_fields
    out_first = _OUT_FIRST
    texts, tags = messages(text)
    lines = enumerate(zip(repeat(None) if tags is None else tags, texts, strict=False))
    for i, (tag, line) in lines:
        label = s.label
        if label is not None:
            if tag is not None and s.tag is not None and tag != s.tag and line.strip():
                continue                     # another CPU's line interleaved into this trace
            # the usual line of a trace, a reliable frame, read here (``_step_in_trace`` does the rest)
            fields = fields_of(line)
            if fields[8]:                             # ``_Scan.add``, inlined
                s.reliable += 1
                s.gap = 0
                if s.ip_frame is not None:
                    last, s.ip_frame = s.ip_frame, None
                    if last.function == fields[0] and last.offset == fields[2] and last.line == fields[5]:
                        continue              # arm64: "pc :" repeats as the first Call trace frame
                frames.append(_frame_of(fields, label))
                if tags is None:
                    # the plain frame lines that follow (most of a trace): taken together, no step per line
                    run = list(takewhile(_PLAIN, map(fields_of, islice(texts, i + 1, None))))
                    if run:
                        s.reliable += len(run)
                        func, norm, off, size, file, lineno, inline, module, _ = zip(*run, strict=True)
                        frames.extend(map(Frame, func, norm, repeat(label), off, size, file, lineno, inline, module))
                        next(islice(lines, len(run) - 1, None), None)     # (the loop goes on past them)
                continue
            if _step_in_trace(s, line, fields):
                continue
        elif not (line.lstrip()[:1] in out_first or "CPU: " in line or "race:" in line or " 0x" in line
                  or "+0x" in line):
            continue                         # (``_OUT_FIRST``): nothing ``_act_outside`` acts on
        if _acts_outside(line):
            _act_outside(s, line, tag)
    s.close()
    return s.frames


def _step_in_trace(s: _Scan, line: str, fields: tuple) -> bool:
    """Handle one line while a trace is open (``fields``: its ``_frame_fields``); False if the line closed it and
    must be looked at again."""
    stripped = line.strip()
    if not stripped:
        s.resumable = (s.label, s.base, s.tag)     # frames right after a blank line continue this trace
        s.close()
        return True
    if stripped[0] == "?" or (stripped[0] == "[" and _UNRELIABLE.match(stripped)):
        # unreliable: left out unless the trace has nothing else
        if fields[0] is not None and len(s.unreliable) < 200:
            s.unreliable.append(_frame_of(fields, s.label or "stack"))
        return True
    if fields[0] is not None:
        s.add(_frame_of(fields, s.label or "stack"))
        s.gap = 0
        return True
    if stripped in _TRACE_MARKS:
        kind = _TRACE_MARKS[stripped]
        if kind:
            s.label = _irq_label(s.base or "stack", kind)
        elif kind is None:
            s.close()
        else:
            s.label = s.base
        return True
    m = _IP.match(line) if stripped.startswith(_IP_STARTS) else None
    if m:
        if not line.startswith("RIP: 0033"):
            f = _ip_frame(m, s.label or "stack")
            if f is not None:
                s.add(f)
        return True
    noise = stripped[0] in _NOISE_FIRST and _NOISE.match(line) is not None    # (past blanks: what strip drops)
    if "race" not in line and noise:
        return True                      # (first: no line _NOISE matches is one of _ENDERS or _OPENER_ANY)
    if _ENDERS.match(line):
        s.resumable = (s.label, s.base, s.tag)     # "Kernel panic" from another CPU may cut a trace in two
        s.close()
        return False
    if (line[:1] in _OPENER_FIRST and _OPENER_ANY.match(line)) or ("race" in line and _CALL_TRACE.search(line)):
        s.close()
        return False
    if noise:
        return True
    s.gap += 1
    if s.gap > _MAX_GAP:
        s.resumable = (s.label, s.base, s.tag)
        s.close()
    return True


# The first characters (past blanks) of the lines ``_act_outside`` may act on, but those found by the substrings
# ``extract_frames`` tests beside them ("CPU: ", "race:", " 0x", "+0x"): most console lines outside a trace are none.
_OUT_FIRST = frozenset("-AaFfSLpIbtT?RPENWs{")


def _act_outside(s: _Scan, line: str, tag: str | None) -> None:
    """A line while no trace is open (one ``_acts_outside`` says it acts on): headers that say whose trace comes
    next, a frame that resumes a cut trace or opens an anonymous one."""
    if s.resumable is not None and "+0x" in line and not _UNRELIABLE.match(line):
        fields = _frame_fields(line)
        if fields[2] is not None:                   # a frame with an offset
            s.label, s.base, s.tag = s.resumable    # the trace an interleaved line or blank had cut
            s.resumable = None
            s.add(_frame_of(fields, "stack"))
            return
    s.resumable = None
    # Each expression below is tried only on a line holding a text it needs (most lines here are frames), but
    # ``_IP`` (see there).
    if line[:1] in _OPENER_FIRST and _OPENER_ANY.match(line):
        for rx, label in _OPENERS:
            m = rx.match(line)
            if m:
                s.open(label.format(**m.groupdict()), tag)
                return
    if "race" in line and _CALL_TRACE.search(line):
        s.open(s.label_for_task(s.cur_task), tag)
        return
    m = _HUNG.match(line) if line.startswith("INFO: task ") else None
    if m:
        if not s.crash_seen and s.expect is None:
            s.expect = (m.group("comm"), m.group("pid"))
        return
    m = (_TASK_NEW.match(line) if line.startswith("task:") else None) or \
        (_TASK_OLD.match(line) if line.rstrip().rstrip(_HEX).endswith("0x") else None)
    if m:
        s.cur_task = (m.group("comm").strip(), m.group("pid"))
        s.pending_ip = None
        return
    m = _CPU_LINE.search(line) if "CPU: " in line else None
    if m:
        s.cur_task = (m.group("comm").strip(), m.group("pid"))
        return
    if line.startswith(_RESET_IP_STARTS) and _RESET_IP.match(line):
        s.pending_ip = None
        return
    m = _IP.match(line)
    if m:
        if not line.startswith("RIP: 0033"):
            f = _ip_frame(m, "crash")
            if f is not None:
                s.pending_ip = f
        return
    if "? " in line and _UNRELIABLE.match(line):
        return
    # A trace pasted without its header (mail excerpts): frames with offsets open an anonymous trace.
    fields = _frame_fields(line)
    if fields[2] is not None:
        s.open(s.label_for_task(s.cur_task), tag)
        s.add(_frame_of(fields, "stack"))


# ---------------------------------------------------------------------------------------------------------
# lockdep: the locks a report names.

# "(ptrval)" / "(____ptrval____)": the hashed address 4.15-4.17 printed before the lock name.
_LOCK = re.compile(r"\((?!(?:____|)ptrval(?:____|)\))(?P<name>[^{}\n]{1,300})\)\{(?P<state>[^{}\s]{0,16})\}"
                   r"(?:-\{(?P<wait>\d+:\d+)\}|)")
_AT = re.compile(r", at: (?:\[<[0-9a-f]+>\] |)(?P<func>[A-Za-z_][\w.]*)")
_TRYING = re.compile(r"^(?P<task>\S+/\d+) (?:\[\S*\] |)is trying to acquire lock:")
_HOLDING = re.compile(r"^but task is already holding lock:|^but this lock (?:took|was taken by)")
_CHAIN_LINK = re.compile(r"^-> #(?P<n>\d+) ")
_CHAIN_EXISTS = re.compile(r"^Chain exists of:")
_SCENARIO = re.compile(r"^\s*Possible (?:unsafe locking scenario|interrupt unsafe locking scenario)")
_SCEN_HEADER = re.compile(r"^\s*CPU0(?:\s+CPU1|)\s*$")
_SCEN_LOCK = re.compile(r"(?P<op>lock|rlock|rlock_shared|lock_shared|<Interrupt>)\((?P<name>.{1,300}?)\);|<Interrupt>")
_INCONSISTENT = re.compile(r"^inconsistent \{(?P<from>[A-Z_-]+)\} -> \{(?P<to>[A-Z_-]+)\} usage\.")
_USAGE_REG = re.compile(r"^\{(?P<state>[A-Z_-]+)\} state was registered at:")
_TAKES = re.compile(r"^(?P<task>\S+/\d+) \[\S*\] (?:takes|has):")
_HELD_BY = re.compile(r"^\d+ locks? held by (?P<comm>.+)/(?P<pid>\d+):")
_HELD = re.compile(r"^\s*#(?P<n>\d+):")
_IRQ_INVERSION = re.compile(r"^(?:which would create a new lock dependency|and this task is already holding:)")
_ANY_LOCKDEP_LINE = _union(*(rx.pattern for rx in (_CHAIN_LINK, _TRYING, _HOLDING, _IRQ_INVERSION, _CHAIN_EXISTS,
                                                   _SCENARIO, _INCONSISTENT, _TAKES, _USAGE_REG, _HELD_BY)))




# A line without any of these starts nothing: "{" (every lock and usage state), then the words of the headers of
# _ANY_LOCKDEP_LINE
LOCKDEP_WORDS = ("{", "lock:", "holding", "Chain", "Possible", "held by", "takes:", "has:", "this lock",
                 "lock dependency")


def _lock_of(line: str) -> dict | None:
    # (every lock holds ")\{": a line without it is none, without the search, which tries up to 300 characters
    # past each "(" of the line)
    m = _LOCK.search(line) if "){" in line else None
    if not m:
        return None
    name, state, wait = m.group("name", "state", "wait")
    d = {"lock": name, "state": state}
    if wait:
        d["wait"] = wait
    at = _AT.search(line, m.end())
    if at:
        d["at"] = at.group("func")
    return d


def lockdep_locks(text: str, present: set[str] | None = None) -> list[dict]:
    """Locks named by a lockdep report, in order, as dicts with a ``role``:

    - ``acquiring`` / ``holding``: the new lock and the held one (``is trying to acquire`` / ``already holding``)
    - ``chain``: the lock of chain link ``link`` (``-> #N (lock){...}:``)
    - ``chain-exists``: ``locks``, the ``Chain exists of: A --> B --> C`` list
    - ``scenario``: ``cpu`` (0/1), ``step`` and ``lock`` (or ``op: "<Interrupt>"``) of the unsafe scenario
    - ``usage``: ``from`` / ``to`` of ``inconsistent {FROM} -> {TO} usage.``; ``registered``: a usage state's
      registration (``{IN-RECLAIM_FS-W} state was registered at:``); ``inconsistent``: the lock it names
    - ``held``: lock ``index`` held by ``task`` ({comm, pid}) in a ``N locks held by comm/pid:`` list
    - ``other``: a lock printed anywhere else (a dependency dump, a held-lock list broken by interleaving)
    Every dict has the ``lineno`` it was read from and that ``line`` (cleaned, stripped). Lock names keep their
    text (``fs_reclaim``, ``&ei->xattr_sem``, ``(wq_completion)events``); each dict also has ``state``
    (``+.+.``), ``wait`` (``0:0``) and ``at`` (the function) when printed.

    ``present``: the words of ``LOCKDEP_WORDS`` ``text`` holds (and maybe others), when the caller knows them (one
    pass of a word set): only those are searched for.
    """
    if not isinstance(text, str) or "{" not in text:
        return []
    words = LOCKDEP_WORDS if present is None else tuple(filter(present.__contains__, LOCKDEP_WORDS))
    out: list[dict] = []
    mode: str | None = None         # which lock line the previous header announced
    held_task: dict | None = None
    held_seen: set[tuple[str, str, str]] = set()
    scen_col: int | None = None
    scen_step = 0
    in_scenario = False
    chain_exists = False
    fold: tuple[dict | None, int] = (None, 0)    # the entry a run of repeated lock lines folds into, its last line
    # the lines that may hold one (one search per word), in order: between two lines of a header's run, the loop
    # goes to the next of these directly (a line without any of LOCKDEP_WORDS, see below) without a step per line
    starts = sorted(word_lines(text, words))
    texts = messages(text).texts
    n, n_starts = len(texts), len(starts)
    i = k = 0                                   # the next line's index; the first of ``starts`` not below it
    while True:
        if mode is None and not chain_exists and not in_scenario:
            while k < n_starts and starts[k] < i:
                k += 1
            if k == n_starts:
                break
            i = starts[k]
        if i >= n:
            break
        line = texts[i]
        i += 1
        lineno = i
        stripped = line.strip()
        if chain_exists:
            if stripped:
                locks = [p.strip() for p in stripped.split(" --> ")]
                out.append({"lineno": lineno, "line": stripped, "role": "chain-exists", "locks": locks})
                chain_exists = False
            continue
        if in_scenario:
            if _SCEN_HEADER.match(line):
                scen_col = line.find("CPU1") if "CPU1" in line else None
                continue
            if stripped.startswith("*** DEADLOCK") or (not stripped and scen_step):
                in_scenario = False
                continue
            for m in _SCEN_LOCK.finditer(line):
                col = m.start()
                cpu = 1 if scen_col is not None and col >= scen_col - 2 else 0
                scen_step += 1
                entry = {"lineno": lineno, "line": stripped, "role": "scenario", "cpu": cpu, "step": scen_step}
                if m.group("name") is None:
                    entry["op"] = "<Interrupt>"
                else:
                    entry["op"] = m.group("op")
                    entry["lock"] = m.group("name").strip()
                out.append(entry)
            continue
        # a line without any of LOCKDEP_WORDS starts nothing (its raw text may hold one its message lacks)
        if mode is None and not any(map(line.__contains__, words)):
            continue
        if mode is not None and stripped:
            lock = _lock_of(line)
            if lock is not None:
                if mode == "held":
                    m = _HELD.match(line)
                    idx = m.group("n") if m else "?"
                    key = (held_task["pid"] if held_task else "", idx, lock["lock"])
                    if key not in held_seen:
                        held_seen.add(key)
                        out.append({"lineno": lineno, "line": stripped, "role": "held",
                                    "index": int(idx) if idx.isdigit() else None, "task": held_task, **lock})
                    continue
                out.append({"lineno": lineno, "line": stripped, "role": mode, **lock})
                if mode in ("acquiring", "holding", "inconsistent"):
                    mode = None
                continue
            if mode == "held" and not _HELD.match(line):
                mode = None
        if _ANY_LOCKDEP_LINE.match(line):           # (one test for the lines none of these headers starts)
            m = _CHAIN_LINK.match(line)
            if m:
                lock = _lock_of(line)
                if lock is not None:
                    out.append({"lineno": lineno, "line": stripped, "role": "chain", "link": int(m.group("n")),
                                **lock})
                mode = None
                continue
            if _TRYING.match(line):
                mode = "acquiring"
                continue
            if _HOLDING.match(line) or _IRQ_INVERSION.match(line):
                mode = "holding"
                continue
            if _CHAIN_EXISTS.match(line):
                chain_exists = True
                continue
            if _SCENARIO.match(line):
                in_scenario, scen_col, scen_step = True, None, 0
                continue
            m = _INCONSISTENT.match(line)
            if m:
                out.append({"lineno": lineno, "line": stripped, "role": "usage", "from": m.group("from"),
                            "to": m.group("to")})
                continue
            if _TAKES.match(line):
                mode = "inconsistent"
                continue
            m = _USAGE_REG.match(line)
            if m:
                out.append({"lineno": lineno, "line": stripped, "role": "registered", "state": m.group("state")})
                continue
            m = _HELD_BY.match(line)
            if m:
                held_task = {"comm": m.group("comm"), "pid": int(m.group("pid"))}
                mode = "held"
                continue
        for lk in _LOCK.finditer(line) if "){" in line else ():
            last = out[-1] if out else None
            if last is not None and last.get("lock") == lk.group("name") and (
                    last["lineno"] == lineno - 1 or (fold[0] is last and fold[1] == lineno - 1)):
                fold = (last, lineno)            # the symbolizer repeating a lock line per inlined frame
                continue
            out.append({"lineno": lineno, "line": stripped, "role": "other", "lock": lk.group("name"),
                        "state": lk.group("state")})
    return out
