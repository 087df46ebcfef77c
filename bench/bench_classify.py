"""Benchmark: classify 10,000 parsed reports in one batch (rules + one vectorized model call).

    PYTHONPATH=. python bench/bench_classify.py [N]

Reports come from ../shared/data (syzbot sample + labelled set), parsed once (not timed), repeated to N.
Timed: building the views, evaluating the rules, features + one predict_proba, combining -- what the import
hook and ``triage reclassify`` do for a batch, with the stored text (``Report.report``) as the text.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifiers.classifier import Classifier  # noqa: E402
from classifiers.dataset import default_labelled_dir  # noqa: E402
from triage.report import parse  # noqa: E402


def corpus() -> list[str]:
    data = default_labelled_dir().parent
    paths = sorted((data / "syzbot-sample").glob("*.txt")) + sorted((data / "labelled" / "reports").glob("*.txt"))
    if not paths:
        sys.exit(f"bench_classify: no reports under {data}")
    return [p.read_bytes().decode("utf-8", "replace") for p in paths]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    texts = corpus()
    t0 = time.perf_counter()
    parsed = [parse(t) for t in texts]
    t_parse = time.perf_counter() - t0
    items = [(parsed[i % len(parsed)], parsed[i % len(parsed)].report or texts[i % len(texts)]) for i in range(n)]
    clf = Classifier()
    clf.classify_many(items[:50])                       # warm-up: sklearn import, model load, regex compile
    t0, c0 = time.perf_counter(), time.process_time()
    verdicts = clf.classify_many(items)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    full = [(parsed[i % len(parsed)], texts[i % len(texts)]) for i in range(n)]
    t0, c0 = time.perf_counter(), time.process_time()
    clf.classify_many(full)
    elapsed_full, cpu_full = time.perf_counter() - t0, time.process_time() - c0
    print(f"distinct reports: {len(texts)} (parsed in {t_parse:.2f} s, not timed)")
    print(f"classify {n} parsed reports (stored text):     {elapsed:.2f} s wall, {cpu:.2f} s CPU "
          f"({n / elapsed:,.0f} reports/s)")
    print(f"classify {n} parsed reports (full input text): {elapsed_full:.2f} s wall, {cpu_full:.2f} s CPU "
          f"({n / elapsed_full:,.0f} reports/s)")
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time suffers when loaded)")
    print("labels:", dict(Counter(v.label for v in verdicts).most_common()))
    print("needs review:", sum(v.needs_review for v in verdicts))


if __name__ == "__main__":
    main()
