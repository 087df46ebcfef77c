"""``triage import --public-inbox DIR``: a public-inbox v2 git mirror (``git clone`` of a lore list).

Layout: either an inbox directory with epochs ``git/0.git``, ``git/1.git`` ... or a single epoch repository
(bare or not). Each commit adds one message as blob ``m`` (deletions remove it). The commits are listed
with ``git log --reverse`` and their blobs read in one stream through ``git cat-file --batch``; the last
commit imported per epoch is kept in ``sync_state``, so the next import reads only new commits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlite_utils

from scrapers.mail import parse_bytes
from scrapers.mailstore import store_mail
from scrapers.threads import resolve
from triage.ingest import Ingest, Summary, now

CHECKPOINT = 1000        # commits between commits of the store + cursor


class PublicInboxError(Exception):
    """The directory cannot be read as a public-inbox mirror (one-line reason)."""


def _git(repo: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise PublicInboxError("git not found; install git to import public-inbox mirrors") from None
    if out.returncode != 0:
        msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PublicInboxError(f"{repo}: git {args[0]} failed ({msg[-1] if msg else out.returncode})")
    return out.stdout.decode()


def epochs(root: Path) -> list[Path]:
    """The epoch repositories of an inbox directory, oldest first (or the directory itself)."""
    root = Path(root)
    if not root.is_dir():
        raise PublicInboxError(f"{root}: no such directory")
    found = [p for p in (root / "git").glob("*.git") if p.stem.isdigit()] if (root / "git").is_dir() else []
    if found:
        return sorted(found, key=lambda p: int(p.stem))
    try:
        _git(root, "rev-parse", "--git-dir")
    except PublicInboxError:
        raise PublicInboxError(f"{root}: not a public-inbox mirror (no git/N.git epochs, not a git repository)") \
            from None
    return [root]


def new_commits(repo: Path, last: str | None) -> list[str]:
    if not _git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").strip():
        return []
    if last:
        check = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", last, "HEAD"],
                               capture_output=True)
        if check.returncode != 0:
            last = None      # history rewritten (or the cursor is foreign): read all, message-ids dedup
    rng = f"{last}..HEAD" if last else "HEAD"
    return _git(repo, "log", "--reverse", "--format=%H", rng).split()


def blobs(repo: Path, commits: list[str]) -> Iterator[tuple[str, bytes | None]]:
    """(commit, the message blob ``m`` or None when the commit removed it), via one ``cat-file --batch``."""
    proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def feed() -> None:
        try:
            for c in commits:
                proc.stdin.write(f"{c}:m\n".encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = proc.stdout
    try:
        for c in commits:
            head = out.readline()
            if not head:
                raise PublicInboxError(f"{repo}: git cat-file stopped early at commit {c}")
            parts = head.split()
            if len(parts) == 3 and parts[1] == b"blob":
                size = int(parts[2])
                data = out.read(size)
                out.read(1)
                yield c, data
            else:
                yield c, None
    finally:
        writer.join(timeout=5)
        proc.stdout.close()
        proc.wait()


def import_public_inbox(db: sqlite_utils.Database, root: str | Path, summary: Summary | None = None,
                        progress: Callable[[str, int | None], None] | None = None) -> Summary:
    summary = summary or Summary()
    summary.counters.setdefault("threads_new", 0)
    root = Path(root).resolve()
    if shutil.which("git") is None:
        raise PublicInboxError("git not found; install git to import public-inbox mirrors")
    for repo in epochs(root):
        key = f"public-inbox:{repo}"
        row = db.execute("SELECT cursor FROM sync_state WHERE source = ?", [key]).fetchone()
        last = json.loads(row[0]).get("last") if row and row[0] else None
        commits = new_commits(repo, last)
        if progress:
            progress(f"{repo.name} commits", len(commits))
        ing = Ingest(db)
        done = None
        for n, (commit, data) in enumerate(blobs(repo, commits), 1):
            if data is not None and data.strip():
                mail = parse_bytes(data)
                store_mail(ing, mail, kind="public-inbox", location=f"{repo}#{commit}")
            done = commit
            if n % CHECKPOINT == 0:
                _checkpoint(db, ing, summary, key, done)
            if progress:
                progress("", None)
        if done:
            _checkpoint(db, ing, summary, key, done)
        _merge(summary, ing.summary)
    return summary


def _checkpoint(db: sqlite_utils.Database, ing: Ingest, summary: Summary, key: str, commit: str) -> None:
    """Commit what was read, thread it, then remember the last commit (a re-run repeats at most a batch)."""
    ing.flush()
    summary.counters["threads_new"] += resolve(db)
    with db.atomic():
        db["sync_state"].upsert({"source": key, "cursor": json.dumps({"last": commit}), "updated_at": now()},
                                pk="source")


def _merge(summary: Summary, part: Summary) -> None:
    summary.reports_new += part.reports_new
    summary.messages_new += part.messages_new
    summary.skipped += part.skipped
    summary.errors.extend(part.errors)

