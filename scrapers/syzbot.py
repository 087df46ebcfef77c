"""The syzbot dashboard as records, for ``triage sync syzbot``: a ``Bug`` per listed bug, with its crashes
and their report texts (as syzbot extracted them, with syzbot's title; the pipeline parses them).

The JSON API (``?json=1``) is preferred: bug lists, bug ids, titles, fix/cause commits, crashes and their
report links. The HTML fills what JSON lacks (counts, labels and subsystems, status in the 2025 generation,
crash times and managers, the lore discussion links), read by meaning (``scrapers.syzbot_pages``).

A re-sync is cheap: list pages and bug JSON are conditional requests (mostly ``304``); a bug page is only
fetched again when the bug's JSON or its list row changed since the last sync (the caller says what it has
stored through ``known``; an unchanged bug is a ``BugUnchanged``); report texts are immutable blobs served
from the HTTP cache.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from records import Bug, BugState, BugUnchanged, Checkpoint, Crash, InputError, Record, ReportText, SyncStopped
from scrapers.http import Http, HttpError, Site, Unreachable
from scrapers.syzbot_pages import BugPage, LayoutError, ListRow, parse_bug_list, parse_bug_page

DEFAULT_BASE = "https://syzkaller.appspot.com"
STATUS_PAGES = {"open": "", "fixed": "/fixed", "invalid": "/invalid"}
# status string (bug page ``Status:`` / 2026 JSON ``status``) -> normalized status; first match wins
STATUS_RULES = [
    (re.compile(r"closed as dup", re.I), "dup"),
    (re.compile(r"^(auto-)?fixed\b|\bfixed on\b", re.I), "fixed"),
    (re.compile(r"closed as invalid|obsoleted|invalid", re.I), "invalid"),
]

def iso(value: str | None) -> str | None:
    """RFC 3339 (Go, with fractional seconds) -> ``YYYY-MM-DDTHH:MM:SSZ``; zero time -> None."""
    if not value or value.startswith("0001-01-01"):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_of(text: str | None, listed: str | None) -> str:
    for rx, status in STATUS_RULES:
        if text and rx.search(text):
            return status
    return listed or "open"


def text_id(link: str | None) -> str | None:
    """The ``x=`` id of a ``/text?tag=...&x=...`` or ``/x/<file>?x=...`` link."""
    if not link:
        return None
    return (parse_qs(urlsplit(link).query).get("x") or [None])[0]


def repro_level(row: ListRow | None, crashes: list[Crash]) -> str:
    text = row.fields.get("repro", "") if row else ""
    if "C" in text.replace("syz", "") or any(c.fields.get("c_repro_link") for c in crashes):
        return "C"
    if "syz" in text or any(c.fields.get("syz_repro_link") for c in crashes):
        return "syz"
    return ""


@dataclass
class Listed:
    status: str
    link: str
    title: str
    json: dict | None = None
    row: ListRow | None = None


def _unknown(link: str, key: str) -> BugState | None:
    return None


@dataclass
class SyzbotSource:
    http: Http
    base_url: str = DEFAULT_BASE
    namespace: str = "upstream"
    known: Callable[[str, str], BugState | None] = _unknown   # (bug page URL, extid or id) -> what is stored
    progress: Callable[[str, int | None], None] | None = None   # (description, total) / advance

    def __post_init__(self) -> None:
        self.site = Site(self.base_url)

    # -- fetching --------------------------------------------------------------------------------
    def _json(self, path: str) -> tuple[dict, bool]:
        url = self.site.url(path)
        resp = self.http.get(url)
        try:
            data = resp.json()
        except ValueError:
            raise LayoutError(url, f"not JSON (got {resp.content_type or 'unknown content'})") from None
        if not isinstance(data, dict) or data.get("version") != 1:
            version = data.get("version") if isinstance(data, dict) else "?"
            raise LayoutError(url, f"unexpected JSON (version {version}; this syz-triage reads version 1)")
        return data, resp.from_cache

    def _html(self, path: str) -> tuple[str, bool]:
        resp = self.http.get(self.site.url(path))
        return resp.text(), resp.from_cache

    def listing(self, statuses: list[str], subsystem: str | None) -> list[Listed]:
        """The bugs of the requested lists, JSON entries joined with their HTML rows by link."""
        out: dict[str, Listed] = {}
        ns = f"/{self.namespace}"
        for status in statuses:
            suffix = STATUS_PAGES[status]
            if subsystem and status == "open":
                page = f"{ns}/s/{subsystem}"
                entries = []
            else:
                page = f"{ns}{suffix}"
                data, _ = self._json(page + "?json=1")
                entries = data.get("Bugs")
                if not isinstance(entries, list):
                    raise LayoutError(f"{self.site.url(page)}?json=1", "no bug list in the JSON")
            html, _ = self._html(page)
            rows = {r.link: r for r in parse_bug_list(html, self.site.url(page))}
            for e in entries:
                if isinstance(e, dict) and e.get("link"):
                    out.setdefault(e["link"], Listed(status, e["link"], e.get("title", ""), json=e))
            for link, row in rows.items():
                item = out.setdefault(link, Listed(status, link, row.title))
                item.row = row
        items = list(out.values())
        if subsystem:
            items = [i for i in items if i.row is not None and subsystem in i.row.subsystems]
        return items

    # -- one bug ---------------------------------------------------------------------------------
    def bug_records(self, item: Listed, full: bool = False) -> Iterator[Record]:
        """The bug (or ``BugUnchanged``), after an ``InputError`` per crash report text that cannot be read."""
        key = item.row.key if item.row else (urlsplit(item.link).query.split("=", 1)[-1])
        page_url = self.site.url(item.link)
        state = self.known(page_url, key)
        bug_json, json_cached = self._json(item.link + ("&" if "?" in item.link else "?") + "json=1")
        digest = item.row.digest() if item.row else None
        if state and json_cached and not full and state.list_digest == digest:
            yield BugUnchanged(state.extid)
            return
        html, _ = self._html(item.link)
        page = parse_bug_page(html, page_url)
        crashes = self._crashes(bug_json, page, page_url)
        extid = self._extid(item, page, bug_json)
        fields = self._bug_fields(item, bug_json, page, crashes, digest)
        for c in crashes:
            report = self._report(c, extid)
            if isinstance(report, InputError):
                yield report
            else:
                c.report = report
        yield Bug(extid, key, fields, crashes)

    def _extid(self, item: Listed, page: BugPage, bug_json: dict) -> str:
        if item.row and item.row.kind == "extid":
            if page.extid and page.extid != item.row.key:
                raise LayoutError(self.site.url(item.link), f"page names syzbot+{page.extid}, "
                                  f"not the bug it was linked as ({item.row.key})")
            return item.row.key
        q = parse_qs(urlsplit(item.link).query)
        if "extid" in q:
            return q["extid"][0]
        # never-reported bugs have no extid: key them by their 40-hex id
        return page.extid or bug_json.get("id") or q.get("id", [""])[0]

    def _crashes(self, bug_json: dict, page: BugPage, where: str) -> list[Crash]:
        jcrashes = bug_json.get("crashes") or []
        if jcrashes and not page.crashes:
            raise LayoutError(where, f"page layout not understood: no crash table (Time/Report/Manager columns)"
                              f" although the JSON lists {len(jcrashes)} crashes")
        by_x = {text_id(r.links.get("report")): r for r in page.crashes}
        out, seen = [], set()
        for jc in jcrashes:
            rlink = jc.get("crash-report-link")
            hrow = by_x.get(text_id(rlink)) if rlink else None
            out.append(self._crash(jc, hrow))
            seen.add(text_id(rlink))
        for x, hrow in by_x.items():     # crashes shown on the page but absent from the JSON
            if x not in seen:
                out.append(self._crash({}, hrow))
        return out

    def _crash(self, jc: dict, hrow) -> Crash:
        links = hrow.links if hrow else {}
        fields = hrow.fields if hrow else {}
        report = jc.get("crash-report-link") or links.get("report")
        c = {
            "time": hrow.time if hrow else None,
            "title": jc.get("title") or fields.get("title"),
            "kernel": fields.get("kernel"),
            "kernel_commit": jc.get("kernel-source-commit") or (fields.get("commit_title", "").split() or [None])[0],
            "kernel_repo": jc.get("kernel-source-git"),
            "syzkaller_commit": jc.get("syzkaller-commit"),
            "manager": fields.get("manager"),
            "config_link": self._abs(jc.get("kernel-config") or links.get("config")),
            "log_link": self._abs(links.get("log")),
            "report_link": self._abs(report),
            "syz_repro_link": self._abs(jc.get("syz-reproducer") or links.get("syz_repro")),
            "c_repro_link": self._abs(jc.get("c-reproducer") or links.get("c_repro")),
            "repro_opts": jc.get("repro-opts"),
        }
        key = text_id(report) or hashlib.sha256(json.dumps(c, sort_keys=True).encode()).hexdigest()[:16]
        return Crash(key, c)

    def _abs(self, link: str | None) -> str | None:
        return self.site.url(link) if link and link.startswith("/") else link

    def _report(self, crash: Crash, extid: str) -> ReportText | InputError | None:
        """The crash's report text, as syzbot extracted it (an immutable blob: cached)."""
        url = crash.fields.get("report_link")
        if not url:
            return None
        try:
            text = self.http.get(url, immutable=True).text()
        except Unreachable:
            raise
        except HttpError as exc:       # not found, cut short...: the bug is stored without this report
            return InputError(exc.url, exc.reason)
        if not text.strip() or text.lstrip().startswith("<"):
            self.http.forget(url)
            return InputError(url, "not a crash report text")
        return ReportText(text, "syzbot", url, reported_at=crash.fields.get("time"), bug_extid=extid,
                          title=crash.fields.get("title"))

    def _bug_fields(self, item: Listed, bj: dict, page: BugPage, crashes: list[Crash], digest: dict | None) -> dict:
        """The ``bugs`` columns other than ``extid`` (and ``updated_at``, the store's)."""
        row = item.row
        times = sorted(c.fields["time"] for c in crashes if c.fields.get("time"))
        status_text = bj.get("status") or page.status_text
        lore = [d["url"] for d in page.discussions]
        discussions = lore + [u for u in (bj.get("discussions") or []) if u not in lore]
        count = row.fields.get("count") if row else None
        fixes = bj.get("fix-commits") or (item.json or {}).get("fix-commits") or (row.fix_commits if row else [])
        return {
            "bug_id": bj.get("id"),
            "namespace": self.namespace,
            "title": bj.get("title") or page.title,
            "status": status_of(status_text, item.status),
            "subsystems": json.dumps(page.subsystems or (row.subsystems if row else [])),
            "labels": json.dumps(page.labels or (row.labels if row else [])),
            "first_crash": iso(bj.get("first-crash")) or (times[0] if times else None),
            "last_crash": iso(bj.get("last-crash")) or (times[-1] if times else None),
            "num_crashes": page.num_crashes if page.num_crashes is not None else (int(count) if count else None),
            "repro": repro_level(row, crashes),
            "fix_commits": json.dumps(fixes),
            "cause_commit": json.dumps(bj["cause-commit"]) if bj.get("cause-commit") else None,
            "discussions": json.dumps(discussions),
            "link": self.site.url(item.link),
            "raw": json.dumps({"json": bj, "list": digest, "status_text": status_text,
                               "status_link": page.status_link, "first_last": page.first_last,
                               "discussions": page.discussions, "list_fields": row.fields if row else None}),
        }

    # -- the whole sync --------------------------------------------------------------------------
    def records(self, statuses: list[str] | None = None, subsystem: str | None = None,
                full: bool = False) -> Iterator[Record]:
        """Every listed bug of ``statuses`` (all by default), then a ``Checkpoint`` of the pass."""
        statuses = statuses or list(STATUS_PAGES)
        try:
            items = self.listing(statuses, subsystem)
        except (LayoutError, HttpError) as exc:
            raise SyncStopped(str(exc)) from None
        if self.progress:
            self.progress("syzbot bugs", len(items))
        for item in items:
            try:
                out = list(self.bug_records(item, full=full))
            except Unreachable as exc:
                raise SyncStopped(str(exc)) from None
            except HttpError as exc:
                out = [InputError(exc.url, exc.reason)]
            except LayoutError as exc:
                out = [InputError(exc.where, exc.reason)]
            yield from out
            if self.progress:
                self.progress("", None)
        yield Checkpoint(f"syzbot:{self.base_url}:{self.namespace}",
                         {"statuses": statuses, "subsystem": subsystem, "bugs": len(items)})
