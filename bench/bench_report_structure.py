"""Throughput of the structural report parsers over the real reports in ../shared/data, and their time on
a 50 MB input (linear-time check). Times are CPU time of this process (the machine is shared).

    PYTHONPATH=. python bench/bench_report_structure.py [--big-mb 50]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from triage.report.console import read_console
from triage.report.context import crash_task, kernel_version
from triage.report.gfp import find_gfp
from triage.report.normalize import signature
from triage.report.stacks import extract_frames, lockdep_locks

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def structure(text: str) -> None:
    frames = extract_frames(text)
    signature(frames)
    lockdep_locks(text)
    kv = kernel_version(text)
    crash_task(text)
    read_console(text, kv)


# read_console: the whole-input reading (events, trace, markers; with lockdep_locks and find_gfp inside)
FUNCS = {"extract_frames": extract_frames, "lockdep_locks": lockdep_locks, "kernel_version": kernel_version,
         "crash_task": crash_task, "find_gfp": find_gfp, "read_console": read_console, "all": structure}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-mb", type=int, default=50)
    args = ap.parse_args()
    paths = [p for sub in ("labelled/reports", "syzkaller-reports/report", "syzbot-sample")
             for p in sorted((DATA / sub).glob("*")) if p.is_file() and p.suffix in ("", ".txt")]
    texts = [p.read_text(errors="replace") for p in paths]
    mb = sum(len(t) for t in texts) / 1e6
    print(f"{len(texts)} real reports, {mb:.1f} MB")
    for name, fn in FUNCS.items():
        t = time.process_time()
        for text in texts:
            fn(text)
        dt = time.process_time() - t
        print(f"  {name:15s} {len(texts) / dt:8.0f} reports/s")
    unit = "\n".join(texts[:200])
    big = (unit * (args.big_mb * 1_000_000 // max(1, len(unit)) + 1))[: args.big_mb * 1_000_000]
    for name, fn in FUNCS.items():
        if name == "all":
            continue
        t = time.process_time()
        fn(big)
        print(f"  {name:15s} {args.big_mb} MB of reports in {time.process_time() - t:6.2f} s")
    one_line = "(" * (args.big_mb * 1_000_000)
    t = time.process_time()
    structure(one_line)
    print(f"  all             {args.big_mb} MB single line of '(' in {time.process_time() - t:6.2f} s")


if __name__ == "__main__":
    main()
