"""Is parsing linear? ``triage.report.parse`` on 1, 10 and 50 MB inputs of several shapes (issue 15).

    PYTHONPATH=. python bench/linear.py [--sizes 1 10 50] [--cap 60] [--shape NAME ...]

Shapes: the two reproducers of issue 15 (a KASAN header repeated with console prefixes; one line of N bytes),
a real syzkaller console log repeated, and a mail with a huge quoted report. Each parse runs in a child
process, killed past ``--cap`` seconds (a quadratic 50 MB input would take days); a shape that went over the
cap is not tried at larger sizes.

For each size it prints the parse time, seconds per MB, and the time against a limit measured in the same run
on the same text: one ``re.finditer("\\n", text)`` pass (``x pass``). Between two sizes, the growth of the
time divided by the growth of the size: about 1 when parsing is linear, about the size ratio when it is
quadratic. A shape passes when every growth is at most ``--slack`` (2) and no run went over the cap. Times are
wall-clock on whatever machine runs it (a shared, loaded one for the figures quoted in commits): read the
ratios, not the seconds. Exit 1 if a shape failed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MB = 1_000_000
KASAN = "[  477.362261][T18348] BUG: KASAN: use-after-free in foo+0x255/0x4e0\n"


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _console_log() -> str:
    """The largest real console log among syzkaller's golden files (its header dropped)."""
    folder = SHARED / "syzkaller-reports" / "report"
    if not folder.is_dir():
        sys.exit(f"real data not available: {folder}")
    biggest = max(folder.iterdir(), key=lambda p: p.stat().st_size)
    return biggest.read_text(errors="replace").split("\n\n", 1)[1].split("\nREPORT:\n")[0] + "\n"


def _quoted_mail(size: int) -> str:
    report = (SHARED / "labelled" / "reports" / "001.txt").read_text(errors="replace")
    quoted = "".join(f"> {line}\n" for line in report.splitlines())
    head = ("From: Dev <dev@example.org>\nSubject: Re: [syzbot] WARNING in foo\nMessage-ID: <x@example.org>\n\n"
            "On Mon, syzbot wrote:\n")
    return head + _fill(quoted, size - len(head))


SHAPES: dict[str, Callable[[int], str]] = {
    "kasan-repeated": lambda size: _fill(KASAN, size),
    "one-line": lambda size: _fill(KASAN.rstrip("\n") + " ", size),
    "console-log": lambda size: _fill(_console_log(), size),
    "quoted-mail": _quoted_mail,
}


def _child(shape: str, size: int, conn) -> None:
    from triage.report import parse

    text = SHAPES[shape](size)
    t0 = time.perf_counter()
    lines = sum(1 for _ in re.finditer("\n", text))
    conn.send(("pass", time.perf_counter() - t0, lines))
    t0 = time.perf_counter()
    rep = parse(text)
    conn.send(("parse", time.perf_counter() - t0, rep.display_title))


def measure(shape: str, size: int, cap: float) -> tuple[float, float | None, str | None]:
    """(one newline pass in s, parse in s or None past the cap, the title found)."""
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(shape, size, there), daemon=True)
    proc.start()
    there.close()
    try:
        if not here.poll(max(cap, 120)):
            raise RuntimeError(f"{shape}: making {size} bytes took too long")
        _, base, _ = here.recv()
        if not here.poll(cap):
            return base, None, None
        _, took, title = here.recv()
        return base, took, title
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        here.close()


def run(sizes: list[float], shapes: list[str], cap: float, slack: float) -> int:
    print(f"{'shape':15} {'size':>6} {'parse s':>9} {'s/MB':>8} {'x pass':>8} {'growth':>8}  title")
    failed = []
    for shape in shapes:
        prev: tuple[float, float] | None = None
        ok = True
        for mb in sizes:
            size = int(mb * MB)
            base, took, title = measure(shape, size, cap)
            if took is None:
                print(f"{shape:15} {mb:5g}M {'>' + format(cap, 'g'):>9} {'':>8} {'':>8} {'':>8}  "
                      f"over the {cap:g} s cap: larger sizes not tried")
                ok = False
                break
            growth = ""
            if prev is not None:
                g = (took / prev[1]) / (mb / prev[0])
                growth = f"{g:.2f}"
                ok &= g <= slack
            print(f"{shape:15} {mb:5g}M {took:9.2f} {took / mb:8.3f} {took / max(base, 1e-9):8.0f} {growth:>8}  "
                  f"{(title or '-')[:50]}")
            prev = (mb, took)
        if not ok:
            failed.append(shape)
    print(f"growth = (time ratio) / (size ratio) between consecutive sizes: ~1 linear, ~size ratio quadratic; "
          f"pass: every growth <= {slack:g} and no run over the cap.")
    print(f"not linear: {', '.join(failed)}" if failed else "every shape linear")
    return 1 if failed else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 10, 50], help="input sizes in MB")
    ap.add_argument("--cap", type=float, default=60.0, help="seconds one parse may take before it is killed")
    ap.add_argument("--slack", type=float, default=2.0, help="the largest growth that still counts as linear")
    ap.add_argument("--shape", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    args = ap.parse_args()
    sys.exit(run(sorted(args.sizes), args.shape, args.cap, args.slack))


if __name__ == "__main__":
    main()
