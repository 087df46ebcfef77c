"""Milestones 2 and 3 on the labelled set: grouped cross-validation figures, and evidence a maintainer can check."""

from __future__ import annotations

import json

import pytest

from classifiers.classifier import Classifier
from classifiers.dataset import load_examples
from classifiers.evaluate import CLASSIFIERS, cross_validate, render_table
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def examples():
    labelled = shared_data("labelled")
    return load_examples(labelled)


@pytest.fixture(scope="module")
def evaluation(examples):
    return cross_validate(examples)


def test_corpus_labels_match_the_shared_labels(examples):
    """corpus/labels.jsonl (ids only, no text) joins every labelled text with its label."""
    labelled = shared_data("labelled")
    rows = [json.loads(line) for line in (labelled / "labels.jsonl").read_text().splitlines() if line.strip()]
    assert len(examples) == len(rows)
    by_file = {r["file"]: r["label"] for r in rows}
    assert {ex.name: ex.label for ex in examples} == by_file


def test_combination_meets_the_targets_and_beats_every_other_classifier(evaluation):
    print("\n" + render_table(evaluation))
    comb = evaluation.scores["combined"]
    assert comb.macro_f1 >= 0.90
    assert comb.per_label["data-loss"]["recall"] >= 0.95
    assert comb.per_label["nofail-warning"]["precision"] >= 0.95
    for name in CLASSIFIERS[:-1]:
        assert comb.macro_f1 > evaluation.scores[name].macro_f1, name


def test_model_is_trained_on_training_folds_only(examples, monkeypatch):
    """Spy on training and prediction: no report (nor its syzbot bug) is on both sides of a fold."""
    from classifiers import evaluate
    from classifiers.model import Model

    folds = []
    real_train, real_proba = Model.train.__func__, Model.predict_proba

    def spy_train(cls, feats, labels, **kw):
        folds.append({"train": {id(f) for f in feats}})
        return real_train(cls, feats, labels, **kw)

    def spy_proba(self, feats):
        folds[-1]["test"] = {id(f) for f in feats}
        return real_proba(self, feats)

    made = []
    real_features = evaluate.features

    def features(view):
        f = real_features(view)
        made.append(f)
        return f

    monkeypatch.setattr(Model, "train", classmethod(spy_train))
    monkeypatch.setattr(Model, "predict_proba", spy_proba)
    monkeypatch.setattr(evaluate, "features", features)
    evaluate.cross_validate(examples)
    group_of = {id(f): ex.group for f, ex in zip(made, examples, strict=True)}
    assert len(folds) >= 2
    seen_test = set()
    for fold in folds:
        assert not fold["train"] & fold["test"]
        assert not {group_of[i] for i in fold["train"]} & {group_of[i] for i in fold["test"]}
        seen_test |= fold["test"]
    assert len(seen_test) == len(examples)


def test_grouping_keeps_a_bug_on_one_side(examples):
    """Give pairs of reports the same group: the folds must still keep every group whole."""
    from classifiers.evaluate import cross_validate

    paired = []
    for i, ex in enumerate(examples):
        ex2 = type(ex)(**{**ex.__dict__, "group": f"g{i // 2}"})
        paired.append(ex2)
    ev = cross_validate(paired)
    assert ev.n_groups == (len(examples) + 1) // 2
    assert ev.scores["combined"].macro_f1 >= 0.85


def test_every_evidence_line_and_frame_is_in_the_report_text(examples):
    clf = Classifier()
    checked = 0
    for ex in examples:
        v = clf.classify(ex.parsed())
        assert v.evidence.get("rules") is not None
        for hit in v.evidence["rules"]:
            assert hit["matches"], (ex.name, hit["rule"])
            for m in hit["matches"]:
                if m["kind"] in ("line", "frame"):
                    assert m["text"] and m["text"] in ex.text, (ex.name, hit["rule"], m)
                    if m["kind"] == "frame":
                        assert m["function"] in ex.text
                    checked += 1
        if v.evidence["decided_by"] == "model":
            assert set(v.evidence["model"]["probabilities"]) == {"data-loss", "reclaim-deadlock",
                                                                 "fault-injection", "nofail-warning", "other"}
    assert checked > 200


def test_eval_command_prints_five_classifiers(cli):
    labelled = shared_data("labelled")
    res = cli("eval", "--json", "--labelled", str(labelled))
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["classifier"] for r in rows] == CLASSIFIERS
    assert all(len(r["confusion"]) == 5 for r in rows)
    res = cli("eval", "--labelled", str(labelled), "--labels", str(labelled / "labels.jsonl"))
    assert res.exit_code == 0
    assert "combined" in res.output and "confusion matrix" in res.output


def test_eval_with_unreadable_labels_fails_cleanly(cli, tmp_path):
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"file": "x.txt", "label": "other"}\nnot json\n')
    res = cli("eval", "--labels", str(bad))
    assert res.exit_code == 1
    assert "not JSON" in res.output and "Traceback" not in res.output
