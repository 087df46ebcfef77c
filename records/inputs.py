"""Reading one local input: the project's one size limit and its one ``InputError``.

Every reader of a file or of stdin (``triage import``, ``triage parse`` / ``classify``, the HTTP layer's bodies)
refuses more than ``MAX_INPUT_BYTES``, and ``read_input`` is the one way a local file is read (FIFOs, devices
and reads that would block refused, ``.gz`` decompressed under the same limit). ``InputError`` names one input
that cannot be used and says why in one line; readers raise it, and sources also yield it as a record, so a
batch carries on past it.
"""

from __future__ import annotations

import os
import stat
import sys
import zlib
from pathlib import Path
from typing import BinaryIO

MAX_INPUT_BYTES = 512 * 1024 * 1024       # a kernel report, a mail archive or a download is never bigger


class InputError(Exception):
    """One input that cannot be used: ``str()`` is ``"<location>: <reason>"``, one line."""

    def __init__(self, location: str, reason: str):
        self.location = location
        self.reason = " ".join(reason.split())
        super().__init__(f"{location}: {self.reason}")


def display_name(path: Path | str) -> str:
    """A path as text that can be printed and stored: undecodable bytes of a file name become U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def too_large(size: int) -> str:
    return f"too large ({size} bytes; the limit is {MAX_INPUT_BYTES // (1024 * 1024)} MiB)"


def read_input(path: Path | str) -> bytes:
    """The bytes of a regular file (``-``: stdin), at most ``MAX_INPUT_BYTES``; a ``.gz`` file decompressed
    (``gunzip``); else ``InputError``.

    FIFOs and devices are refused before they are opened: they could block or never end (opening some devices
    acts). The file is opened non-blocking and checked again once open, so a FIFO swapped in meanwhile, or a
    ``/proc`` file that would wait for data, is refused rather than waited on.
    """
    name = display_name(path)
    if name == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise InputError(name, too_large(len(data)))
        return data
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as exc:
        raise InputError(name, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(name, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(name, NOT_REGULAR)
    if st.st_size > MAX_INPUT_BYTES:
        raise InputError(name, too_large(st.st_size))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(name, exc.strerror or str(exc)) from None
    with open(fd, "rb", buffering=0) as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(name, NOT_REGULAR)
        data = _read_all(fh, name)
    if name.endswith(".gz"):
        return gunzip(data, name)
    return data


NOT_REGULAR = "not a regular file (a FIFO, socket or device)"


def _read_all(fh: BinaryIO, name: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_INPUT_BYTES:
        try:
            chunk = fh.read(min(CHUNK, MAX_INPUT_BYTES + 1 - size))
        except BlockingIOError:
            raise InputError(name, "would wait for data (not a file that can be read to its end)") from None
        except OSError as exc:
            raise InputError(name, exc.strerror or str(exc)) from None
        if chunk is None:
            raise InputError(name, "would wait for data (not a file that can be read to its end)")
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_INPUT_BYTES:
        raise InputError(name, too_large(size))
    return b"".join(chunks)


CHUNK = 16 * 1024 * 1024


def gunzip(data: bytes, location: str, what: str = "gzip") -> bytes:
    """Decompress gzip data (every member), refusing more than ``MAX_INPUT_BYTES`` of output (a gzip bomb)
    and a stream cut short; ``what`` names the format in the error. Output is produced ``CHUNK`` bytes at a
    time, so a bomb costs at most the limit in memory before it is refused."""
    out: list[bytes] = []
    size = 0
    rest = data
    limit = MAX_INPUT_BYTES
    while rest:
        unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        try:
            while not unzip.eof:
                piece = unzip.decompress(pending, min(CHUNK, limit + 1 - size))
                out.append(piece)
                size += len(piece)
                if size > limit:
                    raise InputError(location, f"{what} decompresses to more than {limit // (1024 * 1024)} MiB")
                pending = unzip.unconsumed_tail
                if not pending and not piece:       # all input read, the stream not ended
                    break
        except zlib.error as exc:
            raise InputError(location, f"truncated or corrupt {what} ({exc})") from None
        if not unzip.eof:
            raise InputError(location, f"truncated or corrupt {what} (the stream is cut short)")
        rest = unzip.unused_data.lstrip(b"\x00")
    return b"".join(out)
