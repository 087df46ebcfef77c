"""The classifier: rules + model + combiner behind one call.

    from classifiers import classify
    verdict = classify(report)                # Verdict(label, confidence, needs_review, evidence)

``Classifier.classify_many`` classifies a batch of parsed reports with one vectorized model call;
``Classifier.classify_rows`` the same from the store's rows (the import hook and the re-classification of a whole
store use it: the views are built from the stored JSON, no ``Report`` rebuilt). ``Classifier.version`` names
the rules file and the model, and is stored with every verdict, so a new rules file or model re-classifies
stored reports.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from classifiers.combine import Verdict, combine, describe_event, round4_rows
from classifiers.features import FeatureIndex, columns1, feature_index, features
from classifiers.rules import RULES_FILE, Hit, RuleSet
from classifiers.view import ReportView, build_view

_DEFAULT: Classifier | None = None


class Classifier:
    def __init__(self, rules: RuleSet | None = None, model: Any | None = None, *, use_model: bool = True,
                 rules_path: str | Path = RULES_FILE):
        self.rules = rules or RuleSet.load(rules_path)
        self._rules_digest = hashlib.sha256(Path(rules_path).read_bytes()).hexdigest()[:8] if rules is None \
            else hashlib.sha256(repr([(r.id, r.label, r.confidence, r.when) for r in self.rules.rules])
                                .encode()).hexdigest()[:8]
        if model is None and use_model:
            from classifiers.model import Model, model_path

            path = model_path()
            model = Model.load(path) if path.exists() else None
        self.model = model
        self._index: tuple[Any, FeatureIndex | None] | None = None   # the model's columns (features.feature_index)

    @property
    def version(self) -> str:
        mv = self.model.version if self.model is not None else "none"
        return f"rules-{self._rules_digest}+model-{mv}"

    def views(self, reports: Sequence[Any]) -> list[ReportView]:
        return list(map(build_view, reports))

    def hits(self, view: ReportView) -> list[Hit]:
        return self.rules.evaluate(view)

    def probabilities(self, views: Sequence[ReportView]) -> list[dict[str, float] | None]:
        if self.model is None:
            return [None] * len(views)
        classes = self.model.classes
        return [dict(zip(classes, row, strict=True)) for row in self._scores(views)]

    def _scores(self, views: Sequence[ReportView]) -> list[list[float]]:
        """The model's class probabilities of each view, as floats in ``model.classes`` order."""
        if self._index is None or self._index[0] is not self.model:
            names = getattr(self.model, "features", None)       # a model without a vocabulary sees every feature
            index = feature_index(names) if isinstance(names, list) and hasattr(self.model, "predict_columns1") \
                else None
            self._index = (self.model, index)
        index = self._index[1]
        if index is None:
            return [list(map(float, row)) for row in self.model.predict_proba([features(v) for v in views])]
        return self.model.predict_columns1([columns1(v, index) for v in views])     # lists of floats already

    def classify_views(self, views: Sequence[ReportView]) -> list[Verdict]:
        hits = list(map(self.rules.evaluate, views))     # first: the features reuse the stacks' names they read
        version = self.version
        out = []
        if self.model is None:
            probs: list[dict[str, float] | None] = [None] * len(views)
            rounded: list[list[float] | None] = [None] * len(views)
            mv = None
        else:
            scores = self._scores(views)
            classes = self.model.classes
            probs = [dict(zip(classes, row, strict=True)) for row in scores]
            rounded = round4_rows(scores)
            mv = self.model.version
        for view, h, p, r in zip(views, hits, probs, rounded, strict=True):
            v = combine(h, p, corrupted=view.corrupted, model_version=mv, rounded=r)
            v.evidence["event"] = describe_event(view, v)
            v.version = version
            out.append(v)
        return out

    def classify_many(self, reports: Sequence[Any]) -> list[Verdict]:
        """Verdicts for parsed reports (``triage.report.Report``)."""
        with no_gc():
            return self.classify_views(self.views(reports))

    def classify_rows(self, rows: Sequence[tuple[str | None, str | None]]) -> list[Verdict]:
        """Verdicts for stored reports given as ``(parsed JSON, text)`` (``store_rows.view_from_row``): the
        views are built from the stored dicts, no ``Report`` rebuilt."""
        from classifiers.store_rows import view_from_row

        with no_gc():
            return self.classify_views([view_from_row(parsed, text) for parsed, text in rows])

    def classify(self, report: Any) -> Verdict:
        return self.classify_many([report])[0]


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for one batch. Classifying allocates many small containers (views,
    evidence, verdicts) that form no cycles and live as long as the batch; each collection they trigger walks
    the caller's whole heap (its parsed reports), which cost 40% of a batch of 10,000. Reference counting still
    frees everything; a collection runs as usual after the batch."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def default_classifier(reload: bool = False) -> Classifier:
    """The shipped rules and the current model (see ``classifiers.model.model_path``), loaded once."""
    global _DEFAULT
    if _DEFAULT is None or reload:
        _DEFAULT = Classifier()
    return _DEFAULT


def classify(report: Any) -> Verdict:
    """Classify one parsed report (``triage.report.parse`` result)."""
    return default_classifier().classify(report)
