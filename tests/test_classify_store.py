"""Milestone 4: verdicts stored on import with the classifier version, re-classification on a new version,
human labels win and feed the next training."""

from __future__ import annotations

import json

import pytest

from classifiers.classifier import Classifier, default_classifier
from classifiers.features import features
from classifiers.model import Model
from classifiers.rules import RuleSet
from classifiers.view import ReportView
from tests.conftest import shared_data
from triage.classify_store import current_verdict, reclassify
from triage.report import parse
from triage.review import set_label

WRITEBACK_WARNING = """\
------------[ cut here ]------------
WARNING: CPU: 1 PID: {pid} at fs/blorp/writeback.c:512 blorp_flush_dirty_extent+0x1f0/0x300 fs/blorp/writeback.c:512
Modules linked in:
CPU: 1 PID: {pid} Comm: kworker/u8:{n} Not tainted 6.12.0-syzkaller #0
RIP: 0010:blorp_flush_dirty_extent+0x1f0/0x300 fs/blorp/writeback.c:512
Call Trace:
 <TASK>
 blorp_writeback_extent+0x{off}/0x400 fs/blorp/writeback.c:600
 {middle}+0x88/0x200 fs/blorp/writeback.c:700
 blorp_do_writepages+0x120/0x300 fs/blorp/inode.c:900
 do_writepages+0x1a0/0x2c0 mm/page-writeback.c:2600
 __writeback_single_inode+0x100/0x600 fs/fs-writeback.c:1650
 writeback_sb_inodes+0x500/0xa00 fs/fs-writeback.c:1900
 wb_workfn+0x300/0x800 fs/fs-writeback.c:2300
 process_one_work+0x900/0x1400 kernel/workqueue.c:3200
 worker_thread+0x600/0xa00 kernel/workqueue.c:3350
 kthread+0x2c0/0x360 kernel/kthread.c:389
 ret_from_fork+0x4b/0x80 arch/x86/kernel/process.c:147
 </TASK>
"""


def report_text(pid=4321, n=3, off="1a0", middle="blorp_writeback_range"):
    return WRITEBACK_WARNING.format(pid=pid, n=n, off=off, middle=middle)


@pytest.fixture
def imported(cli, db_path, tmp_path):
    """Five labelled reports imported through the CLI (the ingest hook classifies them)."""
    labelled = shared_data("labelled", "reports")
    files = [labelled / f"{n:03d}.txt" for n in (1, 13, 47, 57, 89)]
    res = cli("import", "--json", *files)
    assert res.exit_code == 0, res.output
    from triage.store import open_db

    return open_db(db_path)


def test_import_stores_a_verdict_per_report_with_the_classifier_version(imported):
    rows = imported.execute("SELECT r.id, r.title, v.label, v.classifier_version, v.evidence FROM reports r "
                            "JOIN verdicts v ON v.report_id = r.id AND v.source = 'combined'").fetchall()
    n_reports = imported.execute("SELECT count(*) FROM reports").fetchone()[0]
    assert n_reports >= 4 and len(rows) == n_reports
    version = default_classifier().version
    assert {r[3] for r in rows} == {version}
    labels = {r[1]: r[2] for r in rows}
    assert labels["WARNING in ext4_mb_load_buddy_gfp"] == "nofail-warning"
    assert any(lab == "reclaim-deadlock" for lab in labels.values())
    for *_, evidence in rows:
        assert "rules" in json.loads(evidence)


def test_a_new_classifier_version_reclassifies(imported):
    assert reclassify(imported)["reclassified"] == 0          # nothing stale
    imported.execute("UPDATE verdicts SET classifier_version = 'old', label = 'other' WHERE report_id = 1")
    imported.conn.commit()
    res = reclassify(imported)
    assert res["reclassified"] == 1
    redone = current_verdict(imported, 1)
    assert redone["label"] == "nofail-warning" and redone["classifier_version"] == default_classifier().version
    # a changed rules file is a new version: every stored verdict is redone
    data = {"rules": [{"id": "only", "label": "other", "confidence": 0.9, "why": "everything is other, for a test",
                       "when": {"crash": ["warning", "lockdep-circular", "oops", "hang", "none", "bug"]}}]}
    clf = Classifier(rules=RuleSet(data))
    assert clf.version != default_classifier().version
    n = imported.execute("SELECT count(*) FROM reports").fetchone()[0]
    assert reclassify(imported, clf)["reclassified"] == n
    versions = {r[0] for r in imported.execute("SELECT classifier_version FROM verdicts WHERE source='combined'")}
    assert versions == {clf.version}


def test_human_label_wins(imported, cli, tmp_path):
    rid, title = imported.execute("SELECT id, title FROM reports WHERE title LIKE 'WARNING in ext4_mb%'").fetchone()
    set_label(imported, rid, "other", who="maint", note="benign")
    v = current_verdict(imported, rid)
    assert v["source"] == "human" and v["label"] == "other"
    reclassify(imported, everything=True)                     # re-classification never touches the human label
    assert current_verdict(imported, rid)["label"] == "other"
    path = shared_data("labelled", "reports", "001.txt")
    out = json.loads(cli("classify", "--json", path).output)
    assert out["label"] == "other" and out["source"] == "human"
    assert out["evidence"]["classifier_label"] == "nofail-warning"


def test_human_label_changes_the_next_trained_model(cli, db_path, tmp_path):
    shared_data("labelled")
    labelled_report = tmp_path / "blorp.txt"
    labelled_report.write_text(report_text())
    near_copy = report_text(pid=9876, n=7, off="1c4", middle="blorp_writeback_pages")
    assert cli("import", labelled_report).exit_code == 0
    from triage.store import open_db

    db = open_db(db_path)
    rid = db.execute("SELECT id FROM reports").fetchone()[0]

    before = tmp_path / "before.json"
    res = cli("train", "--json", "--out", before)
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["sources"] == {"corpus": 89}

    set_label(db, rid, "data-loss", who="maint")
    after = tmp_path / "after.json"
    res = cli("train", "--json", "--out", after)
    assert json.loads(res.output)["sources"] == {"corpus": 89, "human": 1}

    feats = [features(ReportView.build(parse(near_copy)))]

    def predicted(path):
        m = Model.load(path)
        probs = dict(zip(m.classes, m.predict_proba(feats)[0], strict=True))
        return max(probs, key=probs.get), probs

    label_before, _ = predicted(before)
    label_after, probs_after = predicted(after)
    assert label_before != "data-loss"
    assert label_after == "data-loss", probs_after
    near = tmp_path / "near.txt"
    near.write_text(near_copy)
    # the CLI shows the new model's answer; a confident "ordinary warning" rule still decides the label, and the
    # disagreement with the retrained model sends the report to review
    out = json.loads(cli("classify", "--json", "--model", after, near).output)
    assert out["evidence"]["model"]["label"] == "data-loss"
    assert out["needs_review"] is True
    out_before = json.loads(cli("classify", "--json", "--model", before, near).output)
    assert out_before["evidence"]["model"]["label"] != "data-loss"


def test_verdicts_of_an_older_classifier_are_refreshed_by_the_next_import(cli, db_path):
    reports = shared_data("labelled", "reports")
    assert cli("import", reports / "013.txt").exit_code == 0
    from triage.store import open_db

    db = open_db(db_path)
    current = db.execute("SELECT classifier_version FROM verdicts WHERE source = 'combined'").fetchone()[0]
    db.execute("UPDATE verdicts SET classifier_version = 'older', label = 'other' WHERE source = 'combined'")
    db.conn.commit()
    res = cli("import", "--json", reports / "001.txt")
    assert json.loads(res.stdout)["reclassified"] == 1
    rows = db.execute("SELECT label, classifier_version FROM verdicts WHERE source = 'combined' ORDER BY report_id")
    assert [tuple(r) for r in rows] == [("reclaim-deadlock", current), ("nofail-warning", current)]


def test_a_parse_stored_by_an_older_parser_is_read_again_from_its_text():
    """Rows stored before the console reading (PARSER_VERSION < 1.3: no crash / events / trace / locks, old
    marker names) are parsed again from their text, so they classify as a fresh parse does."""
    from classifiers.store_rows import CONSOLE_FIELDS, report_from_row

    text = shared_data("labelled", "reports", "067.txt").read_text(errors="replace")
    fresh = parse(text)
    old = {k: v for k, v in fresh.to_dict().items() if k not in CONSOLE_FIELDS}
    old["markers"] = [{**m, "kind": m["kind"].replace("-", "_")} for m in old["markers"]]   # 1.2's names
    again = report_from_row(json.dumps(old), text)
    assert again.crash == fresh.crash and again.trace == fresh.trace and again.markers == fresh.markers
    stored = report_from_row(json.dumps(fresh.to_dict()), text)                # a current row is not re-parsed
    assert stored.to_dict() == json.loads(json.dumps(fresh.to_dict()))
    clf = Classifier(use_model=False)
    assert clf.classify(again).label == clf.classify(fresh).label == clf.classify(stored).label


def test_the_store_path_classifies_as_the_parsed_reports():
    """``classify_rows`` builds the views from the stored JSON (no Report rebuilt): the very same verdicts,
    evidence and probabilities included, as the parsed reports and as ``report_from_row``; a row without a
    current parse (missing, not JSON, NaN that only ``json`` reads) is read as before."""
    from dataclasses import asdict

    from classifiers.store_rows import report_from_row

    paths = sorted(shared_data("labelled", "reports").glob("*.txt"))
    texts = [p.read_text(errors="replace") for p in paths]
    reports = [parse(t) for t in texts]
    rows = [json.dumps(r.to_dict(), ensure_ascii=False) for r in reports]
    clf = default_classifier()

    def dump(verdicts):
        return [json.dumps(asdict(v), sort_keys=True) for v in verdicts]

    expected = dump(clf.classify_many(reports))
    assert dump(clf.classify_rows(list(zip(rows, texts, strict=True)))) == expected
    assert dump(clf.classify_many([report_from_row(r, None) for r in rows])) == expected
    odd = [(None, texts[0]), ("{not json", texts[1]), (rows[2].replace('"corrupted": false', '"corrupted": NaN'),
                                                       texts[2])]
    assert "NaN" in odd[2][0]
    assert dump(clf.classify_rows(odd[:2])) == expected[:2]
    assert clf.classify_rows(odd[2:])[0].label == clf.classify(reports[2]).label
