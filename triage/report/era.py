"""When a report was made, from the kernel release it names: the era whose syzkaller rules titled it.

syzbot titled each bug with the syzkaller of its day; title formats, frame-skip lists and number replacement
changed since (``formats``: rows and skip patterns carry ``since`` / ``until`` dates). A report's text names
its kernel release, and a release dates it:

    kernel_date("4.15.0-rc3+")                      -> "2017-12-10"   (rc3 of 4.15: 4.14 + 2 + 2 weeks)
    kernel_date("5.7.0-rc2-next-20200420-syzkaller") -> "2020-04-20"  (linux-next names its day)
    kernel_date("5.10.0-syzkaller")                  -> "2020-12-20"  (merge window after 5.10)
    kernel_date("4.14.247-syzkaller")                -> "2021-03-31"  (stable: ~5 days per point release)

None when the release is unknown (no version, or newer than the table): today's rules apply then.
Mainline dates are the tagging days of the releases (kernel.org).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re

# Mainline release days (vX.Y tags).
RELEASES: dict[tuple[int, int], str] = {
    (3, 19): "2015-02-08", (4, 0): "2015-04-12", (4, 1): "2015-06-22", (4, 2): "2015-08-30",
    (4, 3): "2015-11-01", (4, 4): "2016-01-10", (4, 5): "2016-03-14", (4, 6): "2016-05-15",
    (4, 7): "2016-07-24", (4, 8): "2016-10-02", (4, 9): "2016-12-11", (4, 10): "2017-02-19",
    (4, 11): "2017-04-30", (4, 12): "2017-07-02", (4, 13): "2017-09-03", (4, 14): "2017-11-12",
    (4, 15): "2018-01-28", (4, 16): "2018-04-01", (4, 17): "2018-06-03", (4, 18): "2018-08-12",
    (4, 19): "2018-10-22", (4, 20): "2018-12-23", (5, 0): "2019-03-03", (5, 1): "2019-05-05",
    (5, 2): "2019-07-07", (5, 3): "2019-09-15", (5, 4): "2019-11-24", (5, 5): "2020-01-26",
    (5, 6): "2020-03-29", (5, 7): "2020-05-31", (5, 8): "2020-08-02", (5, 9): "2020-10-11",
    (5, 10): "2020-12-13", (5, 11): "2021-02-14", (5, 12): "2021-04-25", (5, 13): "2021-06-27",
    (5, 14): "2021-08-29", (5, 15): "2021-10-31", (5, 16): "2022-01-09", (5, 17): "2022-03-20",
    (5, 18): "2022-05-22", (5, 19): "2022-07-31", (6, 0): "2022-10-02", (6, 1): "2022-12-11",
    (6, 2): "2023-02-19", (6, 3): "2023-04-23", (6, 4): "2023-06-25", (6, 5): "2023-08-27",
    (6, 6): "2023-10-30", (6, 7): "2024-01-07", (6, 8): "2024-03-10", (6, 9): "2024-05-12",
    (6, 10): "2024-07-14", (6, 11): "2024-09-15", (6, 12): "2024-11-17", (6, 13): "2025-01-19",
    (6, 14): "2025-03-24", (6, 15): "2025-05-25", (6, 16): "2025-07-27",
}
_ORDER = sorted(RELEASES)

MERGE_WINDOW = 14          # days from a release to the next one's rc1
RC_WEEK = 7                # days between release candidates
AFTER_RELEASE = 7          # "X.Y.0+" / "X.Y.0-syzkaller": built from the tree during the next merge window
STABLE_STEP = 5            # days per stable point release (4.14.247 ~ 4.14 + 3.4 years)

_NEXT = re.compile(r"-next-(20\d{2})(\d{2})(\d{2})")
_REL = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?")


def _day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


_DAYS = {ver: _day(day) for ver, day in RELEASES.items()}      # (each release's day parsed once)


def kernel_date(release: str | None) -> str | None:
    """ISO day the kernel ``release`` was (about) built, or None if it cannot be dated."""
    if not isinstance(release, str):
        return None
    m = _NEXT.search(release)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        except ValueError:
            return None
    m = _REL.match(release.strip())
    if m is None:
        return None
    ver = (int(m.group(1)), int(m.group(2)))
    sub, rc = int(m.group(3) or 0), m.group(4)
    if rc is not None:
        below = bisect.bisect_left(_ORDER, ver)     # the releases before ``ver`` (``_ORDER`` is sorted)
        if not below or ver < _ORDER[1]:
            return None
        base = _DAYS[_ORDER[below - 1]]
        return (base + dt.timedelta(days=MERGE_WINDOW + RC_WEEK * (max(int(rc), 1) - 1))).isoformat()
    if ver not in RELEASES:
        return None
    days = AFTER_RELEASE if sub == 0 else STABLE_STEP * sub
    return (_DAYS[ver] + dt.timedelta(days=days)).isoformat()


def active(era: str | None, since: str | None, until: str | None) -> bool:
    """Whether a rule in force from ``since`` to before ``until`` applies to a report of ``era``.

    An undated report (era None) gets today's rules: rules that ended (``until``) do not apply to it."""
    if era is None:
        return until is None
    return (since is None or era >= since) and (until is None or era < until)
