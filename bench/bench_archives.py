"""Benchmark: messages per second for archive imports.

1. ``triage import --public-inbox``: the linux-nilfs public-inbox mirror (../shared/data), cloned to a tmp dir;
2. the same again (incremental: no new commits);
3. ``triage import FILE.mbox``: an mbox of the same messages (built in the tmp dir, mboxrd-quoted).

Each run writes a fresh SQLite store with threading, ``#syz`` commands, tags and report parsing included.
Run: ``PYTHONPATH=. python bench/bench_archives.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapers.public_inbox import blobs, new_commits  # noqa: E402
from triage import sources  # noqa: E402
from triage.pipeline import Pipeline, import_paths  # noqa: E402
from triage.store import open_db  # noqa: E402

BUNDLE = ROOT.parent / "shared" / "data" / "public-inbox" / "linux-nilfs.bundle"


def build_mbox(repo: Path, out: Path) -> int:
    n = 0
    with out.open("wb") as f:
        for _, data in blobs(repo, new_commits(repo, None)):
            if not data:
                continue
            body = re.sub(rb"^(>*From )", rb">\1", data, flags=re.M)      # mboxrd quoting
            f.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + body.rstrip(b"\n") + b"\n\n")
            n += 1
    return n


def timed(label: str, messages_of, fn) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = messages_of(result)
    print(f"{label:42s} {n:6d} messages  {wall:7.2f} s wall  {cpu:7.2f} s cpu  "
          f"{n / wall if wall else 0:8.0f} msg/s (wall)  {n / cpu if cpu else 0:8.0f} msg/s (cpu)")
    return n / wall if wall else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if not BUNDLE.exists():
        sys.exit(f"bench_archives: {BUNDLE} not found (needs ../shared/data)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        repo = tmp / "linux-nilfs"
        subprocess.run(["git", "clone", "-q", str(BUNDLE), str(repo)], check=True)
        mbox = tmp / "linux-nilfs.mbox"
        count = build_mbox(repo, mbox)
        print(f"linux-nilfs: {count} messages, mbox {mbox.stat().st_size / 1e6:.1f} MB")
        for i in range(args.repeat):
            db = open_db(tmp / f"pi{i}.db")
            timed("public-inbox import (fresh store)", lambda s: s.messages_new,
                  lambda db=db: Pipeline(db).run(sources.public_inbox(db, repo)))
            timed("public-inbox re-import (no new commits)", lambda s: s.messages_new,
                  lambda db=db: Pipeline(db).run(sources.public_inbox(db, repo)))
            db2 = open_db(tmp / f"mbox{i}.db")
            timed("mbox import (fresh store)", lambda s: s.messages_new,
                  lambda db2=db2: import_paths(db2, [str(mbox)]))
            threads = db2["threads"].count, db["threads"].count
            print(f"threads: mbox {threads[0]}, public-inbox {threads[1]}")


if __name__ == "__main__":
    main()
