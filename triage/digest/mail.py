"""The digest as an e-mail: jinja2 templates (HTML autoescaped) -> multipart/alternative.

Sending (and the outbox of what could not be sent) is ``triage.outbox``.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from triage.digest.build import Digest

LIST_ID = "<digest.syz-triage>"
TEMPLATES = Path(__file__).with_name("templates")


def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    # HTML is escaped (report titles, evidence and subjects come from the outside); plain text is not.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=lambda name: bool(name and ".html" in name),
                       undefined=StrictUndefined, keep_trailing_newline=True)


def render(d: Digest) -> tuple[str, str]:
    """The plain-text and the HTML body."""
    env = _env()
    return env.get_template("digest.txt.j2").render(d=d), env.get_template("digest.html.j2").render(d=d)


def message(d: Digest, to: list[str], sender: str) -> EmailMessage:
    text, html = render(d)
    msg = EmailMessage()
    msg["Subject"] = d.subject
    msg["From"] = sender
    if to:
        msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(d.end)
    msg["Message-ID"] = make_msgid("digest", domain="syz-triage")
    msg["List-Id"] = f"syz-triage weekly digest {LIST_ID}"
    msg["X-Triage-Digest"] = f"{d.start:%Y-%m-%d}..{d.end:%Y-%m-%d}"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg
