"""Where syz-triage keeps its files: the database, the config, caches, the outbox.

Every location follows the XDG conventions through platformdirs and can be overridden:
``--db`` / ``TRIAGE_DB`` for the database, ``TRIAGE_CONFIG`` for the config file.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "syz-triage"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP))


def default_db() -> Path:
    """The database path: ``TRIAGE_DB`` if set, else ``<user data dir>/triage.db``."""
    env = os.environ.get("TRIAGE_DB")
    return Path(env) if env else data_dir() / "triage.db"


def config_file() -> Path:
    env = os.environ.get("TRIAGE_CONFIG")
    return Path(env) if env else config_dir() / "config.toml"
