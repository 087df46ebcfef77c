"""How many syzbot titles each era rule explains, and how much of the era gain would survive without them.

    PYTHONPATH=. python bench/era_evidence.py

Each era rule (a dated row of ``formats.OOPSES``, a dated title replacement, a ``SKIP_SINCE`` entry) is switched
off in turn (today's behaviour for every era) and the syzbot sample re-parsed: the titles that stop agreeing
are the ones the rule explains. A rule backed by a single title had its day chosen with that title in view,
so the leave-one-out figure counts only titles whose rule is also backed by another title: a fair estimate of
what the era table gives on reports neither set contains. Takes about a minute.
"""

from __future__ import annotations

import collections
import importlib
import json
import re
import sys
from pathlib import Path

from triage.report import formats as fm

pm = importlib.import_module("triage.report.parse")
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "syzbot-sample"


def load() -> list[tuple[str, str, bytes]]:
    items = []
    for line in (SAMPLE / "index.jsonl").read_text().splitlines():
        if line.strip():
            it = json.loads(line)
            items.append((it["id"], re.sub(r" \(\d+\)$", "", it["title"]), (SAMPLE / f"{it['id']}.txt").read_bytes()))
    return items


def agreeing(items) -> set[str]:
    pm.global_skip.cache_clear()
    return {i for i, want, text in items if pm.parse(text).era_title == want}


def rules():
    """(name, switch-off, restore) for every era rule."""
    days = sorted({d for o in fm.OOPSES for f in o.formats for d in (f.since, f.until) if d}
                  | {d for r in fm.TITLE_REPLACEMENTS for d in (r.since, r.until) if d})
    names: dict[str, str] = {}
    for k, v in vars(fm).items():
        if k.startswith("ERA_") and isinstance(v, str):
            names[v] = f"{names[v]} / {k}" if v in names else k
    for day in days:
        rows = [f for o in fm.OOPSES for f in o.formats if day in (f.since, f.until)]
        reps = [i for i, r in enumerate(fm.TITLE_REPLACEMENTS) if day in (r.since, r.until)]
        saved = [(f, f.since, f.until) for f in rows], list(fm.TITLE_REPLACEMENTS)

        def off(rows=rows, reps=reps, day=day):
            for f in rows:   # old rows never apply, new rows always
                f.since, f.until = (None, "0000-00-00") if f.until == day else (None, f.until)
            for i in reps:
                r = fm.TITLE_REPLACEMENTS[i]
                fm.TITLE_REPLACEMENTS[i] = fm.Replacement(r.rx, r.repl, None, "0000-00-00" if r.until == day
                                                          else r.until)

        def on(saved=saved):
            for f, since, until in saved[0]:
                f.since, f.until = since, until
            fm.TITLE_REPLACEMENTS[:] = saved[1]
        yield names.get(day, day), off, on
    for oops in [o for o in fm.OOPSES if o.since]:
        def off(oops=oops):
            oops.since = None

        def on(oops=oops, since=oops.since):
            oops.since = since
        yield names.get(oops.since, oops.since) + f" ({oops.header} header)", off, on
    window = fm.ERA_READ_PAST_SECOND_REPORT

    def off_window():
        fm.ERA_READ_PAST_SECOND_REPORT = (None, "0000-00-00")

    def on_window(window=window):
        fm.ERA_READ_PAST_SECOND_REPORT = window
    yield "ERA_READ_PAST_SECOND_REPORT", off_window, on_window
    for pattern in list(fm.SKIP_SINCE):
        since = fm.SKIP_SINCE[pattern]

        def off(pattern=pattern):
            del fm.SKIP_SINCE[pattern]

        def on(pattern=pattern, since=since):
            fm.SKIP_SINCE[pattern] = since
        yield f"skip {pattern!r}", off, on


def main() -> int:
    items = load()
    base = agreeing(items)
    pm._DATED_ROWS.update({id(o): [f for f in o.formats] for o in fm.OOPSES})   # rows change under the test
    explained: dict[str, set[str]] = {}
    for name, off, on in rules():
        off()
        explained[name] = base - agreeing(items)
        on()
    by_title = collections.Counter(i for ids in explained.values() for i in ids)
    total = len(items)
    era_gain = len(set().union(*explained.values()))
    multi = {i for ids in explained.values() if len(ids) >= 2 for i in ids}
    for name, ids in sorted(explained.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(ids):3d}  {name}")
    print(f"syzbot sample: {len(base)}/{total} = {len(base) / total:.1%} with era rules; "
          f"{era_gain} titles explained by them ({sum(1 for n in by_title.values() if n > 1)} by several)")
    print(f"leave-one-out (only rules backed by >= 2 titles): {len(base) - era_gain + len(multi)}/{total} = "
          f"{(len(base) - era_gain + len(multi)) / total:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
