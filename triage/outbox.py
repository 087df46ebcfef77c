"""Outgoing mail: SMTP delivery (plain, STARTTLS, login) and the outbox of what could not be sent.

Every message syz-triage sends (the digest, ``triage reply --send``) goes through ``send``: a message that
cannot be delivered is saved as ``<outbox>/<message-id>.eml`` and ``SendError`` names the file, so nothing is
lost; ``pending`` lists the outbox and ``resend`` retries it (a delivered message leaves the outbox).
"""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path


class SendError(Exception):
    """A message could not be sent; ``kept`` is where it was saved."""

    def __init__(self, message: str, kept: Path):
        super().__init__(message)
        self.kept = kept


@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


def parse_hostport(value: str, default_port: int = 25) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``host`` -> (host, port); ``ValueError`` names a bad value."""
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


def outbox_dir() -> Path:
    from triage.paths import data_dir

    return data_dir() / "outbox"


def save(msg: EmailMessage, path: Path) -> Path:
    """Write ``msg`` to ``path`` atomically (a ``.part`` file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)
    return path


def outbox_path(msg: EmailMessage, outbox: Path) -> Path:
    mid = str(msg["Message-ID"] or "no-message-id").strip().strip("<>")
    return outbox / ("".join(c if c.isalnum() or c in "@.-_+=" else "_" for c in mid) + ".eml")


def recipients(msg: EmailMessage) -> list[str]:
    """The envelope recipients: every address of To, Cc and Bcc."""
    fields = [str(v) for key in ("To", "Cc", "Bcc") for v in msg.get_all(key, [])]
    return [addr for _name, addr in getaddresses(fields) if addr]


def deliver(msg: EmailMessage, smtp: SmtpSettings) -> None:
    """One SMTP session: connect, STARTTLS (certificate checked against the system's CAs) and login if asked."""
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as conn:
        if smtp.starttls:
            conn.starttls(context=ssl.create_default_context())
        if smtp.user:
            conn.login(smtp.user, smtp.password or "")
        conn.send_message(msg)


def send(msg: EmailMessage, smtp: SmtpSettings, outbox: Path, what: str = "the message") -> None:
    """Deliver ``msg``; on any failure keep it in ``outbox`` and raise ``SendError`` naming the file."""
    try:
        deliver(msg, smtp)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        kept = save(msg, outbox_path(msg, outbox))
        raise SendError(f"could not send {what} via {smtp.host}:{smtp.port} ({_reason(exc)}); kept in {kept}",
                        kept) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__


@dataclass
class Pending:
    """A message waiting in the outbox."""

    path: Path
    subject: str
    to: list[str]
    date: str
    kind: str                          # digest | reply

    def to_dict(self) -> dict:
        return {"file": str(self.path), "subject": self.subject, "to": self.to, "date": self.date,
                "kind": self.kind}


def load(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def pending(outbox: Path) -> Iterator[Pending]:
    """The messages in ``outbox``, oldest file first."""
    if not outbox.is_dir():
        return
    for path in sorted(outbox.glob("*.eml"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            msg = load(path)
        except (OSError, ValueError):
            continue
        kind = "digest" if msg["X-Triage-Digest"] else "reply"
        yield Pending(path, str(msg["Subject"] or ""), recipients(msg), str(msg["Date"] or ""), kind)


def resend(item: Pending, smtp: SmtpSettings) -> None:
    """Send one outbox message; it leaves the outbox when delivered. ``SendError`` if it failed again."""
    msg = load(item.path)
    try:
        deliver(msg, smtp)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise SendError(f"{item.path.name}: could not send via {smtp.host}:{smtp.port} ({_reason(exc)}); "
                        "still in the outbox", item.path) from None
    item.path.unlink(missing_ok=True)
