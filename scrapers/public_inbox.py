"""A public-inbox v2 git mirror (``git clone`` of a lore list) as records, for ``triage import --public-inbox``.

Layout: either an inbox directory with epochs ``git/0.git``, ``git/1.git`` ... or a single epoch repository
(bare or not). Each commit adds one message as blob ``m`` (a deletion replaces it with ``d``). The commits are
listed with ``git log --reverse`` and their blobs read in one stream through ``git cat-file --batch``. The
caller passes the cursor of each epoch (the last commit read); checkpoints carry the new one, so the next
import reads only new commits.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from records import Checkpoint, Expect, MailBytes, Record

CHECKPOINT = 1000        # commits between two checkpoints


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


def _has_head(repo: Path) -> bool:
    """Whether the repository has a commit at all (an empty clone has none)."""
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
                         capture_output=True, check=False)
    return out.returncode == 0 and bool(out.stdout.strip())


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
    if _has_head(root):
        names = _git(root, "ls-tree", "--name-only", "HEAD").split()
        if not names or not set(names) <= {"m", "d"}:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise PublicInboxError(f"{root}: not a public-inbox mirror (a git repository whose HEAD holds "
                                   f"{shown or 'nothing'}, not one message blob 'm')")
    return [root]


def new_commits(repo: Path, last: str | None) -> list[str]:
    if not _has_head(repo):
        return []
    if last:
        check = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", last, "HEAD"],
                               capture_output=True)
        if check.returncode != 0:
            last = None      # history rewritten (or the cursor is foreign): read all, message-ids dedup
    rng = f"{last}..HEAD" if last else "HEAD"
    return _git(repo, "log", "--reverse", "--format=%H", rng).split()


BATCH = 64             # commits asked of ``git cat-file`` before their blobs are read


def blobs(repo: Path, commits: list[str]) -> Iterator[tuple[str, bytes | None]]:
    """(commit, the message blob ``m`` or None when the commit removed it), via one ``cat-file --batch``.

    Commits are written ``BATCH`` at a time and their answers read before the next ones are written (the
    requests fit in the pipe, git flushes each answer), so one thread does both without a deadlock.
    """
    proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout
    try:
        for start in range(0, len(commits), BATCH):
            chunk = commits[start:start + BATCH]
            try:
                proc.stdin.write("".join(f"{c}:m\n" for c in chunk).encode())
                proc.stdin.flush()
            except BrokenPipeError:
                raise PublicInboxError(f"{repo}: git cat-file stopped early at commit {chunk[0]}") from None
            for c in chunk:
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
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.stdout.close()
        proc.wait()


def read_mirror(root: str | Path, cursor: Callable[[str], dict | None],
            progress: Callable[[str, int | None], None] | None = None) -> Iterator[Record]:
    """The messages of a public-inbox mirror that are newer than ``cursor(key)`` says, epoch by epoch.

    Each epoch's messages follow an ``Expect`` (how many commits it will read). A ``Checkpoint``
    ("public-inbox:<epoch repository>", ``{"last": commit}``) follows every ``CHECKPOINT`` commits and the last
    one. Raises ``PublicInboxError`` if ``root`` is not a mirror.
    """
    root = Path(root).resolve()
    if shutil.which("git") is None:
        raise PublicInboxError("git not found; install git to import public-inbox mirrors")
    for repo in epochs(root):
        key = f"public-inbox:{repo}"
        last = (cursor(key) or {}).get("last")
        commits = new_commits(repo, last)
        if progress:
            progress(f"{repo.name} commits", len(commits))
        if commits:
            yield Expect(len(commits))
        done = None
        for n, (commit, data) in enumerate(blobs(repo, commits), 1):
            if data is not None and data.strip():
                yield MailBytes(data, "public-inbox", f"{repo}#{commit}")
            done = commit
            if n % CHECKPOINT == 0:
                yield Checkpoint(key, {"last": done})
            if progress:
                progress("", None)
        if done:
            yield Checkpoint(key, {"last": done})
