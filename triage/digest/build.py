"""What the weekly digest says, as plain data: counts per label and their change, the weekly trend,
the new groups (worst first, regzbot-style ``[ *NEW* ]``), what got fixed, and what is open and stale
(syzbot-monthly style: at most N, skipping those a human replied to recently).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from triage.inbox import (
    InboxFilter,
    InboxItem,
    area_sql,
    count,
    groups,
    item,
    rank_table,
    replies_to,
    thread_message_ids_sql,
)
from triage.review import stamp, utcnow
from triage.show import bug_link, lore_link, suggestion_line

SPARKS = "▁▂▃▄▅▆▇█"
TREND_WEEKS = 8
# Keys of a verdict's evidence that hold a sentence a person can read, most telling first.
EVIDENCE_KEYS = ("decisive", "summary", "why", "sentence", "reason", "explanation", "rule", "rules", "note")
# Authors whose messages are not a human reply.
BOT_AUTHORS = ("syzbot", "syzkaller", "noreply", "no-reply")


@dataclass
class LabelCount:
    label: str
    severity: str
    count: int
    previous: int

    @property
    def delta(self) -> str:
        d = self.count - self.previous
        return f"+{d}" if d > 0 else str(d) if d < 0 else "="


@dataclass
class DigestItem:
    item: InboxItem
    severity: str
    evidence: str
    links: list[str]


@dataclass
class FixedBug:
    extid: str
    title: str
    label: str | None
    fix: str
    link: str


@dataclass
class Digest:
    start: datetime
    end: datetime
    subsystems: list[str]
    counts: list[LabelCount]
    trend: list[int]                   # reports per week, oldest first, the last one ends now
    new: list[DigestItem]
    new_total: int
    fixed: list[FixedBug]
    stale: list[DigestItem]
    stale_days: int
    by_label: dict[str, int] = field(default_factory=dict)

    @property
    def sparkline(self) -> str:
        return sparkline(self.trend)

    @property
    def period(self) -> str:
        return f"{self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d}"

    @property
    def subject(self) -> str:
        crit = [f"{c.count} {c.label}" for c in self.counts if c.severity in ("critical", "high") and c.count]
        parts = [f"{self.new_total} new" + (f" ({', '.join(crit)})" if crit else ""), f"{len(self.fixed)} fixed"]
        return f"[syz-triage] digest {self.period}: " + ", ".join(parts)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start"], d["end"] = stamp(self.start), stamp(self.end)
        d["sparkline"], d["subject"] = self.sparkline, self.subject
        for c, obj in zip(d["counts"], self.counts, strict=True):
            c["delta"] = obj.delta
        return d


def sparkline(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))] for v in values)


def evidence_line(evidence: str | None, limit: int = 200) -> str:
    """One readable line from a verdict's evidence JSON."""
    if not evidence:
        return ""
    try:
        ev = json.loads(evidence)
    except ValueError:
        ev = evidence
    if isinstance(ev, dict):
        if ev.get("by") and "note" in ev:           # a human label
            return f"labelled by {ev['by']}" + (f": {ev['note']}" if ev.get("note") else "")
        decisive = ev.get("decisive")
        if not (isinstance(decisive, dict) and decisive.get("text")) and (suggested := suggestion_line(ev)):
            return suggested                        # no evidence line: the model's suspicion, to review
        for key in EVIDENCE_KEYS:
            if ev.get(key):
                ev = ev[key]
                break
    if isinstance(ev, list):
        ev = ev[0] if ev else ""
    if isinstance(ev, dict):     # the decisive line of a classifier verdict first, its text
        ev = next((ev[k] for k in ("text", *EVIDENCE_KEYS, "id") if ev.get(k)), json.dumps(ev, ensure_ascii=False))
    text = " ".join(str(ev).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _severities(db: sqlite_utils.Database) -> dict[str, str]:
    return dict(db.execute("SELECT label, severity FROM label_ranks"))


def _digest_item(db: sqlite_utils.Database, it: InboxItem, severities: dict[str, str]) -> DigestItem:
    ev = db.execute("SELECT evidence FROM verdicts WHERE report_id = ? ORDER BY source = 'human' DESC LIMIT 1",
                    [it.id]).fetchone()
    evidence = evidence_line(ev[0] if ev else None)
    if it.flagged_id is not None and it.flagged_id != it.id:    # the line's review flag is another member's
        title, fev = db.execute("SELECT r.title, v.evidence FROM reports r LEFT JOIN verdicts v ON v.report_id = "
                                "r.id AND v.source = 'combined' WHERE r.id = ?", [it.flagged_id]).fetchone()
        evidence = evidence_line(f"#{it.flagged_id} ({' '.join((title or '').split())}) needs review: "
                                 f"{evidence_line(fev)}")
    links = [bug_link(it.bug_extid, it.link)] if it.bug_extid else []
    mid = db.execute("SELECT message_id FROM reports WHERE id = ?", [it.id]).fetchone()[0]
    if mid:
        links.append(lore_link(mid))
    return DigestItem(item=it, severity=severities.get(it.label, ""), evidence=evidence, links=links)


def _human_replied(db: sqlite_utils.Database, it: InboxItem, since: datetime) -> bool:
    mids = [m for (m,) in db.execute(
        f"SELECT message_id FROM reports WHERE id IN ({','.join('?' * len(it.report_ids))}) "
        "AND message_id IS NOT NULL", it.report_ids)]
    # (the bug's messages, and the replies under its report mails: not a patch series' reviews beside a report
    # posted in the series' thread)
    cond, params = thread_message_ids_sql([it.bug_extid] if it.bug_extid else [], [])
    replies = replies_to(db, mids)
    if replies:
        cond = f"({cond} OR m.message_id IN (SELECT value FROM json_each(?)))"
        params = [*params, json.dumps(replies)]
    if cond == "0":
        return False
    bots = " AND ".join("LOWER(COALESCE(m.author_email, '') || COALESCE(m.author_name, '')) NOT LIKE ?"
                        for _ in BOT_AUTHORS)
    row = db.execute(f"SELECT 1 FROM messages m WHERE {cond} AND m.date >= ? AND {bots} LIMIT 1",
                     [*params, stamp(since), *(f"%{b}%" for b in BOT_AUTHORS)]).fetchone()
    return row is not None


def build(db: sqlite_utils.Database, since: timedelta = timedelta(days=7), *, subsystems: list[str] | None = None,
          addresses: list[str] | None = None, labels: list[str] | None = None, stale_max: int = 10,
          stale_days: int = 30, max_new: int = 30, now: datetime | None = None) -> Digest:
    """The digest for the period ``[now - since, now]``."""
    now = now or utcnow()
    start, prev = now - since, now - 2 * since
    subsystems, addresses, labels = subsystems or [], addresses or [], labels or []
    severities = _severities(db)
    base = InboxFilter(subsystems=subsystems, addresses=addresses, labels=labels, limit=0)

    params: dict = {"start": stamp(start), "prev": stamp(prev), "now": stamp(now)}
    area = area_sql(base, params)
    label_cond = ""
    if labels:
        label_cond = " AND ir.label IN (" + ",".join(f":lab{i}" for i in range(len(labels))) + ")"
        params.update({f"lab{i}": lab for i, lab in enumerate(labels)})
    period = _period_rows(bool(subsystems))
    rows = db.execute(f"""
        SELECT lr.label, lr.severity, lr.rank,
               COALESCE(SUM(ir.reported_at >= :start AND ir.reported_at <= :now), 0),
               COALESCE(SUM(ir.reported_at >= :prev AND ir.reported_at < :start), 0)
        FROM label_ranks lr LEFT JOIN ({period} WHERE r.reported_at >= :prev) ir
          ON ir.label = lr.label AND {area}{label_cond}
        GROUP BY lr.label ORDER BY lr.rank""", params).fetchall()
    counts = [LabelCount(label, sev, cur, old) for label, sev, _rank, cur, old in rows
              if cur or old or label != "unclassified"]

    weeks = [now - timedelta(weeks=TREND_WEEKS - i) for i in range(TREND_WEEKS + 1)]
    params_t = {**params, **{f"w{i}": stamp(w) for i, w in enumerate(weeks)}}
    buckets = " + ".join(f"(ir.reported_at >= :w{i})" for i in range(1, TREND_WEEKS))
    trend_rows = dict(db.execute(f"""
        SELECT {buckets} AS wk, COUNT(*) FROM ({period} WHERE r.reported_at >= :w0 AND r.reported_at <= :now) ir
        WHERE {area}{label_cond}
        GROUP BY wk""", params_t).fetchall()) if TREND_WEEKS > 1 else {}
    trend = [int(trend_rows.get(i, 0)) for i in range(TREND_WEEKS)]

    # inbox lines only for the groups the digest shows (the new ones up to max_new, the stale ones it lists)
    ranks = rank_table(db)
    new_flt = InboxFilter(**{**asdict(base), "first_since": start})
    new = [_digest_item(db, item(db, g, now, ranks), severities)
           for g in itertools.islice(groups(db, new_flt, now, ranks), max_new)]
    new_total = count(db, new_flt, now)

    in_area = "1" if area == "1" and not label_cond else \
        f"EXISTS (SELECT 1 FROM inbox_reports ir WHERE ir.bug_extid = b.extid AND {area}{label_cond})"
    fix_rows = db.execute(f"""
        SELECT b.extid, b.title, b.fix_commits, b.link,
               (SELECT MIN(COALESCE(lr.rank, 3)) FROM reports r INDEXED BY reports_bug
                LEFT JOIN report_labels l ON l.report_id = r.id
                LEFT JOIN label_ranks lr ON lr.label = COALESCE(l.label, 'unclassified')
                WHERE r.bug_extid = b.extid) AS rank
        FROM bugs b
        WHERE b.status = 'fixed' AND b.updated_at >= :start
          AND EXISTS (SELECT 1 FROM reports r INDEXED BY reports_bug WHERE r.bug_extid = b.extid) AND {in_area}
        ORDER BY rank, b.updated_at DESC""", params).fetchall()
    rank_label = {r: lab for lab, r in db.execute("SELECT label, rank FROM label_ranks")}
    fixed = [FixedBug(extid, title or extid, rank_label.get(rank), _fix_title(fixes), bug_link(extid, link))
             for extid, title, fixes, link, rank in fix_rows]

    stale: list[DigestItem] = []
    quiet_since = now - timedelta(days=stale_days)
    stale_flt = InboxFilter(**{**asdict(base), "last_before": quiet_since, "open_only": True})
    for group in groups(db, stale_flt, now, ranks):
        if len(stale) >= stale_max:
            break
        it = item(db, group, now, ranks)
        if it.status != "fix pending" and not _human_replied(db, it, quiet_since):    # (a fix posted: handled)
            stale.append(_digest_item(db, it, severities))
    return Digest(start=start, end=now, subsystems=subsystems, counts=counts, trend=trend, new=new,
                  new_total=new_total, fixed=fixed, stale=stale, stale_days=stale_days,
                  by_label={c.label: c.count for c in counts})


def _period_rows(with_subsystems: bool) -> str:
    """The per-report columns the counts and the trend read (``inbox_reports``' ``reported_at``, ``label``,
    ``bug_extid``, ``message_id``, ``subsystems``), for a WHERE on ``r.reported_at``: from the covering index
    ``reports_by_date`` and the stored labels, so a period's reports are read without their (large) rows. The
    bug's subsystems are joined only for a subsystem filter."""
    subs = ("CASE WHEN b.subsystems IS NOT NULL AND b.subsystems NOT IN ('', '[]') THEN b.subsystems "
            "ELSE COALESCE(r.subsystems, '[]') END") if with_subsystems else "NULL"
    bug = " LEFT JOIN bugs b INDEXED BY bugs_inbox ON b.extid = r.bug_extid" if with_subsystems else ""
    return (f"SELECT r.id AS report_id, r.reported_at, r.bug_extid, r.message_id, {subs} AS subsystems, "
            "COALESCE(l.label, 'unclassified') AS label "
            f"FROM reports r INDEXED BY reports_by_date LEFT JOIN report_labels l ON l.report_id = r.id{bug}")


def _fix_title(fixes: str | None) -> str:
    try:
        data = json.loads(fixes) if fixes else []
    except ValueError:
        return str(fixes)
    if isinstance(data, list) and data:
        first = data[0]
        return str(first.get("title") or first.get("hash") or "") if isinstance(first, dict) else str(first)
    return ""
