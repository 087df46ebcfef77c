"""The judged sets: the tool's verdicts scored against hand judgements of real text (``triage eval --judged``).

A judged set is a JSON Lines file of ``tests/judged/`` (its README says how they were made):

- ``<list>.jsonl``: mails of a whole list archive (``../shared/data/public-inbox/<list>.bundle``), keyed by
  ``message_id``; a label of ``vocab.labels`` or ``not-a-report``. The archive is imported into a store of
  the work directory (a ``git clone --bare`` of the bundle, then the import pipeline) once per tool version;
  a mail's predicted label is the effective label of the first report stored from it, ``not-a-report`` when
  it made none.
- ``syzbot-sample.jsonl``: reports of ``../shared/data/syzbot-sample``, keyed by ``bug_id`` (the file name);
  each text is parsed and classified as it is.

``score`` gives per label (the consequence labels, ``other``, ``not-a-report`` where judged) precision, recall
and F1, and how the verdicts of the judged items were decided (``evidence.decided_by``: by a rule, by the model
among labels with evidence, a model suggestion turned into ``other``, default, human) and the share flagged
``needs_review``; for an archive also over every verdict of its store, and the consequence verdicts with no
decisive evidence line (there must be none).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers.dataset import read_labelled_rows, shared_data_dir
from vocab.labels import CONSEQUENCE_LABELS, LABELS

NOT_A_REPORT = "not-a-report"
SAMPLE = "syzbot-sample"
DECIDED = ("rule", "model", "suggestion", "default", "human")


class JudgedError(ValueError):
    """A judged file or the data it needs cannot be read."""


def read_judged(path: Path) -> list[dict[str, Any]]:
    """The judgements of one set, each with a label (``not-a-report`` too) and a message_id or bug_id."""
    rows = read_labelled_rows(path, (*LABELS, NOT_A_REPORT), JudgedError)
    for n, row in enumerate(rows, 1):
        if not (row.get("message_id") or row.get("bug_id")):
            raise JudgedError(f"{path}: row {n}: needs a message_id or a bug_id")
    return rows


@dataclass
class Score:
    name: str
    judged: int
    per_label: dict[str, dict[str, Any]] = field(default_factory=dict)
    macro_f1: float = 0.0                       # over the consequence labels judged or predicted, and other
    decided: dict[str, int] = field(default_factory=dict)      # verdicts of the judged items, by how decided
    flagged: int = 0                            # of those, needs_review
    verdicts: int = 0                           # judged items with a verdict
    store: dict[str, Any] | None = None         # an archive: every verdict of its store
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"set": self.name, "judged": self.judged, "macro_f1": round(self.macro_f1, 4),
                "per_label": self.per_label, "verdicts": self.verdicts, "decided_by": self.decided,
                "needs_review": self.flagged, "store": self.store, "errors": self.errors}


def _prf(truth: list[str], pred: list[str], label: str) -> dict[str, Any]:
    tp = sum(t == label and p == label for t, p in zip(truth, pred, strict=True))
    npred, ntrue = pred.count(label), truth.count(label)
    p = tp / npred if npred else None
    r = tp / ntrue if ntrue else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if npred or ntrue else None)
    return {"precision": _round(p), "recall": _round(r), "f1": _round(f), "tp": tp, "predicted": npred,
            "judged": ntrue}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _fmt(x: float | None) -> str:
    return "     -" if x is None else f"{x:6.3f}"


def decided_by(evidence: dict[str, Any] | None, source: str | None = None) -> str:
    if source == "human":
        return "human"
    by = (evidence or {}).get("decided_by")
    return by if by in DECIDED else "default"


def score(name: str, truth: list[str], pred: list[str], decided: list[tuple[str, bool] | None],
          ids: list[str]) -> Score:
    """Scores of one set: ``decided`` is (how decided, needs_review) per judged item with a verdict."""
    labels = [lab for lab in (*LABELS, NOT_A_REPORT) if lab in truth or lab in pred]
    per = {lab: _prf(truth, pred, lab) for lab in labels}
    macro = [per[lab]["f1"] or 0.0 for lab in labels if lab != NOT_A_REPORT]
    s = Score(name, len(truth), per, sum(macro) / len(macro) if macro else 0.0)
    got = [d for d in decided if d is not None]
    s.decided = dict(Counter(d for d, _ in got).most_common())
    s.flagged = sum(review for _, review in got)
    s.verdicts = len(got)
    s.errors = [{"id": i, "judged": t, "predicted": p} for i, t, p in zip(ids, truth, pred, strict=True) if t != p]
    return s


# -- the syzbot sample ---------------------------------------------------------------------------------------
def score_sample(rows: list[dict[str, Any]], texts: Path, classifier: Any, name: str = SAMPLE) -> Score:
    from triage.report import parse

    reports = []
    for row in rows:
        path = texts / f"{row['bug_id']}.txt"
        try:
            reports.append(parse(path.read_bytes().decode("utf-8", "replace")))
        except OSError as exc:
            raise JudgedError(f"{path}: {exc.strerror or exc}") from exc
    verdicts = classifier.classify_many(reports)
    pred = [v.label for v in verdicts]
    decided: list[tuple[str, bool] | None] = [(decided_by(v.evidence), v.needs_review) for v in verdicts]
    return score(name, [r["label"] for r in rows], pred, decided, [r["bug_id"] for r in rows])


# -- a whole list archive ------------------------------------------------------------------------------------
def code_version() -> str:
    """A hash of the code that turns an archive into reports (``records``, ``scrapers``, ``triage``, ``vocab``):
    a store imported by other code is not reused."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for pkg in ("records", "scrapers", "triage", "vocab"):
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def archive_store(name: str, work: Path, bundles: Path, classifier: Any) -> Path:
    """``WORK/<code version>/<name>.db``: the archive imported by this code (cloned and imported when absent),
    its verdicts brought up to date with ``classifier``."""
    from triage.classify_store import reclassify
    from triage.pipeline import Pipeline
    from triage.sources import public_inbox
    from triage.store import open_db

    base = work / code_version()
    db_path = base / f"{name}.db"
    if db_path.exists():
        db = open_db(db_path)
        reclassify(db, classifier)
        db.conn.close()
        return db_path
    bundle = bundles / f"{name}.bundle"
    if not bundle.exists():
        raise JudgedError(f"{bundle}: archive not found (the judged set {name} needs it)")
    repo = base / name / "git" / "0.git"
    if not repo.exists():
        repo.parent.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(["git", "clone", "-q", "--bare", str(bundle), str(repo)], capture_output=True, text=True)
        if res.returncode != 0:
            raise JudgedError(f"{bundle}: git clone failed: {res.stderr.strip()[-300:]}")
    tmp = db_path.with_suffix(".db.part")
    tmp.unlink(missing_ok=True)
    db = open_db(tmp)
    Pipeline(db).run(public_inbox(db, base / name))
    reclassify(db, classifier)
    db.conn.close()
    tmp.replace(db_path)
    return db_path


def score_archive(name: str, rows: list[dict[str, Any]], db_path: Path) -> Score:
    import sqlite3

    from triage.store import read_only_uri

    con = sqlite3.connect(read_only_uri(db_path), uri=True)
    try:
        first: dict[str, tuple[str, bool, str, str | None]] = {}
        sql = ("SELECT r.message_id, l.label, l.needs_review, l.source, c.evidence FROM reports r "
               "LEFT JOIN report_labels l ON l.report_id = r.id "
               "LEFT JOIN verdicts c ON c.report_id = r.id AND c.source = 'combined' "
               "WHERE r.message_id IS NOT NULL ORDER BY r.id")
        store = Counter()
        flagged = 0
        no_evidence = []
        n = 0
        for mid, label, review, source, evidence in con.execute(sql):
            ev = _json(evidence)
            how = decided_by(ev, source)
            if label is not None:
                n += 1
                store[how] += 1
                flagged += bool(review)
                if label in CONSEQUENCE_LABELS and source != "human" and not (ev.get("decisive") or {}).get("text"):
                    no_evidence.append(mid)
            if mid not in first:
                first[mid] = (label or "unclassified", bool(review), how, source)
    finally:
        con.close()
    ids = [r["message_id"] for r in rows]
    pred = [first[m][0] if m in first else NOT_A_REPORT for m in ids]
    decided: list[tuple[str, bool] | None] = [(first[m][2], first[m][1]) if m in first else None for m in ids]
    s = score(name, [r["label"] for r in rows], pred, decided, ids)
    s.store = {"verdicts": n, "decided_by": dict(store.most_common()), "needs_review": flagged,
               "consequence_without_evidence": no_evidence}
    return s


def _json(text: str | None) -> dict[str, Any]:
    try:
        out = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return out if isinstance(out, dict) else {}


def evaluate(judged_dir: Path, work: Path, classifier: Any, data: Path | None = None,
             only: list[str] | None = None) -> list[Score]:
    """Score every judged set of ``judged_dir`` (``only``: these set names)."""
    data = data or shared_data_dir()
    files = sorted(judged_dir.glob("*.jsonl"))
    if not files:
        raise JudgedError(f"{judged_dir}: no judged sets (*.jsonl)")
    out = []
    for path in files:
        name = path.stem
        if only and name not in only:
            continue
        rows = read_judged(path)
        if name == SAMPLE or (rows and "bug_id" in rows[0]):
            out.append(score_sample(rows, data / SAMPLE, classifier, name))
        else:
            db = archive_store(name, work, data / "public-inbox", classifier)
            out.append(score_archive(name, rows, db))
    return out


def render(scores: list[Score]) -> str:
    lines = []
    for s in scores:
        lines.append(f"{s.name}: {s.judged} judged, macro-F1 {s.macro_f1:.3f}")
        lines.append(f"  {'label':<18}{'precision':>10}{'recall':>8}{'F1':>7}{'right/pred/judged':>19}")
        for lab, m in s.per_label.items():
            lines.append(f"  {lab:<18}{_fmt(m['precision']):>10}{_fmt(m['recall']):>8}{_fmt(m['f1']):>7}"
                         f"{str(m['tp']) + '/' + str(m['predicted']) + '/' + str(m['judged']):>19}")
        lines.append("  " + _shares("judged verdicts", s.verdicts, s.decided, s.flagged))
        if s.store is not None:
            st = s.store
            lines.append("  " + _shares("all verdicts of the store", st["verdicts"], st["decided_by"],
                                        st["needs_review"]))
            lines.append(f"  consequence verdicts without an evidence line: {len(st['consequence_without_evidence'])}")
        lines.append("")
    return "\n".join(lines).rstrip()


def _shares(what: str, n: int, decided: dict[str, int], flagged: int) -> str:
    if not n:
        return f"{what}: none"
    parts = ", ".join(f"{k} {100 * decided.get(k, 0) / n:.0f}%" for k in DECIDED if decided.get(k))
    return f"{what} ({n}): decided by {parts}; flagged for review {100 * flagged / n:.0f}%"
