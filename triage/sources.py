"""The sources, configured: each function returns one source's records, given what the source needs from the
store (cursors, the bugs already synced, their discussion links) and from the environment (user agent, cache
dir, rate). The sources themselves (``scrapers/``) know nothing of either; the pipeline stores what they yield.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from records import Record
from triage.store.cursors import load_cursor

Progress = Callable[[str, int | None], None]

# environment overrides of the HTTP retry policy (slow links, tests): name -> (Settings field, type)
ENV_SETTINGS = {"TRIAGE_HTTP_TIMEOUT": ("timeout", float), "TRIAGE_HTTP_RETRIES": ("retries", int),
                "TRIAGE_HTTP_BACKOFF": ("backoff", float), "TRIAGE_HTTP_DEADLINE": ("deadline", float)}


def counted(records: Iterable[Record], progress: Progress | None, description: str) -> Iterator[Record]:
    """``records``, advancing a progress bar (total unknown) by one per record."""
    if progress:
        progress(description, None)
    for record in records:
        yield record
        if progress:
            progress("", None)


def files(paths: list[str | Path], progress: Progress | None = None) -> Iterator[Record]:
    """Report files, e-mails, mbox, maildirs and directories of them."""
    from scrapers.archives import walk

    return counted(walk(paths), progress, "inputs")


def public_inbox(db: sqlite_utils.Database, root: str | Path, progress: Progress | None = None) -> Iterator[Record]:
    """The messages of a public-inbox mirror not read before (the cursor of each epoch is in the store)."""
    from scrapers.public_inbox import read_mirror

    return read_mirror(root, cursor=lambda key: load_cursor(db, key), progress=progress)


def env_rate(default: float = 1.0) -> float:
    value = os.environ.get("TRIAGE_RATE")
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def make_http(rate: float | None = None, *, cache: bool = True, **kw: Any):
    """The HTTP client of syncs: syz-triage's User-Agent, rate from ``--rate`` / ``TRIAGE_RATE``, the cache in
    the user cache dir, retry policy overridable with ``TRIAGE_HTTP_TIMEOUT`` / ``_RETRIES`` / ``_BACKOFF`` /
    ``_DEADLINE``."""
    from scrapers.http import Http, Settings
    from triage import USER_AGENT
    from triage.paths import cache_dir

    for env, (name, kind) in ENV_SETTINGS.items():
        if os.environ.get(env) and name not in kw:
            try:
                kw[name] = kind(os.environ[env])
            except ValueError:
                pass
    settings = Settings(user_agent=USER_AGENT, rate=env_rate() if rate is None else rate,
                        cache_dir=(cache_dir() / "http") if cache else None, **kw)
    return Http(settings)


def syzbot(db: sqlite_utils.Database, http: Any, base_url: str, namespace: str = "upstream",
           statuses: list[str] | None = None, subsystem: str | None = None, full: bool = False,
           progress: Progress | None = None) -> Iterator[Record]:
    """The syzbot dashboard's bugs; those whose list row and JSON did not change since the stored copy are
    not fetched again (unless ``full``)."""
    from scrapers.syzbot import SyzbotSource
    from triage.store.bugs import bug_state

    source = SyzbotSource(http, base_url, namespace, known=lambda link, key: bug_state(db, link, key),
                          progress=progress)
    return source.records(statuses, subsystem, full=full)


def lore(db: sqlite_utils.Database, http: Any, base_url: str, query: str | None = None, bugs: bool = True,
         progress: Progress | None = None) -> Iterator[Record]:
    """The lore threads the stored bugs' discussions link to (``bugs``) and those ``query`` finds, resuming an
    interrupted pass from its stored cursor."""
    from scrapers.lore import LoreSource
    from triage.store.bugs import discussion_links

    source = LoreSource(http, base_url, progress=progress)
    links = discussion_links(db) if bugs else []
    return source.records(links, query, cursor=load_cursor(db, source.cursor_key))
