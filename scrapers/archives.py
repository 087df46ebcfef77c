"""Local inputs: plain report files, single e-mails, mbox (also .gz), maildirs, and directories of these.

``walk(paths)`` yields ``Item`` (one text to parse, with its source) and ``InputError`` (one input
that could not be read, with a one-line reason) in a stable order, so an import can carry on past a
bad file and say what failed.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scrapers.mail import Mail, looks_like_mail, parse_bytes

MAX_FILE_BYTES = 512 * 1024 * 1024
_MBOX_FROM = re.compile(rb"^From \S+.*$", re.M)


@dataclass
class Item:
    """One text to parse: a report file, or one e-mail message."""

    kind: str              # file | eml | mbox | maildir
    location: str          # path, or path#N for a message inside an mbox
    text: str
    mail: Mail | None = None


@dataclass
class InputError:
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


def walk(paths: list[str | Path]) -> Iterator[Item | InputError]:
    for p in paths:
        yield from _walk_one(Path(p))


def _walk_one(path: Path) -> Iterator[Item | InputError]:
    if not path.exists():
        yield InputError(str(path), "no such file or directory")
    elif path.is_dir():
        if is_maildir(path):
            yield from read_maildir(path)
            return
        try:
            entries = sorted(path.iterdir())
        except OSError as exc:
            yield InputError(str(path), exc.strerror or str(exc))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            yield from _walk_one(entry)
    else:
        yield from read_file(path)


def is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _read(path: Path) -> bytes | InputError:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return InputError(str(path), f"too large ({size} bytes; limit {MAX_FILE_BYTES})")
        return path.read_bytes()
    except OSError as exc:
        return InputError(str(path), exc.strerror or str(exc))


def is_binary(data: bytes) -> bool:
    """Binary junk: NUL bytes, or mostly bytes that are neither text nor UTF-8."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return control > len(head) * 0.05


def read_file(path: Path) -> Iterator[Item | InputError]:
    data = _read(path)
    if isinstance(data, InputError):
        yield data
        return
    name = str(path)
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            yield InputError(name, f"truncated or corrupt gzip ({exc})")
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
        mail = parse_bytes(data)
        yield Item("eml", name, mail.body, mail)
    else:
        yield Item("file", name, data.decode("utf-8", "replace").replace("\r\n", "\n"))


def read_mbox_bytes(data: bytes, name: str) -> Iterator[Item | InputError]:
    """Split an mbox (mboxo/mboxrd) on ``From `` lines; flag a message cut off by truncation."""
    starts = [m.start() for m in _MBOX_FROM.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(data)
        chunk = data[start:end]
        nl = chunk.find(b"\n")
        raw = chunk[nl + 1:] if chunk.startswith(b"From ") else chunk
        raw = re.sub(rb"^>(>*From )", rb"\1", raw, flags=re.M)   # mboxrd unquoting
        last = n + 1 == len(starts)
        normalized = raw.replace(b"\r\n", b"\n")
        if last and (b"\n\n" not in normalized or not data.endswith(b"\n")):
            yield InputError(f"{name}", f"truncated mbox: message {n + 1} is cut off")
            return
        if not raw.strip():
            continue
        mail = parse_bytes(raw)
        yield Item("mbox", f"{name}#{n + 1}", mail.body, mail)


def read_maildir(path: Path) -> Iterator[Item | InputError]:
    for sub in ("cur", "new"):
        folder = path / sub
        for entry in sorted(os.listdir(folder)):
            if entry.startswith("."):
                continue
            data = _read(folder / entry)
            if isinstance(data, InputError):
                yield data
                continue
            if not data.strip():
                yield InputError(str(folder / entry), "empty file")
                continue
            mail = parse_bytes(data)
            yield Item("maildir", str(folder / entry), mail.body, mail)
