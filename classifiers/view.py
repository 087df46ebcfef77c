"""What the classifiers look at: the parsed ``Report``, organised for the rules and the features.

``ReportView.build(report)`` reads only the parser's ``Report`` (``triage.report``): the parser is the one
reader of kernel text. The facts the labels depend on come from its console reading of the whole input, each
tied to a line a maintainer can find (line numbers are the input's, 1-based; ``None`` when unknown):

- the *primary crash* (``Report.crash``): its header line, kind, task and the function it fired in;
- frames grouped into stacks (``Report.trace``: ``crash``, ``crash-N``, ``lockdep-chain-N``,
  ``fault-injection-N``, ``other-task:COMM/PID``, ``lockdep-usage:STATE``, ``stack``);
- lockdep lock names and usage states (``Report.locks``), markers with the task that printed them and the
  event (crash header) they belong to (``Report.markers``, kinds of ``vocab.markers``) and gfp flags
  (``Report.gfp``);
- every crash header (``Report.events``: the primary crash is event 0) and the kernel release, as printed or,
  when the log does not say, bounded by the allocator's frame names (``kernel_range``).

A report stored by an older parser (no console fields) is re-parsed from its text by
``classifiers.store_rows`` before it gets here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import compress, count
from operator import attrgetter, itemgetter, ne
from typing import Any

from triage.report.context import kernel_tuple

# lockdep_locks roles that name a lock class (the chain-exists list and usage rows do not)
_LOCK_ROLES = frozenset({"acquiring", "holding", "chain", "inconsistent", "held", "scenario", "other"})

# A frame is the parser's ``Report.trace`` entry, as is: {"function" (no compiler suffix), "stack", "lineno",
# "line"} (no copy: a report prints hundreds).
Frame = dict[str, Any]


_STACK = itemgetter("stack")
_NO_KINDS: frozenset[str] = frozenset()
_NO_REPEATS: frozenset[int] = frozenset()
_FUNCTION = itemgetter("function")

# Kernel releases are compared as (major, minor); the open ends of a range.
OLDEST, NEWEST = (0, 0), (99, 99)
# Allocator frame names tell a release when the log does not print it: (frame, since, until).
_ERA_FRAMES = (("__alloc_frozen_pages_noprof", (6, 15), NEWEST), ("__alloc_pages_noprof", (6, 10), NEWEST),
               ("alloc_pages_mpol_noprof", (6, 10), NEWEST), ("__alloc_pages_nodemask", OLDEST, (5, 12)))


@dataclass(slots=True)
class Marker:
    kind: str
    line: int | None
    text: str
    pid: int | None = None
    comm: str | None = None
    error: int | None = None      # errno, positive
    task_line: int | None = None  # the line naming the task that printed it
    extra: str = ""               # the continuation line when a mail client wrapped the marker
    event: int | None = None      # the event (index of ``ReportView.headers``) it belongs to, None: none
    fields: dict[str, Any] = field(default_factory=dict)   # the parser's marker, with its kind's fields
    #                                                        (device, fs, page_write, ...): read, never copied


@dataclass(slots=True)
class ReportView:
    title: str | None
    crash_type: str | None
    corrupted: bool
    lines: dict[int, str] = field(default_factory=dict)   # the text of every line the facts below name
    crash_kind: str = "none"          # kind of the primary crash, "none" if no header found
    crash_line: int | None = None
    crash_function: str | None = None
    crash_function_line: int | None = None
    crash_file: str | None = None
    crash_pid: int | None = None
    crash_comm: str | None = None
    crash_task_line: int | None = None
    # The sequences below default to empty tuples (a view is read, never changed: most reports have no
    # markers, gfp masks or repeated headers, and a view is built per report)
    before: Sequence[int] = ()                       # the lines just above the crash header
    headers: Sequence[tuple[int, str]] = ()          # every crash header (line, kind)
    repeats: AbstractSet[int] = frozenset()          # headers that repeat an earlier one
    kernel: str | None = None
    frames: Sequence[Frame] = ()
    locks: Sequence[tuple[str, int]] = ()            # (lock name, line)
    usages: Sequence[tuple[str, int]] = ()           # (usage state, line)
    markers: Sequence[Marker] = ()
    gfp: Sequence[tuple[str, int | None]] = ()       # (flag, line)
    in_irq: bool = False
    _stacks: dict[str, Sequence[Frame]] | None = field(default=None, repr=False)
    _names: dict[str, list[str]] | None = field(default=None, repr=False)
    _kinds: frozenset[str] | None = field(default=None, repr=False)
    _kernel_range: tuple[tuple[int, int], tuple[int, int]] | None = field(default=None, repr=False)

    # -- derived lookups ---------------------------------------------------------------------------
    def stack(self, name: str) -> list[Frame]:
        return [f for f in self.frames if f["stack"] == name]

    def stacks(self) -> dict[str, Sequence[Frame]]:
        """Frames by stack, in print order (callee first); computed once."""
        if self._stacks is None:
            frames = self.frames
            of = list(map(_STACK, frames))
            if not of:
                self._stacks = {}
            elif of.count(of[0]) == len(of):           # one stack (most reports): the report's list, read only
                self._stacks = {of[0]: frames}
            else:           # a stack's frames are printed together: cut where the stack's name changes
                stacks: dict[str, list[Frame]] = {}
                cuts = [0, *compress(count(1), map(ne, of[1:], of)), len(of)]
                for a, b in zip(cuts, cuts[1:], strict=False):
                    name = of[a]
                    got = stacks.get(name)
                    if got is None:
                        stacks[name] = frames[a:b]
                    else:
                        got += frames[a:b]
                self._stacks = stacks
        return self._stacks

    def names(self, stack: str) -> list[str]:
        """The function names of stack ``stack``'s frames (``stacks()``), in order; computed once per stack."""
        if self._names is None:
            self._names = {}
        got = self._names.get(stack)
        if got is None:
            got = self._names[stack] = list(map(_FUNCTION, self.stacks().get(stack, ())))
        return got

    def head_names(self, stack: str) -> Iterable[str]:
        """``names(stack)`` when already built, else its names read only as far as the caller iterates (the
        features read the first few dozen frames of a stack that may print hundreds)."""
        got = self._names.get(stack) if self._names is not None else None
        return got if got is not None else map(_FUNCTION, self.stacks().get(stack, ()))

    def marker_kinds(self) -> frozenset[str]:
        if self._kinds is None:
            self._kinds = frozenset([m.kind for m in self.markers]) if self.markers else _NO_KINDS
        return self._kinds

    @property
    def kernel_range(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The releases the report can be from: the printed one, else what its allocator frames allow."""
        if self._kernel_range is None:
            self._kernel_range = _kernel_range(self.kernel, self.frames)
        return self._kernel_range

    def crash_span(self) -> tuple[int, float]:
        """The lines of the primary crash: from just above its header to the next distinct crash header (the
        whole input when there is no crash header)."""
        if self.crash_line is None:
            return 0, float("inf")
        nxt = [n for k, (n, _) in enumerate(self.headers) if k > 0 and k not in self.repeats and n > self.crash_line]
        return min(self.before or [self.crash_line]), min(nxt, default=float("inf"))

    def text(self, line: int | None) -> str:
        """The text of input line ``line`` as the report holds it ('' if it does not)."""
        return self.lines.get(line, "") if line is not None else ""

    @property
    def crash_header(self) -> str | None:
        return self.lines.get(self.crash_line) if self.crash_line is not None else None

    @classmethod
    def build(cls, report: Any) -> ReportView:
        return build_view(report)


# The parser's fields the view reads, in the order ``build_view`` takes them.
_FIELDS = ("title", "type", "corrupted", "crash", "events", "trace", "kernel", "locks", "markers", "gfp")
_READ_DICT = itemgetter(*_FIELDS)
_READ_REPORT = attrgetter(*_FIELDS)
_FIELD_SET = frozenset(_FIELDS)


def _pid(task: Any) -> int | None:
    pid = task.get("pid") if isinstance(task, dict) else None
    return pid if isinstance(pid, int) else None


def _kernel_range(kernel: str | None, frames: list[Frame]) -> tuple[tuple[int, int], tuple[int, int]]:
    known = kernel_tuple(kernel)
    if known is not None:
        return known, known
    lo, hi = OLDEST, NEWEST
    names = set(map(_FUNCTION, frames))
    for name, since, until in _ERA_FRAMES:
        if name in names:
            lo, hi = max(lo, since), min(hi, until)
    return (lo, hi) if lo <= hi else (OLDEST, NEWEST)


def build_view(report: Any) -> ReportView:
    """``ReportView.build(report)``."""
    if isinstance(report, dict):            # a stored parse (``store_rows``): every field read, present or not
        title, ctype, corrupted, crash, events, trace, kernel, locks, markers, gfp = \
            _READ_DICT(report) if report.keys() >= _FIELD_SET else map(report.get, _FIELDS)
    else:
        try:
            title, ctype, corrupted, crash, events, trace, kernel, locks, markers, gfp = _READ_REPORT(report)
        except AttributeError:              # an object with only some of the fields
            title, ctype, corrupted, crash, events, trace, kernel, locks, markers, gfp = \
                [getattr(report, name, None) for name in _FIELDS]
    if crash:       # the primary crash's fields as the constructor's arguments (a store each, not two)
        get = crash.get
        n = crash["lineno"]
        lines: dict[int, str] = {n: crash["line"]}
        function = get("function") or None
        function_line = None
        if function:
            function_line = get("function_lineno")
            text = get("function_line")
            if text:
                lines[crash["function_lineno"]] = text
        task = get("task")
        pid, comm = (_pid(task), task.get("comm")) if task else (None, None)
        task_line = None
        text = get("task_line")
        if text:
            task_line = crash["task_lineno"]
            lines[task_line] = text
        before = get("before")
        if before:
            lines.update(before)
        view = ReportView(title, ctype, bool(corrupted), lines, crash["kind"], n, function, function_line,
                          get("file"), pid, comm, task_line, [b for b, _ in before] if before else (),
                          (), _NO_REPEATS, kernel, trace or (), in_irq=bool(get("in_irq")))
    else:
        lines = {}
        view = ReportView(title, ctype, bool(corrupted), lines, "none", None, None, None, None, None, None, None,
                          (), (), _NO_REPEATS, kernel, trace or ())
    if events:
        if len(events) == 1:        # most reports: one crash header
            e = events[0]
            n = e["lineno"]
            view.headers = [(n, e["kind"])]
            if "repeat_of" in e:
                view.repeats = {0}
            if n not in lines:
                lines[n] = e.get("line") or ""
        else:
            headers: list[tuple[int, str]] = []
            view.headers = headers
            repeats: set[int] | None = None
            for k, e in enumerate(events):
                n = e["lineno"]
                headers.append((n, e["kind"]))
                if "repeat_of" in e:
                    if repeats is None:
                        repeats = view.repeats = set()
                    repeats.add(k)
                if n not in lines:
                    lines[n] = e.get("line") or ""
    if locks:
        view_locks: list[tuple[str, int]] = []
        usages: list[tuple[str, int]] = []
        view.locks, view.usages = view_locks, usages
        for d in locks:
            get = d.get
            role, n = get("role"), get("lineno")
            if role in _LOCK_ROLES:
                lock = get("lock")
                if not lock:
                    continue
                view_locks.append((lock.strip(), n))
            elif role == "usage":
                usages += [(d["from"], n), (d["to"], n)]
            elif role == "registered":
                usages.append((d["state"], n))
            else:
                continue
            text = get("line")
            if text:
                lines[n] = text
    if not markers:
        view._kinds = _NO_KINDS
    else:
        view_markers: list[Marker] = []
        view.markers = view_markers
        for m in markers:
            task = m.get("task") or {}
            err = m.get("error")
            mk = Marker(m["kind"], m.get("lineno"), m.get("line") or "", _pid(task), task.get("comm"),
                        abs(err) if isinstance(err, int) else None, m.get("task_lineno"), m.get("continued") or "",
                        m.get("event"), m)
            view_markers.append(mk)
            if mk.line is not None:
                lines[mk.line] = mk.text
            if mk.task_line is not None and m.get("task_line"):
                lines[mk.task_line] = m["task_line"]
    if gfp:
        view_gfp: list[tuple[str, int | None]] = []
        view.gfp = view_gfp
        for g in gfp:
            n = g.get("lineno")
            for flag in g.get("flags") or []:
                if not flag.startswith("0x"):
                    view_gfp.append((flag, n))
            if n is not None and g.get("line"):
                lines[n] = g["line"]
    return view
