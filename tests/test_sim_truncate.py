"""A dirty folio removed by truncation (truncate-dirty-metadata): nilfs2's inode file, exposed under a name by
a corrupted image, truncated by creat() while an inode update re-dirties a page truncation just cleaned. The
outcome follows from what truncation, the inode updates and segment construction did to the ifile's pages."""

from __future__ import annotations

import json

import pytest

from simulator import run
from triage.report import parse
from triage.repro import NotCovered, fix_runs, link, run_link

NAME = "truncate-dirty-metadata"
# syzbot's creat() -> do_truncate path (function names only, outermost first)
CREAT_PATH = ["entry_SYSCALL_64_after_hwframe", "do_syscall_64", "do_syscall_x64", "__x64_sys_creat",
              "__se_sys_creat", "__do_sys_creat", "do_sys_open", "do_sys_openat2", "do_filp_open", "path_openat",
              "do_open", "handle_truncate", "do_truncate", "notify_change", "simple_setattr", "truncate_setsize",
              "truncate_pagecache", "truncate_inode_pages", "truncate_inode_pages_range",
              "delete_from_page_cache_batch", "filemap_unaccount_folio"]


def _events(r, *kinds):
    return [t for t in r.trace if t["ev"] in kinds]


def _report_text() -> str:
    """A report of that shape: the run on 6.9 following syzbot's call path, as its console prints it."""
    return run(NAME, overrides={"kernel": "6.9", "path": CREAT_PATH}).console


def test_an_ifile_page_redirtied_during_truncation_is_dropped_with_the_warning():
    r = run(NAME)
    assert r.outcome == "data-loss"
    assert r.evidence["silent"] == r.evidence["lost_pages"] == 5 and r.evidence["files"] == ["fs:/data"]
    assert "warning" in r.evidence["also"]
    order = [(t["ev"], t["task"].split(":")[0]) for t in
             _events(r, "private-inode-exposed", "truncate-cleaned", "ifile-redirty", "dirty-folio-removed")]
    # the writer's first update dirties the ifile page; creat() reaches the ifile, truncation cleans the page,
    # the writer's next update re-dirties it (locked, mid-truncation), and it is removed dirty
    assert order == [("ifile-redirty", "writer"), ("private-inode-exposed", "syz-executor306"),
                     ("truncate-cleaned", "syz-executor306"), ("ifile-redirty", "writer"),
                     ("dirty-folio-removed", "syz-executor306")]
    assert _events(r, "ifile-redirty")[1]["locked"] is True
    # the segment wrote the data, but no inode record points at it: fsync said nothing
    seg = _events(r, "segment")
    assert seg and seg[0]["data"] == 5 and seg[0]["ifile_pages"] == 0
    assert not _events(r, "error-returned")
    warn = next(ln for ln in r.console.splitlines() if ln.startswith("WARNING: CPU:"))
    assert "mm/filemap.c:217 filemap_unaccount_folio+" in warn and "PID: 5096" in warn
    trace = r.console[r.console.index("Call Trace:"):]
    assert trace.index(" delete_from_page_cache_batch+") < trace.index(" truncate_inode_pages_range+") \
        < trace.index(" truncate_setsize+") < trace.index(" simple_setattr+") < trace.index(" notify_change+") \
        < trace.index(" __x64_sys_creat+")
    assert "ORIG_RAX: 0000000000000055" in r.console            # creat(2)


def test_the_warning_needs_the_race_the_loss_does_not():
    """After the window the update lands in the orphaned buffer: no WARN, the records are lost all the same;
    the outcome comes from the events, not from the variant."""
    late = run(NAME, "update-after-truncate")
    assert late.outcome == "data-loss" and "warning" not in late.evidence["also"]
    assert "WARNING" not in late.console and _events(late, "ifile-orphan-dirty")
    early = run(NAME, overrides={"redirty_at": "1.5"})          # both updates before the truncation
    assert early.outcome == "data-loss" and not _events(early, "dirty-folio-removed")
    # no truncation window at all: the update still comes after the removal
    assert not _events(run(NAME, overrides={"batch_seconds": "0"}), "dirty-folio-removed")


def test_rejecting_the_private_inode_number_keeps_the_data():
    r = run(NAME, "reject-private-inode")
    assert r.outcome == "ok"
    assert "disallowed inode number" in r.console and "WARNING" not in r.console
    assert r.evidence["errors_returned"][0]["op"] == "creat" and r.evidence["errors_returned"][0]["err"] == -5
    seg = _events(r, "segment")
    assert seg and seg[0]["ifile_pages"] == 1
    assert not _events(r, "truncate-cleaned", "dirty-folio-removed")


def test_the_console_classifies_as_data_loss_by_its_warning():
    from classifiers import classify

    verdict = classify(parse(run(NAME).console))
    assert verdict.label == "data-loss", verdict.evidence
    assert "dl-dirty-folio-removed" in json.dumps(verdict.evidence)


def test_a_report_of_that_shape_links_to_the_mechanism_with_its_path():
    rep = parse(_report_text())
    lk = link(rep)
    assert not isinstance(lk, NotCovered), lk
    assert lk.scenario == NAME and lk.params["fs"] == "nilfs2" and lk.params["kernel"] == "6.9"
    assert lk.params["path"] == CREAT_PATH and lk.params["pid"] == 5096
    assert any("simple_setattr" in e for e in lk.evidence) and any("def_mdt_iops" in n for n in lk.notes)
    r = run_link(lk)
    assert r.outcome == "data-loss"
    crash = {f.function for f in rep.frames if f.stack == "crash"}
    assert all(f" {fn}+" in r.console for fn in crash)
    assert {fx["variant"] for fx in fix_runs(lk, r) if fx["flips"]} == {"reject-private-inode"}


def test_triage_repro_links_an_imported_report(cli, db_path, tmp_path):
    path = tmp_path / "report.txt"
    path.write_text(_report_text())
    assert cli("import", str(path)).exit_code == 0
    from triage.store import open_db

    rid = open_db(db_path).execute("SELECT id FROM reports").fetchone()[0]
    res = cli("repro", str(rid), "--json")
    assert res.exit_code == 0, res.stdout
    out = json.loads(res.stdout)
    assert out["scenario"] == NAME and out["outcome"] == "data-loss" and out["covered"]
    assert [fx["variant"] for fx in out["fixes"] if fx["flips"]] == ["reject-private-inode"]


@pytest.mark.parametrize(("old", "new", "why"), [
    ("simple_setattr", "ext4_setattr", "on ext4"),                            # another filesystem's ->setattr
    ("truncate_inode_pages_range", "invalidate_inode_pages2_range", "no truncation"),
    ("truncate_pagecache", "fault_dirty_shared_page", "no truncation"),
])
def test_other_removals_are_not_this_mechanism(old, new, why):
    text = _report_text()
    if why == "no truncation":
        for fn in ("truncate_inode_pages_range", "truncate_inode_pages", "truncate_pagecache", "truncate_setsize"):
            text = text.replace(f" {fn}+", f" {new}_{fn[:3]}+")
    else:
        text = text.replace(f" {old}+", f" {new}+")
    lk = link(parse(text))
    assert isinstance(lk, NotCovered) and why in str(lk), lk


def test_a_dirty_folio_dropped_at_eviction_is_not_covered():
    text = _report_text()
    for fn in ("do_truncate", "notify_change", "simple_setattr", "truncate_setsize", "truncate_pagecache"):
        text = text.replace(f" {fn}+", " nilfs_evict_inode+" if fn == "simple_setattr" else " evict+")
    text = text.replace(" truncate_inode_pages+", " truncate_inode_pages_final+")
    lk = link(parse(text))
    assert isinstance(lk, NotCovered) and "eviction" in str(lk), lk


def test_before_5_16_the_warning_is_unaccount_page_cache_page_and_still_links():
    r = run(NAME, overrides={"kernel": "5.10"})
    assert r.outcome == "data-loss"
    warn = next(ln for ln in r.console.splitlines() if ln.startswith("WARNING: CPU:"))
    assert " unaccount_page_cache_page+" in warn and "filemap_unaccount_folio" not in r.console
    lk = link(parse(r.console))
    assert not isinstance(lk, NotCovered) and lk.scenario == NAME and lk.params["kernel"] == "5.10"
