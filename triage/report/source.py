"""Read one report input for parsing: a console log, a report excerpt, or an e-mail (body extracted)."""

from __future__ import annotations

from pathlib import Path

from scrapers.mail import looks_like_mail, parse_bytes


def read_report_input(path: Path) -> str:
    data = Path(path).read_bytes()
    if looks_like_mail(data[:4096]):
        return parse_bytes(data).body
    return data.decode("utf-8", "replace").replace("\r\n", "\n")
