"""Review state: ack / mute / snooze / label / show, and that nothing but these commands ever changes it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from conftest import shared_data
from test_inbox_data import add, bug, iso, labelled_text, message, repro_run, synthetic, verdict

from triage.pipeline import import_paths, store_text
from triage.review import ReviewError, parse_when


def _review_state(db) -> list[tuple]:
    return db.execute("SELECT report_id, state, snooze_until, seen_at, note, who FROM reviews "
                      "ORDER BY report_id").fetchall()


def _human_labels(db) -> list[tuple]:
    return db.execute("SELECT report_id, label, confidence, evidence FROM verdicts WHERE source = 'human' "
                      "ORDER BY report_id").fetchall()


def test_review_state_survives_reimport_reclassify_and_resync(cli, db, tmp_path):
    src = tmp_path / "reports"
    src.mkdir()
    for n in (1, 2, 5, 20):
        shutil.copy(shared_data("labelled", "reports", f"{n:03d}.txt"), src)
    summary = import_paths(db, [str(src)])
    assert summary.reports_new == 4, summary.as_dict()
    ids = [r[0] for r in db.execute("SELECT id FROM reports ORDER BY id")]
    db.execute("UPDATE reports SET bug_extid = 'bug' || id")
    for rid in ids:
        bug(db, f"bug{rid}", status="open", crashes=3)
        verdict(db, rid, "other", confidence=0.6)
    db.conn.commit()

    assert cli("ack", ids[0], "--note", "known").exit_code == 0
    assert cli("mute", ids[1]).exit_code == 0
    assert cli("label", ids[2], "data-loss", "--note", "dirty pages dropped").exit_code == 0
    assert cli("snooze", ids[3], "--until", "2w").exit_code == 0
    assert cli("seen", ids[2]).exit_code == 0
    before_reviews, before_labels = _review_state(db), _human_labels(db)
    assert [s for _, s, *_ in before_reviews] == ["acked", "muted", "seen", "new"]
    assert before_reviews[3][2] is not None and before_labels[0][1] == "data-loss"
    inbox_before = cli("inbox", "--json", "--all").output

    # 1. re-import the same files (and once more through the CLI)
    again = import_paths(db, [str(src)])
    assert again.reports_new == 0
    assert cli("import", src).exit_code == 0
    # 2. re-classify: the classifier rewrites every combined verdict
    for rid in ids:
        verdict(db, rid, "reclaim-deadlock", confidence=0.95, evidence={"rule": "reclassified"})
    # 3. re-sync: bugs upserted with new counts and status
    for rid in ids:
        bug(db, f"bug{rid}", status="open" if rid == ids[2] else "fixed", crashes=10)  # a fixed bug leaves the inbox
    # a direct ingest of a known text is also a no-op for reviews
    assert store_text(db, labelled_text(1), kind="file", location="again") is None
    db.conn.commit()

    assert _review_state(db) == before_reviews
    assert _human_labels(db) == before_labels
    labels = dict(db.execute("SELECT report_id, label FROM report_labels").fetchall())
    assert labels[ids[2]] == "data-loss" and labels[ids[0]] == "reclaim-deadlock"
    after = {json.loads(x)["id"]: json.loads(x) for x in cli("inbox", "--json", "--all").output.splitlines()}
    before = {json.loads(x)["id"]: json.loads(x) for x in inbox_before.splitlines()}
    assert {k: v["state"] for k, v in after.items()} == {k: v["state"] for k, v in before.items()}
    visible = [json.loads(x)["id"] for x in cli("inbox", "--json").output.splitlines()]
    assert visible == [ids[2]]


def test_ack_and_mute_apply_to_the_duplicate_group(cli, db):
    a = add(db, synthetic("grp_fn", 1), "a", 2, bug="bugG")
    b = add(db, synthetic("grp_fn", 2), "b", 1)
    other = add(db, synthetic("other_fn"), "c", 1)
    res = cli("ack", "--json", a)
    assert res.exit_code == 0
    assert json.loads(res.output) == {"action": "acked", "ids": [a], "reports": [a, b]}
    states = dict(db.execute("SELECT report_id, state FROM reviews").fetchall())
    assert states == {a: "acked", b: "acked", other: "new"}
    assert cli("unack", b).exit_code == 0
    assert dict(db.execute("SELECT report_id, state FROM reviews").fetchall())[a] == "seen"


def test_bad_ids_labels_and_dates_are_one_line_errors(cli, db):
    rid = add(db, synthetic("err_fn"), "a")
    for args, code in ((("ack", 999), 1), (("label", rid, "scary"), 2), (("label", 999, "other"), 1),
                       (("snooze", rid, "--until", "someday"), 2), (("show", 999), 1), (("mute", "x"), 2)):
        res = cli(*args)
        assert res.exit_code == code, (args, res.output)
        assert "Traceback" not in res.output
    res = cli("label", rid, "scary")
    assert "not a label" in res.output and "data-loss" in res.output
    assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == 0


def test_snooze_dates():
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert parse_when("3d", future=True, now=now) == now + timedelta(days=3)
    assert parse_when("2w", future=True, now=now) == now + timedelta(weeks=2)
    assert parse_when("14d", future=False, now=now) == now - timedelta(days=14)
    assert parse_when("2026-02-01", future=True, now=now) == datetime(2026, 2, 1, tzinfo=UTC)
    for bad in ("", "3x", "2026-13-01", "tomorrow", "-3d"):
        with pytest.raises(ReviewError):
            parse_when(bad, future=True, now=now)


def test_show_prints_everything_and_seen_marks_it_seen(cli, db):
    text = labelled_text(1)
    rid = add(db, text, "syzbot-mail", days_ago=5, bug="fd3f70a4509fca8c265d", message_id="<rep@google.com>")
    older = add(db, synthetic("__alloc_pages_slowpath"), "older", days_ago=400, bug="oldbug")
    bug(db, "fd3f70a4509fca8c265d", repro="C", crashes=4, subsystems=("ext4", "mm"))
    bug(db, "oldbug", status="fixed", fix=[{"title": "mm: fix the old thing", "hash": "abc123"}])
    # make the old report look like the same crash: same guilty frame
    db.execute("UPDATE reports SET guilty_frame = 'ext4_mb_load_buddy_gfp' WHERE id IN (?, ?)", [rid, older])
    verdict(db, rid, "nofail-warning", evidence={"rule": "nofail-from-reclaim", "frames": ["evict", "shrink_slab"]})
    message(db, "<rep@google.com>", "fd3f70a4509fca8c265d", 5, author="syzbot", subject="[syzbot] WARNING")
    message(db, "<reply@x>", "fd3f70a4509fca8c265d", 3, author="Ted Tso", subject="Re: [syzbot] WARNING",
            syz=[{"command": "set", "args": "subsystems: mm"}])
    repro_run(db, rid, "warning")
    db.conn.commit()
    before = db.execute("SELECT state, seen_at FROM reviews WHERE report_id = ?", [rid]).fetchone()
    assert before == ("new", None)
    res = cli("show", rid)
    assert res.exit_code == 0, res.output
    out = res.output
    for needle in ("nofail-warning", "nofail-from-reclaim", "Ted Tso", "#syz set subsystems: mm",
                   "https://syzkaller.appspot.com/bug?extid=fd3f70a4509fca8c265d",
                   "https://lore.kernel.org/all/rep@google.com/", "ext4-evict-nofail/buggy seed=1: warning",
                   "Similar reports",
                   "mm: fix the old thing", "ext4, mm"):
        assert needle in out, needle
    # looking is not reading the replies: only `triage seen` (or ack) resets what the inbox calls new
    assert db.execute("SELECT state, seen_at FROM reviews WHERE report_id = ?", [rid]).fetchone() == ("new", None)
    res = cli("seen", rid, 999)
    assert res.exit_code == 1 and "no report with id 999" in res.output
    state, seen_at = db.execute("SELECT state, seen_at FROM reviews WHERE report_id = ?", [rid]).fetchone()
    assert state == "seen" and seen_at >= iso(0.001)
    d = json.loads(cli("show", "--json", rid).output)
    assert d["report"]["id"] == rid and d["label"]["label"] == "nofail-warning"
    assert [m["author_name"] for m in d["thread"]] == ["syzbot", "Ted Tso"]
    assert d["similar"][0]["id"] == older and d["similar"][0]["bug_status"] == "fixed"
    assert d["repro_runs"][0]["outcome"] == "warning"
    # neither show nor seen resurrects an acked report
    cli("ack", rid)
    cli("show", rid)
    cli("seen", rid)
    assert db.execute("SELECT state FROM reviews WHERE report_id = ?", [rid]).fetchone()[0] == "acked"


def test_show_of_a_report_posted_in_a_patch_series_thread_gives_its_part_of_the_thread(cli, db):
    """The mails it answers, the report and the replies under it; the series' other patches and reviews are
    counted, and ``triage mbox`` has them."""
    cover = "<cover@x>"
    message(db, cover, None, 20, author="Dev", subject="[PATCH v2 0/2] ext4: rework", thread=cover)
    for i in (1, 2):
        message(db, f"<p{i}@x>", None, 20, author="Dev", subject=f"[PATCH v2 {i}/2] ext4: part {i}", thread=cover,
                parent=cover)
        message(db, f"<review{i}@x>", None, 15, author="Reviewer", thread=cover, parent=f"<p{i}@x>")
    rid = add(db, synthetic("robot_fn"), "robot", days_ago=18, message_id="<robot@x>")
    message(db, "<robot@x>", None, 18, author="kernel test robot", thread=cover, parent=cover)
    message(db, "<answer@x>", None, 17, author="Dev", thread=cover, parent="<robot@x>")
    db.conn.commit()
    d = json.loads(cli("show", "--json", rid).output)
    assert [m["author_name"] for m in d["thread"]] == ["Dev", "kernel test robot", "Dev"] and d["thread_omitted"] == 4
    assert "Thread: (the report's part; 4 other messages of it, about the patch series it was posted in: triage " \
           f"mbox {rid})" in cli("show", rid).output


# Three crashes syzkaller read no frame of (a reply quoting a header without its trace): titled "... in corrupted"
_FRAMELESS = {
    "warn-iomap": "------------[ cut here ]------------\nWARNING: CPU: 0 PID: 7023 at fs/iomap/apply.c:51 "
                  "iomap_apply+0xa0c/0xcb0 fs/iomap/apply.c:51\nKernel panic - not syncing: panic_on_warn set ...\n",
    "warn-mm": "------------[ cut here ]------------\nWARNING: CPU: 1 PID: 15 at mm/page-writeback.c:2604 "
               "folio_account_dirtied+0x51/0x60 mm/page-writeback.c:2604\nKernel panic - not syncing: panic_on_warn "
               "set ...\n",
    "paging": "BUG: unable to handle page fault for address: ffffffff83b36da8\n#PF: supervisor read access in kernel "
              "mode\n#PF: error_code(0x0000) - not-present page\nOops: 0000 [#1] SMP PTI\nCPU: 1 PID: 1 Comm: systemd "
              "Not tainted 5.7.0 #1\n",
}


def test_reports_syzkaller_read_no_frame_of_are_not_similar_by_their_title(cli, db, tmp_path):
    """'WARNING in corrupted' names no function: another report so titled, or one of another kind whose frame is
    'corrupted' too, is no similar report (show) nor a near one (classify); a report named by a real frame still
    finds its like."""
    ids = {name: store_text(db, text, kind="file", location=name) for name, text in _FRAMELESS.items()}
    titles = dict(db.execute("SELECT id, title FROM reports").fetchall())
    assert [titles[ids[n]] for n in _FRAMELESS] == ["WARNING in corrupted", "WARNING in corrupted",
                                                     "BUG: unable to handle kernel paging request in corrupted"]
    for rid in ids.values():
        assert json.loads(cli("show", "--json", rid).output)["similar"] == []
    path = tmp_path / "quoted.txt"
    path.write_text(_FRAMELESS["warn-iomap"].replace("7023", "7024"))       # the same quote, another task
    assert json.loads(cli("classify", "--json", path).output)["similar"] == []
    # the control: two reports of one named crash are alike by title and frame
    named = [store_text(db, labelled_text(n), kind="file", location=f"{n}") for n in (1, 3)]
    db.execute("UPDATE reports SET title = 'WARNING in f', guilty_frame = 'f', signature_hash = NULL, "
               "dup_key = 'report:' || id WHERE id IN (?, ?)", named)
    db.conn.commit()
    assert [s["id"] for s in json.loads(cli("show", "--json", named[0]).output)["similar"]] == [named[1]]


def test_config_command_shows_path_and_content(cli, db, tmp_path, monkeypatch):
    cfg = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("TRIAGE_CONFIG", str(cfg))
    res = cli("config")
    assert res.exit_code == 0 and str(cfg) in res.output and "absent" in res.output and "[subscriptions]" in res.output
    assert cli("config", "--init").exit_code == 0 and cfg.exists()
    assert cli("config", "--init").exit_code == 1                 # never overwrites
    # the example is written commented out: it filters nothing and arms no mail
    data = json.loads(cli("config", "--json").output)
    assert data["subscriptions"] == {"subsystems": [], "labels": [], "addresses": []}
    assert data["digest"]["to"] == [] and data["smtp"]["host"] is None and data["user"] is None
    # ... and every setting in it is valid once uncommented
    cfg.write_text(_uncommented(cfg.read_text()))
    data = json.loads(cli("config", "--json").output)
    assert data["subscriptions"]["subsystems"] == ["ext4", "mm"] and data["digest"]["stale_max"] == 10
    assert data["digest"]["to"] == ["jack@example.org"] and data["smtp"]["host"] == "smtp.example.org:587"
    assert data["smtp"]["starttls"] is True and data["user"].endswith("<jack@example.org>")
    cfg.write_text('[subscriptions]\nlabels = ["scary"]\n')
    res = cli("config")
    assert res.exit_code == 1 and "scary" in res.output and str(cfg) in res.output


def _uncommented(text: str) -> str:
    """The example config with its settings switched on: ``# key = value`` and ``# [table]`` lines uncommented."""
    out = []
    for ln in text.splitlines(keepends=True):
        body = ln[2:] if ln.startswith("# ") else ln
        head = body.split("#", 1)[0].strip()
        out.append(body if head.startswith("[") or "=" in head else ln)
    return "".join(out)


def test_batch_applies_to_valid_ids_and_names_the_bad_ones(cli, db):
    a = add(db, synthetic("batch_a"), "a", 1)
    b = add(db, synthetic("batch_b"), "b", 1)
    c = add(db, synthetic("batch_c"), "c", 1)
    for cmd, state in (("ack", "acked"), ("mute", "muted"), ("unack", "seen")):
        res = cli(cmd, a, 99999, b, 99998)
        assert res.exit_code == 1, (cmd, res.output)
        assert "no report with id 99999" in res.output and "no report with id 99998" in res.output
        states = dict(db.execute("SELECT report_id, state FROM reviews").fetchall())
        assert states[a] == states[b] == state and states[c] == "new", cmd
    res = cli("snooze", "--json", c, 12345, "--until", "3d")
    assert res.exit_code == 1 and "no report with id 12345" in res.output
    line = json.loads(next(x for x in res.output.splitlines() if x.startswith("{")))
    assert line["ids"] == [c] and line["unknown"] == [12345]
    assert db.execute("SELECT snooze_until FROM reviews WHERE report_id = ?", [c]).fetchone()[0] is not None
    # only bad ids: nothing changes, exit 1
    before = db.execute("SELECT * FROM reviews ORDER BY report_id").fetchall()
    assert cli("ack", 4242).exit_code == 1
    assert db.execute("SELECT * FROM reviews ORDER BY report_id").fetchall() == before
    # all good: exit 0
    assert cli("ack", a, b).exit_code == 0


def test_snooze_into_the_past_is_a_usage_error(cli, db):
    rid = add(db, synthetic("past_fn"), "a", 1)
    for until in ("2001-01-01", (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")):
        res = cli("snooze", rid, "--until", until)
        assert res.exit_code == 2 and "in the past" in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
    assert db.execute("SELECT snooze_until FROM reviews WHERE report_id = ?", [rid]).fetchone()[0] is None
    assert cli("snooze", rid, "--until", (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")).exit_code == 0
