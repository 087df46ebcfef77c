"""syzbot's own titles for 1,062 reports it extracted (2017-2023), ignoring the ' (N)' recurrence suffix.

syzbot titled each bug with the syzkaller of its day, whose frame-skip lists and title formats differed from
today's (the golden files). ``Report.era_title`` applies the rules of the era the report's kernel release dates
to (triage.report.era, the dated rows of triage.report.formats); ``Report.title`` stays today's title. The kinds
of remaining disagreement are printed."""

from __future__ import annotations

import collections

import pytest

from records.mail import parse_bytes
from tests.conftest import ARCHIVES_SMALL_FIRST, shared_data
from triage.report.golden import syzbot_agreement, titled_agreement
from triage.store.messages import syzbot_title


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
    assert syzbot.rate("title_ok") >= 0.92, _kinds(syzbot)      # (2026-12-04: 985 of 1,062)


def test_todays_titles_still_agree_where_rules_did_not_change(syzbot):
    # Today's title alone (no era rules) was 84.9% when the era table was added: era rules must not be
    # what keeps the plain title agreeing.
    assert syzbot.rate("alt_ok") >= 0.84


def test_most_disagreements_are_explained(syzbot):
    # Disagreements we cannot classify would point at a parser bug rather than syzbot history.
    other = [d for d in syzbot.disagreements if d["kind"] == "other title format change"]
    assert len(other) <= 20, other


# Each list archive's floor: the share of syzbot's report mails (and its "still triggering" replies) whose crash
# ``era_title`` names as syzbot titled it in the mail. Measured 2026-12-04: linux-nilfs 105/109, linux-unionfs
# 72/73, reiserfs-devel 125/133 (the rest: mostly a crash syzbot filed under an open bug of another kind in the same
# function, by an alternative title; reports with no kernel release to date their rules by).
MAIL_FLOOR = {"reiserfs-devel": 0.90, "linux-nilfs": 0.93, "linux-unionfs": 0.95}


@pytest.mark.parametrize("name", ARCHIVES_SMALL_FIRST)
def test_syzbot_report_mails_are_titled_as_syzbot_titled_them(archive_mails, name):
    mails = (parse_bytes(raw) for raw in archive_mails(name))
    agreement = titled_agreement((t, m.body) for m in mails if (t := syzbot_title(m)) is not None)
    shown = "\n".join(f"{d['want']}  |  {d['got']}  (era {d['era']})" for d in agreement.disagreements)
    print(f"\n{name}: {agreement.title_ok} of {agreement.total} titled as syzbot did\n{shown}")
    assert agreement.total >= 50
    assert agreement.rate("title_ok") >= MAIL_FLOOR[name], shown
