"""``triage sync lore``: the lore.kernel.org threads about the synced bugs, and those a search finds.

Each thread is fetched whole as ``t.mbox.gz`` (``/raw`` when lore has no thread view for it), split as
mboxrd, and stored message by message (``scrapers.mailstore``), then threaded (``scrapers.threads``).
A thread is one transaction; a cursor in ``sync_state`` lists the threads a pass has finished, so a
killed sync resumes where it stopped, and message-ids keep a re-fetch from adding duplicates.

lore sits behind a bot filter: we send the identifying User-Agent, and if an HTML page comes back where an
mbox was asked for, the sync stops and says so rather than storing a challenge page.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

import sqlite_utils

from scrapers.archives import InputError, read_mbox_bytes
from scrapers.http import Http, HttpError, NotFound, Site, Unreachable
from scrapers.mailstore import store_mail
from scrapers.threads import resolve
from triage.ingest import Ingest, Summary, now

DEFAULT_BASE = "https://lore.kernel.org"
LORE_LINK = re.compile(r"^https?://lore\.kernel\.org/([^/]+)/(.+?)/(?:T/|t/|raw|t\.mbox\.gz)?(?:#.*)?$")
MSGID_SAFE = "@!$&'()*+,;=:~-._"
ATOM = "{http://www.w3.org/2005/Atom}"


class SyncStopped(Exception):
    """The sync cannot go on (bot challenge, unreachable host); what was stored is kept."""


def lore_target(url: str) -> tuple[str, str] | None:
    """``https://lore.kernel.org/all/<msgid>/T/`` -> ("all", msgid)."""
    m = LORE_LINK.match(url or "")
    return (m.group(1), unquote(m.group(2))) if m else None


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<meta", b"<script"))


@dataclass
class LoreSync:
    db: sqlite_utils.Database
    http: Http
    base_url: str = DEFAULT_BASE
    progress: Callable[[str, int | None], None] | None = None
    summary: Summary = field(default_factory=Summary)

    def __post_init__(self) -> None:
        self.site = Site(self.base_url)
        self.cursor_key = f"lore:{self.base_url}"
        for key in ("threads_new", "requests"):
            self.summary.counters.setdefault(key, 0)

    def url(self, inbox: str, msgid: str, view: str) -> str:
        return self.site.url(f"{inbox}/{quote(msgid, safe=MSGID_SAFE)}/{view}")

    # -- what to fetch ---------------------------------------------------------------------------
    def bug_targets(self) -> list[tuple[str, str, str | None]]:
        out = []
        for extid, discussions in self.db.execute("SELECT extid, discussions FROM bugs ORDER BY extid"):
            for link in json.loads(discussions or "[]"):
                t = lore_target(link)
                if t:
                    out.append((t[0], t[1], extid))
        return out

    def search_targets(self, query: str) -> list[tuple[str, str, str | None]]:
        url = self.site.url("all/") + "?" + "&".join([f"q={quote(query, safe='')}", "x=A"])
        try:
            resp = self.http.get(url)
        except NotFound:                # public-inbox answers "[No results found]" with a 404
            return []
        if looks_like_html(resp.body):
            self.http.forget(url)
            raise SyncStopped(f"{url}: lore answered with an HTML page (a bot challenge?) instead of the Atom "
                              "feed; retry later or point --base-url at a mirror")
        try:
            feed = ElementTree.fromstring(resp.body)
        except ElementTree.ParseError as exc:
            raise SyncStopped(f"{url}: search answer is not an Atom feed ({exc})") from None
        base_path = urlsplit(self.site.url("")).path
        out = []
        for link in feed.iter(f"{ATOM}link"):
            path = urlsplit(link.get("href", "")).path
            if path.startswith(base_path):
                parts = path[len(base_path):].strip("/").split("/", 1)
                if len(parts) == 2 and parts[1]:
                    out.append((parts[0], unquote(parts[1]), None))
        return out

    # -- one thread ------------------------------------------------------------------------------
    def fetch_thread(self, inbox: str, msgid: str) -> tuple[str, bytes]:
        """The thread's mbox (decompressed) and the URL it came from."""
        url = self.url(inbox, msgid, "t.mbox.gz")
        try:
            resp = self.http.get(url)
            body = resp.body
            if body[:2] != b"\x1f\x8b":
                self._challenge(url, body)
                raise HttpError(url, "not a gzip file (lore's t.mbox.gz)")
            try:
                return url, gzip.decompress(body)
            except (EOFError, OSError, zlib.error) as exc:
                self.http.forget(url)
                raise HttpError(url, f"truncated or corrupt t.mbox.gz ({exc})") from None
        except NotFound:
            url = self.url(inbox, msgid, "raw")
            body = self.http.get(url).body
            self._challenge(url, body)
            return url, body

    def _challenge(self, url: str, body: bytes) -> None:
        if looks_like_html(body):
            self.http.forget(url)
            raise SyncStopped(f"{url}: lore answered with an HTML page (a bot challenge?) instead of the mbox; "
                              "retry later, point --base-url at a mirror, or import a public-inbox clone "
                              "with 'triage import --public-inbox DIR'")

    def store_thread(self, ing: Ingest, url: str, data: bytes, hint: tuple[str, str | None]) -> set[str]:
        mids = set()
        for item in read_mbox_bytes(data, url):
            if isinstance(item, InputError):
                self.summary.errors.append(str(item))
                continue
            mid = item.mail.message_id
            mids.add(mid)
            store_mail(ing, item.mail, kind="lore", location=self.site.url(f"all/{quote(mid, safe=MSGID_SAFE)}/"))
        ing.flush()
        msgid, extid = hint
        self.summary.counters["threads_new"] += resolve(self.db, {msgid: extid} if extid else None)
        return mids

    # -- the whole sync --------------------------------------------------------------------------
    def _cursor(self) -> dict:
        row = self.db.execute("SELECT cursor FROM sync_state WHERE source = ?", [self.cursor_key]).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def _save_cursor(self, cursor: dict) -> None:
        with self.db.atomic():
            self.db["sync_state"].upsert({"source": self.cursor_key, "cursor": json.dumps(cursor),
                                          "updated_at": now()}, pk="source")

    def run(self, query: str | None = None, bugs: bool = True) -> Summary:
        start = self.http.counters["requests"]
        ing = Ingest(self.db)
        try:
            try:
                targets = (self.bug_targets() if bugs else []) + (self.search_targets(query) if query else [])
            except HttpError as exc:
                raise SyncStopped(str(exc)) from None
            cursor = self._cursor()
            done = set(cursor.get("done", [])) if not cursor.get("complete", True) else set()
            cursor = {"complete": False, "done": sorted(done)}
            self._save_cursor(cursor)
            if self.progress:
                self.progress("lore threads", len(targets))
            fetched: set[str] = set()
            for inbox, msgid, extid in targets:
                key = f"{inbox}/{msgid}"
                if key in done or key in fetched:
                    if extid:          # still link the bug to the thread it names
                        self.summary.counters["threads_new"] += resolve(self.db, {msgid: extid})
                else:
                    try:
                        url, data = self.fetch_thread(inbox, msgid)
                        fetched.add(key)
                        self.store_thread(ing, url, data, (msgid, extid))
                    except Unreachable as exc:
                        raise SyncStopped(str(exc)) from None
                    except HttpError as exc:
                        self.summary.errors.append(str(exc))
                    cursor["done"].append(key)
                    self._save_cursor(cursor)
                if self.progress:
                    self.progress("", None)
            self._save_cursor({"complete": True, "threads": len(targets)})
        finally:
            self.summary.reports_new += ing.summary.reports_new
            self.summary.messages_new += ing.summary.messages_new
            self.summary.skipped += ing.summary.skipped
            self.summary.errors.extend(ing.summary.errors)
            self.summary.counters["requests"] = self.http.counters["requests"] - start
        return self.summary
