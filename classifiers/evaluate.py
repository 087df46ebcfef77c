"""``triage eval``: five classifiers side by side, cross-validated on the labelled set, grouped by syzbot bug.

The folds come from ``StratifiedGroupKFold`` over the examples' groups (syzbot extid / bug id, else the
example itself), so reports of one bug never sit on both sides. The model is trained on the training folds
only; the rules and the baselines do not train. Metrics: per-label precision / recall / F1, macro-F1, and
the confusion matrix (rows = truth, columns = prediction, in ``LABELS`` order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from classifiers.baselines import crash_type_label, title_keyword_label
from classifiers.combine import combine, rules_label
from classifiers.dataset import Example
from classifiers.features import features
from classifiers.rules import RuleSet
from classifiers.view import ReportView
from vocab.labels import BY_NAME, LABELS

CLASSIFIERS = ["title-keywords", "crash-type", "rules", "model", "combined"]


@dataclass
class Scores:
    name: str
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)
    macro_f1: float = 0.0
    accuracy: float = 0.0
    confusion: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"classifier": self.name, "macro_f1": round(self.macro_f1, 4), "accuracy": round(self.accuracy, 4),
                "per_label": self.per_label, "labels": LABELS, "confusion": self.confusion}


@dataclass
class Evaluation:
    scores: dict[str, Scores]
    predictions: dict[str, list[str]]
    truth: list[str]
    names: list[str]
    n_splits: int
    n_groups: int
    decided: list[str] = field(default_factory=list)     # how each combined verdict was decided
    flagged: list[bool] = field(default_factory=list)    # whether it needs review

    def errors(self, classifier: str = "combined") -> list[tuple[str, str, str]]:
        return [(n, t, p) for n, t, p in zip(self.names, self.truth, self.predictions[classifier], strict=True)
                if t != p]


def score(name: str, truth: list[str], pred: list[str]) -> Scores:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=LABELS, zero_division=0)
    per = {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4),
                 "support": int(s[i])} for i, lab in enumerate(LABELS)}
    present = [i for i, lab in enumerate(LABELS) if s[i] > 0]
    macro = float(sum(f[i] for i in present) / len(present)) if present else 0.0
    cm = confusion_matrix(truth, pred, labels=LABELS).tolist()
    return Scores(name, per, macro, float(accuracy_score(truth, pred)), cm)


def cross_validate(examples: list[Example], *, n_splits: int = 5, seed: int = 0, rules: RuleSet | None = None
                   ) -> Evaluation:
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    from classifiers.model import Model

    rules = rules or RuleSet.load()
    views = [ReportView.build(ex.parsed()) for ex in examples]
    feats = [features(v) for v in views]
    hits = [rules.evaluate(v) for v in views]
    truth = [ex.label for ex in examples]
    groups = [ex.group for ex in examples]
    n = len(examples)
    pred: dict[str, list[str]] = {name: [""] * n for name in CLASSIFIERS}
    decided, flagged = [""] * n, [False] * n
    for i, v in enumerate(views):
        pred["title-keywords"][i] = title_keyword_label(v)
        pred["crash-type"][i] = crash_type_label(v)
        pred["rules"][i] = rules_label(hits[i])
    min_class = min(truth.count(lab) for lab in set(truth))
    k = max(2, min(n_splits, min_class, len(set(groups))))
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in cv.split(np.zeros(n), truth, groups):
        model = Model.train([feats[i] for i in train], [truth[i] for i in train],
                            weights=[examples[i].weight for i in train],
                            keep=[examples[i].source == "human" for i in train])
        proba = model.predict_proba([feats[i] for i in test])
        for row, i in zip(proba, test, strict=True):
            probs = dict(zip(model.classes, map(float, row), strict=True))
            pred["model"][i] = max(probs, key=probs.__getitem__)
            v = combine(hits[i], probs, corrupted=views[i].corrupted)
            pred["combined"][i] = v.label
            decided[i], flagged[i] = v.evidence.get("decided_by", "default"), v.needs_review
    scores = {name: score(name, truth, pred[name]) for name in CLASSIFIERS}
    return Evaluation(scores, pred, truth, [ex.name for ex in examples], k, len(set(groups)), decided, flagged)


def shares(ev: Evaluation) -> dict[str, Any]:
    """How the combination's verdicts were decided (rule / model / suggestion / default) and how many were
    flagged for review, as fractions of all verdicts."""
    n = len(ev.decided) or 1
    by = {k: round(ev.decided.count(k) / n, 4) for k in ("rule", "model", "suggestion", "default")}
    return {"decided_by": by, "needs_review": round(sum(ev.flagged) / n, 4)}


def render_table(ev: Evaluation) -> str:
    """The side-by-side table: macro-F1 and per-label F1 per classifier, then P/R/F1 and the confusion matrix
    of the combination."""
    short = {lab: BY_NAME[lab].short for lab in LABELS}
    head = f"{'classifier':<16}{'macro-F1':>9}{'acc':>7}" + "".join(f"{short[lab]:>11}" for lab in LABELS)
    lines = [f"grouped {ev.n_splits}-fold cross-validation, {len(ev.truth)} reports in {ev.n_groups} groups",
             "", head + "   (per-label F1)", "-" * len(head)]
    for name in CLASSIFIERS:
        s = ev.scores[name]
        lines.append(f"{name:<16}{s.macro_f1:>9.3f}{s.accuracy:>7.3f}"
                     + "".join(f"{s.per_label[lab]['f1']:>11.3f}" for lab in LABELS))
    comb = ev.scores["combined"]
    lines += ["", "combined, per label:", f"{'label':<18}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}"]
    for lab in LABELS:
        m = comb.per_label[lab]
        lines.append(f"{lab:<18}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}{m['support']:>9}")
    lines += ["", "combined, confusion matrix (rows = truth, columns = prediction):",
              f"{'':<18}" + "".join(f"{short[lab]:>11}" for lab in LABELS)]
    for lab, row in zip(LABELS, comb.confusion, strict=True):
        lines.append(f"{lab:<18}" + "".join(f"{x:>11}" for x in row))
    sh = shares(ev)
    lines += ["", "combined, verdicts decided by: " + ", ".join(f"{k} {v:.0%}" for k, v in sh["decided_by"].items())
              + f"; flagged for review {sh['needs_review']:.0%}"]
    return "\n".join(lines)
