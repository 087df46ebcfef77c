"""The judge's tools: a compact view of a selected mail (never the tool's verdict) and a recorder.

    python bench/judged_view.py next [--list NAME] [-n N] [--selection FILE]   # next unjudged mails, compact
    python bench/judged_view.py show LIST MSGID [--full] [--lines A-B]         # one mail, compact or whole
    python bench/judged_view.py record [FILE] < LIST|MSGID|LABEL|KIND|ORIGINAL|TITLE|WHY lines
    python bench/judged_view.py sample-next [-n N] [--selection FILE]          # the held-out syzbot sample
    python bench/judged_view.py sample-show BUGID [--full] [--lines A-B]
    python bench/judged_view.py sample-record [FILE] < BUGID|LABEL|WHY lines

The compact view shows the subject, author, date, whether the mail carries a diff, the kernel-output lines with
their line numbers (stack frames folded to their function names, register dumps dropped), the lines around the
strong markers, and for mails without kernel output their first own lines. Mail text comes from the store's
``messages`` table (``--work DIR``/<list>.db, as built by ``judged_select.py``). ``record`` writes judgements
into ``tests/judged/<list>.jsonl``, with ``selected_by`` from the selection file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from judged_archives import (  # noqa: E402
    KINDS,
    LISTS,
    NOT_A_REPORT,
    SAMPLE,
    SAMPLE_FIELDS,
    connect,
    judged_path,
    load_judged,
    load_sample_judged,
    markers,
    printable,
    sample_index,
    sample_text,
    write_judged,
    write_rows,
)

from vocab.labels import LABELS  # noqa: E402

STAMP = re.compile(r"^\s*\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?")     # console time and caller id
HELD = re.compile(r"\d+ locks? held by ")
QUOTE = re.compile(r"^(?:\s*>)+\s?")
DIFF = re.compile(r"^(?:diff --git |--- a/|\+\+\+ b/|@@ -\d+(?:,\d+)? \+\d+)")
FRAME = re.compile(r"^\s*(?:\[\s*[\d.]+\]\s*)?(?:\[<[0-9a-f]+>\]\s*)?(?:\? )?([A-Za-z_][\w.]*)"
                   r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+|\s+\S+\.[chS]:\d+(?:\s+\[inline\])?$)")
FRAME_ARM = re.compile(r"^\s*\[<[0-9a-f]+>\] \(([A-Za-z_][\w.]*)[^)]*\) from")   # 32-bit ARM backtraces
REGS = re.compile(r"^\s*(?:\[\s*[\d.]+\]\s*)?(?:R[A-Z0-9]{1,2}|FS|CS|CR2|DR\d|Code|RSP|RIP: 00\d\d):?\s")
HEX = re.compile(r"^\s*(?:\[\s*[\d.]+\]\s*)?(?:[0-9a-f]{2} ){8,}|^\s*(?:[0-9a-f]{8,16}:? ){3,}")
KERNEL = re.compile(
    r"^\s*\[\s*\d+\.\d+\]|^\s*<[0-7]>|"
    r"\b(?:BUG|WARNING|INFO|KASAN|UBSAN|KMSAN|KCSAN|kernel BUG|Kernel panic|general protection fault|Oops|"
    r"Call Trace|RIP:|Modules linked in|CPU: \d+ PID|Hardware name|possible circular|possible recursive|"
    r"inconsistent lock|FAULT_INJECTION|blocked for more than|page allocation failure|Mem-Info|"
    r"lost (?:async )?page write|Buffer I/O error|EXT4-fs|NILFS|nilfs2?:|overlayfs:|REISERFS|XFS|BTRFS|"
    r"Workqueue:|Comm: |\*\*\* DEADLOCK|-> #\d|lock\(|held by|Chain exists|unreferenced object|"
    r"backtrace:|Tainted:|Showing all locks|DEPT|stack backtrace|irq event stamp|hardirqs last|softirqs last|"
    r"task:\S+ +state:|Read of size|Write of size|The buggy address|Memory state|Allocated by|Freed by|"
    r"SysRq|Code: |Kernel Offset|---\[ end trace|Dumping ftrace|gfp_mask|mode:0x|page dumped|"
    r"unable to handle|cut here|EIP:|PC is at|LR is at|pc :|lr :|I/O error|blk_update_request|^\s*loop\d*:)")


# frames a judgement turns on: never folded away
TELLING = re.compile(r"reclaim|shrink|kswapd|balance_pgdat|alloc_pages|try_to_free|writeback|writepages?\b|dirty|"
                     r"truncate|invalidate|evict|should_fail|fail_|rmqueue|get_page_from_freelist|oom|try_charge|"
                     r"unpin_user|release_folio|memory_failure|nofail")


def fold_frames(names: list[str], first: int, last: int) -> str:
    if len(names) <= 14:
        shown = names
    else:
        middle = names[4:-7]
        keep = [n for n in middle if TELLING.search(n)]
        shown = [*names[:4], f"..{len(middle) - len(keep)}..", *keep, "..", *names[-7:]]
    return f"  L{first}-{last} frames: {' < '.join(shown)}"


def compact(con, name: str, mid: str, max_kernel: int = 70) -> str:
    row = con.execute("SELECT subject, author_name, author_email, date, body FROM messages WHERE message_id = ?",
                      (mid,)).fetchone()
    if not row:
        return f"== {name} {mid}: not in the store"
    subject, author, email, date, body = row
    return compact_text([f"== {name} <{printable(mid)}>", f"subj: {printable(subject)}",
                         f"from: {printable(author)} <{printable(email)}>  {date}"], subject, body, max_kernel)


def compact_text(out: list[str], subject: str | None, body: str | None, max_kernel: int = 70) -> str:
    """The compact view of one text under the heading lines ``out`` (see the module doc)."""
    lines = (body or "").splitlines()
    quoted = sum(bool(QUOTE.match(ln)) for ln in lines)
    diff_at = [i for i, ln in enumerate(lines, 1) if DIFF.match(QUOTE.sub("", ln))]
    own_diff = [i for i in diff_at if not QUOTE.match(lines[i - 1])]
    marks = markers(f"{subject or ''}\n{body or ''}")
    diff = f"own@L{own_diff[0]}" if own_diff else (f"quoted@L{diff_at[0]}" if diff_at else "no")
    out.append(f"lines: {len(lines)}  quoted: {quoted}  diff: {diff}  markers: {','.join(marks) or '-'}")
    head = [printable(ln.strip())[:100] for ln in lines if ln.strip() and not QUOTE.match(ln)][:3]
    out.append("head: " + " | ".join(head))
    kern: list[str] = []
    frames: list[str] = []
    span = [0, 0]
    shown: set[int] = set()
    in_diff = held_more = 0

    def flush() -> None:
        if frames:
            kern.append(fold_frames(frames, *span))
            frames.clear()

    for i, raw in enumerate(lines, 1):
        ln = STAMP.sub("", QUOTE.sub("", raw))
        if own_diff and i >= own_diff[0]:
            # the mail's own diff runs to its end: kernel-looking text there is source, not output
            in_diff += bool(KERNEL.search(ln) or FRAME.match(ln))
            continue
        m = FRAME.match(ln) or FRAME_ARM.match(ln)
        if m and not KERNEL.search(ln.split(m.group(1), 1)[0]):
            if not frames:
                span[0] = i
            span[1] = i
            frames.append(m.group(1))
            shown.add(i)
            continue
        if REGS.match(ln) or HEX.match(ln):
            shown.add(i)
            continue
        if HELD.search(ln) and kern and HELD.search(kern[-1]):
            held_more += 1          # "N locks held by T" runs: the first line stands for them
            shown.add(i)
            continue
        if KERNEL.search(ln) and not ln.lstrip().startswith("Hardware name"):
            if kern and kern[-1].split(": ", 1)[-1].split("  (x")[0] == printable(ln.strip())[:170]:
                repeat = kern[-1].rsplit("  (x", 1)
                n = int(repeat[1].rstrip(")")) + 1 if len(repeat) == 2 else 2
                kern[-1] = f"{repeat[0]}  (x{n})"
                shown.add(i)
                continue
            flush()
            if held_more:
                kern[-1] += f"  (+{held_more} more 'held by' lines)"
                held_more = 0
            q = ">" if QUOTE.match(raw) else " "
            kern.append(f"{q}L{i}: {printable(ln.strip())[:170]}")
            shown.add(i)
    flush()
    if in_diff:
        kern.append(f"  ({in_diff} kernel-looking lines inside the mail's own diff, not shown)")
    if len(kern) > 6 and sum(k.startswith(">") for k in kern) > 0.8 * sum(not k.startswith("  ") for k in kern):
        kern = [*kern[:4], f"  ... ({len(kern) - 4} more, nearly all quoted; show --lines for all)"]
    if kern and own_diff and len(kern) > 4:
        # a mail with its own diff: the changelog's pasted output is motivation, a glimpse is enough
        kern = [*kern[:3], f"  ... ({len(kern) - 3} more kernel lines before the diff; show --lines for all)"]
    if kern:
        out.append(f"kernel output ({len(shown)} lines):")
        out.extend(kern if len(kern) <= max_kernel else [*kern[:max_kernel - 10], "  ...", *kern[-10:]])
    elif not own_diff:
        own = [f"  L{i}: {printable(ln.strip())[:110]}" for i, ln in enumerate(lines, 1)
               if ln.strip() and not QUOTE.match(ln)][3:9]
        out.append("no kernel output; first own lines:")
        out.extend(own)
    ctx = []
    for i, ln in enumerate(lines, 1):
        if i not in shown and markers(ln):
            ctx.append(f"  marker L{i}: {printable(ln.strip())[:150]}")
    out.extend(ctx[:3] if own_diff else ctx[:12])
    return "\n".join(out)


def full(con, mid: str, span: str | None) -> str:
    row = con.execute("SELECT subject, body FROM messages WHERE message_id = ?", (mid,)).fetchone()
    if not row:
        return f"{mid}: not in the store"
    lines = (row[1] or "").splitlines()
    a, b = (int(x) for x in span.split("-")) if span else (1, len(lines))
    return "\n".join(f"{i:4d}| {printable(lines[i - 1])}" for i in range(max(a, 1), min(b, len(lines)) + 1))


def selection(path: Path) -> list[dict]:
    if not path.exists():
        sys.exit(f"{path}: no selection (run bench/judged_select.py --out {path})")
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def record(work: Path, sel_path: Path, entries: list[tuple[str, ...]]) -> None:
    """Write judgements (list, msgid, label, kind, original, title, why) into tests/judged/<list>.jsonl."""
    sel = {(s["list"], s["message_id"]): s for s in selection(sel_path)}
    files: dict[str, dict[str, dict]] = {}
    for n, (name, mid, label, kind, original, title, why) in enumerate(entries, 1):
        where = f"judgement {n} ({name} {mid})"
        if name not in LISTS:
            sys.exit(f"{where}: list {name!r} is not one of {', '.join(LISTS)}")
        if label not in (*LABELS, NOT_A_REPORT):
            sys.exit(f"{where}: label {label!r} is not one of {', '.join((*LABELS, NOT_A_REPORT))}")
        if kind not in KINDS:
            sys.exit(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if original not in ("true", "false"):
            sys.exit(f"{where}: ORIGINAL must be true or false")
        if (label == NOT_A_REPORT) != (not title):
            sys.exit(f"{where}: a title is given exactly when the label is not not-a-report")
        if not why.strip():
            sys.exit(f"{where}: say why")
        con = connect(work / f"{name}.db")
        if not con.execute("SELECT 1 FROM messages WHERE message_id = ?", (mid,)).fetchone():
            sys.exit(f"{where}: not a message of {name}")
        judged = files.setdefault(name, load_judged(judged_path(name)))
        old = judged.get(mid, {})
        judged[mid] = {
            "message_id": mid, "list": name, "label": label, "original": original == "true", "kind": kind,
            "title": title or None, "why": why.strip(),
            "selected_by": sorted({*old.get("selected_by", []), *sel.get((name, mid), {}).get("selected_by", [])}),
        }
    for name, judged in files.items():
        path = judged_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_judged(path, judged)
        print(f"{name}: {len(judged)} judged")


def sample_compact(bug: str, index: dict[str, dict]) -> str:
    """A sample report's compact view: syzbot's title (the report's own, not the tool's verdict) and its text."""
    title = (index.get(bug) or {}).get("title")
    return compact_text([f"== {SAMPLE} {bug}", f"syzbot title: {printable(title)}"], None, sample_text(bug))


def sample_full(bug: str, span: str | None) -> str:
    lines = sample_text(bug).splitlines()
    a, b = (int(x) for x in span.split("-")) if span else (1, len(lines))
    return "\n".join(f"{i:4d}| {printable(lines[i - 1])}" for i in range(max(a, 1), min(b, len(lines)) + 1))


def sample_record(sel_path: Path, entries: list[tuple[str, ...]]) -> None:
    """Write judgements (bug id, label, why) into tests/judged/syzbot-sample.jsonl."""
    sel = {s["bug_id"]: s for s in selection(sel_path)}
    index = sample_index()
    judged = load_sample_judged()
    for n, (bug, label, why) in enumerate(entries, 1):
        where = f"judgement {n} ({bug})"
        if bug not in index:
            sys.exit(f"{where}: not a report of the syzbot sample")
        if label not in LABELS:
            sys.exit(f"{where}: label {label!r} is not one of {', '.join(LABELS)}")
        if not why.strip():
            sys.exit(f"{where}: say why")
        old = judged.get(bug, {})
        judged[bug] = {"bug_id": bug, "label": label, "title": index[bug].get("title"), "why": why.strip(),
                       "selected_by": sorted({*old.get("selected_by", []), *sel.get(bug, {}).get("selected_by", [])})}
    path = judged_path(SAMPLE)
    write_rows(path, judged, SAMPLE_FIELDS)
    print(f"{SAMPLE}: {len(judged)} judged")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/judged"))
    ap.add_argument("--selection", type=Path, default=None, help="default: WORK/selection.jsonl")
    sub = ap.add_subparsers(dest="cmd", required=True)
    nx = sub.add_parser("next")
    nx.add_argument("--list", choices=LISTS)
    nx.add_argument("-n", type=int, default=5)
    nx.add_argument("--skip", type=int, default=0)
    sh = sub.add_parser("show")
    sh.add_argument("list", choices=LISTS)
    sh.add_argument("msgid")
    sh.add_argument("--full", action="store_true")
    sh.add_argument("--lines")
    rc = sub.add_parser("record", help="judgements from stdin, one a line: LIST|MSGID|LABEL|KIND|ORIGINAL|TITLE|WHY")
    rc.add_argument("file", nargs="?", type=Path, help="read these lines from a file instead of stdin")
    sn = sub.add_parser("sample-next")
    sn.add_argument("-n", type=int, default=5)
    ss = sub.add_parser("sample-show")
    ss.add_argument("bug")
    ss.add_argument("--full", action="store_true")
    ss.add_argument("--lines")
    sr = sub.add_parser("sample-record", help="judgements from stdin, one a line: BUGID|LABEL|WHY")
    sr.add_argument("file", nargs="?", type=Path)
    args = ap.parse_args(argv)
    if args.cmd.startswith("sample-"):
        args.selection = args.selection or args.work / "sample-selection.jsonl"
        if args.cmd == "sample-record":
            text = args.file.read_text(encoding="utf-8") if args.file else sys.stdin.read()
            entries = [tuple(f.strip() for f in ln.split("|", 2)) for ln in text.splitlines()
                       if ln.strip() and not ln.startswith("#")]
            bad = [e for e in entries if len(e) != 3]
            if bad:
                sys.exit(f"sample-record: {len(bad)} line(s) without 3 fields, first: {'|'.join(bad[0])}")
            sample_record(args.selection, entries)
            return 0
        index = sample_index()
        if args.cmd == "sample-show":
            print(sample_full(args.bug, args.lines) if args.full or args.lines else sample_compact(args.bug, index))
            return 0
        judged = load_sample_judged()
        todo = [s for s in selection(args.selection) if s["bug_id"] not in judged][:args.n]
        for s in todo:
            print(sample_compact(s["bug_id"], index))
        print(f"({len(todo)} shown)")
        return 0
    args.selection = args.selection or args.work / "selection.jsonl"
    if args.cmd == "record":
        text = args.file.read_text(encoding="utf-8") if args.file else sys.stdin.read()
        entries = [tuple(f.strip() for f in ln.split("|", 6)) for ln in text.splitlines()
                   if ln.strip() and not ln.startswith("#")]
        bad = [e for e in entries if len(e) != 7]
        if bad:
            sys.exit(f"record: {len(bad)} line(s) without 7 fields, first: {'|'.join(bad[0])}")
        record(args.work, args.selection, entries)
        return 0
    if args.cmd == "show":
        con = connect(args.work / f"{args.list}.db")
        print(full(con, args.msgid, args.lines) if args.full or args.lines else compact(con, args.list, args.msgid))
        return 0
    todo = [s for s in selection(args.selection) if not args.list or s["list"] == args.list]
    judged = {n: load_judged(judged_path(n)) for n in LISTS}
    todo = [s for s in todo if s["message_id"] not in judged[s["list"]]][args.skip:args.skip + args.n]
    cons = {}
    for s in todo:
        con = cons.setdefault(s["list"], connect(args.work / f"{s['list']}.db"))
        print(compact(con, s["list"], s["message_id"]))
    print(f"({len(todo)} shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
