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
from dataclasses import dataclass
from itertools import compress, count, islice
from operator import methodcaller
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
    when: dict[str, Any]      # (the marker kinds it needs: ``RuleSet._needs``)
    # an ``other`` rule whose condition is one of LABELS.md's "not this label" cases: the labels it rules out
    excludes: tuple[str, ...] = ()


class Hit:
    """A rule that held on a view, with its evidence. ``decisive``: whether the hit rests on more than the crash
    header, a line or frame of this crash it matched (computed from ``evidence`` when not given;
    ``RuleSet.evaluate`` gives it: its evidence is ordered by role). A plain slotted class: a report makes one or
    two, and a dataclass's ``__post_init__`` is a call more each."""

    __slots__ = ("rule", "evidence", "decisive")

    def __init__(self, rule: Rule, evidence: list[Evidence] | None = None, decisive: bool | None = None):
        self.rule = rule
        self.evidence = [] if evidence is None else evidence
        self.decisive = any(e.get("role") != "context" for e in self.evidence) if decisive is None else decisive

    def __repr__(self) -> str:
        return f"Hit(rule={self.rule!r}, evidence={self.evidence!r}, decisive={self.decisive!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        return (self.rule, self.evidence, self.decisive) == (other.rule, other.evidence, other.decisive)

    __hash__ = None  # type: ignore[assignment]


class NameSet:
    """A set of function names with globs, matched exactly or by glob (each name's answer remembered)."""

    _MEMO_MAX = 1 << 16       # names remembered per set (kernel function names recur across reports)

    def __init__(self, names: list[str]):
        self.exact = {n for n in names if not any(c in n for c in "*?[")}
        globs = [fnmatch.translate(n) for n in names if n not in self.exact]
        self.rx = re.compile("|".join(globs)) if globs else None
        self._memo: dict[str, bool] = {}
        self._seen: set[str] = set()      # the names of ``_memo`` (and empty names), and those in the set
        self._hits: set[str] = set()

    def __contains__(self, name: str | None) -> bool:
        if not name:
            return False
        got = self._memo.get(name)
        return self._test(name) if got is None else got

    def _test(self, name: str) -> bool:
        got = name in self.exact or bool(self.rx and self.rx.match(name))
        if len(self._memo) >= self._MEMO_MAX:
            self._clear()
        self._memo[name] = got
        self._seen.add(name)
        if got:
            self._hits.add(name)
        return got

    def _clear(self) -> None:
        self._memo.clear()
        self._seen.clear()
        self._hits.clear()

    def first(self, names: list[str], start: int = 0) -> int:
        """The index of the first of ``names[start:]`` in the set, -1 if none (the names not seen yet tested
        first; then two set operations answer most calls)."""
        rest = names[start:] if start else names
        seen = self._seen
        if not seen.issuperset(rest):       # names not seen yet
            if len(self._memo) + len(rest) >= self._MEMO_MAX:
                self._clear()
            for name in rest:
                if name not in seen:
                    if name:
                        self._test(name)
                    else:
                        seen.add(name)      # an empty name is in no set
        hits = self._hits
        if hits.isdisjoint(rest):
            return -1
        return start + next(compress(count(), map(hits.__contains__, rest)))


def _line_ev(view: ReportView, n: int | None, why: str, text: str | None = None, role: str = "evidence") -> Evidence:
    if text is None:
        text = view.lines.get(n, "") if n is not None else ""        # view.text(n), inline: a call less
    return {"kind": "line", "line": n, "text": text.strip(), "matched": why,
            "role": role}


def _frame_ev(f: Frame, why: str) -> Evidence:
    return {"kind": "frame", "line": f["lineno"], "stack": f["stack"], "function": f["function"],
            "text": f["line"].strip(), "matched": why, "role": "evidence"}


# A compiled condition: evidence if it holds on the view (possibly empty), None if it does not. ``memo`` lives
# for one ``RuleSet.evaluate`` call: the named conditions' results on that view.
Check = Callable[[ReportView, dict[str, Any]], "list[Evidence] | None"]


class RuleSet:
    """The rules of one file, compiled; ``evaluate(view)`` returns the hits.

    Each condition is compiled once, at load, into a tree of closures (``Check``): regexps and name sets are
    built then, the primitives of a table are tested cheapest first (the evidence is still assembled in the
    table's order), and rules are indexed by the crash kinds they name, so a view only meets the rules of its
    kind."""

    def __init__(self, data: dict[str, Any], source: str = "<rules>"):
        self._data = data
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
                rule = Rule(raw["id"], raw["label"], float(raw["confidence"]), raw["why"], raw["when"],
                            tuple(raw.get("excludes", ())))
            except KeyError as exc:
                raise RuleError(f"{source}: rule {raw.get('id', '?')} lacks {exc}") from exc
            if rule.label not in LABELS:
                raise RuleError(f"{source}: rule {rule.id}: unknown label {rule.label!r}")
            if rule.excludes and (rule.label != "other" or not set(rule.excludes) <= set(LABELS) - {"other"}):
                raise RuleError(f"{source}: rule {rule.id}: only an 'other' rule excludes, and only consequence "
                                f"labels ({', '.join(rule.excludes)})")
            if rule.id in ids:
                raise RuleError(f"{source}: duplicate rule id {rule.id}")
            ids.add(rule.id)
            self._check(rule.when, rule.id)
            self.rules.append(rule)
        self._conds: dict[str, tuple[Check, int]] = {}
        for name in self.conditions:
            self._compile_cond(name)
        self._checks = [self.compile(rule.when)[0] for rule in self.rules]
        # rules by the crash kind of the view: those naming the kind (or none) among ``crash``, in file order,
        # each with the marker kinds it needs (``_needs``: every set must meet the view's kinds)
        plan = [(r, c, r.when.get("crash"), self._needs(r.when)) for r, c in zip(self.rules, self._checks,
                                                                                  strict=True)]
        kinds = set(CRASH_KINDS) | {"none"} | {k for _, _, ks, _ in plan if ks is not None for k in ks}
        self._by_kind = {k: [(r, c, n) for r, c, ks, n in plan if ks is None or k in ks] for k in kinds}
        self._any_kind = [(r, c, n) for r, c, ks, n in plan if ks is None]
        # (crash kind, marker kinds) -> the rules that can hold on such a view (``_plan``): (rule, check, the
        # names the crash function must be among when the rule's table names them, else None)
        self._plans: dict[tuple[str, frozenset[str]], list[tuple[Rule, Check, NameSet | None]]] = {}
        self._gates = {r.id: self.names(r.when["crash_function"]) if "crash_function" in r.when else None
                       for r in self.rules}

    def __reduce__(self) -> tuple[type[RuleSet], tuple[dict[str, Any], str]]:
        """Pickled as its table and compiled again where it lands (closures do not pickle): a worker pool
        receives the classifier this way."""
        return type(self), (self._data, self.source)

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

    # -- compilation -------------------------------------------------------------------------------
    def compile(self, cond: dict[str, Any]) -> tuple[Check, int]:
        """``cond`` as a ``Check`` and its cost (a rough rank: the cheapest parts of a table are tested first)."""
        parts: list[tuple[Check, int]] = []
        for key, arg in cond.items():
            if key == "all":
                parts.append(_all_of([self.compile(sub) for sub in arg]))
            elif key == "any":
                parts.append(_any_of([self.compile(sub) for sub in arg]))
            elif key == "not":
                parts.append(_not(self.compile(arg)))
            elif key == "cond":
                parts.append(self._compile_cond(arg))
            else:
                compiler, cost = COMPILERS[key]
                parts.append((compiler(self, arg), cost))
        return _all_of(parts)

    def _compile_cond(self, name: str) -> tuple[Check, int]:
        """The named condition ``name``, evaluated once per view (``memo``) however many rules name it."""
        got = self._conds.get(name)
        if got is None:
            inner, cost = self.compile(self.conditions[name])

            def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
                if name in memo:
                    ev = memo[name]
                else:
                    ev = memo[name] = inner(view, memo)
                return None if ev is None else [dict(e) for e in ev]     # each hit owns its evidence

            got = self._conds[name] = (check, cost)
        return got

    def _needs(self, cond: dict[str, Any]) -> list[frozenset[str]]:
        """The marker kinds ``cond`` needs: it cannot hold on a view whose kinds miss one of these sets (a
        ``marker`` needs one of its kinds, ``follows`` its first; a table needs what each of its parts needs,
        ``any`` one of what each alternative needs; ``not`` needs nothing)."""
        out: list[frozenset[str]] = []
        for key, arg in cond.items():
            if key == "marker":
                out.append(frozenset(_as_list(arg["kind"])))
            elif key == "follows":
                out.append(frozenset([arg["first"]]))
            elif key == "cond":
                out += self._needs(self.conditions[arg])
            elif key == "all":
                for sub in arg:
                    out += self._needs(sub)
            elif key == "any":
                alts = [self._needs(sub) for sub in arg]
                if alts and all(alts):      # each alternative needs something: one of them is needed
                    out.append(frozenset().union(*(min(a, key=len) for a in alts)))
        return list(dict.fromkeys(out))

    def _plan(self, key: tuple[str, frozenset[str]]) -> list[tuple[Rule, Check, NameSet | None]]:
        """The rules of crash kind ``key[0]`` whose needed marker kinds are all among ``key[1]``, in file order."""
        kind, present = key
        got = []
        for r, c, needs in self._by_kind.get(kind, self._any_kind):
            if any(n.isdisjoint(present) for n in needs):
                continue
            absent = _absent_kinds(r.when)
            if absent is not None:
                if not absent.isdisjoint(present):
                    continue                # ``not = {marker = {kind = ...}}`` of a kind the log holds
                if r.when.keys() == {"crash", "not"}:
                    c = _crash_context      # holds on every such view: its evidence is the crash header's
            got.append((r, c, self._gates[r.id]))
        if len(self._plans) >= 4096:        # kinds x marker-kind combinations: few, but bounded
            self._plans.clear()
        self._plans[key] = got
        return got

    # -- evaluation --------------------------------------------------------------------------------
    def holds(self, cond: dict[str, Any], view: ReportView) -> list[Evidence] | None:
        """Evidence if ``cond`` holds on ``view`` (possibly empty), None if it does not."""
        return self.compile(cond)[0](view, {})

    def evaluate(self, view: ReportView) -> list[Hit]:
        hits = []
        kinds = view._kinds
        key = (view.crash_kind, view.marker_kinds() if kinds is None else kinds)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key)        # rules needing marker kinds the log lacks are not tried
        memo: dict[str, Any] = {}
        fn = view.crash_function
        for rule, check, gate in plan:
            if gate is not None:          # the rule names the crash function: test it here, by the set's memo
                if not fn:
                    continue
                known = gate._memo.get(fn)
                if not (gate._test(fn) if known is None else known):
                    continue
            ev = check(view, memo)
            if ev is not None:
                if len(ev) > 1:
                    ev = _dedup(ev)      # ordered by role: decisive when the first is more than context
                hits.append(Hit(rule, ev, bool(ev) and ev[0].get("role") != "context"))
        return hits


def _absent_kinds(when: dict[str, Any]) -> frozenset[str] | None:
    """The marker kinds a rule's ``not = {marker = {kind = ...}}`` (a bare kind test) says the log must lack."""
    cond = when.get("not")
    if isinstance(cond, dict) and cond.keys() == {"marker"}:
        spec = cond["marker"]
        if isinstance(spec, dict) and spec.keys() == {"kind"}:
            return frozenset(_as_list(spec["kind"]))
    return None


def _crash_context(view: ReportView, memo: dict[str, Any]) -> list[Evidence]:
    """The evidence of ``crash = [...]`` on a view of one of its kinds (``_p_crash``): the header, as context."""
    return [_line_ev(view, view.crash_line, "crash header", role="context")] if view.crash_line is not None else []


def _all_of(parts: list[tuple[Check, int]]) -> tuple[Check, int]:
    """Every part holds: tested cheapest first, the evidence in the parts' order."""
    cost = sum(c for _, c in parts)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return (lambda view, memo: []), 0
    checks = [c for c, _ in parts]
    order = sorted(range(len(parts)), key=lambda i: parts[i][1])
    n = len(parts)
    if order == list(range(n)):
        def in_order(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
            out: list[Evidence] = []
            for c in checks:
                ev = c(view, memo)
                if ev is None:
                    return None
                out += ev
            return out
        return in_order, cost
    ranked = [(i, checks[i]) for i in order]

    def cheapest_first(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        got: list[Any] = [None] * n
        for i, c in ranked:
            ev = c(view, memo)
            if ev is None:
                return None
            got[i] = ev
        out: list[Evidence] = []
        for ev in got:
            out += ev
        return out
    return cheapest_first, cost


def _any_of(parts: list[tuple[Check, int]]) -> tuple[Check, int]:
    """One part holds: every part is tested (the evidence of each that holds, in order)."""
    checks = [c for c, _ in parts]

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        out: list[Evidence] = []
        found = False
        for c in checks:
            ev = c(view, memo)
            if ev is not None:
                found = True
                out += ev
        return out if found else None
    return check, sum(c for _, c in parts)


def _not(part: tuple[Check, int]) -> tuple[Check, int]:
    inner = part[0]

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        return None if inner(view, memo) is not None else []
    return check, part[1]


def _dedup(ev: list[Evidence]) -> list[Evidence]:
    """One entry per line (the strongest role it was matched in), ordered by role: the decisive line first."""
    if len(ev) < 2:
        return list(ev)
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


# -- primitives: each compiles its argument into a Check ---------------------------------------------------------
def _p_crash(rs: RuleSet, kinds: list[str]) -> Check:
    wanted = frozenset(kinds)

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        if view.crash_kind not in wanted:
            return None
        return [_line_ev(view, view.crash_line, "crash header", role="context")] if view.crash_line is not None \
            else []
    return check


def _p_header(rs: RuleSet, rx: str) -> Check:
    why = f"header ~ {rx}"
    literal = rx[1:] if rx.startswith("^") and re.escape(rx[1:]) == rx[1:] else None
    # a literal start: the same test, by str.startswith (no regexp run)
    holds = methodcaller("startswith", literal) if literal is not None else rs.regex(rx).search

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        if view.crash_line is None or not holds(view.lines.get(view.crash_line, "")):   # view.text, inline
            return None
        return [_line_ev(view, view.crash_line, why, role="context")]
    return check


def _p_crash_function(rs: RuleSet, names: list[str] | str) -> Check:
    want = rs.names(names)

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        if view.crash_function not in want:
            return None
        return [_line_ev(view, view.crash_function_line, f"crash in {view.crash_function}", role="site")]
    return check


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


def _selected(view: ReportView, which: str) -> list[tuple[str, list[Frame]]]:
    """The stacks of ``view`` that ``which`` selects, in print order."""
    stacks = view.stacks()
    if which == "crash":
        got = stacks.get("crash")
        return [("crash", got)] if got is not None else []
    return [(name, frames) for name, frames in stacks.items() if _stack_selected(name, which)]


def _p_frames(rs: RuleSet, spec: dict[str, Any]) -> Check:
    which = spec.get("stack", "crash")
    want = rs.names(spec["any"])
    callers = rs.names(spec["callers"]) if "callers" in spec else None
    top = spec.get("top")

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        out: list[Evidence] = []
        if which == "crash":            # (most rules: the crash stack alone, no selection)
            frames = (view._stacks if view._stacks is not None else view.stacks()).get("crash")
            if frames is None:
                return None
            selected: Any = (("crash", frames),)
        else:
            selected = _selected(view, which)
        for name, frames in selected:
            if top:         # the first frames only: their names read, the whole stack's only to find a caller
                names = None
                seen = list(islice(view.head_names(name), top))
            else:
                seen = names = view.names(name)
            i = want.first(seen)
            if i < 0:
                continue
            if callers is None:
                out.append(_frame_ev(frames[i], f"frame in {name}"))
                continue
            if names is None:
                names = view.names(name)
            # the first caller below the first wanted frame: none below it, none below a later one either
            j = callers.first(names, i + 1)
            if j >= 0:
                caller = frames[j]
                out += [_frame_ev(frames[i], f"frame in {name}"),
                        _frame_ev(caller, f"called from {caller['function']}")]
        return out or None
    return check


def _named_lines(attr: str, what: str, limit: int) -> Callable[[RuleSet, str], Check]:
    """A primitive over the view's ``(name, line)`` pairs ``attr`` (lockdep locks, usage states): the first
    ``limit`` distinct lines whose name matches the rule's regexp."""

    def compile_(rs: RuleSet, rx: str) -> Check:
        search = rs.regex(rx).search
        why = f"{what} ~ {rx}"

        def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
            hits = [i for name, i in getattr(view, attr) if search(name)]
            if not hits:
                return None
            return [_line_ev(view, i, why) for i in sorted(set(hits))[:limit]]
        return check
    return compile_


_p_lock = _named_lines("locks", "lock", 3)
_p_usage = _named_lines("usages", "usage", 2)


def _has(rs: RuleSet, want: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Whether a marker's fields hold ``want`` (a list: one of these; a string: a regex; else equal)."""
    tests: list[tuple[str, str, Any]] = []
    for key, value in want.items():
        if isinstance(value, list):
            tests.append((key, "in", value))
        elif isinstance(value, str):
            tests.append((key, "rx", rs.regex(value).search))
        else:
            tests.append((key, "eq", value))

    def holds(fields: dict[str, Any]) -> bool:
        for key, how, value in tests:
            got = fields.get(key)
            if how == "in":
                if got not in value:
                    return False
            elif how == "rx":
                if got is None or not value(str(got)):
                    return False
            elif got != value:
                return False
        return True
    return holds


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


def _p_marker(rs: RuleSet, spec: dict[str, Any]) -> Check:
    kinds = _as_list(spec["kind"])
    kind_set = frozenset(kinds)
    before_crash, same_task = spec.get("before_crash"), spec.get("same_task")
    same_event, not_other_task = spec.get("same_event"), spec.get("not_other_task")
    error_not = spec.get("error_not")
    has = _has(rs, spec["has"]) if "has" in spec else None
    has_not = _has(rs, spec["has_not"]) if "has_not" in spec else None
    before = spec.get("before")

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        present = view._kinds
        if kind_set.isdisjoint(view.marker_kinds() if present is None else present):
            return None
        out: list[Evidence] = []
        for m in view.markers:
            if m.kind not in kinds:
                continue
            if before_crash and view.crash_line is not None and not (m.line or 0) < view.crash_line:
                continue
            if same_task and not (m.pid and view.crash_pid and m.pid == view.crash_pid):
                continue
            if same_event and m.event != 0:
                continue
            if not_other_task and _other_task(view, m):
                continue
            if error_not is not None and m.error is not None and m.error in error_not:
                continue
            if has is not None and not has(m.fields):
                continue
            if has_not is not None and has_not(m.fields):
                continue
            if before is not None and not any(o.kind in before and (o.line or 0) > (m.line or 0)
                                              for o in view.markers):
                continue
            out += _marker_ev(view, m, f"marker {m.kind}")
            if same_task:
                if m.task_line is not None:
                    out.append(_line_ev(view, m.task_line, f"injected in PID {m.pid}"))
                if view.crash_task_line is not None:
                    out.append(_line_ev(view, view.crash_task_line, f"crash in PID {view.crash_pid}"))
            if len(out) >= 4:
                break
        return out or None
    return check


def _p_follows(rs: RuleSet, spec: dict[str, Any]) -> Check:
    first = spec["first"]
    then = _as_list(spec["then"])
    within = spec.get("within", 30)
    same_task = spec.get("same_task")

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        present = view.marker_kinds()
        if first not in present or present.isdisjoint(then):
            return None
        firsts = [m for m in view.markers if m.kind == first and m.line is not None]
        for a in firsts:
            for b in view.markers:
                if b.kind not in then or b.line is None or b.line <= a.line:
                    continue
                if a.pid and b.pid:
                    if same_task and a.pid != b.pid:
                        continue
                elif b.line - a.line > within:
                    continue
                return [*_marker_ev(view, a, f"marker {a.kind}"),
                        *_marker_ev(view, b, f"then {b.kind}" + (f" in PID {b.pid}" if b.pid else ""))]
        return None
    return check


def _p_kernel(rs: RuleSet, spec: dict[str, Any]) -> Check:
    want_lo = _release(spec["min"]) if "min" in spec else OLDEST
    want_hi = _release(spec["max"]) if "max" in spec else NEWEST

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        lo, hi = view.kernel_range
        return [] if want_lo <= lo and hi <= want_hi else None
    return check


def _p_cond(rs: RuleSet, name: str) -> Check:
    return rs._compile_cond(name)[0]


def _p_gfp(rs: RuleSet, flag: str) -> Check:
    why = f"gfp {flag}"

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        if not any(g == flag for g, _ in view.gfp):
            return None
        lo, hi = view.crash_span()
        lines = sorted({n for g, n in view.gfp if g == flag and n is not None and lo <= n < hi})
        if not lines:
            return None
        return [_line_ev(view, n, why) for n in lines[:2]]
    return check


def _p_shared_frame(rs: RuleSet, spec: dict[str, Any]) -> Check:
    plumbing = rs.names("@plumbing")
    a, b = spec["a"], spec["b"]

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        a_frames = [f for _, fs in _selected(view, a) for f in fs]
        if not a_frames:
            return None
        b_frames = {f["function"]: f for _, fs in _selected(view, b) for f in fs}
        for f in a_frames:
            if f["function"] in b_frames and f["function"] not in plumbing:
                return [_frame_ev(f, f"in {f['stack']}"), _frame_ev(b_frames[f["function"]], "also in the crash stack")]
        return None
    return check


def _p_line_before_crash(rs: RuleSet, spec: dict[str, Any]) -> Check:
    search = rs.regex(spec["regex"]).search
    within = spec.get("within", 3)

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        if view.crash_line is None:
            return None
        for n in range(view.crash_line - 1, view.crash_line - 1 - within, -1):
            if n in view.before and search(view.text(n)):
                return [_line_ev(view, n, "just before the crash")]
        return None
    return check


def _p_task(rs: RuleSet, rx: str) -> Check:
    search = rs.regex(rx).search

    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        if not view.crash_comm or not search(view.crash_comm):
            return None
        return [_line_ev(view, view.crash_task_line, f"task {view.crash_comm}", role="site")] \
            if view.crash_task_line is not None else []
    return check


def _p_irq(rs: RuleSet, flag: bool) -> Check:
    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        return [] if view.in_irq == flag else None
    return check


def _p_corrupted(rs: RuleSet, flag: bool) -> Check:
    def check(view: ReportView, memo: dict[str, Any]) -> list[Evidence] | None:
        return [] if view.corrupted == flag else None
    return check


# Each primitive's compiler and its cost rank (the cheap tests of a table run first; a failed test ends it).
# ``crash`` runs last: ``RuleSet.evaluate`` has already chosen the rules by crash kind, so at a rule's top level
# it cannot fail, and its evidence (the header line) is built only for the tables that hold.
COMPILERS: dict[str, tuple[Callable[[RuleSet, Any], Check], int]] = {
    "crash": (_p_crash, 9),
    "irq": (_p_irq, 0),
    "corrupted": (_p_corrupted, 0),
    "kernel": (_p_kernel, 1),
    "task": (_p_task, 1),
    "header": (_p_header, 1),
    "crash_function": (_p_crash_function, 1),
    "marker": (_p_marker, 2),
    "line_before_crash": (_p_line_before_crash, 2),
    "follows": (_p_follows, 3),
    "gfp": (_p_gfp, 3),
    "lock": (_p_lock, 3),
    "usage": (_p_usage, 3),
    "frames": (_p_frames, 4),
    "cond": (_p_cond, 5),
    "shared_frame": (_p_shared_frame, 6),
}
PRIMITIVES = frozenset(COMPILERS)
