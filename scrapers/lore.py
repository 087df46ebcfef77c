"""lore.kernel.org as records, for ``triage sync lore``: the threads the synced bugs link to, and those a
search finds.

Each thread is fetched whole as ``t.mbox.gz`` (``/raw`` when lore has no thread view for it), split as
mboxrd, and yielded message by message, then a ``ThreadHint`` (the bug that linked it) and a ``Checkpoint``
whose cursor lists the threads this pass has finished: the caller passes the last cursor back, so a killed
sync resumes where it stopped, and message-ids keep a re-fetch from adding duplicates.

lore sits behind a bot filter: we send the identifying User-Agent, and if an HTML page comes back where an
mbox was asked for, the sync stops and says so rather than storing a challenge page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

from records import Checkpoint, InputError, MailRecord, Record, SyncStopped, ThreadHint
from records.inputs import gunzip
from records.mail import mbox_messages, read_mail
from scrapers.http import Http, HttpError, NotFound, Site, Unreachable
from vocab.lore import msgid_path

DEFAULT_BASE = "https://lore.kernel.org"
LORE_LINK = re.compile(r"^https?://lore\.kernel\.org/([^/]+)/(.+?)/(?:T/|t/|raw|t\.mbox\.gz)?(?:#.*)?$")
ATOM = "{http://www.w3.org/2005/Atom}"


def lore_target(url: str) -> tuple[str, str] | None:
    """``https://lore.kernel.org/all/<msgid>/T/`` -> ("all", msgid)."""
    m = LORE_LINK.match(url or "")
    return (m.group(1), unquote(m.group(2))) if m else None


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<meta", b"<script"))


Target = tuple[str, str, str | None]      # (inbox, message-id, the bug that links it)


def bug_targets(links: Iterable[tuple[str, str]]) -> list[Target]:
    """The lore threads among bugs' discussion links ``(extid, link)``."""
    out = []
    for extid, link in links:
        t = lore_target(link)
        if t:
            out.append((t[0], t[1], extid))
    return out


@dataclass
class LoreSource:
    http: Http
    base_url: str = DEFAULT_BASE
    progress: Callable[[str, int | None], None] | None = None

    def __post_init__(self) -> None:
        self.site = Site(self.base_url)
        self.cursor_key = f"lore:{self.base_url}"

    def url(self, inbox: str, msgid: str, view: str) -> str:
        return self.site.url(f"{inbox}/{msgid_path(msgid)}/{view}")

    # -- what to fetch ---------------------------------------------------------------------------
    def search_targets(self, query: str) -> list[Target]:
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
                return url, gunzip(body, url, "t.mbox.gz")
            except InputError as exc:
                self.http.forget(url)
                raise HttpError(url, exc.reason) from None
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

    def thread_records(self, url: str, data: bytes) -> Iterator[Record]:
        """The messages of one thread's mbox, each located by its lore URL."""
        for item in mbox_messages(data, url):
            if isinstance(item, InputError):
                yield item
                continue
            try:
                mail = read_mail(item[1], item[0])
            except InputError as exc:
                yield exc
                continue
            yield MailRecord(mail, "lore", self.site.url(f"all/{msgid_path(mail.message_id)}/"))

    # -- the whole sync --------------------------------------------------------------------------
    def records(self, links: Iterable[tuple[str, str]] = (), query: str | None = None,
                cursor: dict | None = None) -> Iterator[Record]:
        """The threads the bugs' discussion ``links`` name and those ``query`` finds, minus those the last
        pass (``cursor``, from a ``Checkpoint`` of ours) finished if it did not complete."""
        try:
            targets = bug_targets(links) + (self.search_targets(query) if query else [])
        except HttpError as exc:
            raise SyncStopped(str(exc)) from None
        cursor = cursor or {}
        done = set(cursor.get("done", [])) if not cursor.get("complete", True) else set()
        finished = sorted(done)
        yield Checkpoint(self.cursor_key, {"complete": False, "done": list(finished)})
        if self.progress:
            self.progress("lore threads", len(targets))
        fetched: set[str] = set()
        for inbox, msgid, extid in targets:
            key = f"{inbox}/{msgid}"
            if key in done or key in fetched:
                if extid:          # still link the bug to the thread it names
                    yield ThreadHint(msgid, extid)
            else:
                try:
                    url, data = self.fetch_thread(inbox, msgid)
                except Unreachable as exc:
                    raise SyncStopped(str(exc)) from None
                except HttpError as exc:
                    yield InputError(exc.url, exc.reason)
                else:
                    fetched.add(key)
                    yield from self.thread_records(url, data)
                    if extid:
                        yield ThreadHint(msgid, extid)
                finished.append(key)
                yield Checkpoint(self.cursor_key, {"complete": False, "done": list(finished)})
            if self.progress:
                self.progress("", None)
        yield Checkpoint(self.cursor_key, {"complete": True, "threads": len(targets)})
