"""Classifiers: declarative rules plus a scikit-learn model, combined into one verdict with evidence.

    from classifiers import classify
    verdict = classify(report)           # label, confidence, needs_review, evidence (report: triage.report.parse)

Classifiers read only the parsed ``Report`` (``classifiers.view`` organises it for the rules and features) and
import nothing of ``triage`` but the parser, ``triage.report``; labels and marker kinds come from ``vocab``.
Nothing here imports scikit-learn at module level; the model is loaded on first use.
"""

from classifiers.classifier import Classifier, classify, default_classifier
from classifiers.combine import Verdict
from vocab.labels import LABELS

__all__ = ["LABELS", "Classifier", "Verdict", "classify", "default_classifier"]
