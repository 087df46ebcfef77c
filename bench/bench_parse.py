"""Parsing speed: every golden report (syzkaller's report/ and guilty/ test files) parsed N times on one core.

    PYTHONPATH=. python bench/bench_parse.py [ROUNDS]

Prints reports/s for the full parse (title + stacks + gfp + markers + signature) and for title detection
alone, measured in CPU time (the machine is shared).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from triage.report import parse
from triage.report.golden import golden_files, read_golden
from triage.report.parse import extract_context, extract_description, find_first_oops, find_report
from triage.report.textin import clean_text

BASE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "syzkaller-reports"


def titles_only(text: bytes) -> str | None:
    t = clean_text(text)
    oops, start = find_first_oops(t)
    if oops is None:
        return None
    end = t.find("\n", start)
    found = find_report(t, start, extract_context(t[start:end if end >= 0 else len(t)]), False)
    return extract_description(found.report[:found.report_end], oops).title


def rate(fn, logs: list[bytes], rounds: int) -> float:
    t0 = time.process_time()
    for _ in range(rounds):
        for log in logs:
            fn(log)
    return rounds * len(logs) / (time.process_time() - t0)


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    logs = [read_golden(p).log for sub in ("report", "guilty") for p in golden_files(BASE / sub)]
    size = sum(len(x) for x in logs) / len(logs)
    print(f"{len(logs)} golden reports (mean {size / 1024:.1f} KiB), {rounds} rounds")
    print(f"full parse:  {rate(parse, logs, rounds):7.0f} reports/s")
    print(f"titles only: {rate(titles_only, logs, rounds):7.0f} reports/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
