"""Filesystem shutdown after an injected failure (fs-shutdown): the transaction abort, the read-only
filesystem and what it does to other writers' dirty data come from the mechanics; the WARN from the kernel
version; and the fixes remove the abort, not its report."""

from __future__ import annotations

import pytest

from simulator import run
from tests.conftest import shared_data
from triage.report import parse
from triage.repro import NotCovered, fix_runs, link, run_link

NAME = "fs-shutdown"


def _events(r, *kinds):
    return [t for t in r.trace if t["ev"] in kinds]


def test_an_injected_enomem_in_a_btrfs_transaction_shuts_it_down_and_loses_dirty_data():
    r = run(NAME, overrides={"kernel": "6.12"})          # no stack trace for an ENOMEM abort since 6.1
    assert r.outcome == "data-loss" and r.evidence["silent"] == r.evidence["lost_pages"] == 4
    assert r.stats["injected_failures"] == 1
    order = [t["ev"] for t in _events(r, "fault-injection", "fs-shutdown", "give-up-on-write")]
    assert order == ["fault-injection", "fs-shutdown", "give-up-on-write", "give-up-on-write"]
    assert [e["err"] for e in r.evidence.get("errors_returned", [])] in ([], [-12])
    lines = r.console.splitlines()
    assert "BTRFS error (device loop0 state A): Transaction aborted (error -12)" in lines
    assert "BTRFS info (device loop0 state EA): forced readonly" in lines
    assert "WARNING" not in r.console


def test_before_6_1_the_btrfs_abort_warns_at_its_caller():
    r = run(NAME)                                        # 6.0
    assert r.outcome == "data-loss" and "warning" in r.evidence["also"]
    lines = r.console.splitlines()
    i = lines.index("BTRFS: Transaction aborted (error -12)")
    assert lines[i + 1].startswith("WARNING: CPU: 0 PID: 6010 at fs/btrfs/inode.c:6636 btrfs_add_link+")
    assert any(ln.startswith("BTRFS: error (device loop0 state A) in btrfs_add_link:6636: errno=-12 Out of memory")
               for ln in lines)


@pytest.mark.parametrize(("fs", "line"), [("ext4", "Aborting journal on device loop0-8."),
                                          ("xfs", "XFS (loop0): Please unmount the filesystem and rectify the "
                                                  "problem(s)")])
def test_ext4_and_xfs_shut_down_their_own_way(fs, line):
    r = run(NAME, overrides={"fs": fs})
    assert r.outcome == "data-loss"
    assert line in r.console.splitlines()


@pytest.mark.parametrize(("variant", "event"), [("allocate-before-transaction", "error-returned"),
                                                ("nofail-in-transaction", "site-allocated")])
def test_fixes_remove_the_abort(variant, event):
    r = run(NAME, variant, {"kernel": "6.0", "after": "bug"})
    assert r.outcome == "ok"
    assert not _events(r, "fs-shutdown", "give-up-on-write") and _events(r, event)
    assert ("FAULT_INJECTION" in r.console) == (variant == "allocate-before-transaction")   # NOFAIL is never failed


def test_a_shutdown_with_nothing_dirty_is_not_a_failure():
    r = run(NAME, "no-other-writer", {"kernel": "6.12"})
    assert _events(r, "fs-shutdown") and r.outcome == "ok"          # read-only, the caller got -ENOMEM
    assert run(NAME, "no-other-writer").outcome == "warning"        # 6.0: the abort's WARN is all there is
    assert run(NAME, "no-other-writer", {"after": "bug"}).outcome == "crash"


def test_without_fault_injection_nothing_happens():
    r = run(NAME, overrides={"fail_nth": "0"})
    assert r.outcome == "ok" and r.stats["injected_failures"] == 0 and not _events(r, "fs-shutdown")


# -- from a report -------------------------------------------------------------------------------------------
def test_the_abort_warning_of_a_report_links_back_to_the_mechanism():
    r = run(NAME)
    lk = link(parse(r.console))
    assert not isinstance(lk, NotCovered), lk
    assert lk.scenario == NAME
    assert {k: lk.params[k] for k in ("fs", "after", "abort_site", "kernel")} == {
        "fs": "btrfs", "after": "none", "abort_site": "btrfs_add_link", "kernel": "6.0"}
    again = run_link(lk)
    assert again.outcome == r.outcome
    assert {fx["variant"] for fx in fix_runs(lk, again) if fx["flips"]} == {"allocate-before-transaction",
                                                                           "nofail-in-transaction"}


@pytest.mark.parametrize(("name", "after", "abort_site"), [("048.txt", "bug", "btrfs_chunk_alloc_add_chunk_item"),
                                                           ("049.txt", "null-deref", "btrfs_free_tree_block")])
def test_real_reports_of_a_crash_after_a_btrfs_abort(name, after, abort_site):
    rep = parse(shared_data("labelled", "reports", name).read_text())
    lk = link(rep)
    assert lk.scenario == NAME and lk.params["after"] == after and lk.params["abort_site"] == abort_site
    assert "Transaction aborted (error -12)" in lk.evidence[-1]
    r = run_link(lk)
    assert r.outcome == "crash"
    assert "BTRFS info (device loop0 state EA): forced readonly" in r.console


def test_an_injection_without_a_filesystem_error_stays_an_error_path():
    rep = parse(shared_data("labelled", "reports", "054.txt").read_text())     # the abort message was not pasted
    assert link(rep).scenario == "unchecked-alloc-failure"
