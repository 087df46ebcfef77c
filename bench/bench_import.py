"""Import throughput: reports per second for a few thousand report files, and for an mbox of as many messages.

    PYTHONPATH=. python bench/bench_import.py [--n 3000]

Inputs are built in a temporary directory from the real reports in ../shared/data (labelled reports and
syzkaller's golden console logs), each made distinct by a trailing marker line so none is deduplicated.
"""

from __future__ import annotations

import argparse
import mailbox
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from triage.pipeline import import_paths
from triage.report import parse
from triage.store import open_db

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def corpus() -> list[str]:
    texts = [p.read_text(errors="replace") for p in sorted((SHARED / "labelled" / "reports").glob("*.txt"))]
    for p in sorted((SHARED / "syzkaller-reports" / "report").iterdir()):
        head, _, body = p.read_text(errors="replace").partition("\n\n")
        if "TITLE:" in head:
            texts.append(body.split("\nREPORT:\n")[0])
    return texts


def distinct(text: str, i: int) -> str:
    """The same crash made distinct: a marker line inside the report, right after its first line."""
    first = parse(text).report.split("\n", 1)[0]
    return text.replace(first, f"{first}\nbench-marker {i}", 1)


def run(n: int) -> dict[str, float]:
    texts = [t for t in corpus() if parse(t).title and parse(distinct(t, 1)).report != parse(distinct(t, 2)).report]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = root / "files"
        files.mkdir()
        for i in range(n):
            (files / f"{i:06d}.txt").write_text(distinct(texts[i % len(texts)], i))
        box = mailbox.mbox(str(root / "list.mbox"))
        for i in range(n):
            msg = EmailMessage()
            msg["From"] = "syzbot <syzbot@syzkaller.appspotmail.com>"
            msg["Subject"] = f"[syzbot] report {i}"
            msg["Message-ID"] = f"<bench-{i}@example.org>"
            msg["Date"] = "Mon, 01 Sep 2025 10:00:00 +0000"
            msg.set_content(distinct(texts[i % len(texts)], i))
            box.add(msg)
        box.close()
        for label, path in (("files", files), ("mbox", root / "list.mbox")):
            db = open_db(root / f"{label}.db")
            t0 = time.perf_counter()
            summary = import_paths(db, [str(path)])
            elapsed = time.perf_counter() - t0
            results[label] = n / elapsed
            print(f"{label:6s} {n} inputs, {summary.reports_new} reports stored in {elapsed:.2f} s: "
                  f"{n / elapsed:,.0f} inputs/s")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    run(ap.parse_args().n)
