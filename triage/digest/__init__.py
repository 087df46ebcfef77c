"""The weekly digest e-mail: ``build`` the data, render it with jinja2 templates; ``triage.outbox`` sends it."""

from triage.digest.build import Digest, build, evidence_line, sparkline
from triage.digest.mail import message, render

__all__ = ["Digest", "build", "evidence_line", "message", "render", "sparkline"]
