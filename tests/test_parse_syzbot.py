"""syzbot's own titles for 1,062 reports it extracted (2017-2023), ignoring the ' (N)' recurrence suffix.

Our tables follow today's syzkaller (the golden files); syzbot's titles were made by the syzkaller of their
day, whose frame-skip lists and title formats were shorter. The floor below guards what we reach; the
90 % goal is tracked separately and the kinds of disagreement are printed."""

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


def test_syzbot_title_agreement_floor(syzbot):
    print(f"\nsyzbot title agreement {syzbot.rate('title_ok'):.1%}\n{_kinds(syzbot)}")
    assert syzbot.total >= 1000
    assert syzbot.rate("title_ok") >= 0.84, _kinds(syzbot)


@pytest.mark.xfail(reason="syzbot's historical titles differ from today's syzkaller tables (see kinds)", strict=False)
def test_syzbot_title_agreement_goal(syzbot):
    assert syzbot.rate("title_ok") >= 0.90, _kinds(syzbot)


def test_most_disagreements_are_explained(syzbot):
    # Disagreements we cannot classify would point at a parser bug rather than syzbot history.
    other = [d for d in syzbot.disagreements if d["kind"] == "other title format change"]
    assert len(other) <= 40, other
