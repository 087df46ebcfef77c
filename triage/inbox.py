"""The inbox: the reports that need the maintainer, one line per duplicate group, worst first: by label rank, and
within a label the confident lines before those flagged for review (``ORDER``), then the most recent.

Groups are the stored ``reports.dup_key`` (``triage.store.groups``). Two steps keep it fast on large stores:
``groups`` reads the groups in rank order from their stored rows (``dup_groups``: one row per group, kept by the
writers), stopping at the limit; only those get the per-line details (``item``: title, representative report,
status, new replies in the report's own thread since last seen, latest reproducer run) from ``inbox_reports``
(one row per report with its effective label, review state and syzbot bug). With an area (subsystems, list
addresses) only the reports in it count, so those groups are aggregated from their reports.

A line's title is its syzbot bug's title when the bug is known, else the title of the group's earliest
original report (not a reply's). Bugs that are fixed, dup or invalid (``triage.status``: syzbot's word merged
with the mail's) are left out unless ``include_closed``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from triage.review import stamp, utcnow
from triage.status import CLOSED, bug_status, closed_overrides, superseded_groups
from triage.store.groups import members
from triage.store.schema import BUG_COUNTS_JOIN, BUG_CRASHES, SUBSYSTEMS
from vocab.titles import base_title

if TYPE_CHECKING:       # annotations only: a reader of the store does not import sqlite-utils
    import sqlite_utils


def subsystems_of(subsystems_json: str | None) -> list[str]:
    """The effective subsystems of a report (``inbox_reports.subsystems``: the syzbot bug's, else those
    derived from the report) as a list; empty when nothing says."""
    try:
        subs = json.loads(subsystems_json) if subsystems_json else []
    except ValueError:
        subs = []
    return [str(s) for s in subs] if isinstance(subs, list) else []


def age(since: str | None, now: datetime | None = None) -> str:
    """'3d', '5h', '2w' from an ISO timestamp."""
    if not since:
        return "-"
    try:
        then = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if then.tzinfo is None:
        from datetime import UTC

        then = then.replace(tzinfo=UTC)
    secs = max(0, int(((now or utcnow()) - then).total_seconds()))
    for unit, size in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return "now"


@dataclass
class InboxFilter:
    """What to show. Empty lists mean no restriction."""

    subsystems: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    since: datetime | None = None
    include_all: bool = False          # also acked, muted and snoozed
    include_closed: bool = False       # also groups whose bug is fixed, dup or invalid
    limit: int = 50                    # 0 = no limit
    first_since: datetime | None = None    # only groups whose first report is this recent (new bugs)
    last_before: datetime | None = None    # only groups quiet since then (stale bugs)
    open_only: bool = False            # only groups whose syzbot bug is open (or unknown)


@dataclass
class InboxItem:
    id: int
    label: str
    confidence: float | None
    needs_review: bool
    label_source: str | None
    title: str
    subsystems: list[str]
    reported_at: str | None            # the group's latest report
    first_reported_at: str | None      # the group's first report
    age: str
    crashes: int
    duplicates: int                    # reports folded into this line (1 = none)
    repro: str | None                  # syzbot reproducer: '' | syz | C
    repro_run: str | None              # latest simulator run: '<outcome> (<scenario>)'
    new_replies: int
    state: str
    snooze_until: str | None
    bug_extid: str | None
    bug_status: str | None             # syzbot's, as last synced
    status: str | None                 # where the bug stands: syzbot's merged with #syz commands (triage.status)
    status_detail: str                 # the fix's title, the dup's title
    link: str | None
    report_ids: list[int]
    suspected: str | None = None       # a line flagged for review: the label the model prefers to the line's
    flagged_id: int | None = None      # a line flagged for review: the member whose verdict flags it

    def to_dict(self) -> dict:
        return asdict(self)


def rank_table(db: sqlite_utils.Database) -> dict[int, str]:
    return {rank: label for label, rank in db.execute("SELECT label, rank FROM label_ranks")}


UNKNOWN_SUBSYSTEMS = "'[]'"      # the effective subsystems of a report nothing attributes


def area_sql(flt: InboxFilter, params: dict) -> str:
    """The per-report conditions (area: subsystems OR mailing-list addresses), over a row source with the
    effective ``subsystems`` (JSON list) of ``inbox_reports``. A report whose subsystem is unknown is in
    every subsystem's area: a subscriber must see it to know it is not theirs."""
    area = []
    if flt.subsystems:
        conds = [f"ir.subsystems = {UNKNOWN_SUBSYSTEMS}"]
        for i, sub in enumerate(flt.subsystems):
            params[f"sub{i}"] = '%"' + sub.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"%'
            conds.append(f"ir.subsystems LIKE :sub{i} ESCAPE '\\'")
        area.append(" OR ".join(conds))
    for i, addr in enumerate(flt.addresses):
        params[f"addr{i}"] = "%" + addr.strip("<>").replace("@", ".") + "%"
        params[f"addrm{i}"] = "%" + addr.strip("<>") + "%"
        area.append(
            "EXISTS (SELECT 1 FROM messages m WHERE (m.bug_extid = ir.bug_extid OR m.message_id = ir.message_id)"
            f" AND (m.list LIKE :addr{i} OR m.list LIKE :addrm{i}))"
        )
    return "(" + " OR ".join(f"({a})" for a in area) + ")" if area else "1"


GROUP_RANK = "COALESCE(MIN(CASE WHEN label_source = 'human' THEN label_rank END), MIN(label_rank))"
# a group flagged for review (as migration 13 stores it): no human label, and a member carrying its label is flagged
GROUP_REVIEW = ("(COALESCE(MAX(label_source = 'human'), 0) = 0 "
                "AND COALESCE(MIN(CASE WHEN needs_review THEN label_rank END) = MIN(label_rank), 0))")


CLOSED_SQL = "(" + ", ".join(f"'{s}'" for s in CLOSED) + ")"


# worst first: label rank, then within a label the confident groups before those flagged for review, then recency
ORDER = "label_rank, needs_review, last_reported DESC, crashes DESC, dup_key"
GROUP_COLS = "dup_key, label_rank, last_reported, first_reported, reports, crashes, needs_review"


@dataclass
class Group:
    """One inbox line before its details: a duplicate group and what ranks it."""

    dup_key: str
    rank: int
    last: str | None
    first: str | None
    reports: int
    crashes: int
    review: int = 0                    # flagged for review (``dup_groups.needs_review``): after the confident ones
    ids: list[int] | None = None       # its reports (None: all of the group's, read when needed)


def query(db: sqlite_utils.Database, flt: InboxFilter, now: datetime | None = None) -> list[InboxItem]:
    """The inbox lines for ``flt``, worst first (at most ``flt.limit``; 0: all)."""
    now = now or utcnow()
    ranks = rank_table(db)
    found = groups(db, flt, now, ranks)
    if flt.limit > 0:
        found = itertools.islice(found, flt.limit)
    return [item(db, g, now, ranks) for g in found]


def groups(db: sqlite_utils.Database, flt: InboxFilter, now: datetime | None = None,
           ranks: dict[int, str] | None = None) -> Iterator[Group]:
    """The groups of ``flt``, worst first, read as they are consumed (``flt.limit`` is not applied): a caller
    that needs the first few pays for those (``item`` gives each its details).

    Without an area they come from the stored rows in the order of an index; groups a writer left marked are
    computed from their reports and merged in by SQLite (``group_stats``). With an area, only the reports in it
    count, so groups are aggregated from them (``_area_groups``).
    """
    now = now or utcnow()
    ranks = ranks if ranks is not None else rank_table(db)
    if flt.subsystems and not flt.addresses:
        yield from _subsystem_groups(db, flt, ranks, now)
        return
    if flt.addresses:
        yield from _area_groups(db, flt, ranks, now)
        return
    where, params = _stored_conditions(db, flt, ranks, now)
    for row in db.execute(f"{_stored_source(where, ordered=True)} ORDER BY {ORDER}", params):
        yield Group(*row)


def count(db: sqlite_utils.Database, flt: InboxFilter, now: datetime | None = None) -> int:
    """How many lines ``flt`` gives without its limit (``50 of 255 shown``).

    Without dates, area or ``open_only``, from the stored counts of each class of group (``group_counts``: label,
    awake, closed), corrected on the few groups the classes cannot say for sure: those whose snooze may be over,
    those a mail closes or reopens, and those marked dirty. Otherwise the matching groups are counted."""
    now = now or utcnow()
    ranks = rank_table(db)
    if flt.subsystems and not flt.addresses:
        sql, params = _subsystem_count_sql(db, flt, ranks, now, open_column=False)
        return int(db.execute(sql, params).fetchone()[0])
    if flt.addresses:
        return len(_area_groups(db, replace(flt, limit=0), ranks, now))
    where, params = _stored_conditions(db, flt, ranks, now)
    if flt.since or flt.first_since or flt.last_before or flt.open_only:
        return int(db.execute(f"SELECT COUNT(*) FROM ({_stored_source(where)})", params).fetchone()[0])
    approx = [f"label_rank IN ({','.join(map(str, _wanted(flt, ranks))) or 'NULL'})"]
    if not flt.include_all:
        approx.append(f"{AWAKE} = 1")
    if not flt.include_closed:
        approx.append(f"{STATUS_CLOSED} = 0")
    classes = " AND ".join(approx).replace(AWAKE, "awake").replace(STATUS_CLOSED, "closed")
    total = db.execute(f"SELECT COALESCE(SUM(n), 0) FROM group_counts WHERE {classes}").fetchone()[0]
    # the groups the classes may misjudge (few): the exact condition decides for them, read by key
    params.setdefault("closed", "[]")
    params.setdefault("reopened", "[]")
    unsure = [k for (k,) in db.execute(
        "SELECT dup_key FROM dup_groups INDEXED BY dup_groups_wake WHERE muted = 0 AND unsnoozed = 0 "
        "AND wake_at <= :now UNION SELECT value FROM json_each(:closed) UNION SELECT value FROM json_each(:reopened) "
        "UNION SELECT dup_key FROM dirty_groups", params)]
    if not unsure:
        return int(total)
    params["unsure"] = json.dumps(unsure)
    by_key = "FROM json_each(:unsure) k CROSS JOIN dup_groups g ON g.dup_key = k.value"
    stored = db.execute(f"SELECT COUNT(*) {by_key} WHERE {' AND '.join(approx)}", params).fetchone()[0]
    exact = db.execute(f"SELECT COUNT(*) {by_key} WHERE g.dup_key NOT IN (SELECT dup_key FROM dirty_groups) "
                       f"AND {where}", params).fetchone()[0]
    exact += db.execute(f"SELECT COUNT(*) FROM dirty_group_stats WHERE {where}", params).fetchone()[0]
    return int(total - stored + exact)


def count_closed(db: sqlite_utils.Database, flt: InboxFilter, now: datetime | None = None) -> tuple[int, int]:
    """How many lines a subsystem filter gives without its limit, and how many more ``include_closed`` would
    give (``count`` of both), in one pass over the area's rows."""
    sql, params = _subsystem_count_sql(db, replace(flt, include_closed=True), rank_table(db), now or utcnow(),
                                       open_column=True)
    total, shown = db.execute(sql, params).fetchone()
    return int(shown or 0), int(total - (shown or 0))


# a group's class in ``group_counts`` (the same expressions as migration 11's triggers)
AWAKE = "(muted = 0 AND unsnoozed > 0)"
STATUS_CLOSED = "(COALESCE(bug_status, '') IN ('fixed', 'dup', 'invalid'))"


def _wanted(flt: InboxFilter, ranks: dict[int, str]) -> list[int]:
    """The label ranks ``flt`` shows."""
    if not flt.labels:
        return sorted(ranks)
    by_label = {label: rank for rank, label in ranks.items()}
    return sorted(by_label[lab] for lab in flt.labels if lab in by_label)


def _closed(db: sqlite_utils.Database, params: dict, max_status: str) -> str:
    """The condition leaving out groups whose bug is closed (``triage.status``: syzbot's status, ``max_status``
    over the group's bugs, unless a newer mail reopened it; or a newer mail closed it) and the lines of superseded
    syzbot ci findings."""
    closed, reopened = closed_overrides(db)
    closed += superseded_groups(db)
    params["closed"], params["reopened"] = json.dumps(closed), json.dumps(reopened)
    return ("NOT (dup_key IN (SELECT value FROM json_each(:closed)) OR "
            f"(COALESCE({max_status}, '') IN {CLOSED_SQL} "
            "AND dup_key NOT IN (SELECT value FROM json_each(:reopened))))")


def _stored_conditions(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], now: datetime
                       ) -> tuple[str, dict]:
    """The filter as conditions on ``dup_groups`` columns."""
    params: dict = {"now": stamp(now)}
    conds = []
    if not flt.include_all:
        conds.append("muted = 0 AND (unsnoozed > 0 OR wake_at <= :now)")       # wake_at NULL: no snooze
    for name, value, cond in (("since", flt.since, "last_reported >= :since"),
                              ("first_since", flt.first_since, "first_reported >= :first_since"),
                              ("last_before", flt.last_before, "last_reported < :last_before")):
        if value:
            params[name] = stamp(value)
            conds.append(cond)
    if flt.open_only:
        conds.append("closed = 0")
    if not flt.include_closed:
        conds.append(_closed(db, params, "bug_status"))
    if flt.labels:
        conds.append(f"label_rank IN ({','.join(map(str, _wanted(flt, ranks))) or 'NULL'})")
    return " AND ".join(conds) or "1", params


def _stored_source(where: str, ordered: bool = False) -> str:
    """The stored groups meeting ``where``, and the groups marked dirty computed now (a compound SELECT: with an
    ORDER BY, SQLite merges its two sides, each read in order; ``ordered``: the stored side through the rank
    index, so the first lines come without reading the rest)."""
    index = " INDEXED BY dup_groups_rank" if ordered else ""
    return (f"SELECT {GROUP_COLS} FROM dup_groups{index} WHERE {where} "
            f"AND dup_key NOT IN (SELECT dup_key FROM dirty_groups) "
            f"UNION ALL SELECT {GROUP_COLS} FROM dirty_group_stats WHERE {where}")


def _subsystem_groups(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], now: datetime
                      ) -> Iterator[Group]:
    """The groups of a subsystem filter, aggregated over the area's stored rows (``group_areas``: one per group
    and subsystems list), worst first. With a limit, one label rank at a time, from the rows carrying that rank
    (an index lookup), stopping once the limit is reached; each group's area reports are read as it is yielded."""
    wanted = _wanted(flt, ranks)
    if flt.limit <= 0:
        sql, params = _subsystem_sql(db, flt, ranks, now, None)
        rows = db.execute(f"{sql} ORDER BY grank, review, last DESC, crashes DESC, dup_key", params).fetchall()
    else:
        rows = []
        for rank in wanted:
            sql, params = _subsystem_sql(db, flt, ranks, now, rank)
            rows += db.execute(f"{sql} ORDER BY review, last DESC, crashes DESC, dup_key", params).fetchall()
            if len(rows) >= flt.limit:
                break
    for key, grank, last, first, n, crashes, review in rows:
        yield Group(key, grank, last, first, n, crashes, review, _area_members(db, flt, key))


# A group with one stored row (``parts = 1``: most) is read from that row, in any area that holds it, without
# grouping: all of the area's such rows, or those carrying one label rank (by index). The groups with several rows
# (few: their reports' subsystems differ) and those a writer left marked (computed now) are aggregated.
_SINGLE_ROWS = """
    SELECT a.* FROM area ir CROSS JOIN group_areas a ON a.subsystems = ir.subsystems
    WHERE a.parts = 1 AND a.dup_key NOT IN (SELECT dup_key FROM dirty_groups)"""
_SINGLE_RANK_ROWS = """
    SELECT a.* FROM area ir CROSS JOIN group_areas a INDEXED BY group_areas_rank
      ON a.subsystems = ir.subsystems AND a.best_rank = {rank}
    WHERE a.human_rank IS NULL AND a.parts = 1 AND a.dup_key NOT IN (SELECT dup_key FROM dirty_groups)
    UNION ALL
    SELECT a.* FROM area ir CROSS JOIN group_areas a INDEXED BY group_areas_human
      ON a.subsystems = ir.subsystems AND a.human_rank = {rank}
    WHERE a.parts = 1 AND a.dup_key NOT IN (SELECT dup_key FROM dirty_groups)"""
_MULTI_ROWS = """
    SELECT a.* FROM group_areas a INDEXED BY group_areas_parts
    WHERE a.parts > 1 AND a.subsystems IN (SELECT subsystems FROM area)
      AND a.dup_key NOT IN (SELECT dup_key FROM dirty_groups)
    UNION ALL SELECT * FROM dirty_group_areas ir WHERE {area}"""


def _area_conditions(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], params: dict,
                     rank: int | None, grouped: bool = True) -> list[str]:
    """The filter as conditions on a group's area rows: aggregated (``grouped``, a HAVING), or on its one row."""
    agg = (lambda f, c: f"{f}({c})") if grouped else (lambda f, c: c)
    grank = "grank" if grouped else "COALESCE(human_rank, best_rank)"
    conds = [f"{grank} IN ({','.join(map(str, _wanted(flt, ranks))) or 'NULL'})" if rank is None else
             f"{grank} = {rank}"]
    if not flt.include_all:
        conds.append(f"{agg('SUM', 'muted')} = 0 "
                     f"AND ({agg('SUM', 'unsnoozed')} > 0 OR {agg('MIN', 'wake_at')} <= :now)")
    for name, value, cond in (("since", flt.since, f"{agg('MAX', 'last_reported')} >= :since"),
                              ("first_since", flt.first_since, f"{agg('MIN', 'first_reported')} >= :first_since"),
                              ("last_before", flt.last_before, f"{agg('MAX', 'last_reported')} < :last_before")):
        if value:
            params[name] = stamp(value)
            conds.append(cond)
    if flt.open_only:
        conds.append(f"{agg('SUM', 'closed')} = 0")
    if not flt.include_closed:
        conds.append(_closed(db, params, agg("MAX", "bug_status")))
    return conds


def _subsystem_count_sql(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], now: datetime,
                         open_column: bool) -> tuple[str, dict]:
    """SQL counting the groups of a subsystem filter (and, with ``open_column``, those whose bug is not closed).
    A group with one stored row (``parts = 1``: most) is judged on that row, without grouping; the others and
    the marked groups are aggregated as ``_subsystem_sql`` does."""
    params: dict = {"now": stamp(now)}
    area = area_sql(replace(flt, addresses=[]), params)
    single = " AND ".join(_area_conditions(db, flt, ranks, params, None, grouped=False))
    having = " AND ".join(_area_conditions(db, flt, ranks, params, None))
    open_single = _closed(db, params, "bug_status") if open_column else "0"
    open_multi = _closed(db, params, "MAX(bug_status)") if open_column else "0"
    sql = f"""WITH area(subsystems) AS (SELECT subsystems FROM area_sets ir WHERE {area})
        SELECT COUNT(*), SUM(still_open) FROM (
            SELECT dup_key, 0, {open_single} AS still_open FROM ({_SINGLE_ROWS}) WHERE {single}
            UNION ALL
            SELECT dup_key, COALESCE(MIN(human_rank), MIN(best_rank)) AS grank, {open_multi}
            FROM ({_MULTI_ROWS.format(area=area)}) GROUP BY dup_key HAVING {having})"""
    return sql, params


def _subsystem_sql(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], now: datetime,
                   rank: int | None) -> tuple[str, dict]:
    """SQL of the groups of a subsystem filter (``GROUP_COLS``, as ``_groups`` aggregates them over the area's
    reports) from the area's stored rows; with ``rank``, only the groups of that label rank."""
    params: dict = {"now": stamp(now)}
    area = area_sql(replace(flt, addresses=[]), params)
    single = " AND ".join(_area_conditions(db, flt, ranks, params, rank, grouped=False))
    having = " AND ".join(_area_conditions(db, flt, ranks, params, rank))
    singles = _SINGLE_RANK_ROWS.format(rank=rank) if rank is not None else _SINGLE_ROWS
    sql = f"""WITH area(subsystems) AS (SELECT subsystems FROM area_sets ir WHERE {area})
        SELECT dup_key, COALESCE(human_rank, best_rank) AS grank, last_reported AS last, first_reported AS first,
               reports AS n, MAX(max_crashes, reports) AS crashes,
               (human_rank IS NULL AND COALESCE(review_rank = best_rank, 0)) AS review
        FROM ({singles}) WHERE {single}
        UNION ALL
        SELECT dup_key, COALESCE(MIN(human_rank), MIN(best_rank)) AS grank, MAX(last_reported), MIN(first_reported),
               SUM(reports), MAX(MAX(max_crashes), SUM(reports)),
               (MIN(human_rank) IS NULL AND COALESCE(MIN(review_rank) = MIN(best_rank), 0))
        FROM ({_MULTI_ROWS.format(area=area)}) GROUP BY dup_key HAVING {having}"""
    return sql, params


def _area_members(db: sqlite_utils.Database, flt: InboxFilter, key: str) -> list[int]:
    """The ids of the reports of group ``key`` in the filter's area."""
    ids = members(db, key)
    params: dict = {}
    area = area_sql(flt, params)
    marks = ",".join(str(int(i)) for i in ids)
    return [r for (r,) in db.execute(f"SELECT report_id FROM inbox_reports ir WHERE report_id IN ({marks}) AND {area} "
                                     "ORDER BY report_id", params)]


def _area_groups(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], now: datetime
                 ) -> list[Group]:
    """The groups of the reports in the filter's area, aggregated over those reports only, worst first.

    With a limit, groups are gathered one label rank at a time, worst first, from the reports that carry
    that label (an index lookup), and the walk stops once the limit is reached: severe labels are rare,
    so the inbox rarely has to aggregate the whole store.
    """
    wanted, params, having, where = _conditions(db, flt, ranks, now)
    if flt.limit <= 0:
        having.append(f"grank IN ({','.join(map(str, wanted)) or 'NULL'})")
        rows = _groups(db, where, having, params, None)
    else:
        rows = []
        for rank in wanted:
            rows += _groups(db, where, [*having, f"grank = {rank}"], {**params, "label": ranks[rank]},
                            _candidates(ranks[rank]))
            if len(rows) >= flt.limit:
                break
    return [Group(key, grank, last, first, n, crashes, review, [int(i) for i in ids.split(",")])
            for key, grank, last, first, n, crashes, review, ids in rows]


def _conditions(db: sqlite_utils.Database, flt: InboxFilter, ranks: dict[int, str], now: datetime
                ) -> tuple[list[int], dict, list[str], str]:
    """The label ranks wanted, the parameters, the per-group HAVING conditions and the per-report WHERE."""
    by_label = {label: rank for rank, label in ranks.items()}
    wanted = sorted(by_label[lab] for lab in flt.labels if lab in by_label) if flt.labels else sorted(ranks)
    params: dict = {"now": stamp(now)}
    having = []
    if not flt.include_all:
        having.append("SUM(state = 'muted') = 0")
        having.append("SUM(state <> 'acked' AND (snooze_until IS NULL OR snooze_until <= :now)) > 0")
    for name, value, cond in (("since", flt.since, "MAX(reported_at) >= :since"),
                              ("first_since", flt.first_since, "MIN(reported_at) >= :first_since"),
                              ("last_before", flt.last_before, "MAX(reported_at) < :last_before")):
        if value:
            params[name] = stamp(value)
            having.append(cond)
    if flt.open_only:
        having.append("SUM(COALESCE(bug_status, 'open') NOT IN ('open', '')) = 0")
    if not flt.include_closed:
        having.append(_closed(db, params, "MAX(bug_status)"))
    return wanted, params, having, area_sql(flt, params)


def _candidates(label: str) -> str:
    """SQL for the ids of the reports whose effective label is ``:label`` (unknown labels count as other)."""
    if label == "unclassified":
        return "SELECT report_id FROM report_labels WHERE label IS NULL"
    unknown = " OR label NOT IN (SELECT label FROM label_ranks)" if label == "other" else ""
    return f"SELECT report_id FROM report_labels WHERE label = :label{unknown}"


# What ``inbox_reports`` says of a report, limited to the columns the ranking reads, through covering
# indexes: without planner statistics SQLite would fetch the (large) report rows by rowid instead.
DUP_KEY = "COALESCE(r.dup_key, 'report:' || r.id)"
ROWS = f"""
    SELECT r.id AS report_id, {DUP_KEY} AS dup_key,
           CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END AS label_source,
           CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END AS needs_review,
           COALESCE(lr.rank, 3) AS label_rank, COALESCE(v.state, 'new') AS state, v.snooze_until,
           r.reported_at, r.bug_extid, r.message_id,
           b.status AS bug_status, {BUG_CRASHES} AS num_crashes, {SUBSYSTEMS} AS subsystems
    FROM reports r INDEXED BY reports_group_cols
    LEFT JOIN verdicts h INDEXED BY verdicts_report_label ON h.report_id = r.id AND h.source = 'human'
    LEFT JOIN verdicts c INDEXED BY verdicts_report_label ON c.report_id = r.id AND c.source = 'combined'
    LEFT JOIN label_ranks lr ON lr.label = COALESCE(h.label, c.label, 'unclassified')
    LEFT JOIN reviews v ON v.report_id = r.id
    LEFT JOIN bugs b INDEXED BY bugs_inbox ON b.extid = r.bug_extid{BUG_COUNTS_JOIN}"""


def _groups(db: sqlite_utils.Database, where: str, having: list[str], params: dict, candidates: str | None
            ) -> list[tuple]:
    """Aggregate duplicate groups: all of them, or those holding one of the ``candidates`` reports."""
    scope = ""
    if candidates:
        # every member of the candidates' groups (one indexed key)
        scope = f"""
        WITH cand(id) AS ({candidates}),
        keys(k) AS (SELECT DISTINCT {DUP_KEY} FROM cand JOIN reports r INDEXED BY reports_group_cols ON r.id = cand.id),
        members(id) AS (
            SELECT id FROM cand
            UNION SELECT r.id FROM reports r INDEXED BY reports_dup_key WHERE r.dup_key IN (SELECT k FROM keys))"""
        where = f"ir.report_id IN (SELECT id FROM members) AND ir.dup_key IN (SELECT k FROM keys) AND {where}"
    sql = f"""{scope}
        SELECT dup_key, {GROUP_RANK} AS grank, MAX(reported_at) AS last, MIN(reported_at) AS first, COUNT(*) AS n,
               MAX(COALESCE(MAX(num_crashes), 0), COUNT(*)) AS crashes, {GROUP_REVIEW} AS review,
               GROUP_CONCAT(report_id) AS ids
        FROM ({ROWS}) ir
        WHERE {where}
        GROUP BY dup_key
        {"HAVING " + " AND ".join(having) if having else ""}
        ORDER BY grank, review, last DESC, crashes DESC, dup_key"""
    return db.execute(sql, params).fetchall()


_MEMBER_COLS = ("report_id", "title", "label", "confidence", "needs_review", "label_source", "label_rank", "state",
                "snooze_until", "seen_at", "reported_at", "bug_extid", "message_id", "bug_status",
                "subsystems", "repro", "bug_link")


def item(db: sqlite_utils.Database, group: Group, now: datetime, ranks: dict[int, str] | None = None) -> InboxItem:
    """The inbox line of ``group``: its representative report, title, status, replies and latest run."""
    ranks = ranks if ranks is not None else rank_table(db)
    grank, last, first, n, crashes = group.rank, group.last, group.first, group.reports, group.crashes
    ids = group.ids if group.ids is not None else members(db, group.dup_key)
    marks = ",".join("?" * len(ids))
    rows = [dict(zip(_MEMBER_COLS, r, strict=True)) for r in db.execute(
        f"SELECT {', '.join(_MEMBER_COLS)} FROM inbox_reports WHERE report_id IN ({marks})", ids)]
    bugs = sorted({r["bug_extid"] for r in rows if r["bug_extid"]})
    mails = _mails(db, rows)
    title = group_title(db, rows, bugs, mails)
    # the representative, whose ID the line gives: the member that carries the group's label (human first), is
    # the crash the line's title names, and is an original report rather than a reply's quote; the most recent
    named = base_title(title)
    rows.sort(key=lambda r: r["reported_at"] or "", reverse=True)
    rows.sort(key=lambda r: (r["label_rank"] != grank, r["label_source"] != "human",
                             base_title(r["title"]) != named, not _original(mails, r)))
    rep = rows[0]
    label = ranks.get(grank, rep["label"])
    flagged = _flagging(rows, rep, label) if group.review else None
    mids = sorted({r["message_id"] for r in rows if r["message_id"]})
    seen = max((r["seen_at"] for r in rows if r["seen_at"]), default="")
    status = bug_status(db, bugs, mids)
    return InboxItem(
        id=rep["report_id"], label=label, confidence=rep["confidence"],
        needs_review=bool(group.review), label_source=rep["label_source"],
        title=title, subsystems=subsystems_of(rep["subsystems"]),
        reported_at=last, first_reported_at=first, age=age(last, now), crashes=int(crashes), duplicates=int(n),
        repro=next((r["repro"] for r in rows if r["repro"]), None), repro_run=_repro_run(db, ids),
        new_replies=new_replies(db, bugs, mids, seen), state=_group_state(rows), snooze_until=rep["snooze_until"],
        bug_extid=bugs[0] if bugs else None, bug_status=rep["bug_status"],
        status=status.status if status else None, status_detail=status.detail if status else "",
        link=rep["bug_link"], report_ids=ids,
        suspected=_suspected(db, flagged["report_id"], label) if flagged else None,
        flagged_id=flagged["report_id"] if flagged else None,
    )


def _flagging(rows: list[dict], rep: dict, label: str) -> dict | None:
    """The member whose verdict flags a flagged line for review (``rows``: its members, ``rep``: the one it shows,
    ``label``: its label): the shown one when it is flagged, else the most recent flagged one at that label."""
    flagged = rep if rep["needs_review"] else next(
        (r for r in sorted(rows, key=lambda r: r["reported_at"] or "", reverse=True)
         if r["needs_review"] and r["label"] == label), None)
    return flagged if flagged is not None and flagged["label_source"] != "human" else None


def _suspected(db: sqlite_utils.Database, report_id: int, label: str) -> str | None:
    """The label the classifier's model prefers for a flagged line (``label``), read from the verdict of the member
    that flags it (``report_id``, ``_flagging``): the model's suggestion, else its first label; None when that is
    the line's label or a rule ruled it out."""
    row = db.execute("SELECT evidence FROM verdicts WHERE report_id = ? AND source = 'combined'",
                     [report_id]).fetchone()
    try:
        ev = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        return None
    if not isinstance(ev, dict):
        return None
    part = ev.get("suggestion") or ev.get("model")
    found = part.get("label") if isinstance(part, dict) else None
    excluded = ev.get("excluded")
    ruled_out = excluded.get("label") if isinstance(excluded, dict) else None
    return found if isinstance(found, str) and found not in (label, ruled_out) else None


def _mails(db: sqlite_utils.Database, rows: list[dict]) -> dict[str, tuple[str, str]]:
    """The subject and author of the mail of each member report (``rows``) that came from one."""
    mids = [r["message_id"] for r in rows if r["message_id"]]
    if not mids:
        return {}
    marks = ",".join("?" * len(mids))
    return {m: (subj or "", author or "") for m, subj, author in db.execute(
        f"SELECT message_id, subject, author_email FROM messages WHERE message_id IN ({marks})", mids)}


def _original(mails: dict[str, tuple[str, str]], r: dict) -> bool:
    """Whether report ``r`` is an original report, not a reply's quote: its mail is not a ``Re:``, or is syzbot's."""
    from triage.store.messages import is_reply_subject, is_syzbot

    subj, author = mails.get(r["message_id"], ("", ""))
    return not is_reply_subject(subj) or is_syzbot(author)


def group_title(db: sqlite_utils.Database, rows: list[dict], bugs: list[str],
                mails: dict[str, tuple[str, str]] | None = None) -> str:
    """The syzbot bug's title when the bug is known (synced, or named by syzbot's own report mail), else the title
    of the group's earliest original report (``_original``), else of the earliest (``mails``: ``_mails(rows)``)."""
    from triage.store.messages import is_reply_subject, is_syzbot

    if bugs:
        marks = ",".join("?" * len(bugs))
        row = db.execute(f"SELECT title FROM bugs WHERE extid IN ({marks}) AND title IS NOT NULL AND title != '' "
                         "ORDER BY status = 'open' DESC, updated_at DESC LIMIT 1", bugs).fetchone()
        if row:
            return row[0]
    mails = _mails(db, rows) if mails is None else mails

    def syzbot_report(r: dict) -> bool:        # syzbot's own report mail of the bug: it carries syzbot's title
        subj, author = mails.get(r["message_id"], ("", ""))
        return r["bug_extid"] in bugs and is_syzbot(author) and not is_reply_subject(subj)

    ordered = sorted(rows, key=lambda r: (r["reported_at"] or "9999", r["report_id"]))
    first = next((r for r in ordered if syzbot_report(r)), None) or next(
        (r for r in ordered if _original(mails, r)), ordered[0])
    return first["title"] or ""


def _group_state(rows: list[dict]) -> str:
    states = {r["state"] for r in rows}
    for state in ("muted", "new", "seen", "acked"):
        if state in states:
            return state
    return "new"


def thread_message_ids_sql(bugs: list[str], mids: list[str]) -> tuple[str, list]:
    """SQL condition on ``m`` selecting the messages of the threads about these bugs / report mails."""
    conds, params = [], []
    if bugs:
        bm = ",".join("?" * len(bugs))
        conds.append(f"m.bug_extid IN ({bm})")
        conds.append(f"m.thread_id IN (SELECT thread_id FROM threads WHERE bug_extid IN ({bm}))")
        params += bugs + bugs
    if mids:
        mm = ",".join("?" * len(mids))
        conds.append(f"m.thread_id IN (SELECT thread_id FROM messages WHERE message_id IN ({mm}))")
        conds.append(f"m.message_id IN ({mm})")
        params += mids + mids
    return ("(" + " OR ".join(conds) + ")" if conds else "0"), params


def bug_threads_sql(bugs: list[str]) -> tuple[str, list]:
    """SQL condition on ``m`` selecting the messages of the threads about these bugs that are not a patch's (a
    patch series that names a bug in its trailers is not the report's thread): a synced report's own threads."""
    if not bugs:
        return "0", []
    bm = ",".join("?" * len(bugs))
    return (f"m.thread_id IN (SELECT t.thread_id FROM threads t LEFT JOIN messages root ON root.message_id = "
            f"t.thread_id WHERE t.bug_extid IN ({bm}) AND root.patch_subject IS NULL)", list(bugs))


def replies_to(db: sqlite_utils.Database, mids: list[str]) -> list[str]:
    """The replies to the report mails ``mids``: every other message of the thread a report mail starts; under a
    report mail inside a thread, the messages below it (by parent, ``In-Reply-To`` or ``References``, at any depth).
    A report posted in a patch series' thread (a robot's or syzbot ci's reply to the cover letter) has the series'
    patches and reviews beside it, not under it."""
    if not mids:
        return []
    marks = ",".join("?" * len(mids))
    rows = db.execute(f"SELECT {', '.join(THREAD_LINKS)} FROM messages WHERE thread_id IN "
                      f"(SELECT thread_id FROM messages WHERE message_id IN ({marks}))", mids).fetchall()
    return replies_in(rows, mids)


THREAD_LINKS = ("message_id", "thread_id", "parent_id", "in_reply_to", "refs")    # what ``replies_in`` reads


def replies_in(rows: list[tuple], mids: list[str]) -> list[str]:
    """``replies_to`` over ``rows``, the ``THREAD_LINKS`` of (at least) every message of the report mails' threads."""
    reports = set(mids)
    roots = {thread for mid, thread, *_ in rows if mid in reports and mid == thread}
    inner = reports - roots                # report mails that are replies in a thread
    found: dict[str, None] = {mid: None for mid, thread, *_ in rows if thread in roots and mid not in reports}
    if inner:
        children: dict[str, set[str]] = {}
        for mid, _, parent, reply_to, refs in rows:
            for up in {parent, reply_to, *_refs(refs)} - {None, mid}:
                children.setdefault(up, set()).add(mid)
        todo = list(inner)
        while todo:
            for kid in children.get(todo.pop(), ()):
                if kid not in found and kid not in reports:
                    found[kid] = None
                    todo.append(kid)
    return list(found)


def _refs(raw: str | None) -> list[str]:
    """A ``messages.refs`` value (a JSON list of message-ids) as a list; anything else as none."""
    try:
        refs = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []


def new_replies(db: sqlite_utils.Database, bugs: list[str], mids: list[str], seen_at: str) -> int:
    """Replies to the report dated after ``seen_at``, the user's own excluded: those under its mails
    (``replies_to``), else (a report synced from syzbot) the messages of the threads about its bugs."""
    from triage.store.messages import OUTGOING

    if mids:
        replies = replies_to(db, mids)
        if not replies:
            return 0
        cond, params = "m.message_id IN (SELECT value FROM json_each(?))", [json.dumps(replies)]
    else:
        cond, params = bug_threads_sql(bugs)
        if cond == "0":
            return 0
    row = db.execute(f"SELECT COUNT(*) FROM messages m WHERE {cond} AND COALESCE(m.date, '') > ? "
                     "AND COALESCE(m.source, '') <> ?", [*params, seen_at or "", OUTGOING]).fetchone()
    return int(row[0])


def _repro_run(db: sqlite_utils.Database, ids: list[int]) -> str | None:
    marks = ",".join("?" * len(ids))
    row = db.execute(f"SELECT outcome, scenario, variant FROM repro_runs WHERE report_id IN ({marks}) "
                     "ORDER BY created_at DESC, id DESC LIMIT 1", ids).fetchone()
    if not row:
        return None
    outcome, scenario, variant = row
    return f"{outcome} ({scenario}{'/' + variant if variant else ''})"
