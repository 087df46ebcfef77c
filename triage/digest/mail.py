"""The digest as an e-mail: jinja2 templates (HTML autoescaped) -> multipart/alternative, sent with smtplib.

A message that cannot be sent is kept in the outbox (``triage.paths.data_dir()/outbox``) so nothing is lost.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from triage.digest.build import Digest

LIST_ID = "<digest.syz-triage>"
TEMPLATES = Path(__file__).with_name("templates")


class SendError(Exception):
    """The digest could not be sent; ``kept`` is where the message was saved."""

    def __init__(self, message: str, kept: Path):
        super().__init__(message)
        self.kept = kept


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


@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


def parse_hostport(value: str, default_port: int = 25) -> tuple[str, int]:
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "")
    if not host:
        return value, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def password_from_env(var: str | None) -> str | None:
    if not var:
        return None
    value = os.environ.get(var)
    if value is None:
        raise ValueError(f"--password-env {var}: the variable is not set")
    return value


def save(msg: EmailMessage, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)
    return path


def outbox_path(msg: EmailMessage, outbox: Path) -> Path:
    mid = msg["Message-ID"].strip("<>").replace("/", "_")
    return outbox / f"{mid}.eml"


def send(msg: EmailMessage, smtp: SmtpSettings, outbox: Path) -> None:
    """Deliver ``msg``; on any failure keep it in ``outbox`` and raise ``SendError`` naming the file."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as conn:
            if smtp.starttls:
                conn.starttls(context=ssl.create_default_context())
            if smtp.user:
                conn.login(smtp.user, smtp.password or "")
            conn.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        kept = save(msg, outbox_path(msg, outbox))
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SendError(f"could not send the digest via {smtp.host}:{smtp.port} ({reason}); kept in {kept}",
                        kept) from None
