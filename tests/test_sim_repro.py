"""Milestone 5: linking reports to scenarios, ``triage repro`` storing runs, and the demo runs.

Also: the classifier, given a run's console log, names the label that matches the run's outcome
(skipped until ``classifiers`` exposes ``classify``)."""

from __future__ import annotations

import json

import pytest

from simulator import run
from tests.conftest import shared_data
from triage.report import parse
from triage.repro import features, link, run_all_for_demo

LABELLED = ("labelled", "reports")


def _link_text(text: str):
    return link(parse(text), text)


@pytest.mark.parametrize(("scenario", "variant"), [
    ("nofail-reclaim", None), ("stacked-reclaim-deadlock", None), ("stacked-reclaim-deadlock", "nofs-in-dm-worker"),
    ("unchecked-alloc-failure", None), ("hwpoison-dirty-shmem", None), ("writeback-eio", None),
    ("writeback-eio", "as-eio"), ("fs-reclaim-lockdep", None), ("nfs-rpciod-releasepage", None),
])
def test_a_runs_own_console_links_back_to_its_scenario(scenario, variant):
    r = run(scenario, variant)
    lk = _link_text(r.console)
    assert lk is not None and lk.scenario == scenario


def test_link_reads_the_kernel_version_and_gfp():
    r = run("nofail-reclaim", overrides={"kernel": "6.18"})
    lk = _link_text(r.console)
    assert lk.params == {"kernel": "6.18"}
    f = features({"frames": [{"norm_function": "ext4_mb_load_buddy_gfp"}], "gfp": [{"flags": ["GFP_NOFS",
                                                                                            "__GFP_NOFAIL"]}],
                  "markers": [{"kind": "hung_task"}], "kernel": "5.2.0-rc1", "report": ""})
    assert "ext4_mb_load_buddy_gfp" in f.functions and "__GFP_NOFAIL" in f.gfp and f.kernel == "5.2"
    assert "hung_task" in f.markers


@pytest.mark.parametrize(("name", "scenario"), [
    ("001.txt", "nofail-reclaim"),          # syzbot: WARNING in ext4_mb_load_buddy_gfp (direct reclaim)
    ("003.txt", "nofail-reclaim"),          # kswapd, __getblk_slow NOFAIL from evict
    ("013.txt", "fs-reclaim-lockdep"),      # jbd2_handle --> xattr_sem --> fs_reclaim
    ("089.txt", "fs-reclaim-lockdep"),      # sb_internal vs fs_reclaim from ext4_evict_inode
    ("047.txt", "unchecked-alloc-failure"),  # failslab then general protection fault
    ("036.txt", "writeback-eio"),           # Buffer I/O error / lost page write
    ("029.txt", "writeback-eio"),           # ext4_end_bio I/O errors
])
def test_real_reports_link_to_their_mechanism(name, scenario):
    text = shared_data(*LABELLED, name).read_text(errors="replace")
    lk = _link_text(text)
    assert lk is not None and lk.scenario == scenario, lk


@pytest.mark.parametrize("name", ["072.txt", "074.txt", "042.txt", "066.txt"])
def test_unrelated_real_reports_link_to_nothing(name):
    text = shared_data(*LABELLED, name).read_text(errors="replace")
    assert _link_text(text) is None


def test_repro_command_runs_and_stores(cli, db_path):
    path = shared_data(*LABELLED, "001.txt")
    assert cli("import", str(path)).exit_code == 0
    from triage.store import open_db

    db = open_db(db_path)
    rid = db.execute("SELECT id FROM reports").fetchone()[0]
    res = cli("repro", str(rid), "--json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["scenario"] == "nofail-reclaim" and out["outcome"] == "warning"
    rows = list(db.query("SELECT * FROM repro_runs WHERE report_id = ?", [rid]))
    assert len(rows) == 1 and rows[0]["outcome"] == "warning" and rows[0]["scenario"] == "nofail-reclaim"
    assert json.loads(rows[0]["evidence"])["detector"] == "warning"
    assert "WARNING: CPU: 0 PID: 5744" in rows[0]["console"] and json.loads(rows[0]["trace"])
    assert rows[0]["sim_version"]


def test_repro_unknown_report_is_one_line_error(cli, db):
    res = cli("repro", "12345")
    assert res.exit_code == 1
    assert res.stderr.strip() == "triage: no report with id 12345"


def test_run_all_for_demo_has_every_variant():
    runs = run_all_for_demo()
    pairs = {(r["scenario"], r["variant"]) for r in runs}
    assert ("nofail-reclaim", "retry-loop") in pairs and ("stacked-reclaim-deadlock", "io-flusher") in pairs
    assert all(set(r) >= {"scenario", "variant", "params", "seed", "outcome", "evidence", "console", "trace"}
               for r in runs)


# outcome -> the label a classifier must give the run's console log
EXPECTED_LABEL = {"warning": "nofail-warning", "deadlock": "reclaim-deadlock", "crash": "fault-injection"}
DATA_LOSS_LINES = ("Buffer I/O error", "lost async page write", "Data will be lost", "Memory failure:")


def _classify():
    from classifiers import classify

    return classify


def _label(verdict) -> str:
    if isinstance(verdict, str):
        return verdict
    if isinstance(verdict, dict):
        return verdict["label"]
    return verdict.label


@pytest.mark.parametrize(("scenario", "variant"), [
    ("nofail-reclaim", None), ("stacked-reclaim-deadlock", None), ("unchecked-alloc-failure", None),
    ("fs-reclaim-lockdep", None), ("nfs-rpciod-releasepage", None), ("hwpoison-dirty-shmem", None),
    ("writeback-eio", "as-eio"),
])
def test_classifier_labels_the_console_like_the_outcome(scenario, variant):
    classify = _classify()
    r = run(scenario, variant)
    if any(s in r.console for s in DATA_LOSS_LINES) and r.outcome in ("data-loss", "error-reported"):
        expected = "data-loss"
    else:
        expected = EXPECTED_LABEL[r.outcome]
    verdict = classify(parse(r.console))
    assert verdict.label == expected, verdict.evidence
