"""What the judged-set scripts share: the three list archives, a store built by the tool's CLI, the judgements.

The scripts talk to the tool only through its CLI (``triage ... --json``) and plain SQL over the documented
tables and views (``messages``, ``reports``, ``verdicts``, ``report_labels``), so they score any version of it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRIAGE_SHARED", ROOT.parent / "shared")).resolve() / "data"
BUNDLES = DATA / "public-inbox"
JUDGED = ROOT / "tests" / "judged"
LISTS = ("linux-nilfs", "linux-unionfs", "reiserfs-devel")
INBOX_TOP = 30

# the one extra value of a judgement: the mail carries no kernel output
NOT_A_REPORT = "not-a-report"
KINDS = ("syzbot-report", "user-report", "reply", "patch", "review", "ci-output", "digest", "discussion", "other")
FIELDS = ("message_id", "list", "label", "original", "kind", "title", "why", "selected_by")

# strong markers: a mail whose text carries one is always judged. Issue 10's list, plus the other writeback-loss
# lines LABELS.md names for data-loss (Buffer I/O error ... lost, iomap page discard, ext4's "potential data
# loss"), and "lost sync page write" with the async one: without them the set held no data-loss candidate at all.
MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx)) for name, rx in (
    ("fault-injection", r"FAULT_INJECTION"),
    ("gfp-nofail", r"__GFP_NOFAIL"),
    ("page-alloc-warning", r"WARNING:.*mm/page_alloc\.c"),
    ("fs-reclaim", r"fs_reclaim"),
    ("data-will-be-lost", r"Data will be lost"),
    ("lost-page-write", r"lost (?:a?sync )?page write"),
    ("memory-failure", r"Memory failure"),
    ("blocked-for-more-than", r"blocked for more than"),
    ("dirty-warning", r"WARNING.*(?:folio_mark_dirty|set_page_dirty)"),
    ("buffer-io-error", r"Buffer I/O error on dev"),
    ("page-discard", r"page discard"),
    ("potential-data-loss", r"potential data loss"),
))


# The held-out set of syzbot reports (tests/judged/syzbot-sample.jsonl): judgements keyed by the sample's bug id.
SAMPLE = "syzbot-sample"
SAMPLE_DIR = DATA / SAMPLE
SAMPLE_FIELDS = ("bug_id", "label", "title", "why", "selected_by")
SAMPLE_SEED = "syz-triage-sample-1"
SAMPLE_RANDOM = 60


def sample_index() -> dict[str, dict]:
    """The sample's index.jsonl (syzbot's title, status, ...) by bug id."""
    path = SAMPLE_DIR / "index.jsonl"
    if not path.exists():
        sys.exit(f"{path}: the syzbot sample is not there (needs ../shared/data)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: r for r in rows}


def sample_text(bug_id: str) -> str:
    return (SAMPLE_DIR / f"{bug_id}.txt").read_bytes().decode("utf-8", "replace")


def classify_files(paths: list[Path], chunk: int = 200) -> dict[str, dict]:
    """``triage classify --json`` of each file (no store), by file stem: the tool's verdict, any version."""
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="judged-classify-") as tmp:
        db = Path(tmp) / "none.db"
        for start in range(0, len(paths), chunk):
            for line in triage(db, "classify", "--json", *map(str, paths[start:start + chunk])).splitlines():
                if line.strip():
                    row = json.loads(line)
                    out[Path(row["file"]).stem] = row
    return out


def write_rows(path: Path, rows: dict[str, dict], fields: tuple[str, ...]) -> None:
    """Rewrite a judged file, one judgement a line, sorted by key (stable diffs), atomically."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for key in sorted(rows):
            f.write(json.dumps({k: rows[key].get(k) for k in fields}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def load_sample_judged() -> dict[str, dict]:
    return {j["bug_id"]: j for j in read_judged(judged_path(SAMPLE))}


def bundle(name: str) -> Path:
    return BUNDLES / f"{name}.bundle"


def list_name(path: Path | str) -> str:
    """The archive a store or judged file belongs to, from its file name (``linux-nilfs.db`` -> ``linux-nilfs``)."""
    stem = Path(path).name.split(".")[0]
    if stem not in LISTS:
        sys.exit(f"{path}: cannot tell which list this is (name it after one of {', '.join(LISTS)})")
    return stem


def cli_env(tmp: Path) -> dict[str, str]:
    """The environment the CLI runs in: no user config (subscriptions would filter the inbox)."""
    env = dict(os.environ)
    for var, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_CACHE_HOME", "cache")):
        env[var] = str(tmp / sub)
    return env


def triage(db: Path, *args: str) -> str:
    """Run ``triage --db DB ARGS`` (the CLI installed beside this Python) and return its stdout."""
    exe = Path(sys.executable).with_name("triage")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "triage"]
    with tempfile.TemporaryDirectory(prefix="judged-cli-") as tmp:
        res = subprocess.run([*cmd, "--db", str(db), *args], capture_output=True, text=True, env=cli_env(Path(tmp)))
    if res.returncode != 0:
        sys.exit(f"triage --db {db} {' '.join(args)}: exit {res.returncode}: {res.stderr.strip()[-500:]}")
    return res.stdout


def ensure_db(name: str, work: Path) -> Path:
    """``WORK/<list>.db``, imported from the list's bundle by the CLI unless it already exists."""
    db = work / f"{name}.db"
    if db.exists():
        return db
    src = bundle(name)
    if not src.exists():
        sys.exit(f"{src}: archive not found (needs ../shared/data)")
    repo = work / name / "git" / "0.git"
    if not repo.exists():
        repo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(src), str(repo)], check=True)
    print(f"importing {name} into {db} ...", file=sys.stderr)
    triage(db, "import", "--public-inbox", str(work / name))
    return db


def connect(db: Path) -> sqlite3.Connection:
    if not db.exists():
        sys.exit(f"{db}: no such database")
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def inbox_top(db: Path, limit: int = INBOX_TOP) -> list[dict]:
    """The first ``limit`` lines of the default inbox, as ``triage inbox --json`` prints them."""
    out = triage(db, "inbox", "--json", "--limit", str(limit))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def first_report(con: sqlite3.Connection, line: dict) -> int:
    """An inbox line's first report: the earliest reported of its ``report_ids`` (then the lowest id).

    The line's own ``id`` is its representative (whose title it shows); issue 10 wants a group titled by its
    earliest original report, so the line is checked against that one.
    """
    ids = [int(i) for i in line.get("report_ids") or [line["id"]]]
    rows = con.execute(f"SELECT id, COALESCE(reported_at, '') FROM reports WHERE id IN ({','.join('?' * len(ids))})",
                       ids).fetchall()
    return min(rows, key=lambda r: (r[1], r[0]))[0] if rows else ids[0]


def report_mail(con: sqlite3.Connection, report_id: int) -> str | None:
    row = con.execute("SELECT message_id FROM reports WHERE id = ?", (report_id,)).fetchone()
    return row[0] if row else None


def markers(text: str) -> list[str]:
    """The names of the strong markers the text carries."""
    return [name for name, rx in MARKERS if rx.search(text)]


def judged_path(name: str) -> Path:
    return JUDGED / f"{name}.jsonl"


def read_judged(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: not JSON: {e}")


def load_judged(path: Path) -> dict[str, dict]:
    return {j["message_id"]: j for j in read_judged(path)}


def write_judged(path: Path, judged: dict[str, dict]) -> None:
    """Rewrite a judged file, one judgement a line, sorted by message-id (stable diffs), atomically."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for mid in sorted(judged):
            f.write(json.dumps({k: judged[mid].get(k) for k in FIELDS}, ensure_ascii=False) + "\n")
    tmp.replace(path)


_SUFFIX = re.compile(r"\s+\(\d+\)$")


def same_title(a: str | None, b: str | None) -> bool:
    """Titles agree up to whitespace and syzbot's recurrence suffix ``(2)``."""
    def norm(t: str | None) -> str:
        return _SUFFIX.sub("", " ".join((t or "").split()))
    return bool(a) and bool(b) and norm(a) == norm(b)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str | None) -> str:
    """Mail text as data: control characters (escape sequences included) shown as ``\\xNN``, never raw."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text or "")


def sample_counts_table() -> str:
    """The held-out sample's counts per label and selection reason (tests/judged/README.md carries it)."""
    from vocab.labels import LABELS

    rows = list(read_judged(judged_path(SAMPLE)))
    reasons = ("tool-consequence", "marker", "sample")
    head = "| selected by | " + " | ".join(LABELS) + " | judged |"
    out = [head, "|" + "---|" * (len(LABELS) + 2)]
    for why in (*reasons, "all"):
        got = [r["label"] for r in rows if why == "all" or any(x.split(":")[0] == why for x in r["selected_by"])]
        out.append(f"| {why} | " + " | ".join(str(got.count(lab)) for lab in LABELS) + f" | {len(got)} |")
    return "\n".join(out)


def counts_table() -> str:
    """The judged set's counts per label and list, as the Markdown table tests/judged/README.md carries."""
    from vocab.labels import LABELS

    labels = (*LABELS, NOT_A_REPORT)
    per = {name: [j["label"] for j in read_judged(judged_path(name))] for name in LISTS}
    head = "| list | " + " | ".join(labels) + " | judged | original reports |"
    rows = [head, "|" + "---|" * (len(labels) + 3)]
    for name in (*LISTS, "all"):
        if name == "all":
            got = [lab for name in LISTS for lab in per[name]]
            orig = sum(j["original"] and j["label"] != NOT_A_REPORT for n in LISTS for j in read_judged(judged_path(n)))
        else:
            got = per[name]
            orig = sum(j["original"] and j["label"] != NOT_A_REPORT for j in read_judged(judged_path(name)))
        rows.append(f"| {name} | " + " | ".join(str(got.count(lab)) for lab in labels) + f" | {len(got)} | {orig} |")
    return "\n".join(rows)
