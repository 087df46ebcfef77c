"""syzkaller's golden report files, and how far our parser agrees with them.

A golden file (pkg/report/testdata/linux/{report,guilty}) is a header of ``KEY: value`` lines (``TITLE``,
``ALT`` repeated, ``TYPE``, ``CORRUPTED: Y``, ``FILE``, ...), an empty line, the console log, and optionally a
line ``REPORT:`` followed by the report syzkaller extracts. No ``TITLE`` (or an empty one) means "no crash".
Used by the golden tests and ``bench/golden_agreement.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from triage.report.model import Report
from triage.report.parse import parse
from vocab.titles import base_title


@dataclass
class Golden:
    name: str
    headers: dict[str, str]
    alts: list[str]
    log: bytes
    report: str | None = None       # the report syzkaller extracts (after ``REPORT:``); None where the file gives none

    @property
    def title(self) -> str | None:
        return self.headers.get("TITLE") or None

    @property
    def corrupted(self) -> bool:
        return self.headers.get("CORRUPTED") == "Y"


def read_golden(path: Path) -> Golden:
    data = Path(path).read_bytes()
    head, _, body = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    alts: list[str] = []
    for line in head.decode("utf-8", "replace").split("\n"):
        key, _, value = line.partition(":")
        if key == "ALT":
            alts.append(value.strip())
        elif key:
            headers[key] = value.strip()
    report = None
    pos = body.find(b"\nREPORT:\n")
    if pos >= 0:
        body, report = body[:pos + 1], body[pos + 9:].decode("utf-8", "replace")
    return Golden(name=Path(path).name, headers=headers, alts=alts, log=body, report=report)


def golden_files(directory: Path) -> list[Path]:
    def key(p: str) -> tuple[int, str]:
        return (int(p), p) if p.isdigit() else (1 << 30, p)
    return [Path(directory) / n for n in sorted(os.listdir(directory), key=key)]


@dataclass
class Agreement:
    total: int = 0
    title_ok: int = 0
    corrupted_ok: int = 0
    alt_ok: int = 0
    type_ok: int = 0
    reports: int = 0            # files giving the report text syzkaller extracts
    report_ok: int = 0          # ... and ours is the same (line for line, trailing blank lines aside)
    disagreements: list[dict] = field(default_factory=list)

    def rate(self, what: str) -> float:
        return getattr(self, what) / self.total if self.total else 0.0


def report_agreement(directory: Path) -> Agreement:
    """Title / corrupted / alt titles / type agreement over the ``report`` golden files, and the report text's
    where a file gives it."""
    out = Agreement()
    for path in golden_files(directory):
        g = read_golden(path)
        rep = parse(g.log)
        out.total += 1
        t_ok, c_ok = rep.title == g.title, rep.corrupted == g.corrupted
        out.title_ok += t_ok
        out.corrupted_ok += c_ok
        out.alt_ok += sorted(g.alts) == rep.alt_titles
        out.type_ok += (g.headers.get("TYPE") or None) == rep.type
        if g.report is not None:
            out.reports += 1
            r_ok = (rep.report or "").rstrip("\n") == g.report.rstrip("\n")
            out.report_ok += r_ok
            if not r_ok:
                out.disagreements.append({"file": g.name, "report_lines": g.report.count("\n"),
                                          "got_lines": (rep.report or "").count("\n")})
        if not (t_ok and c_ok):
            out.disagreements.append({"file": g.name, "want": g.title, "got": rep.title,
                                      "want_corrupted": g.corrupted, "got_corrupted": rep.corrupted,
                                      "reason": rep.corrupted_reason})
    return out


def guilty_agreement(directory: Path) -> Agreement:
    """Guilty-file agreement over the ``guilty`` golden files (header ``FILE:``); counted in ``title_ok``."""
    out = Agreement()
    for path in golden_files(directory):
        g = read_golden(path)
        rep = parse(g.log)
        out.total += 1
        ok = rep.guilty_file == (g.headers.get("FILE") or None)
        out.title_ok += ok
        if not ok:
            out.disagreements.append({"file": g.name, "want": g.headers.get("FILE"), "got": rep.guilty_file,
                                      "title": rep.title})
    return out


# Kinds of title disagreement with syzbot, in the order they are checked (a table, first match wins).
SYZBOT_PREFIX = ("boot error: ", "test error: ", "build error: ")


def disagreement_kind(want: str, got: str | None) -> str:
    """Why our title differs from syzbot's, as a short category."""
    if any(p in want for p in SYZBOT_PREFIX):
        return "syzbot adds where it crashed (boot/test/build error) prefix"
    if got is None:
        return "no crash found (title suppressed by today's table)"
    if got.endswith(" in corrupted"):
        return "excerpt lost the stack (interleaved / cut report)"
    if want.rsplit(" in ", 1)[0] == got.rsplit(" in ", 1)[0] and " in " in want and " in " in got:
        return "same crash kind, other guilty frame (skip lists changed since)"
    if want.startswith("kernel BUG at "):
        return "old 'kernel BUG at FILE' title, text from a later kernel than the title"
    return "other title format change"


def titled_agreement(titled: Iterable[tuple[str, str | bytes]]) -> Agreement:
    """Agreement of ``Report.era_title`` with the title syzbot gave each report, over ``(title, text)`` pairs (as
    ``syzbot_agreement``): the report mails of a list archive, each with its subject's title. A text in which the
    parser finds no crash is left out (``total`` counts the others)."""
    out = Agreement()
    for title, text in titled:
        rep = parse(text)
        if rep.title is not None:
            _tally(out, base_title(title), rep)
    return out


def _tally(out: Agreement, want: str, rep: Report, **key: str) -> None:
    """Count one report against the title syzbot gave it: ``title_ok`` its ``era_title``, ``alt_ok`` today's title;
    a disagreement (with ``key``, which names the report) sorted by kind."""
    out.total += 1
    out.alt_ok += rep.title == want
    if rep.era_title == want:
        out.title_ok += 1
        return
    frame = want.rpartition(" in ")[2]
    # syzbot files a crash under an open bug one of its alternative titles names ("bad-access in f" for a KASAN
    # report and a general protection fault in f alike): the mail carries the bug's title
    filed = (" in " in want and not any(p in want for p in SYZBOT_PREFIX) and rep.era_title is not None
             and rep.era_title.endswith(" in " + frame) and f"bad-access in {frame}" in rep.alt_titles)
    kind = "syzbot filed the crash under a bug of its alternative title" if filed else \
        disagreement_kind(want, rep.era_title)
    out.disagreements.append({**key, "want": want, "got": rep.era_title, "era": rep.era, "kind": kind})


def syzbot_agreement(directory: Path) -> Agreement:
    """Title agreement with syzbot's titles (index.jsonl), ignoring the ' (N)' recurrence suffix.

    syzbot titled each bug with the syzkaller of its day, so ``Report.era_title`` (the rules of the era the
    report's kernel dates to) is compared; ``alt_ok`` counts agreement of today's ``Report.title``."""
    import json

    out = Agreement()
    for line in (Path(directory) / "index.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        rep = parse((Path(directory) / f"{item['id']}.txt").read_bytes())
        _tally(out, base_title(item["title"]), rep, id=item["id"])
    return out
