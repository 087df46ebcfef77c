"""The statistical half: a scikit-learn Pipeline (DictVectorizer -> Normalizer -> LogisticRegression).

The trained pipeline is saved as JSON *data* (feature names, coefficients, intercepts, classes, training
metadata), never as a pickle: loading rebuilds the estimators from those arrays, so a model file cannot run
code. ``corpus/model.json`` is the shipped model ``triage classify`` uses out of the box; ``triage train``
writes a new one.

scikit-learn is imported inside the functions: ``triage parse`` must not pay for it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "corpus" / "model.json"
FORMAT = "syz-triage-logreg/1"
FEATURES_VERSION = "1"
DEFAULT_C = 4.0


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
    pipeline: Any                      # sklearn Pipeline
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

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
        info = {
            "format": FORMAT, "features_version": FEATURES_VERSION, "C": C, "min_df": min_df,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "n_reports": len(labels), "labels": dict(sorted(Counter(labels).items())),
            "n_features": len(pipe.named_steps["features"].feature_names_),
        }
        info.update(meta or {})
        model = cls(pipe, info)
        model.meta["version"] = model.fingerprint()
        return model

    def fingerprint(self) -> str:
        """A short hash of the coefficients: the model's version."""
        data = self.to_json(include_meta=False)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]

    # -- prediction --------------------------------------------------------------------------------
    def predict_proba(self, feats: list[dict[str, float]]):
        """Probabilities, one row per report, columns in ``self.classes`` order (one vectorized call)."""
        if not feats:
            import numpy as np

            return np.zeros((0, len(self.classes)))
        return self.pipeline[1:].predict_proba(self.vectorize(feats))

    def vectorize(self, feats: list[dict[str, float]]):
        """The DictVectorizer step for a batch, as one CSR matrix (unknown features are ignored)."""
        import numpy as np
        from scipy.sparse import csr_matrix

        vocab = self.pipeline.named_steps["features"].vocabulary_
        indices: list[int] = []
        data: list[float] = []
        indptr = [0]
        for f in feats:
            for k, v in f.items():
                j = vocab.get(k)
                if j is not None:
                    indices.append(j)
                    data.append(v)
            indptr.append(len(indices))
        return csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                           np.asarray(indptr, dtype=np.int64)), shape=(len(feats), len(vocab)))

    # -- persistence (JSON data only) ----------------------------------------------------------------
    def to_json(self, include_meta: bool = True) -> dict[str, Any]:
        dv = self.pipeline.named_steps["features"]
        clf = self.pipeline.named_steps["clf"]
        out: dict[str, Any] = {
            "format": FORMAT,
            "classes": [str(c) for c in clf.classes_],
            "features": list(dv.feature_names_),
            "intercept": [round(float(x), 5) for x in clf.intercept_],
            "coef": [[round(float(x), 5) for x in row] for row in clf.coef_],
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
        import numpy as np
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import Normalizer

        try:
            if data.get("format") != FORMAT:
                raise ModelError(f"{source}: not a syz-triage model (format {data.get('format')!r})")
            names = [str(n) for n in data["features"]]
            classes = np.array([str(c) for c in data["classes"]])
            coef = np.asarray(data["coef"], dtype=np.float64)
            intercept = np.asarray(data["intercept"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed model ({exc})") from exc
        if coef.shape != (len(classes), len(names)) or intercept.shape != (len(classes),):
            raise ModelError(f"{source}: malformed model (coefficient shape {coef.shape})")
        dv = DictVectorizer(sparse=True)
        dv.feature_names_ = names
        dv.vocabulary_ = {n: i for i, n in enumerate(names)}
        clf = LogisticRegression()
        clf.classes_ = classes
        clf.coef_ = coef
        clf.intercept_ = intercept
        clf.n_features_in_ = len(names)
        pipe = Pipeline([("features", dv), ("normalize", Normalizer(norm="l2")), ("clf", clf)])
        return cls(pipe, dict(data.get("meta") or {}))

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
