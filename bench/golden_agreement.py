"""Agreement with syzkaller's golden files (title, corrupted flag, guilty file, report text) and syzbot's titles
(the syzbot sample's, and those of syzbot's report mails in the three list archives).

    PYTHONPATH=. python bench/golden_agreement.py [--list]
"""

from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

from parse_identity import ARCHIVES, archive_mails

from triage.report.golden import guilty_agreement, report_agreement, syzbot_agreement, titled_agreement
from triage.store.messages import syzbot_title

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
    archives = base.parent / "public-inbox"
    if archives.is_dir():
        print("syzbot's report mails in the list archives, titled as the mail titles them (era_title):")
        with tempfile.TemporaryDirectory() as tmp:
            for name in ARCHIVES:        # (syzbot's report mails: those it gave a title)
                a = titled_agreement((title, mail.body) for _, mail in archive_mails(name, Path(tmp))
                                     if (title := syzbot_title(mail)) is not None)
                print(f"  {name:15s} {a.title_ok}/{a.total} = {a.rate('title_ok'):.1%}")
                for kind, n in collections.Counter(d["kind"] for d in a.disagreements).most_common():
                    print(f"  {n:6d}  {kind}")
                if "--list" in sys.argv:
                    for d in a.disagreements:
                        print(f"    {d['want']}  |  {d['got']}  (era {d['era']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
