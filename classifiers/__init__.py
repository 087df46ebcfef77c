"""Classifiers: declarative rules plus a scikit-learn model, combined into one verdict with evidence.

    from classifiers import classify
    verdict = classify(report, text)     # label, confidence, needs_review, evidence

Nothing here imports scikit-learn at module level; the model is loaded on first use.
"""

from classifiers.classifier import Classifier, classify, default_classifier
from classifiers.combine import Verdict
from classifiers.rules import LABELS

__all__ = ["LABELS", "Classifier", "Verdict", "classify", "default_classifier"]
