"""Reading one local input: the project's one size limit and its one ``InputError``.

Every reader of a file or of stdin (``triage import``, ``triage parse`` / ``classify``, the HTTP layer's
bodies) refuses more than ``MAX_INPUT_BYTES``. ``InputError`` names one input that cannot be used and says
why in one line; readers raise it, and sources also yield it as a record, so a batch carries on past it.
"""

from __future__ import annotations

import os
import stat
import sys
import zlib
from pathlib import Path

MAX_INPUT_BYTES = 512 * 1024 * 1024       # a kernel report, a mail archive or a download is never bigger


class InputError(Exception):
    """One input that cannot be used: ``str()`` is ``"<location>: <reason>"``, one line."""

    def __init__(self, location: str, reason: str):
        self.location = location
        self.reason = " ".join(reason.split())
        super().__init__(f"{location}: {self.reason}")


def too_large(size: int) -> str:
    return f"too large ({size} bytes; the limit is {MAX_INPUT_BYTES // (1024 * 1024)} MiB)"


def read_input(path: Path | str) -> bytes:
    """The bytes of a regular file (``-``: stdin), at most ``MAX_INPUT_BYTES``; else ``InputError``.

    FIFOs and devices are refused before they are opened: they could block or never end.
    """
    name = str(path)
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
        raise InputError(name, "not a regular file (a FIFO, socket or device)")
    if st.st_size > MAX_INPUT_BYTES:
        raise InputError(name, too_large(st.st_size))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(name, exc.strerror or str(exc)) from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(name, too_large(len(data)))
    return data


def gunzip(data: bytes, location: str, what: str = "gzip") -> bytes:
    """Decompress gzip data (every member), refusing more than ``MAX_INPUT_BYTES`` of output (a gzip bomb)
    and a stream cut short; ``what`` names the format in the error."""
    out = bytearray()
    rest = data
    while rest:
        unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += unzip.decompress(rest, MAX_INPUT_BYTES + 1 - len(out))
        except zlib.error as exc:
            raise InputError(location, f"truncated or corrupt {what} ({exc})") from None
        if unzip.unconsumed_tail or len(out) > MAX_INPUT_BYTES:
            raise InputError(location, f"{what} decompresses to more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        if not unzip.eof:
            raise InputError(location, f"truncated or corrupt {what} (the stream is cut short)")
        rest = unzip.unused_data.lstrip(b"\x00")
    return bytes(out)
