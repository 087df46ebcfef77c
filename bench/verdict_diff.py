"""Compare the classifier's verdicts in two stores: did a change of the parser or classifier move any?

    PYTHONPATH=. python bench/verdict_diff.py OLD.db NEW.db [--tolerance 0.001]

Both stores hold the same input imported by two versions of the code (``triage --db X.db import ...``). Reports
are matched by content hash (the id of a report text), else by report id; for each pair the combined verdict's
``label``, ``needs_review`` and ``confidence`` are compared (confidence within ``--tolerance``). Prints one line
per difference and a summary; exits 1 when a verdict moved, so a script can gate on it.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections import Counter

_SQL = ("SELECT r.id, r.content_hash, r.title, v.label, v.needs_review, v.confidence FROM reports r "
        "LEFT JOIN verdicts v ON v.report_id = r.id AND v.source = 'combined' ORDER BY r.id")


def verdicts(path: str) -> dict[str, tuple]:
    """content hash (or ``#id``) -> (id, title, label, needs_review, confidence), read-only."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = db.execute(_SQL).fetchall()
    except sqlite3.Error as exc:
        sys.exit(f"verdict_diff: {path}: {exc}")
    return {(chash or f"#{rid}"): (rid, title, label, bool(review) if review is not None else None, conf)
            for rid, chash, title, label, review, conf in rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--tolerance", type=float, default=0.001)
    args = ap.parse_args(argv)
    old, new = verdicts(args.old), verdicts(args.new)
    moved: Counter[str] = Counter()
    for key in sorted(old.keys() & new.keys(), key=lambda k: old[k][0]):
        (rid, title, *a), (nid, _, *b) = old[key], new[key]
        what = []
        if a[0] != b[0]:
            what.append("label")
        if a[1] != b[1]:
            what.append("needs_review")
        if a[2] is not None and b[2] is not None and abs(a[2] - b[2]) > args.tolerance:
            what.append("confidence")
        if what:
            moved.update(what)
            print(f"report {rid}->{nid}: {a[0]} {a[2]} review={a[1]} -> {b[0]} {b[2]} review={b[1]}  "
                  f"[{', '.join(what)}]  {str(title)[:70]}")
    only_old, only_new = len(old.keys() - new.keys()), len(new.keys() - old.keys())
    same = len(old.keys() & new.keys())
    changed = sum(1 for k in old.keys() & new.keys() if old[k][2:] != new[k][2:] and (
        old[k][2] != new[k][2] or old[k][3] != new[k][3] or abs((old[k][4] or 0) - (new[k][4] or 0)) > args.tolerance))
    print(f"{same} reports in both, {changed} verdicts moved ({dict(moved)}); "
          f"only in {args.old}: {only_old}, only in {args.new}: {only_new}")
    return 1 if changed or only_old or only_new else 0


if __name__ == "__main__":
    sys.exit(main())
