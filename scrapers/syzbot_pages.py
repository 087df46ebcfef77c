"""Reading the syzbot dashboard's HTML for what its JSON API lacks.

The markup changes over time (the 2025 and 2026 generations differ in the header, captions, details
blocks), so tables and fields are found by meaning: a bug list is a table whose header names ``Title`` and
``Count``; a crash table names ``Time``, ``Report`` and ``Manager``; the discussions table names ``Replies``;
columns are looked up by header text through tables, titles by their ``/bug?`` link, labels by the
``bug-label`` class and, for subsystems, by their link (``/s/<name>`` or ``label=subsystems:<name>``).
When a page no longer has what it must have, ``LayoutError`` says which page and what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from bs4 import BeautifulSoup, Tag


class LayoutError(Exception):
    """A page no longer looks like the syzbot page it should be: ``str()`` is ``"<page>: <what is missing>"``."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


# header text (normalized) -> field name; unknown headers are kept under their normalized text
LIST_COLUMNS = {
    "kernel": "namespace", "title": "title", "rank": "rank", "repro": "repro",
    "cause bisect": "cause_bisect", "fix bisect": "fix_bisect", "count": "count", "last": "last",
    "reported": "reported", "last activity": "last_activity", "discussions": "discussions",
    "patched": "patched", "status": "status", "closed": "closed", "patch": "patch",
}
CRASH_COLUMNS = {
    "time": "time", "kernel": "kernel", "commit": "commit", "syzkaller": "syzkaller", "config": "config",
    "log": "log", "report": "report", "syz repro": "syz_repro", "c repro": "c_repro", "vm info": "vm_info",
    "assets": "assets", "manager": "manager", "title": "title",
}
DISCUSSION_COLUMNS = {"title": "subject", "replies including bot": "replies", "last reply": "last_reply"}

BUG_LINK = re.compile(r"/bug\?(?:.*&)?(extid|id)=([0-9a-f]+)")
REPORTED_BY = re.compile(r"Reported-by:\s*syzbot\+([0-9a-f]{8,40})@")
CRASHES_CAPTION = re.compile(r"Crashes\s*\((\d+)\)")
SYZ_TIME = re.compile(r"^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d)$")


def norm_header(text: str) -> str:
    text = text.split("(")[0] if not text.lower().startswith("replies") else text
    return re.sub(r"\s+", " ", re.sub(r"[^a-z ]", " ", text.lower())).strip()


def syz_time(text: str) -> str | None:
    """``2025/09/15 03:35`` (UTC) -> ``2025-09-15T03:35:00Z``."""
    m = SYZ_TIME.match(text.strip())
    return f"{m[1]}-{m[2]}-{m[3]}T{m[4]}:{m[5]}:00Z" if m else None


def cell_text(td: Tag) -> str:
    return re.sub(r"\s+", " ", td.get_text(" ", strip=True)).strip()


def soup_of(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def _header(table: Tag) -> list[str]:
    head = table.find("thead")
    row = (head.find("tr") if head else None) or table.find("tr")
    if row is None:
        return []
    return [norm_header(th.get_text(" ", strip=True)) for th in row.find_all(["th", "td"], recursive=False)]


def _rows(table: Tag) -> list[Tag]:
    body = table.find("tbody")
    rows = (body or table).find_all("tr", recursive=False)
    return [r for r in rows if r.find("td", recursive=False)]


def _tables(soup: BeautifulSoup, *needed: str) -> list[tuple[Tag, list[str]]]:
    out = []
    for table in soup.find_all("table"):
        header = _header(table)
        if all(n in header for n in needed):
            out.append((table, header))
    return out


def _cells(row: Tag, header: list[str], where: str) -> list[Tag]:
    cells = row.find_all("td", recursive=False)
    if len(cells) != len(header):
        raise LayoutError(where, f"a table row has {len(cells)} cells for {len(header)} columns")
    return cells


def bug_key(href: str) -> tuple[str, str] | None:
    """``/bug?extid=X`` -> ("extid", X); ``/bug?id=Y`` -> ("id", Y)."""
    m = BUG_LINK.search(href or "")
    return (m.group(1), m.group(2)) if m else None


def label_of(a: Tag) -> tuple[str, str]:
    """(kind, name) of a ``span.bug-label`` link: subsystem labels link to ``/s/<name>`` or a
    ``label=subsystems:<name>`` filter; any other label is shown as ``name:value`` or ``name``."""
    href = a.get("href", "")
    text = cell_text(a)
    parts = urlsplit(href)
    m = re.search(r"/s/([^/?#]+)", parts.path)
    if m:
        return "subsystem", unquote(m.group(1))
    for value in parse_qs(parts.query).get("label", []):
        if value.startswith("subsystems:"):
            return "subsystem", value.split(":", 1)[1]
    return "label", text


@dataclass
class ListRow:
    kind: str                      # extid | id
    key: str
    link: str
    title: str
    subsystems: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    fix_commits: list[dict] = field(default_factory=list)

    def digest(self) -> dict:
        """What identifies a change of the bug (not the render-time latenesses)."""
        keep = {k: re.sub(r"\[[^\]]*\]", "", v).strip() for k, v in self.fields.items()
                if k in ("count", "repro", "status", "patched", "discussions", "cause_bisect", "fix_bisect")}
        return {"title": self.title, "subsystems": self.subsystems, "labels": self.labels,
                "fix": [c.get("title") for c in self.fix_commits], **keep}


def parse_bug_list(html: str, where: str) -> list[ListRow]:
    """Every bug row of every bug-list table on a list page (main, fixed, invalid, subsystem)."""
    soup = soup_of(html)
    tables = _tables(soup, "title", "count")
    if not tables:
        if soup.find("table", class_=re.compile("list_table")) is not None or BUG_LINK.search(html):
            raise LayoutError(where, "page layout not understood: no bug table with Title and Count columns")
        return []
    rows = []
    for table, header in tables:
        for tr in _rows(table):
            cells = _cells(tr, header, where)
            by = dict(zip(header, cells, strict=True))
            title_cell = by["title"]
            link = next((a for a in title_cell.find_all("a") if bug_key(a.get("href", ""))), None)
            if link is None:
                raise LayoutError(where, "page layout not understood: a bug row has no /bug? link")
            kind, key = bug_key(link["href"])
            row = ListRow(kind, key, link["href"], cell_text(link))
            for span in title_cell.find_all(class_="bug-label"):
                a = span.find("a") or span
                lkind, name = label_of(a) if a.name == "a" else ("label", cell_text(a))
                (row.subsystems if lkind == "subsystem" else row.labels).append(name)
            for name, td in by.items():
                if name != "title":
                    row.fields[LIST_COLUMNS.get(name, name)] = cell_text(td)
            if "patch" in by:
                row.fix_commits = _commit_list(by["patch"])
            if not row.fields.get("count", "").lstrip("-").isdigit():
                raise LayoutError(where, f"page layout not understood: Count of {row.title!r} is "
                                  f"{row.fields.get('count')!r}")
            rows.append(row)
    return rows


def _commit_list(td: Tag) -> list[dict]:
    out = []
    for span in td.find_all("span", class_="mono"):
        a = span.find("a")
        text = cell_text(span)
        m = re.match(r"([0-9a-f]{8,40})\b", text)
        out.append({"title": cell_text(a) if a else text, "hash": m.group(1) if m else None,
                    "link": a.get("href") if a else None})
    return out


@dataclass
class CrashRow:
    time: str | None
    fields: dict[str, str]
    links: dict[str, str]


@dataclass
class BugPage:
    title: str
    extid: str | None
    status_text: str | None
    status_link: str | None
    subsystems: list[str]
    labels: list[str]
    first_last: str | None
    num_crashes: int | None
    crashes: list[CrashRow]
    discussions: list[dict]


def _outside_tables(node) -> bool:
    return node.find_parent("table") is None


def parse_bug_page(html: str, where: str) -> BugPage:
    soup = soup_of(html)
    title_tag = soup.find("title")
    title = cell_text(title_tag) if title_tag else ""
    if not title or title == "syzbot":
        raise LayoutError(where, "page layout not understood: no bug title")
    text = soup.get_text(" ")
    m = REPORTED_BY.search(text)
    extid = m.group(1) if m else None

    status_text = status_link = None
    for node in soup.find_all(string=re.compile(r"^\s*Status:")):
        if not _outside_tables(node):
            continue
        rest = node.split("Status:", 1)[1].strip()
        if rest:
            status_text = rest
        else:
            sib = node.next_sibling
            if isinstance(sib, Tag):
                status_text = cell_text(sib)
                status_link = sib.get("href")
        break

    subsystems, labels = [], []
    for span in soup.find_all(class_="bug-label"):
        if not _outside_tables(span):
            continue
        a = span.find("a")
        kind, name = label_of(a) if a else ("label", cell_text(span))
        target = subsystems if kind == "subsystem" else labels
        if name not in target:
            target.append(name)

    first_last = None
    node = soup.find(string=re.compile(r"First crash:"))
    if node is not None:
        first_last = re.sub(r"\s+", " ", node).strip()

    crashes, num = [], None
    crash_tables = _tables(soup, "time", "report", "manager")
    for table, header in crash_tables:
        cap = table.find("caption")
        if cap is not None:
            mm = CRASHES_CAPTION.search(cell_text(cap))
            if mm:
                num = int(mm.group(1))
        for tr in _rows(table):
            by = dict(zip(header, _cells(tr, header, where), strict=True))
            fields, links = {}, {}
            for name, td in by.items():
                key = CRASH_COLUMNS.get(name, name)
                fields[key] = cell_text(td)
                a = td.find("a")
                if a is not None and a.get("href"):
                    links[key] = a["href"]
                if td.get("title"):
                    fields[key + "_title"] = td["title"]
            crashes.append(CrashRow(syz_time(fields.get("time", "")), fields, links))

    discussions = []
    for table, header in _tables(soup, "title", "replies including bot"):
        for tr in _rows(table):
            by = dict(zip(header, _cells(tr, header, where), strict=True))
            a = by["title"].find("a")
            if a is None or not a.get("href"):
                raise LayoutError(where, "page layout not understood: a discussion row has no link")
            discussions.append({"url": a["href"], "subject": cell_text(a),
                                "replies": cell_text(by["replies including bot"]),
                                "last_reply": syz_time(cell_text(by["last reply"])) if "last reply" in by else None})
    return BugPage(title, extid, status_text, status_link, subsystems, labels, first_last, num, crashes,
                   discussions)
