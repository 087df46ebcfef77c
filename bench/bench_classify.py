"""Benchmark: classify 10,000 parsed reports in one batch (views, rules, features + one vectorized model call).

    PYTHONPATH=. python bench/bench_classify.py [N]

Reports come from ../shared/data (syzbot sample + labelled set), parsed once (not timed), repeated to N.
The classifier reads only the parsed ``Report`` (the parser is the one reader of kernel text), so what is
timed is what the import hook and ``triage reclassify`` do for a batch: once from the Report objects, once
from their stored JSON (``Classifier.classify_rows``, the store's path). The stages are timed apart: building the
views, the rules, features + predict_proba, combining.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifiers.classifier import Classifier  # noqa: E402
from classifiers.combine import combine  # noqa: E402
from classifiers.dataset import default_labelled_dir  # noqa: E402
from triage.report import parse  # noqa: E402


def corpus() -> list[str]:
    data = default_labelled_dir().parent
    paths = sorted((data / "syzbot-sample").glob("*.txt")) + sorted((data / "labelled" / "reports").glob("*.txt"))
    if not paths:
        sys.exit(f"bench_classify: no reports under {data}")
    return [p.read_bytes().decode("utf-8", "replace") for p in paths]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    texts = corpus()
    t0 = time.perf_counter()
    parsed = [parse(t) for t in texts]
    t_parse = time.perf_counter() - t0
    reports = [parsed[i % len(parsed)] for i in range(n)]
    clf = Classifier()
    clf.classify_many(reports[:300])                    # warm-up: model load, regexp compiles, numpy (a batch)

    stages: dict[str, float] = {}
    w0, c0 = _clock()
    views = clf.views(reports)
    stages["views"] = time.process_time() - c0
    c1 = time.process_time()
    hits = [clf.hits(v) for v in views]
    stages["rules"] = time.process_time() - c1
    c1 = time.process_time()
    probs = clf.probabilities(views)          # the model's columns of each view, scored in one batch
    stages["features + model"] = time.process_time() - c1
    c1 = time.process_time()
    verdicts = [combine(h, p, corrupted=v.corrupted) for h, v, p in zip(hits, views, probs, strict=True)]
    stages["combine"] = time.process_time() - c1
    elapsed, cpu = time.perf_counter() - w0, time.process_time() - c0

    rows = [json.dumps(r.to_dict(), ensure_ascii=False) for r in reports]
    w0, c0 = _clock()
    clf.classify_rows([(row, None) for row in rows])
    elapsed_json, cpu_json = time.perf_counter() - w0, time.process_time() - c0

    print(f"distinct reports: {len(texts)} (parsed in {t_parse:.2f} s, not timed)")
    print(f"classify {n} parsed reports:          {elapsed:.2f} s wall, {cpu:.2f} s CPU ({n / cpu:,.0f} reports/s CPU)")
    for name, t in stages.items():
        print(f"    {name:<18} {t:6.2f} s CPU")
    rules_model = stages["rules"] + stages["features + model"]
    print(f"    rules + features + model: {n / rules_model:,.0f} reports/s CPU")
    print(f"classify {n} stored parses (JSON):    {elapsed_json:.2f} s wall, {cpu_json:.2f} s CPU "
          f"({n / cpu_json:,.0f} reports/s CPU)")
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time suffers when loaded)")
    print("labels:", dict(Counter(v.label for v in verdicts).most_common()))
    print("needs review:", sum(v.needs_review for v in verdicts))


if __name__ == "__main__":
    main()
