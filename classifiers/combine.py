"""The combiner: rules and model into one verdict with its evidence.

- a confident rule (confidence >= ``STRONG``) decides; several confident rules of different labels are
  settled by the LABELS.md precedence (data-loss > reclaim-deadlock > fault-injection > nofail-warning > other);
- otherwise the model decides; a weaker rule that agrees with it raises the confidence, one that disagrees
  is weighed against the model's probability (the more confident side wins);
- with no rule hit, a hesitant model (top probability < ``LOW``) does not assign a consequence label: the
  verdict is ``other`` (what most reports are) and needs review;
- the verdict ``needs_review`` when rules and model disagree, when the winning probability is low
  (< ``LOW``), or when the report is corrupted and no confident rule decided;
- a human label (``Verdict.human``) overrides all of this (the store layer applies it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classifiers.rules import PRECEDENCE, Hit

STRONG = 0.8
LOW = 0.6


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


def rules_label(hits: list[Hit]) -> str:
    """What the rules alone say: the confident hit of highest precedence, else ``other``."""
    strong = [h for h in hits if h.rule.confidence >= STRONG]
    if not strong:
        return "other"
    return min((h.rule.label for h in strong), key=PRECEDENCE.__getitem__)


def combine(hits: list[Hit], probs: dict[str, float] | None, *, corrupted: bool = False,
            model_version: str | None = None) -> Verdict:
    """One verdict from the rule hits and the model's class probabilities (None when there is no model)."""
    evidence: dict[str, Any] = {"rules": [h.as_dict() for h in hits]}
    model_label, p_top = None, 0.0
    if probs:
        model_label = max(probs, key=probs.__getitem__)
        p_top = probs[model_label]
        evidence["model"] = {"label": model_label, "probabilities": {k: round(v, 4) for k, v in probs.items()},
                             "version": model_version}
    strong = [h for h in hits if h.rule.confidence >= STRONG]
    weak = [h for h in hits if h.rule.confidence < STRONG]
    if strong:
        label = rules_label(hits)
        conf = max(h.rule.confidence for h in strong if h.rule.label == label)
        agree = model_label is None or model_label == label
        if not agree:
            conf = (conf + probs.get(label, 0.0)) / 2
        evidence["decided_by"] = "rule"
        return Verdict(label, conf, not agree, evidence)
    if model_label is None:
        if weak:
            best = min(weak, key=lambda h: (PRECEDENCE[h.rule.label], -h.rule.confidence))
            evidence["decided_by"] = "rule"
            return Verdict(best.rule.label, best.rule.confidence, True, evidence)
        evidence["decided_by"] = "default"
        return Verdict("other", 0.5, True, evidence)
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
    if not hits and label != "other" and conf < LOW:
        # a consequence is a claim that needs evidence: no rule found any and the model hesitates
        evidence["decided_by"] = "default"
        evidence["note"] = f"no rule fired and the model is unsure ({label} {conf:.2f}): review"
        label, conf, review = "other", probs.get("other", 0.0), True
    if corrupted:
        review = True
    return Verdict(label, conf, review, evidence)
