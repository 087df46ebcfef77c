"""The weekly digest e-mail: ``build`` the data, render it with jinja2 templates, send it with smtplib."""

from triage.digest.build import Digest, build, evidence_line, sparkline
from triage.digest.mail import SendError, SmtpSettings, message, render, send

__all__ = ["Digest", "SendError", "SmtpSettings", "build", "evidence_line", "message", "render", "send", "sparkline"]
