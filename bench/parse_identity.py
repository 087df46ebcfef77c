"""Does a parser change keep its output? Every real text in ../shared/data parsed, compared field by field.

    PYTHONPATH=. python bench/parse_identity.py save BASE.jsonl      # before the change (e.g. on main)
    PYTHONPATH=. python bench/parse_identity.py compare BASE.jsonl   # after it: exit 1 when any output moved

The texts (16,656 today): syzkaller's golden reports (their logs), the syzbot sample, the labelled reports, the lore
and syzbot page fixtures, and the body of every message of the three public-inbox archives (their bundles cloned
into a temporary directory). Each line of BASE is one text's key and ``parse(text).to_dict()``; ``compare`` names
the first texts whose parse differs and the fields that moved. BASE holds report texts of that data: keep it out of
the project (a temporary file). A speed change must keep every line; a change meant to move results shows here what
it moved, text by text.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from records.mail import Mail, parse_bytes
from scrapers.public_inbox import blobs, epochs, new_commits
from triage.report import parse
from triage.report.golden import golden_files, read_golden

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ARCHIVES = ("linux-nilfs", "linux-unionfs", "reiserfs-devel")


def texts(tmp: Path) -> Iterator[tuple[str, bytes | str]]:
    """(key, text) of every real text, in a fixed order."""
    for sub in ("report", "guilty"):            # (named by number, no suffix: the log of each, as the tests read it)
        for p in golden_files(DATA / "syzkaller-reports" / sub):
            yield str(p.relative_to(DATA)), read_golden(p).log
    for sub in ("syzbot-sample", "labelled"):
        for p in sorted((DATA / sub).rglob("*.txt")):
            yield str(p.relative_to(DATA)), p.read_bytes()
    for p in sorted((DATA / "lore").rglob("*")):
        if p.is_file() and (p.name == "raw" or p.suffix == ".eml"):
            yield str(p.relative_to(DATA)), parse_bytes(p.read_bytes()).body
    for p in sorted((DATA / "syzbot-pages").rglob("*")):
        if p.is_file() and "/text/" in str(p):
            yield str(p.relative_to(DATA)), p.read_bytes()
    for name in ARCHIVES:
        for commit, mail in archive_mails(name, tmp):
            yield f"{name}/{commit}", mail.body


def archive_mails(name: str, tmp: Path) -> Iterator[tuple[str, Mail]]:
    """(commit, mail) of every message of a list archive of ../shared/data/public-inbox, its bundle cloned into
    ``tmp``, in commit order."""
    repo = tmp / name
    subprocess.run(["git", "clone", "-q", str(DATA / "public-inbox" / f"{name}.bundle"), str(repo)], check=True)
    for r in epochs(repo):
        for commit, blob in blobs(r, new_commits(r, None)):
            if blob:
                yield commit, parse_bytes(blob)


def outputs() -> Iterator[str]:
    """One JSON line per text: its key and its parse."""
    with tempfile.TemporaryDirectory() as tmp:
        for key, text in texts(Path(tmp)):
            yield json.dumps({"key": key, "r": parse(text).to_dict()}, sort_keys=True, default=str)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("save", "compare"))
    ap.add_argument("base", type=Path)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"parse_identity: {DATA}: the shared data is absent")
    if args.mode == "save":
        n = 0
        with args.base.open("w") as out:
            for line in outputs():
                out.write(line + "\n")
                n += 1
        print(f"{n} texts parsed into {args.base}")
        return 0
    try:
        base = args.base.read_text().splitlines()
    except OSError as exc:
        sys.exit(f"parse_identity: {args.base}: {exc.strerror}")
    moved = n = 0
    for old, new in zip(base, outputs(), strict=False):
        n += 1
        if old == new:
            continue
        moved += 1
        a, b = json.loads(old), json.loads(new)
        if moved <= 20:
            fields = sorted(k for k in a["r"].keys() | b["r"].keys() if a["r"].get(k) != b["r"].get(k))
            print(f"{b['key']}: {', '.join(fields) or 'the key (texts out of order)'}")
    if n != len(base):
        print(f"{len(base)} texts in {args.base}, {n} compared")
    print(f"{moved} of {n} texts parse differently" if moved else f"SAME: {n} texts parse as in {args.base}")
    return 1 if moved or n != len(base) else 0


if __name__ == "__main__":
    sys.exit(main())
