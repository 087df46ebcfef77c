"""The combiner: rules and model into one verdict with its evidence (the rules of a verdict: ``VERDICTS.md``).

- a consequence label (``data-loss``, ``reclaim-deadlock``, ``fault-injection``, ``nofail-warning``) is given
  only with evidence: a *decisive* hit of that label (``rules.Hit.decisive``: it matched a line or frame of
  this crash, not just its header). A hit that rests on the header alone is kept in the evidence but decides
  nothing;
- a confident rule (confidence >= ``STRONG``) decides; several confident rules of different labels are
  settled by the LABELS.md precedence (data-loss > reclaim-deadlock > fault-injection > nofail-warning > other);
- otherwise the model ranks the labels that have evidence (and ``other``): a weaker rule that agrees with it
  raises the confidence, one that disagrees is weighed against the model's probability (the more confident
  side wins);
- the model never gives a consequence label on its own: when it ranks first a consequence no rule found
  evidence for, the verdict is ``other``, ``needs_review``, with the model's choice kept as
  ``evidence["suggestion"]`` (``decided_by = "suggestion"``);
- the verdict ``needs_review`` when rules and model disagree, when the winning probability is low
  (< ``LOW``), when only the model speaks, or when the report is corrupted and no confident rule decided; but
  not when a confident ``other`` rule that decided *excludes* the model's label (``Rule.excludes``: its condition
  is one of LABELS.md's "not this label" cases, such as a lockdep cycle with no reclaim edge for
  ``reclaim-deadlock``) and no rule found evidence of that label: the model's preference is then kept as
  ``evidence["excluded"]``, ruled out, and does not lower the rule's confidence;
- ``evidence["decisive"]`` is the first line of the deciding hit (the one a maintainer checks first), and
  ``evidence["event"]`` the crash or log line the verdict is about (``describe_event``);
- a human label (``Verdict.human``) overrides all of this (the store layer applies it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import floor
from typing import Any

from classifiers.rules import PRECEDENCE, Hit

STRONG = 0.8
LOW = 0.6
OTHER = "other"


@dataclass
class Verdict:
    label: str
    confidence: float
    needs_review: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str = "combined"          # combined | human
    version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": round(self.confidence, 3), "needs_review": self.needs_review,
                "source": self.source, "classifier_version": self.version, "evidence": self.evidence}

    @classmethod
    def human(cls, label: str, who: str | None = None, note: str | None = None) -> Verdict:
        return cls(label, 1.0, False, {"decided_by": "human", "who": who, "note": note}, source="human")


def round4(x: float) -> float:
    """``round(x, 4)``, the very same float, for a probability: the decimal rounding ``round`` does through a
    digit string (2,800 instructions a call) is the nearest integer to ``x * 10000`` over 10000 when that product
    is not within 1e-6 of a half (its error is below 1e-12 in [0, 1]); anything else is left to ``round``."""
    if 0.0 < x <= 1.0:
        y = x * 10000.0
        k = floor(y)
        f = y - k                   # exact: y < 2**14
        if abs(f - 0.5) > 1e-6:
            return (k + (f > 0.5)) / 10000.0     # k / 10**4 correctly rounded, as round's digit string reads
    return round(x, 4)


# From this many rows ``round4_rows`` rounds with numpy (below it, numpy's import costs more)
ROUND_BATCH = 256


def round4_rows(rows: list[list[float]]) -> list[list[float]]:
    """``round4`` of every value of ``rows`` (the model's probabilities of a batch); a batch of ``ROUND_BATCH``
    rows or more in one numpy pass of round4's very operations (the same floats), the values round4 leaves to
    ``round`` by ``round``."""
    if len(rows) < ROUND_BATCH:
        return [list(map(round4, row)) for row in rows]
    import numpy as np

    x = np.array(rows, dtype=np.float64)
    y = x * 10000.0
    k = np.floor(y)
    f = y - k
    out = ((k + (f > 0.5)) / 10000.0).tolist()
    for i, j in zip(*np.nonzero(~((x > 0.0) & (x <= 1.0) & (np.abs(f - 0.5) > 1e-6))), strict=True):
        out[i][j] = round(rows[i][j], 4)
    return out


def usable(hits: list[Hit]) -> list[Hit]:
    """The hits that may decide: every ``other`` hit, and consequence hits with decisive evidence."""
    return [h for h in hits if h.rule.label == OTHER or h.decisive]


def rules_label(hits: list[Hit]) -> str:
    """What the rules alone say: the confident usable hit of highest precedence, else ``other``."""
    return _strongest([h for h in usable(hits) if h.rule.confidence >= STRONG])


def _strongest(strong: list[Hit]) -> str:
    """The label of highest precedence among confident usable hits, else ``other``."""
    if not strong:
        return OTHER
    return min((h.rule.label for h in strong), key=PRECEDENCE.__getitem__)


def combine(hits: list[Hit], probs: dict[str, float] | None, *, corrupted: bool = False,
            model_version: str | None = None, rounded: list[float] | None = None) -> Verdict:
    """One verdict from the rule hits and the model's class probabilities (None when there is no model);
    ``rounded``: their ``round4``, when the caller rounded a batch (``round4_rows``)."""
    # each hit as the verdict shows it (its rule, label, confidence, why, decisive flag and evidence lines)
    evidence: dict[str, Any] = {"rules": [{"rule": h.rule.id, "label": h.rule.label, "confidence": h.rule.confidence,
                                           "why": h.rule.why, "decisive": h.decisive, "matches": h.evidence}
                                          for h in hits]}
    model_label, p_top = None, 0.0
    if probs:
        model_label = max(probs, key=probs.__getitem__)
        p_top = probs[model_label]
        shown = dict(zip(probs, map(round4, probs.values()) if rounded is None else rounded, strict=True))
        evidence["model"] = {"label": model_label, "probabilities": shown, "version": model_version}
    ok: list[Hit] = []                # usable()
    strong: list[Hit] = []
    weak: list[Hit] = []
    idle: list[str] = []
    for h in hits:
        rule = h.rule
        if rule.label == OTHER or h.decisive:
            ok.append(h)
            (strong if rule.confidence >= STRONG else weak).append(h)
        else:
            idle.append(rule.id)
    if idle:
        evidence["not_evidence"] = {"rules": idle, "why": "matched only the crash header: no line or frame of "
                                                          "this crash shows the consequence"}
    if strong:
        if len(strong) == 1:          # most reports: one confident rule
            label, conf = strong[0].rule.label, strong[0].rule.confidence
        else:
            label = _strongest(strong)
            conf = max([h.rule.confidence for h in strong if h.rule.label == label])
        agree = model_label is None or model_label == label
        if not agree and label == OTHER and all(h.rule.label != model_label for h in ok):
            ruled_out = next((h for h in strong if model_label in h.rule.excludes), None)
            if ruled_out is not None:       # the model prefers a label this crash cannot have (LABELS.md)
                evidence["excluded"] = {"label": model_label, "rule": ruled_out.rule.id, "why": ruled_out.rule.why}
                agree = True
        if not agree:
            conf = (conf + probs.get(label, 0.0)) / 2
        evidence["decided_by"] = "rule"
        return _finish(Verdict(label, conf, not agree, evidence), ok)
    if model_label is None:
        if weak:
            best = min(weak, key=lambda h: (PRECEDENCE[h.rule.label], -h.rule.confidence))
            evidence["decided_by"] = "rule"
            return _finish(Verdict(best.rule.label, best.rule.confidence, True, evidence), ok)
        evidence["decided_by"] = "default"
        return _finish(Verdict(OTHER, 0.5, True, evidence), ok)
    label, conf, review = model_label, p_top, p_top < LOW
    evidence["decided_by"] = "model"
    if weak:
        agreeing = [h for h in weak if h.rule.label == model_label]
        if agreeing:
            conf = max(p_top, max(h.rule.confidence for h in agreeing))
            review = conf < LOW
        else:
            best = max(weak, key=lambda h: (h.rule.confidence, -PRECEDENCE[h.rule.label]))
            review = True
            if best.rule.confidence > p_top:
                label, conf = best.rule.label, best.rule.confidence
                evidence["decided_by"] = "rule"
    if label != OTHER and all(h.rule.label != label for h in ok):
        # the model alone names a consequence: a suggestion to review, never a verdict
        evidence["decided_by"] = "suggestion"
        evidence["suggestion"] = {"label": label, "probability": round(conf, 4),
                                  "why": "the model ranks it first, but no rule found a line of this crash "
                                         "that shows it"}
        label, conf, review = OTHER, probs.get(OTHER, 0.0), True
    if corrupted:
        review = True
    return _finish(Verdict(label, conf, review, evidence), ok)


def _finish(v: Verdict, ok: list[Hit]) -> Verdict:
    """``v`` with ``evidence["decisive"]``: the first evidence line of the most confident of the usable hits
    ``ok`` of its label (the first of them, as ``max``), when there is one."""
    label = v.label
    best = None
    for h in ok:
        if h.rule.label == label and h.evidence and (best is None or h.rule.confidence > best.rule.confidence):
            best = h
    if best is not None:
        first = best.evidence[0]
        out = {"rule": best.rule.id, "line": first.get("line"), "text": first["text"], "role": first.get("role")}
        if "event" in first:
            out["event"] = first["event"]
        v.evidence["decisive"] = out
    return v


def describe_event(view: Any, verdict: Verdict) -> dict[str, Any]:
    """The crash or log line the verdict is about. The primary crash (event 0), unless the deciding evidence
    is a marker that belongs elsewhere: to a later crash of the log (that crash), or to no crash at all (a lost
    write printed by a bio completion after a panic, a data-loss line in a log without a crash: that line).
    ``primary_crash`` names the primary crash when the verdict is about something else; ``crashes``: how
    many distinct crash headers the log holds, when more than one."""
    decisive = verdict.evidence.get("decisive") or _NO_DECISIVE
    crash = None
    n = view.crash_line
    if n is not None:
        crash = {"kind": view.crash_kind, "line": n, "text": view.lines.get(n, "")}     # view.text(n)
        if view.crash_pid is not None or view.crash_comm:
            crash["task"] = {"comm": view.crash_comm, "pid": view.crash_pid}
    k = decisive.get("event", 0) if verdict.label != OTHER else 0
    headers = view.headers
    if isinstance(k, int) and 0 < k < len(headers):
        line, kind = headers[k]
        out = {"kind": kind, "line": line, "text": view.text(line) or None, "primary": False}
    elif k is None:
        out = {"kind": "log-line", "line": decisive.get("line"), "text": decisive.get("text"),
               "primary": crash is None}
    elif crash is not None:
        crash["primary"] = True         # the primary crash itself (most verdicts): no copy
        out = crash
        crash = None
    else:
        out = {"kind": "none", "primary": True}
    if crash is not None and not out["primary"]:
        out["primary_crash"] = crash
    distinct = len(headers) - len(view.repeats)
    if distinct > 1:
        out["crashes"] = distinct
    return out


_NO_DECISIVE: dict[str, Any] = {}
