"""Features of a report for the model: a dict of binary features per report (for a DictVectorizer).

Feature families (prefix = family):
  ``fn:``  normalized function names of the crash stack (first ``CRASH_DEPTH`` frames)
  ``pair:`` adjacent caller/callee pairs of the crash stack
  ``sfn:<kind>:`` functions of the other stacks, by stack kind (lockdep, task, fault-injection, usage, crash-N)
  ``title:`` tokens of the syzbot-style title;  ``type:`` the parser's crash type;  ``kind:`` our crash kind
  ``at:``  the function the crash fired in;  ``file:`` its source file
  ``marker:`` markers (and ``marker+:`` when before the crash, ``marker=task:`` when printed by the crashing task)
  ``gfp:`` gfp flags;  ``lock:`` lockdep lock names (class names without instance suffixes);  ``usage:``
"""

from __future__ import annotations

import re

from classifiers.view import ReportView

CRASH_DEPTH = 40
OTHER_DEPTH = 25
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


def features(view: ReportView) -> dict[str, float]:
    """Binary features of one report."""
    f: dict[str, float] = {}
    stacks = view.stacks()
    crash = [fr["function"] for fr in stacks.get("crash", []) if fr["function"] not in _BORING][:CRASH_DEPTH]
    for fn in crash:
        f["fn:" + fn] = 1.0
    for a, b in zip(crash, crash[1:], strict=False):
        f[f"pair:{b}>{a}"] = 1.0
    for name, frames in stacks.items():
        if name == "crash":
            continue
        kind = _stack_kind(name)
        for fr in frames[:OTHER_DEPTH]:
            if fr["function"] not in _BORING:
                f[f"sfn:{kind}:{fr['function']}"] = 1.0
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
