"""Parsing speed guard. The real figure (>= 500 reports/s on one core) is printed by bench/bench_parse.py;
this test only catches gross regressions, with a margin for a busy shared machine."""

from __future__ import annotations

import time

from tests.conftest import shared_data
from triage.report import parse
from triage.report.golden import golden_files, read_golden


def test_golden_reports_parse_fast():
    logs = [read_golden(p).log for p in golden_files(shared_data("syzkaller-reports", "report"))]
    for log in logs[:20]:
        parse(log)                                    # compile the regexps once
    t0 = time.process_time()
    for log in logs:
        parse(log)
    per_second = len(logs) / (time.process_time() - t0)
    print(f"\n{per_second:.0f} reports/s")
    assert per_second >= 150
