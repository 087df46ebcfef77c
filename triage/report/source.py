"""Read one report input for parsing: a console log, a report excerpt, or an e-mail (its body), or stdin."""

from __future__ import annotations

import sys
from pathlib import Path

from scrapers.mail import looks_like_mail, parse_bytes

MAX_INPUT = 1 << 30                       # refuse more than 1 GiB: a report is never that big


class InputError(Exception):
    """The input cannot be read; the message names what is wrong (the caller adds the input's name)."""


def read_report_bytes(path: Path | str) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read(MAX_INPUT + 1)
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory")
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_INPUT + 1)
    except FileNotFoundError:
        raise InputError("no such file") from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc)) from None
    if len(data) > MAX_INPUT:
        raise InputError("larger than 1 GiB, not a report")
    return data


def report_text(data: bytes) -> str | bytes:
    """The text to parse: the body of an e-mail (an mbox ``From `` line first is allowed), else the data."""
    head = data[:8192]
    if head.startswith(b"From "):
        nl = data.find(b"\n")
        if looks_like_mail(data[nl + 1:nl + 1 + 8192]):
            data, head = data[nl + 1:], data[nl + 1:nl + 1 + 8192]
    if looks_like_mail(head):
        mail = parse_bytes(data)
        if mail.body.strip():
            return mail.body
    return data


def read_report_input(path: Path | str) -> str | bytes:
    return report_text(read_report_bytes(path))
