"""The inbox: ordering, duplicate folding, hiding by review state, replies, reproducer runs, filters."""

from __future__ import annotations

import json
from datetime import timedelta

from test_inbox_data import NOW, add, bug, labelled_text, message, repro_run, synthetic, verdict

from triage.inbox import ORDER, InboxFilter, count, query
from triage.review import set_label, set_state, snooze
from triage.show import details, render
from triage.store.groups import settle
from triage.subsystems import of_file


def _ids(db, **kw) -> list[int]:
    return [it.id for it in query(db, InboxFilter(**kw))]


def test_worst_first_then_recency_then_crashes(db):
    a = add(db, synthetic("nofail_fn"), "a", days_ago=0)
    b = add(db, synthetic("other_old"), "b", days_ago=5)
    c = add(db, synthetic("other_new"), "c", days_ago=1)
    d = add(db, synthetic("dataloss_fn"), "d", days_ago=30)
    e = add(db, synthetic("deadlock_fn"), "e", days_ago=2)
    f = add(db, synthetic("inject_fn"), "f", days_ago=2)
    g = add(db, synthetic("unlabelled_fn"), "g", days_ago=0)
    for rid, label in ((a, "nofail-warning"), (b, "other"), (c, "other"), (d, "data-loss"),
                       (e, "reclaim-deadlock"), (f, "fault-injection")):
        verdict(db, rid, label)
    assert _ids(db) == [d, e, f, c, b, g, a]
    # same label and same day: more crashes first
    h = add(db, synthetic("other_same_day", 1), "h", days_ago=1, bug="bugH")
    bug(db, "bugH", crashes=50)
    verdict(db, h, "other")
    db.execute("UPDATE reports SET reported_at = (SELECT reported_at FROM reports WHERE id = ?) WHERE id = ?", [c, h])
    order = _ids(db)
    assert order.index(h) < order.index(c)
    labels = [it.label for it in query(db, InboxFilter())]
    assert labels[0] == "data-loss" and labels[-1] == "nofail-warning" and "unclassified" in labels


def test_duplicates_fold_by_bug_and_by_signature(db):
    r1 = add(db, synthetic("ext4_dup", 1), "r1", days_ago=3, bug="bugA")
    r2 = add(db, synthetic("ext4_dup", 2), "r2", days_ago=1)            # same signature, no bug: folds via bugA
    r3 = add(db, synthetic("ext4_other_fn", 3), "r3", days_ago=2, bug="bugA")   # same bug, other signature
    r4 = add(db, synthetic("lonely_fn", 4), "r4", days_ago=2)
    r5 = add(db, synthetic("lonely_fn", 5), "r5", days_ago=4)           # same signature, no bug at all
    bug(db, "bugA", crashes=7)
    for rid in (r1, r2, r3, r4, r5):
        verdict(db, rid, "other")
    verdict(db, r3, "reclaim-deadlock")
    items = query(db, InboxFilter())
    assert len(items) == 2
    first, second = items
    assert sorted(first.report_ids) == sorted([r1, r2, r3]) and first.duplicates == 3
    assert first.label == "reclaim-deadlock" and first.id == r3      # the worst member represents the group
    assert first.crashes == 7 and first.bug_extid == "bugA"
    assert sorted(second.report_ids) == [r4, r5] and second.crashes == 2 and second.id == r4


def test_a_line_gives_the_id_of_the_report_its_title_names_not_a_later_quote(db):
    # syzbot's report of bug B, then in its thread: a crash syzbot's patch test hit (another title) and a
    # developer's reply quoting the report; all three fold into B's line, newest last
    syz = "syzbot+b0@syzkaller.appspotmail.com"
    message(db, "report@g", "bugB", 3, author="syzbot", subject="[syzbot] [ext4?] KASAN: use-after-free Read in "
            "ext4_named")
    db.execute("UPDATE messages SET author_email = ? WHERE message_id = 'report@g'", [syz])
    report = add(db, synthetic("ext4_named", 1), "report", days_ago=3, bug="bugB", message_id="report@g")
    message(db, "tested@g", "bugB", 2, author="syzbot", subject="Re: [syzbot] [ext4?] KASAN: use-after-free Read in "
            "ext4_named", parent="report@g")
    db.execute("UPDATE messages SET author_email = ? WHERE message_id = 'tested@g'", [syz])
    tested = add(db, synthetic("netdev_other", 2), "tested", days_ago=2, bug="bugB", message_id="tested@g")
    message(db, "quote@x", "bugB", 1, subject="Re: [syzbot] [ext4?] KASAN: use-after-free Read in ext4_named",
            parent="report@g")
    quote = add(db, synthetic("ext4_named", 3), "quote", days_ago=1, bug="bugB", message_id="quote@x")
    bug(db, "bugB", title="KASAN: use-after-free Read in ext4_named (2)")
    for rid in (report, tested, quote):
        verdict(db, rid, "other", confidence=0.8 if rid == report else 0.5, needs_review=rid != report)
    [line] = query(db, InboxFilter())
    assert sorted(line.report_ids) == sorted([report, tested, quote])
    assert line.title == "KASAN: use-after-free Read in ext4_named (2)"
    assert line.id == report and line.confidence == 0.8     # syzbot's report: its title (without the "(2)")
    # the line is flagged for review by its other members: show says which, each with its title
    assert line.needs_review
    shown = details(db, report)
    assert [(x["id"], x["needs_review"]) for x in shown["duplicate_reports"]] == [(tested, True), (quote, True)]
    text = render(shown)
    assert f"#{tested}  other 0.50 needs-review  " in text and "netdev_other" in text
    # a human label still picks its report
    set_label(db, tested, "other")
    assert query(db, InboxFilter())[0].id == tested


def test_a_flagged_line_names_what_the_model_suspects(cli, db, monkeypatch):
    """A line flagged for review says which label the model prefers (its suggestion, else its first label): the
    inbox's '[needs-review: data-loss?]', --json's 'suspected'; nothing when the model agrees, or a rule ruled its
    label out."""
    rid = add(db, synthetic("suspect_fn"), "s", days_ago=1)
    verdict(db, rid, "other", 0.1, needs_review=True, evidence={
        "rules": [], "model": {"label": "data-loss"}, "suggestion": {"label": "data-loss", "probability": 0.8}})
    assert query(db, InboxFilter())[0].suspected == "data-loss"
    monkeypatch.setenv("COLUMNS", "200")
    assert "[needs-review: data-loss?] KASAN: use-after-free Read in suspect_fn" in cli("inbox").output
    assert json.loads(cli("inbox", "--json").stdout.splitlines()[0])["suspected"] == "data-loss"
    verdict(db, rid, "other", 0.5, needs_review=True, evidence={"rules": [], "model": {"label": "other"}})
    assert query(db, InboxFilter())[0].suspected is None
    verdict(db, rid, "other", 0.5, needs_review=True, evidence={
        "rules": [], "model": {"label": "reclaim-deadlock"}, "excluded": {"label": "reclaim-deadlock"}})
    assert query(db, InboxFilter())[0].suspected is None
    db.execute("UPDATE verdicts SET evidence = '[1, 2]' WHERE report_id = ?", [rid])      # not what a verdict holds
    assert query(db, InboxFilter())[0].suspected is None
    verdict(db, rid, "other", 0.9, evidence={"rules": [], "model": {"label": "data-loss"}})     # not flagged
    [line] = query(db, InboxFilter())
    assert not line.needs_review and line.suspected is None


def test_acked_muted_snoozed_hidden_unless_all(db):
    ids = [add(db, synthetic(f"fn_{i}"), f"r{i}", days_ago=i) for i in range(4)]
    for rid in ids:
        verdict(db, rid, "other")
    set_state(db, [ids[0]], "acked")
    set_state(db, [ids[1]], "muted")
    snooze(db, [ids[2]], NOW + timedelta(days=3))
    assert _ids(db) == [ids[3]]
    assert sorted(_ids(db, include_all=True)) == sorted(ids)
    # a snooze that has expired shows the report again
    snooze(db, [ids[2]], NOW - timedelta(hours=1))
    assert sorted(_ids(db)) == sorted([ids[2], ids[3]])
    states = {it.id: it.state for it in query(db, InboxFilter(include_all=True))}
    assert states[ids[0]] == "acked" and states[ids[1]] == "muted"


def test_new_crash_brings_an_acked_bug_back_but_not_a_muted_one(db):
    a1 = add(db, synthetic("acked_fn", 1), "a1", days_ago=5, bug="bugAck")
    m1 = add(db, synthetic("muted_fn", 1), "m1", days_ago=5, bug="bugMute")
    set_state(db, [a1], "acked")
    set_state(db, [m1], "muted")
    assert _ids(db) == []
    a2 = add(db, synthetic("acked_fn", 2), "a2", days_ago=0, bug="bugAck")
    add(db, synthetic("muted_fn", 2), "m2", days_ago=0, bug="bugMute")
    items = query(db, InboxFilter())
    assert [it.id for it in items] == [a2] and items[0].duplicates == 2


def test_a_report_posted_in_a_patch_series_thread_counts_the_replies_under_it_not_the_series(db):
    """A robot's report replying to a series' cover letter: the series' patches and their reviews sit beside it in
    the thread; its replies are the messages under it (by parent, or by References past a mail the archive lacks)."""
    cover = "<cover@x>"
    message(db, cover, None, 20, author="Dev", subject="[PATCH v2 0/3] ext4: rework", thread=cover)
    for i in range(1, 4):
        message(db, f"<p{i}@x>", None, 20, author="Dev", subject=f"[PATCH v2 {i}/3] ext4: part {i}", thread=cover,
                parent=cover)
        message(db, f"<review{i}@x>", None, 15, subject=f"Re: [PATCH v2 {i}/3] ext4: part {i}", thread=cover,
                parent=f"<p{i}@x>")
    rid = add(db, synthetic("robot_fn"), "robot", days_ago=18, message_id="<robot@x>")
    message(db, "<robot@x>", None, 18, author="kernel test robot", subject="Re: [PATCH v2 0/3] ext4: rework",
            thread=cover, parent=cover)
    assert query(db, InboxFilter())[0].new_replies == 0
    message(db, "<answer@x>", None, 17, author="Dev", thread=cover, parent="<robot@x>")
    message(db, "<deeper@x>", None, 16, thread=cover, parent="<off-list@x>", refs=[cover, "<robot@x>", "<off-list@x>"])
    assert [it.new_replies for it in query(db, InboxFilter())] == [2]
    assert query(db, InboxFilter())[0].id == rid


def test_new_replies_since_last_seen_and_repro_run(db):
    """Replies in the report's own thread count; a patch series elsewhere that names the bug does not."""
    from triage.review import mark_seen

    rid = add(db, synthetic("replied_fn"), "r", days_ago=10, bug="bugR", message_id="<report@google.com>")
    bug(db, "bugR", repro="C")
    verdict(db, rid, "data-loss", confidence=0.55, needs_review=True)
    message(db, "<report@google.com>", "bugR", 10, author="syzbot", thread="<report@google.com>")  # the report
    message(db, "<r1@x>", "bugR", 9, thread="<report@google.com>")
    message(db, "<r2@x>", None, 8, thread="<report@google.com>")
    for i in range(5):                     # a series whose trailers name the bug: not the report's thread
        message(db, f"<series{i}@x>", "bugR", 7, thread="<series0@x>", subject=f"[PATCH {i}/4] fix")
    repro_run(db, rid, "deadlock")
    item = query(db, InboxFilter())[0]
    assert item.new_replies == 2 and item.repro == "C" and item.needs_review
    assert item.repro_run.startswith("deadlock")
    mark_seen(db, rid)
    assert query(db, InboxFilter())[0].new_replies == 0
    message(db, "<r3@x>", "bugR", -0.01, thread="<report@google.com>")            # a reply after the last look
    item = query(db, InboxFilter())[0]
    assert item.new_replies == 1 and item.state == "seen"


def test_human_label_overrides_the_classifier(db):
    r1 = add(db, synthetic("human_fn"), "r1", days_ago=1)
    r2 = add(db, synthetic("dl_fn"), "r2", days_ago=2)
    verdict(db, r1, "nofail-warning")
    verdict(db, r2, "data-loss")
    assert _ids(db) == [r2, r1]
    set_label(db, r1, "data-loss", who="tester", note="pages dropped")
    items = query(db, InboxFilter())
    assert [it.id for it in items] == [r1, r2] and items[0].label_source == "human"
    row = db.execute("SELECT label, confidence, source FROM report_labels WHERE report_id = ?", [r1]).fetchone()
    assert row == ("data-loss", 1.0, "human")
    ev = json.loads(db.execute("SELECT evidence FROM verdicts WHERE report_id = ? AND source = 'human'",
                               [r1]).fetchone()[0])
    assert ev == {"by": "tester", "note": "pages dropped"}


def test_filters_subsystem_label_since_limit(db):
    ext4 = add(db, synthetic("ext4_fn"), "ext4", days_ago=1, bug="bugE")
    xfs = add(db, synthetic("xfs_fn"), "xfs", days_ago=20, bug="bugX")
    bug(db, "bugE", subsystems=("ext4",))
    bug(db, "bugX", subsystems=("xfs", "mm"))
    verdict(db, ext4, "other")
    verdict(db, xfs, "data-loss")
    assert _ids(db, subsystems=["xfs"]) == [xfs]
    assert _ids(db, subsystems=["mm", "ext4"]) == [xfs, ext4]
    assert _ids(db, labels=["other"]) == [ext4]
    assert _ids(db, since=NOW - timedelta(days=14)) == [ext4]
    assert _ids(db, limit=1) == [xfs]
    # no syzbot subsystems: the guilty file decides
    assert of_file("fs/ext4/inode.c") == "ext4" and of_file("fs/jbd2/x.c") == "ext4"
    assert of_file("mm/page_alloc.c") == "mm" and of_file("fs/btrfs/a.c") == "btrfs"


def test_mailing_list_subscription(db):
    on_list = add(db, synthetic("listed_fn"), "a", days_ago=1, bug="bugL")
    add(db, synthetic("unlisted_fn"), "b", days_ago=1, bug="bugU")
    message(db, "<l@x>", "bugL", 1, list_id="<linux-xfs.vger.kernel.org>")
    assert _ids(db, addresses=["linux-xfs@vger.kernel.org"]) == [on_list]


def test_cli_inbox_json_and_table(cli, db):
    texts = [labelled_text(n) for n in (1, 5, 20)]
    ids = [add(db, t, f"labelled-{i}", days_ago=i) for i, t in enumerate(texts)]
    verdict(db, ids[0], "nofail-warning")
    verdict(db, ids[1], "data-loss", needs_review=True)
    res = cli("inbox", "--json")
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.splitlines()]
    assert [x["id"] for x in lines] == [ids[1], ids[2], ids[0]]
    assert lines[0]["needs_review"] is True and lines[0]["label"] == "data-loss"
    res = cli("inbox")
    assert res.exit_code == 0 and "data-loss" in res.output and "needs-review" in res.output
    assert cli("inbox", "--label", "bogus").exit_code == 2
    assert cli("inbox", "--since", "yesterday").exit_code == 2


def test_cli_subscriptions_from_config(cli, db, tmp_path, monkeypatch):
    ext4 = add(db, synthetic("cfg_ext4"), "a", days_ago=1, bug="bugC1")
    xfs = add(db, synthetic("cfg_xfs"), "b", days_ago=1, bug="bugC2")
    bug(db, "bugC1", subsystems=("ext4",))
    bug(db, "bugC2", subsystems=("xfs",))
    cfg = tmp_path / "config.toml"
    cfg.write_text('[subscriptions]\nsubsystems = ["xfs"]\n')
    monkeypatch.setenv("TRIAGE_CONFIG", str(cfg))
    out = [json.loads(x)["id"] for x in cli("inbox", "--json").output.splitlines()]
    assert out == [xfs]
    out = [json.loads(x)["id"] for x in cli("inbox", "--json", "--subsystem", "ext4").output.splitlines()]
    assert out == [ext4]
    cfg.write_text("[subscriptions\n")
    res = cli("inbox")
    assert res.exit_code == 1 and str(cfg) in res.output


def test_rank_walk_with_a_limit_matches_the_full_aggregation(db):
    """The fast path (one label rank at a time, stop at the limit) gives the head of the full ordering."""
    import random

    rng = random.Random(7)
    labels = ["data-loss", "reclaim-deadlock", "fault-injection", "other", "nofail-warning", "weird-new-label", None]
    for i in range(80):
        extid = f"bug{rng.randrange(25)}" if rng.random() < 0.6 else None
        rid = add(db, synthetic(f"fn{rng.randrange(30)}", i), f"r{i}", days_ago=rng.uniform(0, 90), bug=extid)
        label = rng.choice(labels)
        if label:
            verdict(db, rid, label, needs_review=rng.random() < 0.2)
        if rng.random() < 0.1:
            set_label(db, rid, rng.choice(labels[:5]), who="t")
        if rng.random() < 0.2:
            set_state(db, [rid], rng.choice(["acked", "muted", "seen"]))
    for n in range(25):
        bug(db, f"bug{n}", crashes=rng.randrange(1, 100), status=rng.choice(["open", "fixed"]))
    db.conn.commit()
    for kw in ({}, {"include_all": True}, {"include_all": True, "include_closed": True},
               {"labels": ["other", "nofail-warning"], "include_closed": True}, {"subsystems": ["ext4"]}):
        full = [(it.id, it.duplicates, it.label) for it in query(db, InboxFilter(limit=0, **kw))]
        assert full, kw
        assert count(db, InboxFilter(limit=3, **kw)) == len(full), kw
        for limit in (1, 5, 17, 1000):
            head = [(it.id, it.duplicates, it.label) for it in query(db, InboxFilter(limit=limit, **kw))]
            assert head == full[:limit], (kw, limit)
    grouped = {rid for it in query(db, InboxFilter(limit=0, include_all=True, include_closed=True))
               for rid in it.report_ids}
    assert grouped == {r[0] for r in db.execute("SELECT id FROM reports")}     # every report in exactly one line


def test_subsystem_derived_from_the_report_and_unknown_shown_to_every_subscriber(cli, db, tmp_path, monkeypatch):
    data_loss = add(db, labelled_text(30), "ext4-data-will-be-lost", days_ago=1)      # EXT4-fs ... Data will be lost
    xfs = add(db, labelled_text(20), "xfs", days_ago=1)
    unknown = add(db, labelled_text(36), "dm-lost-write", days_ago=1)               # nothing names a subsystem
    syzbot = add(db, synthetic("syz_fn"), "syz", days_ago=1, bug="bugS")
    bug(db, "bugS", subsystems=("btrfs",))                                           # syzbot's word wins
    subs = dict(db.execute("SELECT report_id, subsystems FROM inbox_reports").fetchall())
    assert json.loads(subs[data_loss]) == ["ext4"] and json.loads(subs[xfs]) == ["xfs"]
    assert json.loads(subs[unknown]) == [] and json.loads(subs[syzbot]) == ["btrfs"]
    assert sorted(_ids(db, subsystems=["ext4"])) == sorted([data_loss, unknown])
    assert sorted(_ids(db, subsystems=["btrfs"])) == sorted([syzbot, unknown])
    cfg = tmp_path / "config.toml"
    cfg.write_text('[subscriptions]\nsubsystems = ["xfs"]\n')
    monkeypatch.setenv("TRIAGE_CONFIG", str(cfg))
    lines = [json.loads(x) for x in cli("inbox", "--json").output.splitlines()]
    assert sorted(x["id"] for x in lines) == sorted([xfs, unknown])
    assert {x["id"]: x["subsystems"] for x in lines}[unknown] == []


def test_subsystem_backfill_of_stored_reports(db):
    from triage.subsystems import backfill

    rid = add(db, synthetic("backfill_fn"), "a", days_ago=1)
    db.execute("UPDATE reports SET subsystems = NULL")
    assert backfill(db) == 1
    assert json.loads(db.execute("SELECT subsystems FROM reports WHERE id = ?", [rid]).fetchone()[0]) == ["ext4"]
    assert backfill(db) == 0


def test_unknown_subsystem_is_a_usage_error(cli, db):
    add(db, synthetic("x_fn"), "a", days_ago=1, bug="bugK")
    bug(db, "bugK", subsystems=("kernfs-special",))            # a name only syzbot knows is known too
    for cmd in (("inbox",), ("digest",)):
        res = cli(*cmd, "--subsystem", "nosuchsubsystem")
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "nosuchsubsystem" in res.output
    res = cli("inbox", "--subsystem", "ext")
    assert res.exit_code == 2 and "ext4" in res.output              # a near name is suggested
    assert cli("inbox", "--subsystem", "kernfs-special").exit_code == 0
    assert cli("inbox", "--subsystem", "nilfs").exit_code == 0


def test_limit_says_how_many_and_an_empty_filter_says_which(cli, db, monkeypatch):
    ids = [add(db, synthetic(f"many_{i}"), f"r{i}", days_ago=i) for i in range(7)]
    for rid in ids:
        verdict(db, rid, "other")
    res = cli("inbox", "--limit", "3")
    assert res.exit_code == 0 and "3 of 7 shown (--limit 3" in res.output
    assert "shown" not in cli("inbox", "--limit", "7").output
    res = cli("inbox", "--label", "data-loss", "--since", "2d")
    assert res.exit_code == 0
    assert "Inbox empty for --label data-loss; --since 2d (7 lines without these filters)" in res.output
    set_state(db, ids, "acked")
    res = cli("inbox")
    assert "Inbox empty." in res.output and "7 acked, muted or snoozed" in res.output


def test_80_columns_keep_the_title_readable(cli, db, monkeypatch):
    long_title = "possible deadlock in ext4_evict_inode with a long explanation that goes on"
    rid = add(db, synthetic("wide_fn"), "w", days_ago=1, bug="bugW")
    bug(db, "bugW", crashes=12, repro="C", subsystems=("ext4", "mm"), title=long_title)   # the line's title
    verdict(db, rid, "reclaim-deadlock", needs_review=True)
    repro_run(db, rid, "deadlock")
    db.conn.commit()
    for width in (80, 60, 100):
        monkeypatch.setenv("COLUMNS", str(width))
        res = cli("inbox")
        lines = res.output.rstrip("\n").splitlines()
        assert all(len(x) <= width for x in lines), (width, lines)
        title_part = lines[1].split("  ")[-1]
        assert len(title_part) >= min(len(long_title), 40) or title_part in long_title, (width, lines)
        assert "ID" in lines[0] and "title" in lines[0] and lines[1].lstrip().startswith(str(rid))
    monkeypatch.setenv("COLUMNS", "80")
    header = cli("inbox").output.splitlines()[0]
    assert "run" not in header.split() and "repro" not in header.split()     # the least needed went first
    monkeypatch.setenv("COLUMNS", "300")
    header = cli("inbox").output.splitlines()[0].split()
    assert header[:4] == ["ID", "label", "conf", "subsys"] and "run" in header and header[-1] == "title"
    assert long_title in cli("inbox").output


def _review_store(db) -> dict[str, int]:
    """For one label, confident and flagged groups of varied recency (each in ext4, on the ext4 list), a flagged
    group of a lesser label, and a group a human labelled whose other report's verdict is flagged. The verdicts
    are written around the store's functions: their groups stay marked, computed from the reports."""
    ids = {}
    for i, (name, days) in enumerate((("sure_old", 6), ("doubt_new", 0), ("sure_new", 2), ("doubt_old", 4),
                                      ("human", 3), ("other_doubt", 0), ("other_sure", 5))):
        ids[name] = add(db, synthetic(f"{name}_fn", i), name, days_ago=days, bug=f"bug_{name}")
        bug(db, f"bug_{name}", subsystems=("ext4",))
        message(db, f"<{name}@x>", f"bug_{name}", days, list_id="<linux-ext4.vger.kernel.org>")
    twin = add(db, synthetic("human_fn", 99), "human-twin", days_ago=4, bug="bug_human")
    set_label(db, ids["human"], "data-loss", who="t")          # a human's label is never flagged (this settles)
    for name in ("sure_old", "sure_new"):
        verdict(db, ids[name], "data-loss", confidence=0.9)
    for name in ("doubt_new", "doubt_old"):
        verdict(db, ids[name], "data-loss", confidence=0.5, needs_review=True)
    verdict(db, twin, "data-loss", confidence=0.5, needs_review=True)
    verdict(db, ids["other_doubt"], "other", needs_review=True)
    verdict(db, ids["other_sure"], "other")
    return ids


CONFIDENT_FIRST = ["sure_new", "human", "sure_old", "doubt_new", "doubt_old", "other_sure", "other_doubt"]


def _check_confident_first(db, ids: dict[str, int]) -> None:
    name = {rid: n for n, rid in ids.items()}
    for kw in ({}, {"labels": ["data-loss", "other"]}, {"subsystems": ["ext4"]}, {"include_all": True},
               {"addresses": ["linux-ext4@vger.kernel.org"]}, {"since": NOW - timedelta(days=7)}):
        lines = query(db, InboxFilter(limit=0, **kw))
        assert [name[it.id] for it in lines] == CONFIDENT_FIRST, kw
        assert [it.needs_review for it in lines] == [False] * 3 + [True] * 2 + [False, True], kw
        assert count(db, InboxFilter(limit=2, **kw)) == len(CONFIDENT_FIRST), kw
        for limit in (1, 3, 4, 6):
            assert [name[it.id] for it in query(db, InboxFilter(limit=limit, **kw))] == CONFIDENT_FIRST[:limit]
    assert [name[i] for i in _ids(db, labels=["data-loss"], limit=4)] == CONFIDENT_FIRST[:4]
    assert [name[i] for i in _ids(db, since=NOW - timedelta(days=3.5))] == ["sure_new", "human", "doubt_new",
                                                                              "other_doubt"]


def test_within_a_label_confident_lines_come_before_those_flagged_for_review(db):
    ids = _review_store(db)
    assert db.execute("SELECT COUNT(*) FROM dirty_groups").fetchone()[0] > 0
    _check_confident_first(db, ids)                             # groups marked, read from their reports
    settle(db)
    assert db.execute("SELECT COUNT(*) FROM dirty_groups").fetchone()[0] == 0
    _check_confident_first(db, ids)                             # from the stored rows, through the index
    plan = " ".join(r[-1] for r in db.execute(
        f"EXPLAIN QUERY PLAN SELECT dup_key FROM dup_groups INDEXED BY dup_groups_rank WHERE muted = 0 "
        f"ORDER BY {ORDER}"))
    assert "dup_groups_rank" in plan and "TEMP B-TREE" not in plan


def test_a_store_migrated_to_13_orders_confident_first(db_path):
    from triage.store import open_db

    old = open_db(db_path, migrate_to=12)
    ids = _review_store(old)
    settle(old)
    old.conn.commit()
    old.conn.close()
    db = open_db(db_path)
    _check_confident_first(db, ids)
