"""syzbot's own titles for 1,062 reports it extracted (2017-2023), ignoring the ' (N)' recurrence suffix.

syzbot titled each bug with the syzkaller of its day, whose frame-skip lists and title formats differed from
today's (the golden files). ``Report.era_title`` applies the rules of the era the report's kernel release dates
to (triage.report.era, the dated rows of triage.report.formats); ``Report.title`` stays today's title. The kinds
of remaining disagreement are printed."""

from __future__ import annotations

import collections

import pytest

from tests.conftest import shared_data
from triage.report.golden import syzbot_agreement


@pytest.fixture(scope="module")
def syzbot():
    return syzbot_agreement(shared_data("syzbot-sample"))


def _kinds(agreement) -> str:
    return "\n".join(f"{n:4d} {k}" for k, n in
                     collections.Counter(d["kind"] for d in agreement.disagreements).most_common())


def test_syzbot_title_agreement(syzbot):
    print(f"\nsyzbot title agreement {syzbot.rate('title_ok'):.1%} (today's titles {syzbot.rate('alt_ok'):.1%})"
          f"\n{_kinds(syzbot)}")
    assert syzbot.total >= 1000
    assert syzbot.rate("title_ok") >= 0.90, _kinds(syzbot)


def test_todays_titles_still_agree_where_rules_did_not_change(syzbot):
    # Today's title alone (no era rules) was 84.9% when the era table was added: era rules must not be
    # what keeps the plain title agreeing.
    assert syzbot.rate("alt_ok") >= 0.84


def test_most_disagreements_are_explained(syzbot):
    # Disagreements we cannot classify would point at a parser bug rather than syzbot history.
    other = [d for d in syzbot.disagreements if d["kind"] == "other title format change"]
    assert len(other) <= 20, other
