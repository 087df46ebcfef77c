"""The stored group rows (``triage.store.groups``: ``report_labels``, ``dup_groups``) equal what the views they
replaced computed from the reports, after any sequence of the writes that change them: imports (files, mails whose
thread names a bug), classification and re-classification, human labels, ack / mute / snooze / unack / seen,
reproducer runs and bug syncs. And the inbox reads the same groups, in the same order, as the aggregation over
every report does (``inbox._groups``, what the inbox ran before), whether or not a writer settled the groups it
touched."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import timedelta

import pytest
from test_inbox_data import NOW, iso, repro_run, synthetic, verdict

from records import Bug, MailBytes
from triage.classify_store import classify_reports, reclassify
from triage.inbox import (
    AWAKE,
    STATUS_CLOSED,
    InboxFilter,
    _area_groups,
    _conditions,
    _groups,
    count,
    count_closed,
    groups,
    rank_table,
)
from triage.pipeline import Pipeline, store_text
from triage.review import mark_seen, set_label, set_state, snooze
from triage.status import CLOSED
from triage.store import groups as stored

# What the views of migrations 4 to 7 computed, from the base tables.
OLD_LABELS = """
    SELECT r.id AS report_id, COALESCE(h.label, c.label) AS label, COALESCE(h.confidence, c.confidence) AS confidence,
           CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END AS needs_review,
           CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END AS source
    FROM reports r
    LEFT JOIN verdicts h ON h.report_id = r.id AND h.source = 'human'
    LEFT JOIN verdicts c ON c.report_id = r.id AND c.source = 'combined'"""
OLD_GROUPS = "SELECT r.id AS report_id, COALESCE(r.dup_key, 'report:' || r.id) AS dup_key FROM reports r"
OLD_INBOX_REPORTS = f"""
    SELECT r.id AS report_id, g.dup_key, COALESCE(l.label, 'unclassified') AS label, l.needs_review,
           l.source AS label_source, COALESCE(lr.rank, 3) AS label_rank, COALESCE(v.state, 'new') AS state,
           v.snooze_until, r.reported_at, r.bug_extid, b.status AS bug_status, b.num_crashes
    FROM reports r JOIN ({OLD_GROUPS}) g ON g.report_id = r.id
    LEFT JOIN ({OLD_LABELS}) l ON l.report_id = r.id
    LEFT JOIN label_ranks lr ON lr.label = COALESCE(l.label, 'unclassified')
    LEFT JOIN reviews v ON v.report_id = r.id
    LEFT JOIN bugs b ON b.extid = r.bug_extid"""
OLD_INBOX_GROUPS = f"""
    SELECT g.*, lr.label FROM (
        SELECT dup_key, MIN(report_id) AS first_report, COUNT(*) AS reports,
               COALESCE(MIN(CASE WHEN label_source = 'human' THEN label_rank END), MIN(label_rank)) AS label_rank,
               MAX(reported_at) AS last_reported, MAX(COALESCE(MAX(num_crashes), 0), COUNT(*)) AS crashes,
               MAX(bug_extid) AS bug_extid,
               COALESCE(MAX(label_source = 'human'), 0) = 0 AND COALESCE(
                   MIN(CASE WHEN needs_review THEN label_rank END) = MIN(label_rank), 0) AS needs_review,
               SUM(state = 'muted') = 0 AND SUM(state <> 'acked' AND (snooze_until IS NULL
                   OR snooze_until <= :now)) > 0 AS visible
        FROM ({OLD_INBOX_REPORTS}) GROUP BY dup_key
    ) g LEFT JOIN label_ranks lr ON lr.rank = g.label_rank"""
FILTERS = {
    "default": {}, "all": {"include_all": True}, "open": {"include_all": True, "open_only": True},
    "closed too": {"include_closed": True},
    "recent": {"include_all": True, "first_since": NOW - timedelta(days=5)},
    "quiet": {"include_all": True, "last_before": NOW - timedelta(days=5)},
    "since": {"since": NOW - timedelta(days=3)},
    "labels": {"include_all": True, "labels": ["data-loss", "other"]},
    # a subsystem filter adds up the area's stored rows (group_areas): each report counted once
    "ext4": {"subsystems": ["ext4"]},
    "ext4 or xfs, all": {"include_all": True, "include_closed": True, "subsystems": ["ext4", "xfs"]},
    "ext4, open": {"include_all": True, "open_only": True, "subsystems": ["ext4"]},
    "xfs or mm, recent": {"include_all": True, "subsystems": ["xfs", "mm"], "first_since": NOW - timedelta(days=8)},
    "ext4, quiet, labels": {"subsystems": ["ext4"], "last_before": NOW - timedelta(days=3),
                            "labels": ["other", "unclassified"]},
}


def old_inbox(db, flt: InboxFilter) -> list[tuple]:
    """The groups of ``flt`` aggregated over every report (no stored row read)."""
    ranks = rank_table(db)
    wanted, params, having, where = _conditions(db, flt, ranks, NOW)
    having.append(f"grank IN ({','.join(map(str, wanted)) or 'NULL'})")
    rows = _groups(db, where, having, params, None)
    return sorted((tuple(r[:7]) for r in rows), key=lambda r: (r[1], r[6], _desc(r[2]), -r[5], r[0]))


def old_area(db, flt: InboxFilter) -> list[tuple]:
    """The groups of a subsystem filter aggregated over the area's reports, with their area reports."""
    return [(g.dup_key, g.rank, g.last, g.first, g.reports, g.crashes, g.review, sorted(g.ids))
            for g in _area_groups(db, flt, rank_table(db), NOW)]


def _desc(value: str | None) -> tuple:
    """A key sorting ISO timestamps latest first, NULL last (SQLite's DESC)."""
    return (value is None, tuple(-ord(c) for c in value or ""))


def assert_groups_as_the_old_views(db) -> None:
    assert sorted(db.execute("SELECT * FROM report_labels").fetchall()) == sorted(db.execute(OLD_LABELS).fetchall())
    new = db.execute("SELECT dup_key, first_report, reports, label_rank, last_reported, crashes, bug_extid, "
                     "needs_review, visible FROM inbox_groups "
                     "ORDER BY dup_key", {"now": iso()}).fetchall()
    old = db.execute(f"SELECT dup_key, first_report, reports, label_rank, last_reported, crashes, bug_extid, "
                     f"needs_review, visible FROM ({OLD_INBOX_GROUPS}) ORDER BY dup_key", {"now": iso()}).fetchall()
    assert new == old
    for name, kw in FILTERS.items():
        flt = InboxFilter(limit=0, **kw)
        got = [(g.dup_key, g.rank, g.last, g.first, g.reports, g.crashes, g.review) for g in groups(db, flt, NOW)]
        assert got == old_inbox(db, flt), name
        assert count(db, flt, NOW) == len(got), name        # from the class counts, corrected
        if flt.subsystems:                                  # the first lines, walked one label rank at a time
            if not flt.include_closed:
                closed = count(db, replace(flt, include_closed=True), NOW) - len(got)
                assert count_closed(db, flt, NOW) == (len(got), closed), name
            first = [(g.dup_key, g.rank, g.last, g.first, g.reports, g.crashes, g.review, g.ids)
                     for g in itertools.islice(groups(db, replace(flt, limit=3), NOW), 3)]
            assert first == old_area(db, replace(flt, limit=3))[:3], name
    counted = db.execute("SELECT label_rank, awake, closed, n FROM group_counts WHERE n != 0 ORDER BY 1, 2, 3")
    assert counted.fetchall() == db.execute(
        f"SELECT label_rank, {AWAKE}, {STATUS_CLOSED}, COUNT(*) FROM dup_groups GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ).fetchall()


FUNCS = ["ext4_writepages", "xfs_bmap", "btrfs_evict", "f2fs_gc", "nilfs_segctor"]
BUGS = ["aaaa0001", "bbbb0002", "cccc0003"]


class Store:
    """A store and the writes a maintainer's tools make, chosen at random."""

    def __init__(self, db, rng: random.Random):
        self.db, self.rng, self.n = db, rng, 0

    def ids(self) -> list[int]:
        return [r for (r,) in self.db.execute("SELECT id FROM reports")]

    def pick(self, k: int = 1) -> list[int]:
        ids = self.ids()
        return self.rng.sample(ids, min(k, len(ids))) if ids else []

    def import_file(self) -> None:
        self.n += 1
        text = synthetic(self.rng.choice(FUNCS), self.n)     # same function: same signature, another report
        store_text(self.db, text, kind="file", location=f"f{self.n}", reported_at=iso(self.rng.randrange(12)),
                   bug_extid=self.rng.choice(BUGS + [None] * 4), classify=self.rng.random() < 0.5)

    def import_thread(self) -> None:
        """A report mail, then a reply naming a syzbot bug: threading gives the report that bug."""
        self.n += 1
        mid, func = f"r{self.n}@x", self.rng.choice(FUNCS)
        report = (f"From: Dev <dev@example.org>\nSubject: crash {self.n}\nMessage-ID: <{mid}>\n"
                  f"Date: {(NOW - timedelta(days=self.rng.randrange(12))):%a, %d %b %Y %H:%M:%S +0000}\n\n"
                  + synthetic(func, self.n))
        reply = (f"From: Maint <m@example.org>\nSubject: Re: crash {self.n}\nMessage-ID: <re{self.n}@x>\n"
                 f"In-Reply-To: <{mid}>\nDate: {NOW:%a, %d %b %Y %H:%M:%S +0000}\n\nthanks\n\n"
                 f"Reported-by: syzbot+{self.rng.choice(BUGS)}@syzkaller.appspotmail.com\n")
        Pipeline(self.db, classify=False).run([MailBytes(report.encode(), "eml", f"m{self.n}"),
                                               MailBytes(reply.encode(), "eml", f"re{self.n}")])

    def syz_command(self) -> None:
        """A maintainer's ``#syz`` command mailed about a bug: the mail's word on its status (``triage.status``)
        closes or reopens it for the inbox, over syzbot's stored status."""
        self.n += 1
        extid, verb = self.rng.choice(BUGS), self.rng.choice(["invalid", "undup", "fix: ext4: fix it"])
        mail = (f"From: Maint <m@example.org>\nSubject: Re: bug {extid}\nMessage-ID: <syz{self.n}@x>\n"
                f"Cc: syzbot+{extid}@syzkaller.appspotmail.com\n"
                f"Date: {(NOW + timedelta(minutes=self.n)):%a, %d %b %Y %H:%M:%S +0000}\n\n#syz {verb}\n")
        Pipeline(self.db, classify=False).run([MailBytes(mail.encode(), "eml", f"syz{self.n}")])

    def classify(self) -> None:
        classify_reports(self.db, self.pick(3))

    def reclassify(self) -> None:
        reclassify(self.db, everything=self.rng.random() < 0.5)

    def label(self) -> None:
        for rid in self.pick():
            set_label(self.db, rid, self.rng.choice(["data-loss", "other", "nofail-warning"]), who="t")

    def flag(self) -> None:
        """A verdict the model doubts (``needs_review``), or a confident one, then settled: the group's flag
        (what orders a label's lines) follows its members'."""
        for rid in self.pick(2):
            verdict(self.db, rid, self.rng.choice(["data-loss", "other", "nofail-warning"]),
                    needs_review=self.rng.random() < 0.7)
        stored.settle(self.db)

    def review(self) -> None:
        set_state(self.db, self.pick(2), self.rng.choice(["acked", "muted", "new", "seen"]), who="t")

    def snooze(self) -> None:
        until = NOW + timedelta(days=self.rng.choice([-2, 3]))       # one already over
        snooze(self.db, self.pick(), until, who="t")

    def show(self) -> None:
        for rid in self.pick():
            mark_seen(self.db, rid, who="t")

    def repro(self) -> None:
        for rid in self.pick():
            repro_run(self.db, rid, self.rng.choice(["deadlock", "ok"]))

    def bug_sync(self) -> None:
        extid = self.rng.choice(BUGS)
        fields = {"title": f"bug {extid}", "status": self.rng.choice(["open", "fixed", "invalid"]),
                  "num_crashes": self.rng.randrange(1, 30),
                  "subsystems": self.rng.choice(['["ext4"]', '["xfs", "mm"]', "[]"]),
                  "link": f"https://syzkaller.appspot.com/bug?extid={extid}"}
        Pipeline(self.db, classify=False).run([Bug(extid, extid, fields)])


OPS = [op for op in vars(Store) if not op.startswith("_") and op not in ("ids", "pick")]


@pytest.mark.parametrize("seed", range(4))
def test_after_any_writes_the_stored_groups_are_what_the_views_computed(db, seed):
    store = Store(db, random.Random(seed))
    for _ in range(6):
        store.import_file()
    assert_groups_as_the_old_views(db)
    for _ in range(40):
        op = store.rng.choice(OPS)
        getattr(store, op)()
        assert stored.dirty(db) == [], op          # every writer settled what it touched
        assert_groups_as_the_old_views(db)
    assert db.execute("SELECT COUNT(*) FROM reports WHERE bug_extid IS NOT NULL").fetchone()[0] > 0


def test_a_writer_that_leaves_groups_marked_is_read_right(db):
    """A script writing around the store's functions (verdicts, reviews, bugs by hand) marks groups without
    settling them: the inbox computes those from their reports."""
    store = Store(db, random.Random(7))
    for _ in range(12):
        store.import_file()
    rid = store.ids()[0]
    db.execute("INSERT INTO verdicts (report_id, source, label, confidence, needs_review, created_at) "
               "VALUES (?, 'human', 'data-loss', 1, 0, ?)", [rid, iso()])
    db.execute("UPDATE reviews SET state = 'muted' WHERE report_id = ?", [store.ids()[1]])
    db.execute("INSERT INTO bugs (extid, status, num_crashes) VALUES ('aaaa0001', 'fixed', 99)")
    for i, rid in enumerate(store.ids()):        # a group's reports in two subsystems lists: it has two area rows
        db.execute("UPDATE reports SET subsystems = ? WHERE id = ?", ['["xfs"]' if i % 2 else '["ext4"]', rid])
    assert stored.dirty(db)
    assert_groups_as_the_old_views(db)
    stored.settle(db)
    assert not stored.dirty(db)
    assert db.execute("SELECT COUNT(*) FROM group_areas WHERE parts > 1").fetchone()[0] > 0
    assert_groups_as_the_old_views(db)


def test_the_class_counts_close_the_bugs_the_inbox_closes():
    """``group_counts`` classes a group as closed with migration 11's own list of statuses: it must be the list
    ``triage.status`` closes (a new closed status needs a migration that re-counts)."""
    assert STATUS_CLOSED == "(COALESCE(bug_status, '') IN (" + ", ".join(f"'{s}'" for s in CLOSED) + "))"
