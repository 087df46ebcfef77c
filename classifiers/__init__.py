"""Classifiers: declarative rules plus a scikit-learn model, combined into one verdict with evidence."""
