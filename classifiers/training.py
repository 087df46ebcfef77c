"""``triage train``: fit the model on the corpus labels plus the maintainers' labels in the store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from classifiers.dataset import Example, human_examples, load_examples
from classifiers.features import features
from classifiers.model import DEFAULT_C, Model
from classifiers.view import ReportView


def gather(texts_dir: Path | None = None, labels_file: Path | None = None, db: Any = None,
           corpus: bool = True) -> list[Example]:
    """Corpus examples (unless ``corpus`` is False) and the store's human labels; a human label on a text
    that is also in the corpus replaces the corpus label."""
    examples = load_examples(texts_dir, labels_file) if corpus else []
    if db is not None:
        human = human_examples(db)
        ids = {ex.id for ex in human}
        examples = [ex for ex in examples if ex.id not in ids] + human
    return examples


def train(examples: list[Example], *, C: float = DEFAULT_C, min_df: int = 2) -> Model:
    views = [ReportView.build(ex.parsed()) for ex in examples]
    feats = [features(v) for v in views]
    sources = Counter(ex.source for ex in examples)
    return Model.train(feats, [ex.label for ex in examples], weights=[ex.weight for ex in examples],
                       keep=[ex.source == "human" for ex in examples], C=C, min_df=min_df,
                       meta={"sources": dict(sources)})
