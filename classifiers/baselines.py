"""Two naive classifiers ``triage eval`` compares against: title keywords, and syzkaller's crash type."""

from __future__ import annotations

import re

from classifiers.view import ReportView

# First match wins: (regex over the title, label).
TITLE_KEYWORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I), label) for p, label in [
        (r"data.loss|lost (?:async |sync )?page write|data will be lost|unwritten extents", "data-loss"),
        (r"fs_reclaim|reclaim|possible deadlock|circular locking|task hung|blocked for more than", "reclaim-deadlock"),
        (r"should_fail|fault.injection|failslab|fail_page_alloc", "fault-injection"),
        (r"__alloc_pages|page_alloc|rmqueue|get_page_from_freelist|nofail|new_slab|cache_grow", "nofail-warning"),
    ]
]

# syzkaller crash types (pkg/report/crash) mapped to the label they most often mean; the rest is ``other``.
CRASH_TYPE_LABELS: dict[str, str] = {
    "LOCKDEP": "reclaim-deadlock",
    "HANG": "reclaim-deadlock",
    "WARNING": "nofail-warning",
}


def title_keyword_label(view: ReportView) -> str:
    title = view.title or (view.crash_header or "")
    for rx, label in TITLE_KEYWORDS:
        if rx.search(title):
            return label
    return "other"


def crash_type_label(view: ReportView) -> str:
    return CRASH_TYPE_LABELS.get(str(view.crash_type or "").upper(), "other")
