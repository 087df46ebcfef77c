"""Agreement with syzkaller's golden files (title, corrupted flag, guilty file, report text) and syzbot's titles.

    PYTHONPATH=. python bench/golden_agreement.py [--list]
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

from triage.report.golden import guilty_agreement, report_agreement, syzbot_agreement

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "syzkaller-reports"


def main() -> int:
    base = DATA if DATA.is_dir() else Path("/work/shared/data/syzkaller-reports")
    rep = report_agreement(base / "report")
    gui = guilty_agreement(base / "guilty")
    if "--list" in sys.argv:
        for d in rep.disagreements + gui.disagreements:
            print(d)
    print(f"title agreement:     {rep.title_ok}/{rep.total} = {rep.rate('title_ok'):.1%}")
    print(f"corrupted agreement: {rep.corrupted_ok}/{rep.total} = {rep.rate('corrupted_ok'):.1%}")
    print(f"guilty file:         {gui.title_ok}/{gui.total} = {gui.rate('title_ok'):.1%}")
    print(f"(alt titles: {rep.rate('alt_ok'):.1%}, type: {rep.rate('type_ok'):.1%})")
    print(f"report text:         {rep.report_ok}/{rep.reports} (the files that give syzkaller's extracted report)")
    syz = syzbot_agreement(base.parent / "syzbot-sample")
    print(f"syzbot sample titles: {syz.title_ok}/{syz.total} = {syz.rate('title_ok'):.1%} (era_title, ignoring ' (N)');"
          f" today's title: {syz.alt_ok}/{syz.total} = {syz.rate('alt_ok'):.1%}")
    for kind, n in collections.Counter(d["kind"] for d in syz.disagreements).most_common():
        print(f"  {n:4d}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
