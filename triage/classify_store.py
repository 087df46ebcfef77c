"""Verdicts in the store: classify reports as they are imported, re-classify when the classifier changes.

- ``classify_reports(db, ids)`` classifies stored reports in one batch and writes one ``verdicts`` row per
  report (``source = 'combined'``, the evidence as JSON, the classifier version); the pipeline calls it on
  each batch's new reports inside the batch transaction (a report is never stored without its verdict);
- ``reclassify(db)`` re-runs on every report whose verdict came from another classifier version, a batch at a
  time (classified outside the write lock, written in a short transaction);
- a human label is a ``verdicts`` row with ``source = 'human'``: ``current_verdict`` prefers it, and
  ``triage train`` learns from it;
- ``similar(db, report)`` finds stored reports with the same normalized signature (or sharing its frames),
  with the syzbot bug's status and fix when known.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from triage.report.source import content_hash
from triage.store import now, transaction
from triage.store.groups import settle
from triage.store.reports import signature_hash
from triage.store.verdicts import save_verdicts, verdict_row
from vocab.titles import frameless

if TYPE_CHECKING:       # annotations only: the import's worker processes classify without sqlite-utils
    import sqlite_utils

BATCH = 500


def load_classifier(classifier: Any = None) -> Any:
    """The given classifier, else the default one; a broken model file degrades to the rules alone."""
    if classifier is not None:
        return classifier
    from classifiers.classifier import Classifier, default_classifier
    from classifiers.model import ModelError

    try:
        return default_classifier()
    except ModelError:
        return Classifier(use_model=False)


def _rows(db: sqlite_utils.Database, ids: Sequence[int]) -> list[tuple[int, str, str | None]]:
    out: list[tuple[int, str, str | None]] = []
    for start in range(0, len(ids), BATCH):
        chunk = list(ids[start:start + BATCH])
        marks = ",".join("?" * len(chunk))
        out += db.execute(f"SELECT id, text, parsed FROM reports WHERE id IN ({marks})", chunk).fetchall()
    return out


def verdicts_for(rows: Sequence[tuple[str | None, str | None]], classifier: Any = None) -> list[Any]:
    """The verdicts of reports given as stored rows ``(text, parsed JSON)``, in one batch."""
    return load_classifier(classifier).classify_rows([(parsed, text) for text, parsed in rows])


def verdict_rows(db: sqlite_utils.Database, ids: Sequence[int], classifier: Any = None) -> list[tuple]:
    """The combined verdicts of the stored reports ``ids`` as ``verdicts`` rows (``store.verdicts.verdict_row``;
    reads and classifies only)."""
    clf = load_classifier(classifier)
    out: list[tuple] = []
    rows = _rows(db, ids)
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        verdicts = verdicts_for([(text, parsed) for _, text, parsed in chunk], clf)
        stamp = now()
        out += [verdict_row(rid, v, stamp) for (rid, _, _), v in zip(chunk, verdicts, strict=True)]
    return out


def write_verdicts(db: sqlite_utils.Database, rows: list[tuple]) -> int:
    """Upsert combined verdict rows (inside the caller's transaction) and settle the groups whose label they
    changed; returns how many."""
    if rows:
        save_verdicts(db, rows)
        settle(db)
    return len(rows)


def classify_reports(db: sqlite_utils.Database, ids: Sequence[int], classifier: Any = None) -> int:
    """Classify the stored reports ``ids`` and upsert their combined verdicts; returns how many were written."""
    return write_verdicts(db, verdict_rows(db, ids, classifier))


def stale_ids(db: sqlite_utils.Database, version: str, everything: bool = False) -> list[int]:
    if everything:
        return [r[0] for r in db.execute("SELECT id FROM reports ORDER BY id").fetchall()]
    sql = ("SELECT r.id FROM reports r LEFT JOIN verdicts v ON v.report_id = r.id AND v.source = 'combined' "
           "WHERE v.report_id IS NULL OR v.classifier_version IS NOT ? ORDER BY r.id")
    return [r[0] for r in db.execute(sql, [version]).fetchall()]


def reclassify(db: sqlite_utils.Database, classifier: Any = None, everything: bool = False) -> dict[str, Any]:
    """Re-classify every stored report whose verdict is missing or from another classifier version.

    ``BATCH`` reports at a time: each is classified outside the write lock, then written in one short
    transaction, so a concurrent import or review command never waits long."""
    clf = load_classifier(classifier)
    ids = stale_ids(db, clf.version, everything)
    n = 0
    for start in range(0, len(ids), BATCH):
        rows = verdict_rows(db, ids[start:start + BATCH], clf)
        with transaction(db):
            n += write_verdicts(db, rows)
    return {"reclassified": n, "classifier_version": clf.version}


def current_verdict(db: sqlite_utils.Database, report_id: int) -> dict[str, Any] | None:
    """The verdict that counts: the human one if any, else the combined one."""
    row = db.execute(
        "SELECT source, label, confidence, needs_review, evidence, classifier_version FROM verdicts "
        "WHERE report_id = ? ORDER BY source = 'human' DESC LIMIT 1", [report_id]).fetchone()
    if row is None:
        return None
    source, label, conf, review, evidence, version = row
    return {"source": source, "label": label, "confidence": conf, "needs_review": bool(review),
            "evidence": json.loads(evidence) if evidence else {}, "classifier_version": version}


def human_label_for_text(db: sqlite_utils.Database, text: str) -> dict[str, Any] | None:
    """A maintainer's label on the stored report with this text, if any."""
    row = db.execute(
        "SELECT r.id, v.label, v.evidence FROM reports r JOIN verdicts v ON v.report_id = r.id "
        "WHERE r.content_hash = ? AND v.source = 'human'", [content_hash(text)]).fetchone()
    if row is None:
        return None
    return {"report_id": row[0], "label": row[1], "evidence": json.loads(row[2]) if row[2] else {}}


def _stack_similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Mean of Jaccard and the overlap coefficient: stacks of very different depth that share the
    mechanism's frames (reclaim -> shrinker -> eviction) still count as alike."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    inter = len(sa & sb)
    return (inter / len(sa | sb) + inter / min(len(sa), len(sb))) / 2


# Frames every stack shares (syscall entry, scheduler, kthread plumbing) say nothing about similarity.
_COMMON_FRAMES = frozenset({"do_syscall_64", "entry_SYSCALL_64_after_hwframe", "do_syscall_x64", "kthread",
                            "ret_from_fork", "ret_from_fork_asm", "worker_thread", "process_one_work",
                            "__schedule", "schedule", "x64_sys_call", "el0_svc", "invoke_syscall"})


def _stack_set(report: Any) -> list[str]:
    """The crashing task's meaningful frames (canonical names), for similarity."""
    from triage.report.normalize import SKIP

    out = []
    for f in getattr(report, "frames", None) or []:
        if not str(f.stack).startswith(("crash", "irq")):
            continue
        name = f.norm_function
        if name not in _COMMON_FRAMES and not SKIP.match(name) and name not in out:
            out.append(name)
    return out


def similar(db: sqlite_utils.Database, report: Any, limit: int = 5, exclude_hash: str | None = None
            ) -> list[dict[str, Any]]:
    """Stored reports nearest by normalized signature: same signature first, then shared crash-stack frames."""
    sig = list(getattr(report, "signature", None) or [])
    title = getattr(report, "title", None)
    shash = signature_hash(sig, title)
    stack = _stack_set(report) or sig
    cands: dict[int, tuple] = {}
    sql = ("SELECT r.id, r.title, r.signature_hash, r.bug_extid, r.content_hash, b.status, "
           "b.fix_commits, b.link FROM reports r LEFT JOIN bugs b ON b.extid = r.bug_extid ")
    queries = []
    if shash:
        queries.append((sql + "WHERE r.signature_hash = ? LIMIT 50", [shash]))
    if frameless(title):
        title = ""                     # (it names no function: no report is like this one by it)
    if title:
        queries.append((sql + "WHERE r.title = ? LIMIT 50", [title]))
    if stack:
        marks = ",".join("?" * len(stack))
        queries.append((sql + "WHERE r.id IN (SELECT report_id FROM frames WHERE norm_function IN "
                        f"({marks}) AND stack LIKE 'crash%' LIMIT 2000)", stack))
    for q, args in queries:
        for row in db.execute(q, args).fetchall():
            cands.setdefault(row[0], row)
    if not cands:
        return []
    ids = list(cands)
    their: dict[int, set[str]] = {i: set() for i in ids}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for rid, name in db.execute(
                f"SELECT report_id, norm_function FROM frames WHERE stack LIKE 'crash%' AND report_id IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall():
            their[rid].add(name)
    scored = []
    for rid, rtitle, rhash, extid, chash, status, fixes, link in cands.values():
        if exclude_hash and chash == exclude_hash:
            continue
        alike = 0.8 * _stack_similarity(stack, their[rid]) + 0.2 * (title == rtitle)
        score = 1.0 if shash and rhash == shash else alike
        if score <= 0.1:
            continue
        verdict = current_verdict(db, rid)
        try:
            fix = json.loads(fixes) if fixes else None
        except json.JSONDecodeError:
            fix = fixes
        scored.append({"report_id": rid, "score": round(score, 3), "title": rtitle, "bug": extid,
                       "status": status, "fix": fix, "link": link,
                       "label": verdict["label"] if verdict else None})
    scored.sort(key=lambda d: (-d["score"], d["report_id"]))
    return scored[:limit]
