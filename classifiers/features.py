"""Features of a report for the model: a dict of binary features per report (for a DictVectorizer).

Feature families (prefix = family):
  ``fn:``  normalized function names of the crash stack (first ``CRASH_DEPTH`` frames)
  ``pair:`` adjacent caller/callee pairs of the crash stack
  ``sfn:<kind>:`` functions of the other stacks, by stack kind (lockdep, task, fault-injection, usage, crash-N)
  ``title:`` tokens of the syzbot-style title;  ``type:`` the parser's crash type;  ``kind:`` our crash kind
  ``at:``  the function the crash fired in;  ``file:`` its source file
  ``marker:`` markers (and ``marker+:`` when before the crash, ``marker=task:`` when printed by the crashing task)
  ``gfp:`` gfp flags;  ``lock:`` lockdep lock names (class names without instance suffixes);  ``usage:``

A model scores only the features it was trained on: ``features(view, known)`` (``known_names`` of the model's
feature names) leaves out the frame features (most of a report's) whose function the model does not know in
that family, without building their names. The model's view of the report is the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter

from classifiers.view import ReportView

CRASH_DEPTH = 40
OTHER_DEPTH = 25
_FUNCTION = itemgetter("function")
_TOKEN = re.compile(r"[a-z_][a-z0-9_]+")
_LOCK_NORM = re.compile(r"#\d+|/\d+$|\[\w+\]")
# Frames that every dump prints: they carry no information about the mechanism.
_BORING = frozenset("""
__dump_stack dump_stack dump_stack_lvl show_stack dump_backtrace __warn report_bug handle_bug exc_invalid_op
asm_exc_invalid_op do_error_trap do_invalid_op invalid_op fixup_bug panic show_trace_log_lvl
""".split())


def _stack_kind(name: str) -> str:
    if name.startswith("lockdep-chain-"):
        return "lockdep"
    if name.startswith("other-task"):
        return "task"
    if name.startswith("lockdep-usage"):
        return "usage"
    if name.startswith("fault-injection-"):
        return "fi"
    if name.startswith("crash-"):
        return "crash2"
    return name


@dataclass(frozen=True)
class KnownNames:
    """The function names a model has features for, by frame family (a superset: every way of splitting a
    feature name is indexed, so a function name holding ``:`` or ``>`` is never missed)."""
    fn: frozenset[str]                          # fn:NAME
    pair: dict[str, frozenset[str]]             # pair:CALLER>CALLEE: caller -> callees
    sfn: dict[str, frozenset[str]]              # sfn:KIND:NAME: "sfn:KIND:" -> names


def known_names(names: list[str]) -> KnownNames:
    fn: set[str] = set()
    pair: dict[str, set[str]] = {}
    sfn: dict[str, set[str]] = {}
    for name in names:
        if name.startswith("fn:"):
            fn.add(name[3:])
        elif name.startswith("pair:"):
            for i, c in enumerate(name):
                if c == ">":
                    pair.setdefault(name[5:i], set()).add(name[i + 1:])
        elif name.startswith("sfn:"):
            for i, c in enumerate(name):
                if c == ":" and i > 3:
                    sfn.setdefault(name[:i + 1], set()).add(name[i + 1:])
    return KnownNames(frozenset(fn), {k: frozenset(v) for k, v in pair.items()},
                      {k: frozenset(v) for k, v in sfn.items()})


def features(view: ReportView, known: KnownNames | None = None) -> dict[str, float]:
    """Binary features of one report (with ``known``: without the frame features a model does not know)."""
    f: dict[str, float] = {}
    stacks = view.stacks()
    crash = [fn for fn in map(_FUNCTION, stacks.get("crash", ())) if fn not in _BORING][:CRASH_DEPTH]
    if known is None:
        for fn in crash:
            f["fn:" + fn] = 1.0
        for a, b in zip(crash, crash[1:], strict=False):
            f[f"pair:{b}>{a}"] = 1.0
    else:
        fns, pairs = known.fn, known.pair
        for fn in crash:
            if fn in fns:
                f["fn:" + fn] = 1.0
        for a, b in zip(crash, crash[1:], strict=False):
            callees = pairs.get(b)
            if callees is not None and a in callees:
                f[f"pair:{b}>{a}"] = 1.0
    for name, frames in stacks.items():
        if name == "crash":
            continue
        prefix = f"sfn:{_stack_kind(name)}:"
        names = None if known is None else known.sfn.get(prefix)
        if known is not None and names is None:
            continue                    # the model knows no function of this kind of stack
        for fn in map(_FUNCTION, frames[:OTHER_DEPTH]):
            if fn not in _BORING and (names is None or fn in names):
                f[prefix + fn] = 1.0
    if view.title:
        for tok in _TOKEN.findall(view.title.lower()):
            f["title:" + tok] = 1.0
    f["type:" + str(view.crash_type or "none")] = 1.0
    f["kind:" + view.crash_kind] = 1.0
    if view.crash_function:
        f["at:" + view.crash_function] = 1.0
    if view.crash_file:
        f["file:" + view.crash_file] = 1.0
    if view.in_irq:
        f["irq"] = 1.0
    if view.corrupted:
        f["corrupted"] = 1.0
    for m in view.markers:
        f["marker:" + m.kind] = 1.0
        if view.crash_line is None or (m.line is not None and m.line < view.crash_line):
            f["marker+:" + m.kind] = 1.0
        if m.pid and m.pid == view.crash_pid:
            f["marker=task:" + m.kind] = 1.0
        if m.error is not None:
            f[f"marker:{m.kind}:err{m.error}"] = 1.0
    for g, _ in view.gfp:
        f["gfp:" + g] = 1.0
    for name, _ in view.locks:
        f["lock:" + _LOCK_NORM.sub("", name)] = 1.0
    for u, _ in view.usages:
        f["usage:" + u] = 1.0
    return f
