"""The user's configuration: subscriptions and digest settings, one TOML file read with tomllib.

Example ``config.toml`` (path: ``triage.paths.config_file()``, ``TRIAGE_CONFIG`` overrides it)::

    user = "jack@example.org"

    [subscriptions]            # the default inbox / digest filter; empty = everything
    subsystems = ["ext4", "mm"]
    labels = ["data-loss", "reclaim-deadlock", "fault-injection", "other", "nofail-warning"]
    addresses = ["linux-ext4@vger.kernel.org"]

    [digest]
    to = ["jack@example.org"]
    from = "syz-triage <triage@example.org>"
    smtp = "smtp.example.org:587"
    starttls = true
    user = "jack"
    password_env = "TRIAGE_SMTP_PASSWORD"
    stale_max = 10            # at most this many stale open items
    stale_days = 30           # open with no human reply for this long = stale
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from triage.paths import config_file

EXAMPLE = __doc__.split("::\n\n", 1)[1].replace("\n    ", "\n").strip() + "\n"


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
    smtp: str | None = None
    starttls: bool = False
    user: str | None = None
    password_env: str | None = None
    stale_max: int = 10
    stale_days: int = 30


@dataclass
class Config:
    path: Path
    exists: bool = False
    user: str | None = None
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    digest: DigestSettings = field(default_factory=DigestSettings)
    text: str = ""


def _strings(section: dict, key: str, where: str) -> list[str]:
    value = section.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of strings")
    return value


def load_config(path: Path | None = None) -> Config:
    """Read the config (a missing file is an empty config); ``ConfigError`` names the file and the problem."""
    from triage.review import LABELS

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
        subs = data.get("subscriptions", {})
        dig = data.get("digest", {})
        if not isinstance(subs, dict) or not isinstance(dig, dict):
            raise ConfigError("[subscriptions] and [digest] must be tables")
        cfg.user = data.get("user")
        cfg.subscriptions = Subscriptions(
            subsystems=_strings(subs, "subsystems", "subscriptions"),
            labels=_strings(subs, "labels", "subscriptions"),
            addresses=_strings(subs, "addresses", "subscriptions"),
        )
        bad = [lab for lab in cfg.subscriptions.labels if lab not in LABELS]
        if bad:
            raise ConfigError(f"subscriptions.labels: unknown label {bad[0]!r} (one of {', '.join(LABELS)})")
        cfg.digest = DigestSettings(
            to=_strings(dig, "to", "digest"), sender=dig.get("from"), smtp=dig.get("smtp"),
            starttls=bool(dig.get("starttls", False)), user=dig.get("user"), password_env=dig.get("password_env"),
            stale_max=int(dig.get("stale_max", 10)), stale_days=int(dig.get("stale_days", 30)),
        )
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg
