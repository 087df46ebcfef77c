"""The user's configuration: identity, subscriptions, digest and SMTP settings, one TOML file read with tomllib.

``EXAMPLE`` is what ``triage config --init`` writes: every setting commented out, so a fresh file changes
nothing (no inbox filter, no mail armed). The path is ``triage.paths.config_file()`` (``TRIAGE_CONFIG`` overrides it).

SMTP settings live in ``[smtp]``; older files that kept them in ``[digest]`` (``smtp``, ``starttls``, ``user``,
``password_env``) are still read.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from triage.paths import config_file

EXAMPLE = """\
# syz-triage configuration. Every setting is commented out: remove the leading "# " of a line to use it.

# user = "Jack Doe <jack@example.org>"   # you: the From of `triage reply`, the name on acks and labels

# [subscriptions]                  # the default inbox and digest filter; absent = everything
# subsystems = ["ext4", "mm"]      # reports whose subsystem is unknown are shown to every subscriber
# labels = ["data-loss", "reclaim-deadlock", "fault-injection"]
# addresses = ["linux-ext4@vger.kernel.org"]

# [digest]                         # `triage digest --send` mails the digest to these
# to = ["jack@example.org"]
# from = "syz-triage <triage@example.org>"
# stale_max = 10                   # at most this many stale open items
# stale_days = 30                  # open with no human reply for this long = stale

# [smtp]                           # how `digest --send`, `reply --send` and `outbox --resend` send mail
# host = "smtp.example.org:587"
# starttls = true
# user = "jack"
# password_env = "TRIAGE_SMTP_PASSWORD"   # the variable that holds the password (never the password)
"""


class ConfigError(Exception):
    """The config file exists but cannot be used."""


@dataclass
class Subscriptions:
    subsystems: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.subsystems or self.labels or self.addresses)


@dataclass
class DigestSettings:
    to: list[str] = field(default_factory=list)
    sender: str | None = None
    stale_max: int = 10
    stale_days: int = 30


@dataclass
class SmtpConfig:
    host: str | None = None           # HOST[:PORT]
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None


@dataclass
class Config:
    path: Path
    exists: bool = False
    user: str | None = None
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    digest: DigestSettings = field(default_factory=DigestSettings)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    text: str = ""


def _strings(section: dict, key: str, where: str) -> list[str]:
    value = section.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of strings")
    return value


def _string(section: dict, key: str, where: str) -> str | None:
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string")
    return value


def _table(data: dict, name: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def load_config(path: Path | None = None) -> Config:
    """Read the config (a missing file is an empty config); ``ConfigError`` names the file and the problem."""
    from vocab.labels import LABELS

    path = path or config_file()
    cfg = Config(path=path)
    if not path.exists():
        return cfg
    try:
        cfg.text = path.read_text(encoding="utf-8")
        data = tomllib.loads(cfg.text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    cfg.exists = True
    try:
        subs, dig, smtp = _table(data, "subscriptions"), _table(data, "digest"), _table(data, "smtp")
        cfg.user = _string(data, "user", "user")
        cfg.subscriptions = Subscriptions(
            subsystems=_strings(subs, "subsystems", "subscriptions"),
            labels=_strings(subs, "labels", "subscriptions"),
            addresses=_strings(subs, "addresses", "subscriptions"),
        )
        bad = [lab for lab in cfg.subscriptions.labels if lab not in LABELS]
        if bad:
            raise ConfigError(f"subscriptions.labels: unknown label {bad[0]!r} (one of {', '.join(LABELS)})")
        cfg.digest = DigestSettings(
            to=_strings(dig, "to", "digest"), sender=_string(dig, "from", "digest"),
            stale_max=int(dig.get("stale_max", 10)), stale_days=int(dig.get("stale_days", 30)),
        )
        cfg.smtp = SmtpConfig(   # [smtp], else the keys older files kept in [digest]
            host=_string(smtp, "host", "smtp") or _string(dig, "smtp", "digest"),
            starttls=bool(smtp.get("starttls", dig.get("starttls", False))),
            user=_string(smtp, "user", "smtp") or _string(dig, "user", "digest"),
            password_env=_string(smtp, "password_env", "smtp") or _string(dig, "password_env", "digest"),
        )
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg
