"""Parsing speed, as a ratio to one regexp pass over the same texts measured in the same run (issue 13).

    PYTHONPATH=. python bench/bench_parse.py [--rounds N] [--limit 2.5]

The 1,062 reports of ../shared/data/syzbot-sample (syzbot's excerpts) are parsed in full (``triage.report.parse``:
title, era title, stacks, guilty frame and file, signature, the console reading) and, beside that, read by one
pass of a frame-token regexp (``func+0x12/0x34``): the least any reader of these reports does. The figure is
parse time / pass time (lower is better), the median of the rounds' ratios, each round timing the pass and then
the parse; it passes when at most ``--limit``. Then the golden reports (syzkaller's ``report/`` and ``guilty/``)
for the older figure: full parse and title detection alone.

CPU time of this process (the machine is shared), after one warm-up round (which compiles the era-dated regexps);
speeds are the best round's. Each round starts with the parser's per-name and per-line tables
(``triage.report.memo``) empty, as a fresh process would: the rounds repeat the same texts, and a table warmed by
the round before would measure the table, not the parser. Exit 1 when over the limit.

Instructions, steady on a loaded machine: collected only inside the ``functools.reduce`` that parses every 4th
report once (divide the "Collected" figure by the 266 reports), after one round over all 1,062 and with the
tables emptied, as a timed round is; with ``--fresh``, in a fresh process instead (one report parsed before), so
that the figure also holds the regexps and sets compiled on first use (what ``triage parse FILE`` pays):

    PYTHONHASHSEED=0 PYTHONPATH=. valgrind --tool=callgrind --collect-atstart=no --toggle-collect=functools_reduce \
        --callgrind-out-file=/dev/null python bench/bench_parse.py --callgrind [--fresh]

The same for the limit's regexp pass: ``--callgrind --pass``. With ``--cache-sim=yes --branch-sim=yes`` added to
valgrind's options, the same runs count instruction-cache misses and branch mispredictions, which tell why the
parse's time ratio is about twice its instruction ratio.

``--stages`` times, beside the pass, what the parse is made of, each alone: the text's preparation (HTML entities,
masking, undecoding, cleaning), the title (preparation, oops, report extent, description: ``titles_only``), the two
line walks (``stacks.extract_frames`` and ``console.read_console`` over the prepared text) and the ``--floor``
skeleton: how much of the limit each part leaves to the others.

``--floor`` times, beside the pass, a one-walk skeleton of what the parse must at least produce: each line holding
"+0x" read by the usual frame expression, and a ``Frame`` and a console frame entry built per frame. This is no
parser. It measures how far below the limit the output itself lies; the rest of the parse's time is its logic.
"""

from __future__ import annotations

import argparse
import functools
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from triage.report import memo, parse
from triage.report.console import read_console
from triage.report.golden import golden_files, read_golden
from triage.report.model import Frame
from triage.report.parse import extract_context, extract_description, find_first_oops, find_report
from triage.report.stacks import _USUAL_FRAME, extract_frames
from triage.report.textin import clean_text, mask_code, to_text, undecode, unescape_html

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FRAME_TOKEN = re.compile(r"[A-Za-z_][\w.]*\+0x[0-9a-f]+/0x[0-9a-f]+")


def frame_pass(text: bytes) -> int:
    """The limit's unit of work: decode, then one frame-token regexp pass."""
    return sum(1 for _ in FRAME_TOKEN.finditer(text.decode("utf-8", "replace")))


def skeleton(text: bytes) -> int:
    """``--floor``'s unit of work: decode, one walk over the lines, a ``Frame`` and a console entry per frame."""
    frames, entries = [], []
    match = _USUAL_FRAME.match          # (the parser's own expression for the usual frame line)
    for i, line in enumerate(text.decode("utf-8", "replace").split("\n")):
        if "+0x" in line and (m := match(line)) is not None:
            func, off, size, module, file, _, inline = m.groups()
            frames.append(Frame(func, func, "crash", off, size, file, None, inline is not None, module))
            entries.append({"function": func, "stack": "crash", "lineno": i + 1, "line": line})
    return len(frames) + len(entries)


def titles_only(text: bytes) -> str | None:
    t = clean_text(text)
    oops, start = find_first_oops(t)
    if oops is None:
        return None
    end = t.find("\n", start)
    found = find_report(t, start, extract_context(t[start:end if end >= 0 else len(t)]))
    return extract_description(found.report[:found.report_end], oops).title


def prepared(text: bytes) -> str:
    """``--stages``: the text as the parse prepares it before reading it (entities, masking, undecoding, cleaning)."""
    masked = mask_code(unescape_html(to_text(text)))
    raw = undecode(masked)
    return clean_text(raw, mask=False, decoded=raw is masked)


def walks(text: str) -> int:
    """``--stages``: the two line walks over a prepared text."""
    return len(extract_frames(text)) + len(read_console(text).frames)


def seconds(fn: Callable[[bytes], object], logs: list[bytes], rounds: int) -> float:
    """CPU seconds of one round over ``logs``: the best of ``rounds`` after a warm-up."""
    for log in logs:
        fn(log)
    best = float("inf")
    for _ in range(rounds):
        memo.clear()
        t0 = time.process_time()
        for log in logs:
            fn(log)
        best = min(best, time.process_time() - t0)
    return best


def side_by_side(fns: tuple[Callable[[bytes], object], ...], logs: list[bytes], rounds: int) -> list[list[float]]:
    """CPU seconds of each of ``fns`` over ``logs`` in each of ``rounds`` rounds, the functions run in turn within
    a round (after a warm-up of each): the machine's speed drifts by a third within minutes, and two figures taken
    a few seconds apart drift together."""
    for fn in fns:
        for log in logs:
            fn(log)
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            memo.clear()
            t0 = time.process_time()
            for log in logs:
                fn(log)
            out[k].append(time.process_time() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=float, default=2.5, help="parse time / regexp-pass time allowed")
    ap.add_argument("--callgrind", action="store_true", help="parse every 4th report once, for valgrind to count")
    ap.add_argument("--fresh", action="store_true", help="with --callgrind: in a fresh process, not after a round")
    ap.add_argument("--pass", dest="pass_", action="store_true", help="with --callgrind: the regexp pass, not parse")
    ap.add_argument("--floor", action="store_true", help="time a one-walk skeleton of the parse's output instead")
    ap.add_argument("--stages", action="store_true", help="time the parse's stages alone instead")
    args = ap.parse_args()
    sample = sorted((DATA / "syzbot-sample").glob("*.txt"))
    if not sample:
        sys.exit(f"real data not available: {DATA / 'syzbot-sample'}")
    logs = [p.read_bytes() for p in sample]
    if args.callgrind:
        fn = frame_pass if args.pass_ else parse
        for log in logs[-1:] if args.fresh else logs:
            fn(log)                           # fresh: the module-level regexps compiled; else a whole round
        memo.clear()
        functools.reduce(lambda _, log: fn(log), logs[::4], None)
        print(f"{'read' if args.pass_ else 'parsed'} {len(logs[::4])} reports once")
        return 0
    size = sum(len(x) for x in logs) / len(logs)
    if args.stages:
        texts = {id(log): prepared(log) for log in logs}
        fns = (frame_pass, prepared, titles_only, lambda log: walks(texts[id(log)]), skeleton, parse)
        names = ("the frame-token pass (the limit's unit)", "text preparation", "the title (titles_only)",
                 "the two line walks (extract_frames + read_console)", "--floor: the walks' output alone",
                 "full parse")
        runs = side_by_side(fns, logs, args.rounds)
        print(f"syzbot-sample: {len(logs)} reports, {args.rounds} rounds, CPU time; each stage alone, as a multiple "
              "of the pass timed in the same round (median of the rounds)")
        for name, took in zip(names, runs, strict=True):
            print(f"  {name:52s} {statistics.median(t / b for t, b in zip(took, runs[0], strict=True)):5.2f}x")
        return 0
    if args.floor:
        bases, floors = side_by_side((frame_pass, skeleton), logs, args.rounds)
        ratios = sorted(t / b for b, t in zip(bases, floors, strict=True))
        print(f"syzbot-sample: {len(logs)} reports, {args.rounds} rounds, CPU time: the one-walk skeleton "
              f"{len(logs) / min(floors):.0f} reports/s, {statistics.median(ratios):.2f}x the pass "
              f"({len(logs) / min(bases):.0f} reports/s)")
        return 0
    bases, tooks = side_by_side((frame_pass, parse), logs, args.rounds)
    ratios = sorted(t / b for b, t in zip(bases, tooks, strict=True))
    ratio = statistics.median(ratios)
    print(f"syzbot-sample: {len(logs)} reports (mean {size / 1024:.1f} KiB), {args.rounds} rounds, CPU time")
    print(f"  frame-token regexp pass: {len(logs) / min(bases):7.0f} reports/s (best round)")
    print(f"  full parse:              {len(logs) / min(tooks):7.0f} reports/s (best round)   {ratio:.2f}x the pass "
          f"(median of the rounds' ratios, {ratios[0]:.2f}-{ratios[-1]:.2f}; limit {args.limit:g}x: "
          f"{'ok' if ratio <= args.limit else 'OVER'})")
    golden = [read_golden(p).log for sub in ("report", "guilty")
              for p in golden_files(DATA / "syzkaller-reports" / sub)]
    if golden:
        g_parse = seconds(parse, golden, args.rounds)
        g_titles = seconds(titles_only, golden, args.rounds)
        print(f"golden reports: {len(golden)}; full parse {len(golden) / g_parse:7.0f} reports/s, "
              f"titles only {len(golden) / g_titles:7.0f} reports/s")
    return 0 if ratio <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
