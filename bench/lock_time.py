"""How long an import holds the write lock: every write transaction of a whole-archive import, timed from
``BEGIN IMMEDIATE`` to ``COMMIT`` (the connection's trace callback sees both).

    PYTHONPATH=. python bench/lock_time.py [--list reiserfs-devel ...] [--files N]

Another writer (``triage label`` during an import) waits at most the longest of these. Lists are the
public-inbox bundles in ../shared/data/public-inbox (cloned to a temporary directory); ``--files N`` also
imports N distinct report files (the classifier's share of a batch is larger there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import corpus, distinct  # noqa: E402

from triage import sources  # noqa: E402
from triage.pipeline import Pipeline  # noqa: E402
from triage.report import parse  # noqa: E402
from triage.store import open_db  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def held(db_path: Path, records) -> tuple[list[float], float, str]:
    """(each transaction's seconds, the whole import's seconds, its summary) for one import."""
    db = open_db(db_path)
    spans: list[float] = []
    began: list[float] = []

    def trace(sql: str) -> None:
        head = sql.lstrip()[:8].upper()
        if head.startswith("BEGIN"):
            began[:] = [time.monotonic()]
        elif head.startswith(("COMMIT", "ROLLBACK")) and began:
            spans.append(time.monotonic() - began.pop())

    db.conn.set_trace_callback(trace)
    t0 = time.monotonic()
    summary = Pipeline(db).run(records(db))
    return spans, time.monotonic() - t0, summary.text()


def report(name: str, spans: list[float], total: float, summary: str) -> None:
    spans = sorted(spans)
    print(f"{name:16} {len(spans):4d} transactions, longest {spans[-1]:.2f} s, median {spans[len(spans) // 2]:.2f} s,"
          f" {sum(spans):.1f} of {total:.1f} s under the lock ({summary})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", nargs="+", default=["linux-nilfs", "linux-unionfs", "reiserfs-devel"])
    ap.add_argument("--files", type=int, default=3000, help="distinct report files to import too (0: none)")
    args = ap.parse_args()
    print("figures from whatever machine runs this (a shared, loaded one for those quoted in commits)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in args.list:
            repo = root / name
            subprocess.run(["git", "clone", "-q", str(SHARED / "public-inbox" / f"{name}.bundle"), str(repo)],
                           check=True)
            report(name, *held(root / f"{name}.db", lambda db, repo=repo: sources.public_inbox(db, repo)))
        if args.files:
            texts = [t for t in corpus()
                     if parse(t).title and parse(distinct(t, 1)).report != parse(distinct(t, 2)).report]
            files = root / "files"
            files.mkdir()
            for i in range(args.files):
                (files / f"{i:06d}.txt").write_text(distinct(texts[i % len(texts)], i))
            report(f"{args.files} files", *held(root / "files.db", lambda db: sources.files([str(files)])))


if __name__ == "__main__":
    main()
