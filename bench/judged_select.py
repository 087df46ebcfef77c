"""Select the mails of the three list archives to judge by hand, and say which are not judged yet.

Per archive, a mail is selected when
  (a) ``tool-consequence``: the current tool makes a report of it with a consequence label;
  (b) ``marker:NAME``: its text carries a strong marker (``judged_archives.MARKERS``);
  (c) ``sample``: it is in a seeded random sample of the mails without a marker (the ``--sample`` first mails by
      sha256(seed:message-id), at least 60, one in a hundred for large lists), independent of the tool's version;
  (d) ``inbox-top30``: it is the mail of the first (earliest) report of one of the first 30 ``triage inbox`` lines.
(a) and (d) follow the tool: a new version selects new mails, and this script lists them as missing.

    python bench/judged_select.py [--work DIR] [--list NAME ...] [--missing] [--out FILE] [--json] [--sync-judged]
    python bench/judged_select.py --counts        # the judged set's counts per label and list (README table)

The held-out syzbot sample (``--sample-set``) is selected the same way over ../shared/data/syzbot-sample: (a) every
report the tool gives a consequence label (``triage classify --json``), (b) every report carrying a strong marker,
(c) a seeded random sample of 60 of the others; its judgements are tests/judged/syzbot-sample.jsonl, by bug id.

    python bench/judged_select.py --sample-set [--missing] [--out FILE]
    python bench/judged_select.py --sample-counts  # the held-out set's counts (README table)

Stores are ``DIR/<list>.db``, imported from ``../shared/data/public-inbox/<list>.bundle`` by the CLI when absent.
The tool's verdict is not printed: the judge must not see it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from judged_archives import (  # noqa: E402
    INBOX_TOP,
    LISTS,
    SAMPLE,
    SAMPLE_DIR,
    SAMPLE_RANDOM,
    SAMPLE_SEED,
    classify_files,
    connect,
    counts_table,
    ensure_db,
    first_report,
    inbox_top,
    judged_path,
    load_judged,
    load_sample_judged,
    markers,
    printable,
    report_mail,
    sample_counts_table,
    sample_index,
    write_judged,
)

from vocab.labels import CONSEQUENCE_LABELS  # noqa: E402

SEED = "syz-triage-judged-1"
MIN_SAMPLE = 60


def sample_size(n_messages: int) -> int:
    return max(MIN_SAMPLE, n_messages // 100)


def select(name: str, db: Path, seed: str = SEED, top: int = INBOX_TOP) -> dict[str, dict]:
    """message-id -> {message_id, list, subject, selected_by} for one archive's store."""
    con = connect(db)
    chosen: dict[str, dict] = {}
    subjects: dict[str, str] = {}
    marked: set[str] = set()

    def pick(mid: str, why: str) -> None:
        entry = chosen.setdefault(mid, {"message_id": mid, "list": name, "subject": subjects.get(mid, ""),
                                        "selected_by": []})
        if why not in entry["selected_by"]:
            entry["selected_by"].append(why)

    for mid, subject, body in con.execute("SELECT message_id, subject, body FROM messages ORDER BY message_id"):
        subjects[mid] = subject or ""
        for m in markers(f"{subject or ''}\n{body or ''}"):
            marked.add(mid)
            pick(mid, f"marker:{m}")
    qs = ",".join("?" * len(CONSEQUENCE_LABELS))
    for (mid,) in con.execute(
            f"SELECT DISTINCT r.message_id FROM reports r JOIN report_labels l ON l.report_id = r.id "
            f"WHERE l.label IN ({qs}) AND r.message_id IS NOT NULL ORDER BY 1", CONSEQUENCE_LABELS):
        pick(mid, "tool-consequence")
    rest = sorted((m for m in subjects if m not in marked),
                  key=lambda m: hashlib.sha256(f"{seed}:{m}".encode()).hexdigest())
    for mid in rest[:sample_size(len(subjects))]:
        pick(mid, "sample")
    for line in inbox_top(db, top):
        mid = report_mail(con, first_report(con, line))
        if mid:
            pick(mid, f"inbox-top{top}")
    con.close()
    return chosen


def select_sample(seed: str = SAMPLE_SEED, n_random: int = SAMPLE_RANDOM) -> dict[str, dict]:
    """bug id -> {bug_id, title, selected_by} for the syzbot sample."""
    index = sample_index()
    paths = sorted(SAMPLE_DIR.glob("*.txt"))
    verdicts = classify_files(paths)
    chosen: dict[str, dict] = {}

    def pick(bug: str, why: str) -> None:
        entry = chosen.setdefault(bug, {"bug_id": bug, "title": index.get(bug, {}).get("title"), "selected_by": []})
        if why not in entry["selected_by"]:
            entry["selected_by"].append(why)

    marked = set()
    for path in paths:
        for m in markers(path.read_bytes().decode("utf-8", "replace")):
            marked.add(path.stem)
            pick(path.stem, f"marker:{m}")
    for bug, v in sorted(verdicts.items()):
        if v.get("label") in CONSEQUENCE_LABELS:
            pick(bug, "tool-consequence")
    rest = sorted((p.stem for p in paths if p.stem not in marked),
                  key=lambda b: hashlib.sha256(f"{seed}:{b}".encode()).hexdigest())
    for bug in [b for b in rest if b not in chosen][:n_random]:
        pick(bug, "sample")
    return chosen


def sample_main(args) -> int:
    chosen = select_sample()
    judged = load_sample_judged()
    rows = [{**e, "judged": e["bug_id"] in judged} for e in chosen.values()]
    if args.sync_judged:
        from judged_archives import SAMPLE_FIELDS, write_rows

        for bug, e in chosen.items():
            if bug in judged:
                judged[bug]["selected_by"] = sorted({*judged[bug]["selected_by"], *e["selected_by"]})
        if judged:
            write_rows(judged_path(SAMPLE), judged, SAMPLE_FIELDS)
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    reasons = Counter(x.split(":")[0] for r in rows for x in r["selected_by"])
    missing = [r for r in rows if not r["judged"]]
    print(f"{SAMPLE}: selected {len(rows)} (tool {reasons['tool-consequence']}, marker {reasons['marker']}, "
          f"sample {reasons['sample']}), judged {len(rows) - len(missing)}, missing {len(missing)}, "
          f"extra {len(set(judged) - set(chosen))}")
    if args.missing:
        for r in missing:
            print(f"{SAMPLE}\t{r['bug_id']}\t{','.join(r['selected_by'])}\t{printable(r['title'])[:80]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/judged"), help="where the stores are (or are built)")
    ap.add_argument("--list", dest="lists", action="append", choices=LISTS, help="only this archive (repeatable)")
    ap.add_argument("--seed", default=SEED)
    ap.add_argument("--missing", action="store_true", help="list every selected mail not judged yet")
    ap.add_argument("--out", type=Path, help="write the selection as JSON Lines (with `judged`)")
    ap.add_argument("--json", action="store_true", help="print the selection as JSON Lines")
    ap.add_argument("--sync-judged", action="store_true",
                    help="add today's reasons to the selected_by of mails already judged (kept: earlier reasons)")
    ap.add_argument("--counts", action="store_true", help="print the judged set's counts table (for its README)")
    ap.add_argument("--sample-set", action="store_true", help="select from the syzbot sample instead of the archives")
    ap.add_argument("--sample-counts", action="store_true", help="print the held-out sample's counts table")
    args = ap.parse_args(argv)
    if args.counts:
        print(counts_table())
        return 0
    if args.sample_counts:
        print(sample_counts_table())
        return 0
    if args.sample_set:
        return sample_main(args)
    args.work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    summary = []
    for name in args.lists or LISTS:
        chosen = select(name, ensure_db(name, args.work), args.seed)
        judged = load_judged(judged_path(name))
        reasons: Counter[str] = Counter()
        for entry in chosen.values():
            entry["judged"] = entry["message_id"] in judged
            reasons.update({r.split(":")[0] for r in entry["selected_by"]})
            rows.append(entry)
        if args.sync_judged:
            for mid, entry in chosen.items():
                if mid in judged:
                    judged[mid]["selected_by"] = sorted({*judged[mid]["selected_by"], *entry["selected_by"]})
            if judged:
                write_judged(judged_path(name), judged)
        missing = sum(not e["judged"] for e in chosen.values())
        summary.append((name, len(chosen), reasons, len(chosen) - missing, missing,
                        len(set(judged) - set(chosen))))
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if args.json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        return 0
    print(f"{'list':15s} {'selected':>8s} {'tool':>5s} {'marker':>6s} {'sample':>6s} {'inbox':>5s} "
          f"{'judged':>6s} {'missing':>7s} {'extra':>5s}")
    for name, n, reasons, done, missing, extra in summary:
        print(f"{name:15s} {n:8d} {reasons['tool-consequence']:5d} {reasons['marker']:6d} {reasons['sample']:6d} "
              f"{reasons[f'inbox-top{INBOX_TOP}']:5d} {done:6d} {missing:7d} {extra:5d}")
    print("(extra: judged mails this selection no longer picks; they stay judged)")
    if args.missing:
        for r in rows:
            if not r["judged"]:
                print(f"{r['list']}\t{printable(r['message_id'])}\t{','.join(r['selected_by'])}\t"
                      f"{printable(r['subject'])[:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
