"""Labelled examples for training and evaluation.

The repository ships no third-party report text. ``corpus/labels.jsonl`` holds the project's labels keyed by
a stable id (the sha256 of the normalized report text, ``triage.report.source.content_hash``) with the syzbot bug as
the group; the texts are read from a directory (default ``../shared/data/labelled`` beside the repository,
or ``TRIAGE_LABELLED``) and matched to labels by that id. A ``labels.jsonl`` with ``file`` / ``label`` columns
(the shared data's own format) can be given instead. Human labels come from the store (``verdicts`` rows
with ``source = 'human'``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.rules import LABELS

CORPUS_LABELS = Path(__file__).resolve().parents[1] / "corpus" / "labels.jsonl"
HUMAN_WEIGHT = 3.0       # a maintainer's label on a stored report counts more than a corpus label


class DatasetError(ValueError):
    """Labels or texts cannot be read."""


@dataclass
class Example:
    id: str                  # content hash of the text
    name: str                # file name or report id, for messages
    text: str
    label: str
    group: str               # syzbot bug (extid / id) when known, else the example itself
    source: str = "corpus"   # corpus | human
    report: Any = None       # the parsed report (filled lazily)

    @property
    def weight(self) -> float:
        return HUMAN_WEIGHT if self.source == "human" else 1.0

    def parsed(self) -> Any:
        if self.report is None:
            from triage.report import parse

            self.report = parse(self.text)
        return self.report


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository, or ``$TRIAGE_SHARED/data``."""
    shared = os.environ.get("TRIAGE_SHARED")
    return (Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared") / "data"


def default_labelled_dir() -> Path:
    env = os.environ.get("TRIAGE_LABELLED")
    return Path(env) if env else shared_data_dir() / "labelled"


def read_labelled_rows(path: Path, labels: tuple[str, ...] = LABELS,
                       error: type[ValueError] = DatasetError) -> list[dict[str, Any]]:
    """The JSON Lines rows of a labels file, each an object with a ``label`` among ``labels``; a bad file or
    row raises ``error`` naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from exc
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or row.get("label") not in labels:
            raise error(f"{path}:{n}: needs a label, one of {', '.join(labels)}")
        rows.append(row)
    return rows


def _group(row: dict[str, Any], fallback: str) -> str:
    return str(row.get("group") or row.get("syzbot_extid") or row.get("syzbot_bug_id") or fallback)


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")


def load_file_labels(labels_file: Path, texts_dir: Path | None = None) -> list[Example]:
    """A labels.jsonl whose rows name their text by ``file`` (relative to ``texts_dir`` or the file's dir)."""
    from triage.report.source import content_hash

    base = texts_dir or labels_file.parent
    out = []
    for row in read_labelled_rows(labels_file):
        if "file" not in row:
            raise DatasetError(f"{labels_file}: row without 'file' ({row.get('id', '?')})")
        path = base / row["file"]
        try:
            text = _read_text(path)
        except OSError as exc:
            raise DatasetError(f"{path}: {exc.strerror or exc}") from exc
        chash = content_hash(text)
        out.append(Example(chash, row["file"], text, row["label"], _group(row, chash)))
    return out


def load_corpus(texts_dir: Path | None = None, labels_file: Path = CORPUS_LABELS) -> list[Example]:
    """The corpus labels joined with the texts found under ``texts_dir`` (by content hash)."""
    from triage.report.source import content_hash

    texts_dir = texts_dir or default_labelled_dir()
    if not texts_dir.is_dir():
        raise DatasetError(f"{texts_dir}: no such directory of labelled report texts")
    labels = {row["id"]: row for row in read_labelled_rows(labels_file)}
    out = []
    for path in sorted(texts_dir.rglob("*.txt")):
        text = _read_text(path)
        row = labels.get(content_hash(text))
        if row is not None:
            name = str(path.relative_to(texts_dir))
            out.append(Example(row["id"], name, text, row["label"], _group(row, row["id"])))
    if not out:
        raise DatasetError(f"{texts_dir}: no report text matches a label of {labels_file}")
    return out


def load_examples(texts_dir: Path | None = None, labels_file: Path | None = None) -> list[Example]:
    """``--labels FILE``: a corpus-format file (rows with ``id``) or a file-format one (rows with ``file``)."""
    if labels_file is None:
        return load_corpus(texts_dir)
    rows = read_labelled_rows(labels_file)
    if rows and "file" in rows[0]:
        return load_file_labels(labels_file, texts_dir)
    return load_corpus(texts_dir, labels_file)


def human_examples(db) -> list[Example]:
    """Stored reports a maintainer labelled (``verdicts.source = 'human'``)."""
    from classifiers.store_rows import report_from_row

    out = []
    sql = ("SELECT r.id, r.content_hash, r.text, r.parsed, r.bug_extid, v.label FROM verdicts v "
           "JOIN reports r ON r.id = v.report_id WHERE v.source = 'human'")
    for rid, chash, text, parsed, extid, label in db.execute(sql).fetchall():
        if label not in LABELS:
            continue
        ex = Example(chash, f"report {rid}", text or "", label, extid or chash, source="human")
        ex.report = report_from_row(parsed, text)
        out.append(ex)
    return out


def export_corpus_labels(examples: list[Example], path: Path = CORPUS_LABELS) -> Path:
    """Write ``corpus/labels.jsonl`` (ids, labels and groups only: no report text)."""
    rows = sorted({ex.id: {"id": ex.id, "label": ex.label, "group": ex.group} for ex in examples}.values(),
                  key=lambda r: r["id"])
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return path
