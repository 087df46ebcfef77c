"""Report inputs: read one for parsing (a console log, a report excerpt, an e-mail's body, or stdin), and the
key a report text is stored and labelled under (``content_hash``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from records.inputs import InputError, display_name, read_input
from records.mail import looks_like_mail, read_mail
from vocab.console import STAMP as _PREFIX

__all__ = ["InputError", "content_hash", "read_report_input", "report_text"]



def content_hash(text: str) -> str:
    """sha256 of the report text with console timestamps, CRLF and trailing blanks removed."""
    norm = _PREFIX.sub("", text.replace("\r\n", "\n"))
    norm = "\n".join(line.rstrip() for line in norm.strip().split("\n"))
    return hashlib.sha256(norm.encode("utf-8", "replace")).hexdigest()


def report_text(data: bytes, location: str = "<input>") -> str | bytes:
    """The text to parse: the body of an e-mail (an mbox ``From `` line first is allowed), else the data.
    ``InputError`` naming ``location`` for an e-mail that cannot be read at all (MIME nested thousands deep)."""
    head = data[:8192]
    if head.startswith(b"From "):
        nl = data.find(b"\n")
        if looks_like_mail(data[nl + 1:nl + 1 + 8192]):
            data, head = data[nl + 1:], data[nl + 1:nl + 1 + 8192]
    if looks_like_mail(head):
        mail = read_mail(data, location)
        if mail.body.strip():
            return mail.body
    return data


def read_report_input(path: Path | str) -> str | bytes:
    """The text to parse from a file (``-``: stdin); ``InputError`` naming it if it cannot be read."""
    return report_text(read_input(path), display_name(path))
