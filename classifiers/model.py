"""The statistical half: a scikit-learn Pipeline (DictVectorizer -> Normalizer -> LogisticRegression).

The trained pipeline is saved as JSON *data* (feature names, coefficients, intercepts, classes, training
metadata), never as a pickle, so a model file cannot run code. ``corpus/model.json`` is the shipped model
``triage classify`` uses out of the box; ``triage train`` writes a new one.

Only training needs scikit-learn (imported inside ``Model.train``). Prediction is the pipeline's arithmetic
done here on the stored arrays, in plain Python: the feature dict's known features, scaled to unit length
(``Normalizer``), dotted with each class's coefficients plus its intercept, then the softmax of those scores
(multinomial ``LogisticRegression``; a two-class model has one row of coefficients and a logistic). Loading a
model and classifying a file costs neither numpy nor scikit-learn's start-up. A batch of ``BATCH_MIN`` reports
or more (an import, ``triage reclassify``) is scored with numpy, the batch's feature names looked up in one pass
and every report's products added in the same order as one by one: the very same floats.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce
from itertools import chain, repeat
from operator import add, mul, sub, truediv
from pathlib import Path
from typing import Any

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "corpus" / "model.json"
FORMAT = "syz-triage-logreg/1"
FEATURES_VERSION = "1"
DEFAULT_C = 4.0
# From this many reports ``predict_proba`` scores the batch with numpy (below it, numpy's import costs more)
BATCH_MIN = 256


def _sum(values: Any) -> float:
    """Left-to-right float sum (``sum`` compensates from Python 3.12 on; numpy's batch adds one by one)."""
    return reduce(add, values, 0.0)


def user_model() -> Path:
    """Where ``triage train`` writes by default (the user's data dir): it replaces the shipped model."""
    from records.paths import data_dir

    return data_dir() / "model.json"


def model_path() -> Path:
    """The model ``triage classify`` uses: ``TRIAGE_MODEL``, else the user's trained model, else the shipped one."""
    env = os.environ.get("TRIAGE_MODEL")
    if env:
        return Path(env)
    user = user_model()
    return user if user.exists() else SHIPPED_MODEL


class ModelError(ValueError):
    """The model file is missing, unreadable, or not a syz-triage model."""


@dataclass
class Model:
    classes: list[str]
    features: list[str]                # feature names, in coefficient column order
    coef: list[list[float]]            # one row per class (one row in all for a two-class model)
    intercept: list[float]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._columns = {name: j for j, name in enumerate(self.features)}
        # each feature's coefficients, one per row of ``coef``: a report's few features are looked up once
        self._by_column = [tuple(row[j] for row in self.coef) for j in range(len(self.features))]
        self._weights = {name: self._by_column[j] for name, j in self._columns.items()}
        self._matrix: Any = None          # the coefficients as a numpy array, for batches (``_proba_batch``)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to a worker pool) without the numpy copy: a worker builds its own on its first batch."""
        return {**self.__dict__, "_matrix": None}

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "untrained"))

    # -- training ----------------------------------------------------------------------------------
    @classmethod
    def train(cls, feats: list[dict[str, float]], labels: list[str], *, weights: list[float] | None = None,
              keep: list[bool] | None = None, min_df: int = 2, C: float = DEFAULT_C,
              meta: dict[str, Any] | None = None) -> Model:
        """Fit on feature dicts. Features seen in fewer than ``min_df`` reports are dropped, except those of
        reports flagged in ``keep`` (human labels: one report is enough to teach the model)."""
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import Normalizer

        if len(set(labels)) < 2:
            raise ModelError("training needs at least two different labels")
        df = Counter(k for f in feats for k in f)
        kept = {k for k, n in df.items() if n >= min_df}
        for f, k in zip(feats, keep or [False] * len(feats), strict=True):
            if k:
                kept.update(f)
        filtered = [{k: v for k, v in f.items() if k in kept} for f in feats]
        pipe = Pipeline([
            ("features", DictVectorizer(sparse=True)),
            ("normalize", Normalizer(norm="l2")),
            ("clf", LogisticRegression(C=C, class_weight="balanced", max_iter=5000)),
        ])
        pipe.fit(filtered, labels, clf__sample_weight=weights)
        dv, clf = pipe.named_steps["features"], pipe.named_steps["clf"]
        info = {
            "format": FORMAT, "features_version": FEATURES_VERSION, "C": C, "min_df": min_df,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "n_reports": len(labels), "labels": dict(sorted(Counter(labels).items())),
            "n_features": len(dv.feature_names_),
        }
        info.update(meta or {})
        model = cls([str(c) for c in clf.classes_], [str(n) for n in dv.feature_names_],
                    [[float(x) for x in row] for row in clf.coef_], [float(x) for x in clf.intercept_], info)
        model.meta["version"] = model.fingerprint()
        return model

    def fingerprint(self) -> str:
        """A short hash of the coefficients: the model's version."""
        data = self.to_json(include_meta=False)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    # -- prediction --------------------------------------------------------------------------------
    def predict_proba(self, feats: list[dict[str, float]]) -> list[list[float]]:
        """Probabilities, one row per report, columns in ``self.classes`` order."""
        if len(feats) >= BATCH_MIN:
            return self._proba_batch(feats)
        return [self._proba(f) for f in feats]

    def predict_columns1(self, rows: list[list[int]]) -> list[list[float]]:
        """``predict_proba`` of binary reports given as the columns of their known features plus one, each once, in
        their features' order (``classifiers.features.columns1``): the very same floats, a list per row."""
        if len(rows) >= BATCH_MIN:
            return self._proba_rows(rows)
        by = self._by_column
        return [self._proba_binary([by[j - 1] for j in row]) for row in rows]

    def _proba(self, feat: dict[str, float]) -> list[float]:
        weights = self._weights
        if list(feat.values()).count(1.0) == len(feat):       # binary features (``classifiers.features``)
            return self._proba_binary([w for w in map(weights.get, feat) if w is not None])
        known = [(w, float(v)) for k, v in feat.items() if (w := weights.get(k)) is not None]
        norm = math.sqrt(sum(v * v for _, v in known))
        if norm:
            known = [(w, v / norm) for w, v in known]
        # the same products summed in the same order as row by row over the columns: the same floats
        scores = [b + _sum([w[i] * v for w, v in known]) for i, b in enumerate(self.intercept)]
        return _probabilities(scores)

    def _proba_binary(self, ws: list[tuple[float, ...]]) -> list[float]:
        """The probabilities of a binary report given its known features' coefficients, in their order: every
        value is 1 / norm, each class's products added in the order of the general case."""
        scale = 1.0 / math.sqrt(float(len(ws))) if ws else 1.0
        cols = zip(*ws, strict=True) if ws else ((),) * len(self.intercept)
        return _probabilities([b + _sum(map(mul, col, repeat(scale))) for b, col in zip(self.intercept, cols,
                                                                                           strict=True)])

    def _proba_batch(self, feats: list[dict[str, float]]) -> list[list[float]]:
        """``_proba`` of every report, the binary ones in one numpy pass (``_proba_rows``)."""
        columns = self._columns
        rows: list[list[int]] = []
        general: list[int] = []
        for i, f in enumerate(feats):
            if list(f.values()).count(1.0) == len(f):
                rows.append([j + 1 for j in map(columns.get, f) if j is not None])
            else:
                rows.append([])
                general.append(i)
        out = self._proba_rows(rows)
        for i in general:
            out[i] = self._proba(feats[i])
        return out

    def _proba_rows(self, rows: list[list[int]]) -> list[list[float]]:
        """The probabilities of binary reports given as their known columns plus one, in one numpy pass: each
        report's columns (in its features' order) padded to the batch's widest with a zero row, and column k of
        every report added at step k, so each sum runs in the one-by-one order."""
        import numpy as np

        if self._matrix is None:          # (1 + features + 1) x rows: a zero row, the coefficients, a zero row
            zero = np.zeros((1, len(self.coef)))
            self._matrix = np.vstack([zero, np.array(self.coef, dtype=np.float64).T, zero])
        matrix = self._matrix                      # row j + 1: column j's coefficients; last row zero
        n = len(rows)
        lengths = np.fromiter(map(len, rows), dtype=np.intp, count=n)
        order = np.argsort(-lengths, kind="stable")          # the longest first: step k adds to a prefix
        lengths = lengths[order]
        width = int(lengths[0]) if n else 0
        index = np.full((n, width), len(self.features) + 1, dtype=np.intp)
        index[np.arange(width) < lengths[:, None]] = np.fromiter(chain.from_iterable(rows[i] for i in order.tolist()),
                                                                 dtype=np.intp, count=int(lengths.sum()))
        scale = np.ones(n)
        known = lengths > 0
        scale[known] = 1.0 / np.sqrt(lengths[known].astype(np.float64))
        scale = scale[:, None]
        active = np.searchsorted(-lengths, -np.arange(width), side="left")   # reports with more than k columns
        total = np.zeros((n, matrix.shape[1]))
        for k, m in enumerate(active.tolist()):
            total[:m] += matrix[index[:m, k]] * scale[:m]
        scores = np.empty_like(total)
        scores[order] = np.array(self.intercept) + total
        if n == 0 or scores.shape[1] < 2:         # two classes: the logistic of the one score
            return [_probabilities(row) for row in scores.tolist()]
        # the softmax as ``_probabilities`` does it, the same floats: the subtraction of each row's top and the
        # division are exact IEEE operations numpy does alike; exp and the sum stay Python's (math.exp, sum)
        exps = [list(map(math.exp, row)) for row in (scores - scores.max(axis=1, keepdims=True)).tolist()]
        return (np.array(exps) / np.array(list(map(sum, exps)))[:, None]).tolist()

    # -- persistence (JSON data only) ----------------------------------------------------------------
    def to_json(self, include_meta: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "classes": list(self.classes),
            "features": list(self.features),
            "intercept": [round(x, 5) for x in self.intercept],
            "coef": [[round(x, 5) for x in row] for row in self.coef],
        }
        if include_meta:
            out["meta"] = self.meta
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "<model>") -> Model:
        try:
            if data.get("format") != FORMAT:
                raise ModelError(f"{source}: not a syz-triage model (format {data.get('format')!r})")
            names = [str(n) for n in data["features"]]
            classes = [str(c) for c in data["classes"]]
            coef = [[float(x) for x in row] for row in data["coef"]]
            intercept = [float(x) for x in data["intercept"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed model ({exc})") from exc
        rows = 1 if len(classes) == 2 else len(classes)
        if len(classes) < 2 or len(coef) != rows or len(intercept) != rows or any(len(r) != len(names) for r in coef):
            raise ModelError(f"{source}: malformed model ({len(coef)} coefficient rows for {len(classes)} classes "
                             f"and {len(names)} features)")
        if not all(math.isfinite(x) for x in intercept + [x for r in coef for x in r]):
            raise ModelError(f"{source}: malformed model (coefficients that are not finite numbers)")
        return cls(classes, names, coef, intercept, dict(data.get("meta") or {}))

    @classmethod
    def load(cls, path: str | Path = SHIPPED_MODEL) -> Model:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ModelError(f"{path}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ModelError(f"{path}: not a syz-triage model")
        return cls.from_json(data, str(path))


def _probabilities(scores: list[float]) -> list[float]:
    """The class probabilities of a report's scores (one score per row of ``coef``)."""
    if len(scores) == 1:                      # two classes: P(second) is the logistic of the one score
        p = 1.0 / (1.0 + math.exp(-scores[0])) if scores[0] > -700 else 0.0
        return [1.0 - p, p]
    top = max(scores)
    exps = list(map(math.exp, map(sub, scores, repeat(top))))
    total = sum(exps)
    return list(map(truediv, exps, repeat(total)))
