"""The rules engine: rules are data (``rules.toml``), evaluated by one generic interpreter over a ``ReportView``.

A rule is ``{id, label, confidence, why, when}`` where ``when`` is a condition. A condition is a table whose
keys are *primitives* (all must hold) or the combinators ``all`` / ``any`` (lists of conditions) and ``not``
(a condition). Each primitive that holds returns its evidence: the lines and frames of the report text that
made it hold, so a hit can be checked by a maintainer. Names in lists may be globs (``jbd2_*``) or ``@set``
references to the named sets of the rules file.

Primitives (see ``PRIMITIVES``):
  crash = [kinds]                 the primary crash is one of these kinds (``triage.report.console.KINDS``;
                                  ``none`` = no crash header)
  header = "regex"                the primary crash header line matches
  crash_function = [names]        the function the crash fired in (``WARNING ... at`` / ``RIP:``)
  frames = {stack, any, callers, top}
                                  a frame named in ``any`` in the given stacks (``STACK_SELECTORS``: crash,
                                  blocked, lockdep, fault-injection, any); with ``callers``, one of its callers
                                  (a frame printed below it in the same stack) is named in ``callers``;
                                  ``top = N`` looks only at the first N frames of a stack
  lock = "regex"                  a lockdep lock name (``fs_reclaim``, ``&ei->xattr_sem``)
  usage = "regex"                 a lockdep usage state (``IN-RECLAIM_FS-W``)
  marker = {kind, before_crash, same_task, same_event, error_not, has}
                                  a marker of these kinds (``vocab.markers``: ``fault-injection``,
                                  ``lost-write``, ...); ``same_task``: printed by the task that crashed;
                                  ``not_other_task``: not printed by another program than the one that
                                  crashed (another comm, else another pid: its frames may interleave);
                                  ``same_event``: attributed to the primary crash (``console.attribute``:
                                  its header, or the task that printed it); ``error_not``: its error code is
                                  not one of these; ``has = {field = value}``: the marker's fields (a list:
                                  one of these values; a string: a regex its text matches; else equal),
                                  ``has_not``: not so; ``before = [kinds]``: printed before a marker of
                                  these kinds
  follows = {first, then, same_task, within}
                                  a marker of kind ``then`` printed after one of kind ``first``: by the same
                                  task when the log names both tasks, else at most ``within`` lines later
  gfp = "flag"                    a decoded gfp flag (``__GFP_NOFAIL``) of a mask printed with the primary
                                  crash (from just above its header to the next crash), or anywhere in a
                                  log without a crash header
  shared_frame = {a, b}           a frame, not in ``@plumbing``, present in both stacks
  line_before_crash = {regex, within}
                                  a line at most ``within`` lines above the crash header matches (the parser
                                  keeps ``console.LINES_BEFORE`` of them)
  irq = true                      the crash happened in interrupt / softirq context
  task = "regex"                  the comm of the task that crashed (``kswapd0``)
  cond = "name"                   the named condition of the rules file's ``[conditions]`` table holds
  kernel = {min, max}             the report's kernel release (``"6.12"``) is in this range: the printed
                                  release, else the range its allocator frames allow (``view.kernel_range``)

Every piece of evidence has a ``role``: ``evidence`` (a marker, lock, usage, gfp mask or frame of this crash:
the facts a consequence rests on), ``site`` (the function the crash fired in, the task that crashed) or
``context`` (the crash header, which says what kind of crash it is but not what it did). A hit's evidence is
ordered by role, so the first line shown is the decisive one; a hit is ``decisive`` when it holds evidence
beyond context (``classifiers.combine`` gives a consequence label only on decisive hits).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.view import NEWEST, OLDEST, Frame, ReportView
from triage.report.console import KINDS as CRASH_KINDS
from vocab.labels import BY_NAME, LABELS
from vocab.markers import KINDS as MARKER_KINDS

RULES_FILE = Path(__file__).with_name("rules.toml")
# LABELS.md tie-break 2: when the primary crash shows evidence for two labels, the lower number wins.
PRECEDENCE = {label: BY_NAME[label].precedence for label in LABELS}
# The stacks ``frames`` / ``shared_frame`` select (see _stack_selected), besides a stack-name prefix.
STACK_SELECTORS = ("crash", "blocked", "lockdep", "fault-injection", "any")

Evidence = dict[str, Any]
# Evidence roles, in the order a hit shows them (see the module doc).
ROLES = ("evidence", "site", "context")
_ROLE_RANK = {r: i for i, r in enumerate(ROLES)}


class RuleError(ValueError):
    """The rules file is malformed (unknown primitive, bad regex, unknown set)."""


@dataclass
class Rule:
    id: str
    label: str
    confidence: float
    why: str
    when: dict[str, Any]
    # the marker kinds the rule's top-level ``marker`` / ``follows`` need (a view with none of them is skipped)
    needs: frozenset[str] | None = None

    def __post_init__(self) -> None:
        w = self.when
        if "marker" in w:
            self.needs = frozenset(_as_list(w["marker"]["kind"]))
        elif "follows" in w:
            self.needs = frozenset([w["follows"]["first"]])


@dataclass
class Hit:
    rule: Rule
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def decisive(self) -> bool:
        """Whether the hit rests on more than the crash header: a line or frame of this crash it matched."""
        return any(e.get("role") != "context" for e in self.evidence)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.id, "label": self.rule.label, "confidence": self.rule.confidence,
                "why": self.rule.why, "decisive": self.decisive, "matches": self.evidence}


class NameSet:
    """A set of function names with globs, matched exactly or by glob."""

    def __init__(self, names: list[str]):
        self.exact = {n for n in names if not any(c in n for c in "*?[")}
        globs = [fnmatch.translate(n) for n in names if n not in self.exact]
        self.rx = re.compile("|".join(globs)) if globs else None

    def __contains__(self, name: str | None) -> bool:
        if not name:
            return False
        return name in self.exact or bool(self.rx and self.rx.match(name))


def _line_ev(view: ReportView, n: int | None, why: str, text: str | None = None, role: str = "evidence") -> Evidence:
    return {"kind": "line", "line": n, "text": (view.text(n) if text is None else text).strip(), "matched": why,
            "role": role}


def _frame_ev(f: Frame, why: str) -> Evidence:
    return {"kind": "frame", "line": f["lineno"], "stack": f["stack"], "function": f["function"],
            "text": f["line"].strip(), "matched": why, "role": "evidence"}


class RuleSet:
    """The rules of one file, compiled; ``evaluate(view)`` returns the hits."""

    def __init__(self, data: dict[str, Any], source: str = "<rules>"):
        self.source = source
        self.sets = {name: NameSet(list(names)) for name, names in data.get("sets", {}).items()}
        self.conditions: dict[str, dict[str, Any]] = dict(data.get("conditions", {}))
        for name, cond in self.conditions.items():
            self._check(cond, f"conditions.{name}")
        self.rules: list[Rule] = []
        self._cache: dict[Any, Any] = {}
        ids = set()
        for raw in data.get("rules", []):
            try:
                rule = Rule(raw["id"], raw["label"], float(raw["confidence"]), raw["why"], raw["when"])
            except KeyError as exc:
                raise RuleError(f"{source}: rule {raw.get('id', '?')} lacks {exc}") from exc
            if rule.label not in LABELS:
                raise RuleError(f"{source}: rule {rule.id}: unknown label {rule.label!r}")
            if rule.id in ids:
                raise RuleError(f"{source}: duplicate rule id {rule.id}")
            ids.add(rule.id)
            self._check(rule.when, rule.id)
            self.rules.append(rule)

    @classmethod
    def load(cls, path: str | Path = RULES_FILE) -> RuleSet:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RuleError(f"{path}: {exc}") from exc
        return cls(data, str(path))

    # -- validation --------------------------------------------------------------------------------
    def _check(self, cond: dict[str, Any], rid: str) -> None:
        for key, arg in cond.items():
            if key in ("all", "any"):
                for sub in arg:
                    self._check(sub, rid)
            elif key == "not":
                self._check(arg, rid)
            elif key not in PRIMITIVES:
                raise RuleError(f"{self.source}: rule {rid}: unknown condition {key!r}")
            else:
                for ref in re.findall(r"@(\w+)", repr(arg)):
                    if ref not in self.sets:
                        raise RuleError(f"{self.source}: rule {rid}: unknown set @{ref}")
                if key == "cond" and arg not in self.conditions:
                    raise RuleError(f"{self.source}: rule {rid}: unknown condition name {arg!r}")
                for rx in _regexes(key, arg):
                    try:
                        re.compile(rx)
                    except re.error as exc:
                        raise RuleError(f"{self.source}: rule {rid}: bad regex {rx!r}: {exc}") from exc
                for word, known, what in _words(key, arg):
                    if word not in known:
                        raise RuleError(f"{self.source}: rule {rid}: unknown {what} {word!r}")

    # -- helpers used by the primitives ------------------------------------------------------------
    def names(self, spec: str | list[str]) -> NameSet:
        key = ("names", spec if isinstance(spec, str) else tuple(spec))
        got = self._cache.get(key)
        if got is None:
            items: list[str] = []
            for s in [spec] if isinstance(spec, str) else spec:
                if s.startswith("@"):
                    ns = self.sets[s[1:]]
                    items += list(ns.exact) + ([f"re:{ns.rx.pattern}"] if ns.rx else [])
                else:
                    items.append(s)
            got = NameSet([i for i in items if not i.startswith("re:")])
            extra = [i[3:] for i in items if i.startswith("re:")]
            if extra:
                pats = ([got.rx.pattern] if got.rx else []) + extra
                got.rx = re.compile("|".join(pats))
            self._cache[key] = got
        return got

    def regex(self, rx: str) -> re.Pattern[str]:
        got = self._cache.get(("rx", rx))
        if got is None:
            got = self._cache[("rx", rx)] = re.compile(rx)
        return got

    # -- evaluation --------------------------------------------------------------------------------
    def holds(self, cond: dict[str, Any], view: ReportView) -> list[Evidence] | None:
        """Evidence if ``cond`` holds on ``view`` (possibly empty), None if it does not."""
        out: list[Evidence] = []
        for key, arg in cond.items():
            if key == "all":
                for sub in arg:
                    ev = self.holds(sub, view)
                    if ev is None:
                        return None
                    out += ev
            elif key == "any":
                found = False
                for sub in arg:
                    ev = self.holds(sub, view)
                    if ev is not None:
                        found = True
                        out += ev
                if not found:
                    return None
            elif key == "not":
                if self.holds(arg, view) is not None:
                    return None
            else:
                ev = PRIMITIVES[key](self, view, arg)
                if ev is None:
                    return None
                out += ev
        return out

    def evaluate(self, view: ReportView) -> list[Hit]:
        hits = []
        present = view.marker_kinds()
        for rule in self.rules:
            kinds = rule.when.get("crash")
            if kinds is not None and view.crash_kind not in kinds:
                continue                      # cheap pre-filters: most rules name the crash kinds they need,
            if rule.needs is not None and rule.needs.isdisjoint(present):
                continue                      # many the marker kinds
            ev = self.holds(rule.when, view)
            if ev is not None:
                hits.append(Hit(rule, _dedup(ev)))
        return hits


def _dedup(ev: list[Evidence]) -> list[Evidence]:
    """One entry per line (the strongest role it was matched in), ordered by role: the decisive line first."""
    best: dict[Any, Evidence] = {}
    order: list[Any] = []
    for e in ev:
        key = (e["kind"], e.get("line"), e["text"])
        if key not in best:
            best[key] = e
            order.append(key)
        elif _ROLE_RANK[e["role"]] < _ROLE_RANK[best[key]["role"]]:
            best[key] = e
    return sorted((best[k] for k in order), key=lambda e: _ROLE_RANK[e["role"]])


def _words(key: str, arg: Any) -> list[tuple[str, tuple[str, ...], str]]:
    """The vocabulary words a primitive names: (word, the vocabulary, what it is)."""
    if key == "crash":
        return [(k, CRASH_KINDS, "crash kind") for k in arg]
    if key == "marker":
        kinds = _as_list(arg["kind"]) + list(arg.get("before", []))
        return [(k, MARKER_KINDS, "marker kind") for k in kinds]
    if key == "follows":
        return [(arg["first"], MARKER_KINDS, "marker kind"), *[(k, MARKER_KINDS, "marker kind") for k in
                                                                 _as_list(arg["then"])]]
    if key == "frames":
        return [(arg.get("stack", "crash"), STACK_SELECTORS, "stack")]
    if key == "shared_frame":
        return [(arg["a"], STACK_SELECTORS, "stack"), (arg["b"], STACK_SELECTORS, "stack")]
    return []


def _regexes(key: str, arg: Any) -> list[str]:
    if key in ("header", "lock", "usage", "task"):
        return [arg]
    if key == "line_before_crash":
        return [arg["regex"]]
    if key == "marker":
        return [v for k in ("has", "has_not") for v in (arg.get(k) or {}).values() if isinstance(v, str)]
    return []


def _as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def _release(v: str) -> tuple[int, int]:
    major, minor = (str(v).split(".") + ["0"])[:2]
    return int(major), int(minor)


# -- primitives --------------------------------------------------------------------------------------
def _p_crash(rs: RuleSet, view: ReportView, kinds: list[str]) -> list[Evidence] | None:
    if view.crash_kind not in kinds:
        return None
    return [_line_ev(view, view.crash_line, "crash header", role="context")] if view.crash_line is not None else []


def _p_header(rs: RuleSet, view: ReportView, rx: str) -> list[Evidence] | None:
    if view.crash_line is None or not rs.regex(rx).search(view.text(view.crash_line)):
        return None
    return [_line_ev(view, view.crash_line, f"header ~ {rx}", role="context")]


def _p_crash_function(rs: RuleSet, view: ReportView, names: list[str] | str) -> list[Evidence] | None:
    if view.crash_function not in rs.names(names):
        return None
    return [_line_ev(view, view.crash_function_line, f"crash in {view.crash_function}", role="site")]


def _stack_selected(name: str, which: str) -> bool:
    """Whether stack ``name`` (``Report.trace``'s stack names) is one ``which`` (a STACK_SELECTORS word) means."""
    if which == "any":
        return True
    if which == "crash":
        return name == "crash"
    if which == "blocked":          # the hung task and the other blocked tasks of a hang report
        return name == "crash" or name.startswith("other-task")
    if which == "lockdep":          # the acquiring task and the dependency chain
        return name == "crash" or name.startswith("lockdep-chain-")
    return name.startswith(which)            # fault-injection: every fault-injection-N stack


def _p_frames(rs: RuleSet, view: ReportView, spec: dict[str, Any]) -> list[Evidence] | None:
    which = spec.get("stack", "crash")
    want = rs.names(spec["any"])
    callers = rs.names(spec["callers"]) if "callers" in spec else None
    top = spec.get("top")
    out: list[Evidence] = []
    for name, frames in view.stacks().items():
        if not _stack_selected(name, which):
            continue
        for i, f in enumerate(frames[:top] if top else frames):
            if f["function"] not in want:
                continue
            if callers is None:
                out.append(_frame_ev(f, f"frame in {name}"))
                break
            caller = next((g for g in frames[i + 1:] if g["function"] in callers), None)
            if caller is not None:
                out += [_frame_ev(f, f"frame in {name}"), _frame_ev(caller, f"called from {caller['function']}")]
                break
    return out or None


def _p_lock(rs: RuleSet, view: ReportView, rx: str) -> list[Evidence] | None:
    pat = rs.regex(rx)
    hits = [i for name, i in view.locks if pat.search(name)]
    if not hits:
        return None
    return [_line_ev(view, i, f"lock ~ {rx}") for i in sorted(set(hits))[:3]]


def _p_usage(rs: RuleSet, view: ReportView, rx: str) -> list[Evidence] | None:
    pat = rs.regex(rx)
    hits = [i for usage, i in view.usages if pat.search(usage)]
    if not hits:
        return None
    return [_line_ev(view, i, f"usage ~ {rx}") for i in sorted(set(hits))[:2]]


def _has(rs: RuleSet, fields: dict[str, Any], want: dict[str, Any]) -> bool:
    """Whether a marker's fields hold ``want`` (a list: one of these; a string: a regex; else equal)."""
    for key, value in want.items():
        got = fields.get(key)
        if isinstance(value, list):
            if got not in value:
                return False
        elif isinstance(value, str):
            if got is None or not rs.regex(value).search(str(got)):
                return False
        elif got != value:
            return False
    return True


def _other_task(view: ReportView, m: Any) -> bool:
    """Whether the log shows marker ``m`` was printed by another program than the one that crashed: another
    comm when both are named (threads of one test program share it), else another pid."""
    if m.comm and view.crash_comm:
        return m.comm != view.crash_comm
    return bool(m.pid and view.crash_pid and m.pid != view.crash_pid)


def _marker_ev(view: ReportView, m: Any, why: str) -> list[Evidence]:
    ev = _line_ev(view, m.line, why, m.text)
    ev["event"] = m.event           # the crash it belongs to (0: the primary crash), None: no crash
    out = [ev]
    if m.extra:
        out.append(_line_ev(view, m.line + 1 if m.line is not None else None, "continued", m.extra))
    return out


def _p_marker(rs: RuleSet, view: ReportView, spec: dict[str, Any]) -> list[Evidence] | None:
    kinds = _as_list(spec["kind"])
    out: list[Evidence] = []
    for m in view.markers:
        if m.kind not in kinds:
            continue
        if spec.get("before_crash") and view.crash_line is not None and not (m.line or 0) < view.crash_line:
            continue
        if spec.get("same_task") and not (m.pid and view.crash_pid and m.pid == view.crash_pid):
            continue
        if spec.get("same_event") and m.event != 0:
            continue
        if spec.get("not_other_task") and _other_task(view, m):
            continue
        if "error_not" in spec and m.error is not None and m.error in spec["error_not"]:
            continue
        if "has" in spec and not _has(rs, m.fields, spec["has"]):
            continue
        if "has_not" in spec and _has(rs, m.fields, spec["has_not"]):
            continue
        if "before" in spec and not any(o.kind in spec["before"] and (o.line or 0) > (m.line or 0)
                                        for o in view.markers):
            continue
        out += _marker_ev(view, m, f"marker {m.kind}")
        if spec.get("same_task"):
            if m.task_line is not None:
                out.append(_line_ev(view, m.task_line, f"injected in PID {m.pid}"))
            if view.crash_task_line is not None:
                out.append(_line_ev(view, view.crash_task_line, f"crash in PID {view.crash_pid}"))
        if len(out) >= 4:
            break
    return out or None


def _p_follows(rs: RuleSet, view: ReportView, spec: dict[str, Any]) -> list[Evidence] | None:
    then = _as_list(spec["then"])
    within = spec.get("within", 30)
    firsts = [m for m in view.markers if m.kind == spec["first"] and m.line is not None]
    for a in firsts:
        for b in view.markers:
            if b.kind not in then or b.line is None or b.line <= a.line:
                continue
            if a.pid and b.pid:
                if spec.get("same_task") and a.pid != b.pid:
                    continue
            elif b.line - a.line > within:
                continue
            return [*_marker_ev(view, a, f"marker {a.kind}"),
                    *_marker_ev(view, b, f"then {b.kind}" + (f" in PID {b.pid}" if b.pid else ""))]
    return None


def _p_kernel(rs: RuleSet, view: ReportView, spec: dict[str, Any]) -> list[Evidence] | None:
    lo, hi = view.kernel_range
    want_lo = _release(spec["min"]) if "min" in spec else OLDEST
    want_hi = _release(spec["max"]) if "max" in spec else NEWEST
    return [] if want_lo <= lo and hi <= want_hi else None


def _p_cond(rs: RuleSet, view: ReportView, name: str) -> list[Evidence] | None:
    return rs.holds(rs.conditions[name], view)


def _p_gfp(rs: RuleSet, view: ReportView, flag: str) -> list[Evidence] | None:
    lo, hi = view.crash_span()
    lines = sorted({n for g, n in view.gfp if g == flag and n is not None and lo <= n < hi})
    if not lines:
        return None
    return [_line_ev(view, n, f"gfp {flag}") for n in lines[:2]]


def _p_shared_frame(rs: RuleSet, view: ReportView, spec: dict[str, Any]) -> list[Evidence] | None:
    plumbing = rs.names("@plumbing")
    stacks = view.stacks()
    a_frames = [f for name, fs in stacks.items() if _stack_selected(name, spec["a"]) for f in fs]
    b_frames = {f["function"]: f for name, fs in stacks.items() if _stack_selected(name, spec["b"]) for f in fs}
    for f in a_frames:
        if f["function"] in b_frames and f["function"] not in plumbing:
            return [_frame_ev(f, f"in {f['stack']}"), _frame_ev(b_frames[f["function"]], "also in the crash stack")]
    return None


def _p_line_before_crash(rs: RuleSet, view: ReportView, spec: dict[str, Any]) -> list[Evidence] | None:
    if view.crash_line is None:
        return None
    pat = rs.regex(spec["regex"])
    for n in range(view.crash_line - 1, view.crash_line - 1 - spec.get("within", 3), -1):
        if n in view.before and pat.search(view.text(n)):
            return [_line_ev(view, n, "just before the crash")]
    return None


def _p_task(rs: RuleSet, view: ReportView, rx: str) -> list[Evidence] | None:
    if not view.crash_comm or not rs.regex(rx).search(view.crash_comm):
        return None
    return [_line_ev(view, view.crash_task_line, f"task {view.crash_comm}", role="site")] \
        if view.crash_task_line is not None else []


def _p_irq(rs: RuleSet, view: ReportView, flag: bool) -> list[Evidence] | None:
    return [] if view.in_irq == flag else None


def _p_corrupted(rs: RuleSet, view: ReportView, flag: bool) -> list[Evidence] | None:
    return [] if view.corrupted == flag else None


PRIMITIVES: dict[str, Callable[[RuleSet, ReportView, Any], list[Evidence] | None]] = {
    "crash": _p_crash,
    "header": _p_header,
    "crash_function": _p_crash_function,
    "frames": _p_frames,
    "lock": _p_lock,
    "usage": _p_usage,
    "marker": _p_marker,
    "follows": _p_follows,
    "kernel": _p_kernel,
    "cond": _p_cond,
    "gfp": _p_gfp,
    "shared_frame": _p_shared_frame,
    "line_before_crash": _p_line_before_crash,
    "irq": _p_irq,
    "task": _p_task,
    "corrupted": _p_corrupted,
}
