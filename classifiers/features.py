"""Features of a report for the model: a dict of binary features per report (for a DictVectorizer).

Feature families (prefix = family):
  ``fn:``  normalized function names of the crash stack (first ``CRASH_DEPTH`` frames)
  ``pair:`` adjacent caller/callee pairs of the crash stack
  ``sfn:<kind>:`` functions of the other stacks, by stack kind (lockdep, task, fault-injection, usage, crash-N)
  ``title:`` tokens of the syzbot-style title;  ``type:`` the parser's crash type;  ``kind:`` our crash kind
  ``at:``  the function the crash fired in;  ``file:`` its source file
  ``marker:`` markers (and ``marker+:`` when before the crash, ``marker=task:`` when printed by the crashing task)
  ``gfp:`` gfp flags;  ``lock:`` lockdep lock names (class names without instance suffixes);  ``usage:``

A model scores only the features it was trained on: ``columns1(view, feature_index(model.features))`` gives a
report's known features as the model's column indices plus one, in ``features``' order, without building the names
of the frame features (most of a report's, most unknown to the model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, filterfalse, islice
from operator import itemgetter
from typing import Any

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
class FeatureIndex:
    """A model's feature columns by the parts their names are built from, so that ``columns`` finds a report's
    columns without building its feature names (most of them frame names the model does not know). A name
    holding ``:`` or ``>`` is indexed under every way of splitting it: a lookup by parts finds the column of
    exactly the name those parts spell."""
    names: dict[str, int]                       # every feature name -> its column
    fn: dict[str, int]                          # fn:NAME: NAME -> column
    pair: dict[tuple[str, str], int]            # pair:CALLER>CALLEE: (caller, callee) -> column
    sfn: dict[str, dict[str, int]]              # sfn:KIND:NAME: "sfn:KIND:" -> name -> column
    # The same tables holding column + 1 (``_shifted``), so that ``filter(None, map(table.get, parts))`` keeps
    # the known ones in C; ``family``: "title:" / "at:" / ... -> the rest of the name -> column + 1
    fn1: dict[str, int] = field(default_factory=dict, repr=False)
    pair1: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    sfn1: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    family: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    locks: dict[str, int] = field(default_factory=dict, repr=False)   # lockdep lock name -> column + 1, 0
    sfn_of: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)   # stack name -> its sfn1 table


def _shifted(table: dict[Any, int]) -> dict[Any, int]:
    return {k: j + 1 for k, j in table.items()}


def feature_index(names: list[str]) -> FeatureIndex:
    """The index of a model's feature names (``Model.features``, in column order; a repeated name is the
    last of its columns, as the model's own lookup)."""
    cols = {name: j for j, name in enumerate(names)}
    fn: dict[str, int] = {}
    pair: dict[tuple[str, str], int] = {}
    sfn: dict[str, dict[str, int]] = {}
    family: dict[str, dict[str, int]] = {}
    for name, j in cols.items():
        if name.startswith("fn:"):
            fn[name[3:]] = j
        elif name.startswith("pair:"):
            for i, c in enumerate(name):
                if c == ">":
                    pair[name[5:i], name[i + 1:]] = j
        elif name.startswith("sfn:"):
            for i, c in enumerate(name):
                if c == ":" and i > 3:
                    sfn.setdefault(name[:i + 1], {})[name[i + 1:]] = j
        i = name.find(":")
        if i > 0:
            family.setdefault(name[:i + 1], {})[name[i + 1:]] = j + 1
    return FeatureIndex(cols, fn, pair, sfn, _shifted(fn), _shifted(pair), {k: _shifted(v) for k, v in sfn.items()},
                        family)


_NONE: dict[str, int] = {}
_LOCKS_MAX = 1 << 16          # lock names remembered per index (they recur across reports)


def features(view: ReportView) -> dict[str, float]:
    """Binary features of one report (training and evaluation; a model scores a report by ``columns``)."""
    f: dict[str, float] = {}
    stacks = view.stacks()
    crash = [fn for fn in map(_FUNCTION, stacks.get("crash", ())) if fn not in _BORING][:CRASH_DEPTH]
    for fn in crash:
        f["fn:" + fn] = 1.0
    for a, b in zip(crash, crash[1:], strict=False):
        f[f"pair:{b}>{a}"] = 1.0
    for name, frames in stacks.items():
        if name == "crash":
            continue
        prefix = f"sfn:{_stack_kind(name)}:"
        for fn in map(_FUNCTION, frames[:OTHER_DEPTH]):
            if fn not in _BORING:
                f[prefix + fn] = 1.0
    for name in _named(view):
        f[name] = 1.0
    return f


def _named(view: ReportView) -> list[str]:
    """The names of the features after the frame families, in ``features``' order (repeats included)."""
    out = ["title:" + tok for tok in _TOKEN.findall(view.title.lower())] if view.title else []
    out += ("type:" + str(view.crash_type or "none"), "kind:" + view.crash_kind)
    if view.crash_function:
        out.append("at:" + view.crash_function)
    if view.crash_file:
        out.append("file:" + view.crash_file)
    out += _flags_and_markers(view)
    out += ["gfp:" + g for g, _ in view.gfp]
    out += ["lock:" + _LOCK_NORM.sub("", name) for name, _ in view.locks]
    out += ["usage:" + u for u, _ in view.usages]
    return out


def columns1(view: ReportView, index: FeatureIndex) -> list[int]:
    """The model columns of ``features(view)``, each plus one (``Model.predict_columns1`` reads them so: no shift
    per report): each known feature's column once, in the order ``features`` gives them (the order the model adds
    them in), found by their parts: the frame features' names (most of a report's, most unknown to the model)
    are never built."""
    # the frames' names are walked by C iterators (map, filter, islice) over the tables of column + 1 (0 / None:
    # unknown, dropped by filter(None, ...)); only the few known columns are seen by Python code
    out = _crash_columns1(view, index)
    stacks = view._stacks
    if stacks is None:
        stacks = view.stacks()
    if len(stacks) > 1 or "crash" not in stacks:
        kinds = index.sfn_of
        for name, frames in stacks.items():
            if name == "crash":
                continue
            names = kinds.get(name)
            if names is None:
                if len(kinds) >= _LOCKS_MAX:
                    kinds.clear()
                names = kinds[name] = index.sfn1.get(f"sfn:{_stack_kind(name)}:", _NONE)
            if not names:
                continue                    # the model knows no function of this kind of stack
            head = list(map(_FUNCTION, frames[:OTHER_DEPTH]))
            if not _BORING.isdisjoint(head):
                head = list(filterfalse(_BORING.__contains__, head))
            out += filter(None, map(names.get, head))
    family = index.family
    get = family.get
    if view.title:
        out += filter(None, map(get("title:", _NONE).get, _TOKEN.findall(view.title.lower())))
    out += filter(None, (get("type:", _NONE).get(str(view.crash_type or "none")),
                         get("kind:", _NONE).get(view.crash_kind)))
    if view.crash_function:
        out += filter(None, (get("at:", _NONE).get(view.crash_function),))
    if view.crash_file:
        out += filter(None, (get("file:", _NONE).get(view.crash_file),))
    if view.in_irq or view.corrupted or view.markers:
        known = index.names.get
        out += [j + 1 for j in map(known, _flags_and_markers(view)) if j is not None]
    if view.gfp:
        out += filter(None, map(get("gfp:", _NONE).get, [g for g, _ in view.gfp]))
    if view.locks:
        locks = index.locks
        got = list(map(locks.get, [name for name, _ in view.locks]))
        if None in got:
            lock_cols = get("lock:", _NONE)
            for k, (name, _) in enumerate(view.locks):
                if got[k] is None:
                    if len(locks) >= _LOCKS_MAX:
                        locks.clear()
                    got[k] = locks[name] = lock_cols.get(_LOCK_NORM.sub("", name), 0)
        out += filter(None, got)
    if view.usages:
        out += filter(None, map(get("usage:", _NONE).get, [u for u, _ in view.usages]))
    return list(dict.fromkeys(out))


def _crash_columns1(view: ReportView, index: FeatureIndex) -> list[int]:
    """The fn: then pair: columns (plus one) of the crash stack's first ``CRASH_DEPTH`` names that are not
    ``_BORING``."""
    crash = _first_unboring(view.head_names("crash"), CRASH_DEPTH)
    out = list(filter(None, map(index.fn1.get, crash)))
    out += filter(None, map(index.pair1.get, zip(crash[1:], crash, strict=False)))
    return out


_LEAD = 8          # boring frames (dump_stack, __warn, ...) lead a stack: this many are passed over cheaply


def _first_unboring(names: Iterable[str], depth: int) -> list[str]:
    """The first ``depth`` of ``names`` that are not ``_BORING``. Boring frames lead a dump: past them, a run
    of names holding none is found by one set operation (the names are not tested one by one)."""
    it = iter(names)
    head = list(islice(it, depth + _LEAD))
    lead = 0
    for name in head:
        if name not in _BORING:
            break
        lead += 1
    got = head[lead:lead + depth]
    if (len(head) < depth + _LEAD or lead + depth <= len(head)) and _BORING.isdisjoint(got):
        return got
    return list(islice(filterfalse(_BORING.__contains__, chain(head, it)), depth))


def _flags_and_markers(view: ReportView) -> list[str]:
    """The names of ``_named``'s irq, corrupted and marker features, in its order."""
    out = []
    if view.in_irq:
        out.append("irq")
    if view.corrupted:
        out.append("corrupted")
    for m in view.markers:
        out.append("marker:" + m.kind)
        if view.crash_line is None or (m.line is not None and m.line < view.crash_line):
            out.append("marker+:" + m.kind)
        if m.pid and m.pid == view.crash_pid:
            out.append("marker=task:" + m.kind)
        if m.error is not None:
            out.append(f"marker:{m.kind}:err{m.error}")
    return out
