"""Golden files from syzkaller (pkg/report/testdata/linux): our titles, corrupted flags, alternative titles and
guilty files must agree with syzkaller's on at least 99 % of them (2026-12-04: 485, 485 and 485 of 486, 38 of 38),
the crash types too (485 of 486). Disagreements are printed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_data
from triage.report.golden import guilty_agreement, read_golden, report_agreement


@pytest.fixture(scope="module")
def reports():
    return report_agreement(shared_data("syzkaller-reports", "report"))


@pytest.fixture(scope="module")
def guilty():
    return guilty_agreement(shared_data("syzkaller-reports", "guilty"))


def _show(agreement) -> str:
    return "\n".join(json.dumps(d) for d in agreement.disagreements)


def test_title_agreement(reports):
    print(f"\ntitle agreement {reports.rate('title_ok'):.1%}; disagreements:\n{_show(reports)}")
    assert reports.total >= 400
    assert reports.rate("title_ok") >= 0.99, _show(reports)


def test_corrupted_agreement(reports):
    assert reports.rate("corrupted_ok") >= 0.99, _show(reports)


def test_alt_titles_and_types_mostly_agree(reports):
    # A regression guard for the alias titles and crash types.
    assert reports.rate("alt_ok") >= 0.99
    assert reports.rate("type_ok") >= 0.99


def test_guilty_file_agreement(guilty):
    print(f"\nguilty agreement {guilty.rate('title_ok'):.1%}; disagreements:\n{_show(guilty)}")
    assert guilty.total >= 30
    assert guilty.rate("title_ok") >= 0.97, _show(guilty)


def test_no_crash_logs_give_no_title():
    base = shared_data("syzkaller-reports", "report")
    from triage.report import parse
    from triage.report.golden import golden_files

    empty = [g for g in map(read_golden, golden_files(base)) if g.title is None]
    assert len(empty) >= 10
    wrong = [g.name for g in empty if parse(g.log).title is not None]
    assert len(wrong) <= len(empty) // 10, wrong
