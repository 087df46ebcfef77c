"""Local inputs as records: plain report files, single e-mails, mbox (also .gz), maildirs, and directories
of these.

``walk(paths)`` yields, in a stable order, a ``ReportText`` per plain file, a ``MailBytes`` per e-mail
message, and an ``InputError`` per input that cannot be read (with a one-line reason), so an import carries on
past a bad file and says what failed. It reads files only: storing is the pipeline's job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from records import InputError, MailBytes, Record, ReportText
from records.inputs import display_name, read_input
from records.mail import looks_like_mail, mbox_messages


def walk(paths: list[str | Path]) -> Iterator[Record]:
    for p in paths:
        yield from _walk_one(Path(p), set())


def _walk_one(path: Path, seen: set[tuple[int, int]]) -> Iterator[Record]:
    name = display_name(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        yield InputError(name, "no such file or directory")
        return
    except OSError as exc:                           # a symlink loop, a permission denied on the way
        yield InputError(name, exc.strerror or str(exc))
        return
    if not path.is_dir():
        yield from read_file(path)
        return
    if (st.st_dev, st.st_ino) in seen:
        yield InputError(name, "directory already read (a symlink loops back to it)")
        return
    seen = seen | {(st.st_dev, st.st_ino)}
    if is_maildir(path):
        yield from read_maildir(path)
        return
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        yield InputError(name, exc.strerror or str(exc))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        yield from _walk_one(entry, seen)


def is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def is_binary(data: bytes) -> bool:
    """Binary junk: NUL bytes, or mostly bytes that are neither text nor UTF-8."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > len(head) * 0.05


def read_file(path: Path) -> Iterator[Record]:
    name = display_name(path)
    try:
        data = read_input(path)                     # a .gz file comes decompressed
    except InputError as exc:
        yield InputError(name, exc.reason)
        return
    if not data.strip():
        yield InputError(name, "empty file")
        return
    if is_binary(data):
        yield InputError(name, "binary file, not a kernel report, e-mail or mbox")
        return
    if data.startswith(b"From "):
        yield from read_mbox_bytes(data, name)
    elif path.suffix == ".eml" or looks_like_mail(data[:4096]):
        yield from _mail(data, "eml", name)
    else:
        yield ReportText(data.decode("utf-8", "replace").replace("\r\n", "\n"), "file", name)


def _mail(raw: bytes, kind: str, location: str) -> Iterator[Record]:
    yield MailBytes(raw, kind, location)          # split by the pipeline (in worker processes when large)


def read_mbox_bytes(data: bytes, name: str) -> Iterator[Record]:
    """The messages of an mbox; an ``InputError`` for a last message cut off by truncation."""
    for item in mbox_messages(data, name):
        if isinstance(item, InputError):
            yield item
        else:
            yield from _mail(item[1], "mbox", item[0])


def read_maildir(path: Path) -> Iterator[Record]:
    for sub in ("cur", "new"):
        folder = path / sub
        for entry in sorted(os.listdir(folder)):
            if entry.startswith("."):
                continue
            name = display_name(folder / entry)
            try:
                data = read_input(folder / entry)
            except InputError as exc:
                yield InputError(name, exc.reason)
                continue
            if not data.strip():
                yield InputError(name, "empty file")
                continue
            yield from _mail(data, "maildir", name)
