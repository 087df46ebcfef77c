"""After an upgrade, ``triage reparse`` gives a store an older parser wrote what today's parser reads: the same
rows as a fresh import of the same mails (reports, frames, groups, verdicts; syzbot's own titles from its mails),
with every report's id, review state and human label kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import shared_data
from store_dump import differences, dump

from triage import sources
from triage.pipeline import Pipeline
from triage.reparse import reparse
from triage.report import PARSER_VERSION, parse
from triage.review import set_label, set_state
from triage.store import open_db, transaction
from triage.store.groups import rebuild, refresh_all
from triage.store.schema import db_file

SAME_BATCHES = {"batch_seconds": float("inf"), "lock_seconds": float("inf")}


def age(db) -> None:
    """Make every report read as an older parser's that got it all wrong: its title, signature, guilty frame and
    file, subsystems and frames replaced, its groups keyed on those."""
    with transaction(db):
        for (rid,) in db.execute("SELECT id FROM reports").fetchall():
            db.execute("UPDATE reports SET title = ?, parsed = json_set(parsed, '$.title', ?), signature = 'old', "
                       "signature_hash = NULL, guilty_frame = 'termination', guilty_file = NULL, subsystems = '[]', "
                       "parser_version = '1.0' WHERE id = ?", [f"WARNING in termination {rid}"] * 2 + [rid])
        db.execute("DELETE FROM frames")
        refresh_all(db)
        rebuild(db)


@pytest.mark.slow
def test_a_store_an_older_parser_wrote_reads_after_reparse_as_a_fresh_import(tmp_path, list_archive):
    shared_data("labelled")                      # the classifier's corpus
    repo = list_archive("linux-unionfs")
    fresh = open_db(tmp_path / "fresh.db")
    Pipeline(fresh, workers=0, **SAME_BATCHES).run(sources.public_inbox(fresh, repo))
    # the maintainer's review before the upgrade, on both stores
    ids = [r for (r,) in fresh.execute("SELECT id FROM reports ORDER BY id")]
    set_state(fresh, ids[:3], "acked")
    set_label(fresh, ids[3], "data-loss", note="seen it lose a write")
    with sqlite3.connect(tmp_path / "old.db") as copy:          # (the WAL's pages too)
        fresh.conn.backup(copy)
    old = open_db(tmp_path / "old.db")
    age(old)
    assert differences(dump(old), dump(fresh))                   # the aged store reads otherwise

    got = reparse(old)
    assert got["reparsed"] == len(ids) and got["no_crash"] == 0 and got["hash_kept"] == 0
    assert got["changed"] == len(ids) and got["parser_version"] == PARSER_VERSION
    assert not differences(dump(old), dump(fresh))
    # (syzbot's own titles among them: taken from its mails again, as the import does)
    assert old.execute("SELECT COUNT(*) FROM reports r JOIN messages m ON m.message_id = r.message_id "
                       "WHERE m.author_email LIKE 'syzbot%' AND r.title LIKE '%(_)'").fetchone()[0] > 5
    # done once: nothing is stale any more
    assert reparse(old)["reparsed"] == 0
    # and parsed again whole, nothing changes: a syzbot bug's subsystems its mails set are no change of the parse
    again = reparse(old, everything=True)
    assert again["reparsed"] == len(ids) and again["changed"] == 0, again


REPORT = ("BUG: kernel NULL pointer dereference, address: 0000000000000058\nRIP: 0010:__lock_acquire+0x35/0x490\n"
          "Call Trace:\n <TASK>\n lock_acquire+0xd8/0x1f0\n d_path+0xd1/0x1f0\n audit_log_d_path+0x65/0x130\n"
          " </TASK>\n")


def test_review_state_labels_and_a_report_with_no_crash_now_are_kept(db, cli):
    text = REPORT
    quoted = "".join("> " + ("\xa0" + ln[1:] if ln.startswith(" ") else ln) + "\n" for ln in text.split("\n"))
    for i, body in enumerate((quoted, text.replace("d_path", "d_walk"))):
        Pipeline(db, classify=False).run(sources.files([_write(db, i, body)]))
    (a, b) = [r for (r,) in db.execute("SELECT id FROM reports ORDER BY id")]
    title = parse(quoted).title
    assert title == "BUG: unable to handle kernel NULL pointer dereference in d_path"
    set_state(db, [a], "acked")
    set_label(db, a, "data-loss", note="lost a write")
    with transaction(db):
        db.execute("UPDATE reports SET parser_version = '1.8', title = 'BUG: in termination', "
                   "parsed = json_set(parsed, '$.title', 'BUG: in termination') WHERE id = ?", [a])
        db.execute("UPDATE reports SET parser_version = '1.8', text = ? WHERE id = ?",
                   ["no crash in this text\n" * 40, b])     # (as many lines as its parse read)
    res = cli("import", _write(db, 2, "nothing here"))
    assert "2 stored reports were parsed by an older syz-triage: `triage reparse`" in res.stderr
    res = cli("reparse", "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert (got["reparsed"], got["changed"], got["no_crash"]) == (1, 1, 1)
    row = db.execute("SELECT title, parser_version FROM reports WHERE id = ?", [a]).fetchone()
    assert tuple(row) == (title, PARSER_VERSION)
    assert db.execute("SELECT state FROM reviews WHERE report_id = ?", [a]).fetchone()[0] == "acked"
    assert db.execute("SELECT label FROM verdicts WHERE report_id = ? AND source = 'human'", [a]).fetchone()[0] \
        == "data-loss"
    assert db.execute("SELECT COUNT(*) FROM frames WHERE report_id = ?", [a]).fetchone()[0] > 0
    # the report the parser finds no crash in now: as it was, and said so
    assert db.execute("SELECT parser_version FROM reports WHERE id = ?", [b]).fetchone()[0] == "1.8"
    res = cli("reparse")
    assert "re-parsed 0 reports" in res.stdout and "1 reports in which the parser finds no crash" in res.stderr


def _write(db, i: int, body: str) -> str:
    path = Path(db_file(db)).parent / f"report{i}.txt"
    path.write_text(body)
    return str(path)


def test_a_log_too_large_to_keep_whole_is_not_parsed_again_from_its_crash_alone(db, monkeypatch):
    import triage.store.reports as stored

    crash = ("WARNING: CPU: 0 PID: 42 at fs/ext4/inode.c:100 ext4_write_begin+0x1/0x2\nModules linked in:\n"
             "CPU: 0 PID: 42 Comm: syz-executor Not tainted 6.1.0 #1\nRIP: 0010:ext4_write_begin+0x1/0x2\n"
             "Call Trace:\n <TASK>\n generic_perform_write+0x1/0x2\n ext4_buffered_write_iter+0x1/0x2\n"
             " vfs_write+0x1/0x2\n </TASK>\n")
    log = ("FAULT_INJECTION: forcing a failure.\nname failslab, interval 1, probability 0, space 0, times 0\n"
           "CPU: 0 PID: 42 Comm: syz-executor Not tainted 6.1.0 #1\n"
           + "".join(f"audit: type=1400 audit({i}): avc: denied\n" for i in range(200)) + crash)
    monkeypatch.setattr(stored, "MAX_STORED_TEXT", 2_000)          # (2 MB: this log stands for one above it)
    Pipeline(db, classify=False).run(sources.files([_write(db, 0, log)]))
    text, parsed = db.execute("SELECT text, parsed FROM reports").fetchone()
    assert len(text) < 2_000 < len(log)                                 # the store kept the crash alone
    assert "fault-injection" in {m["kind"] for m in json.loads(parsed)["markers"]}
    with transaction(db):
        db.execute("UPDATE reports SET parser_version = '1.0'")
    got = reparse(db, classify=False)
    assert (got["reparsed"], got["partial"]) == (0, 1)
    assert db.execute("SELECT parsed FROM reports").fetchone()[0] == parsed     # what the whole log said, kept


def test_a_report_the_parser_fails_on_is_named_and_left_and_the_others_go_on(db, cli, monkeypatch):
    import triage.reparse as reparsing

    for i, func in enumerate(("d_path", "d_walk", "d_lookup")):
        Pipeline(db, classify=False).run(sources.files([_write(db, i, REPORT.replace("d_path", func))]))
    with transaction(db):
        db.execute("UPDATE reports SET parser_version = '1.8', title = 'stale', parsed = json_set(parsed, '$.title', "
                   "'stale')")
    bad = db.execute("SELECT id FROM reports WHERE text LIKE '%d_walk%'").fetchone()[0]

    def parse(text: str):
        if "d_walk" in text:
            raise ValueError("a parser bug")
        return real(text)

    real = reparsing.parse
    monkeypatch.setattr(reparsing, "parse", parse)
    res = cli("reparse", "--json")
    assert res.exit_code == 1
    assert res.stderr.strip() == f"triage: report {bad}: could not parse (ValueError: a parser bug)"
    got = json.loads(res.stdout)
    assert got["reparsed"] == 2 and len(got["errors"]) == 1
    titles = dict(db.execute("SELECT id, title FROM reports"))
    assert titles.pop(bad) == "stale" and all(t.endswith(("in d_path", "in d_lookup")) for t in titles.values())
