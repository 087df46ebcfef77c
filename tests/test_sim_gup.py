"""A GUP-pinned page re-dirtied after writeback (gup-pinned-redirty): the outcome follows from what writeback,
reclaim and the pinner did to the folio, and changes with the kernel version and the fixes that change that."""

from __future__ import annotations

import pytest

from simulator import run
from triage.report import parse
from triage.repro import NotCovered, fix_runs, link, run_link

NAME = "gup-pinned-redirty"


def _events(r, *kinds):
    return [t for t in r.trace if t["ev"] in kinds]


def test_pinned_page_loses_its_buffers_and_its_data_silently():
    r = run(NAME)                                        # 6.12: ext4 warns twice, then the data is gone
    assert r.outcome == "data-loss"
    assert r.evidence["silent"] == r.evidence["lost_pages"] == 2 and r.evidence["reported"] == 0
    assert "warning" in r.evidence["also"]
    order = [t["ev"] for t in _events(r, "pin", "writeback", "buffers-stripped-pinned", "dma-write",
                                      "dirty-without-buffers", "no-buffers-cleaned", "evict")]
    # pinned, cleaned by the flusher, buffers stripped by reclaim (the page stays: it is pinned), written
    # through the pin, dirtied without buffers, cleaned unwritten by writeback, dropped at umount
    assert order.index("pin") < order.index("writeback") < order.index("buffers-stripped-pinned") \
        < order.index("dma-write") < order.index("dirty-without-buffers") < order.index("no-buffers-cleaned") \
        < len(order) - 1 - order[::-1].index("evict")
    assert not _events(r, "error-returned")              # fsync said nothing
    lines = r.console.splitlines()
    warn = next(ln for ln in lines if ln.startswith("WARNING: CPU:"))
    assert "fs/ext4/inode.c:" in warn and " ext4_dirty_folio+" in warn
    trace = r.console[r.console.index("Call Trace:"):]
    assert trace.index(" folio_mark_dirty+") < trace.index(" unpin_user_pages_dirty_lock+") \
        < trace.index(" process_vm_rw_single_vec+") < trace.index(" __x64_sys_process_vm_writev+")
    assert sum("does not have buffers attached" in ln for ln in lines) == 2


def test_before_5_18_ext4_writeback_bugs_on_the_page():
    r = run(NAME, overrides={"kernel": "5.16"})
    assert r.outcome == "crash"
    assert r.evidence["uses_of_failed_result"][0]["site"] == "mpage_prepare_extent_to_map"
    assert "kernel BUG at fs/ext4/inode.c:2620!" in r.console
    assert " ext4_set_page_dirty+" in r.console and "ext4_dirty_folio" not in r.console      # the 5.16 name
    assert "does not have buffers attached" not in r.console
    # cc5095747edf: the same run warns and loses the data instead
    assert run(NAME, "warn-not-bug", {"kernel": "5.16"}).outcome == "data-loss"


@pytest.mark.parametrize(("variant", "event"), [("reclaim-skips-pinned", None),
                                                ("writeback-keeps-pinned-dirty", "pinned-kept-dirty")])
@pytest.mark.parametrize("kernel", ["5.16", "6.12"])
def test_fixes_keep_the_buffers_and_the_data(variant, event, kernel):
    r = run(NAME, variant, {"kernel": kernel})
    assert r.outcome == "ok"
    assert not _events(r, "buffers-stripped-pinned", "dirty-without-buffers")
    assert "WARNING" not in r.console and "BUG" not in r.console
    if event:
        assert _events(r, event)


def test_without_reclaim_nothing_strips_the_buffers():
    r = run(NAME, "no-memory-pressure")
    assert r.outcome == "ok" and not _events(r, "buffers-stripped-pinned")


def test_long_term_pins_of_file_mappings_are_refused_from_6_5():
    r = run(NAME, overrides={"kind": "long-term"})
    assert r.outcome == "ok"
    assert _events(r, "pin-refused") and r.evidence["errors_returned"][0]["err"] == -14
    old = run(NAME, overrides={"kind": "long-term", "kernel": "6.1"})
    assert old.outcome == "data-loss" and " __ib_umem_release+" in old.console
    assert run(NAME, "refuse-longterm-file-pin", {"kind": "long-term", "kernel": "6.1"}).outcome == "ok"


@pytest.mark.parametrize("kernel", ["5.16", "6.12"])
def test_a_report_of_the_warning_links_back_to_the_mechanism(kernel):
    """The run's console parsed as a report links to the same mechanism, with its call path, kernel and pin."""
    r = run(NAME, overrides={"kernel": kernel, "kind": "long-term"} if kernel == "5.16" else {"kernel": kernel})
    rep = parse(r.console)
    lk = link(rep)
    assert not isinstance(lk, NotCovered), lk
    assert lk.scenario == NAME and lk.params["kernel"] == kernel and lk.params["fs"] == "ext4"
    assert lk.params["kind"] == ("long-term" if kernel == "5.16" else "short-term")
    assert lk.params["path"][-1] == ("ext4_set_page_dirty" if kernel == "5.16" else "ext4_dirty_folio")
    again = run_link(lk)
    assert again.outcome == r.outcome
    flips = {fx["variant"] for fx in fix_runs(lk, again) if fx["flips"]}
    assert {"reclaim-skips-pinned", "writeback-keeps-pinned-dirty"} <= flips


def test_a_dirty_warning_without_a_pinner_is_not_this_mechanism():
    r = run(NAME)
    text = r.console.replace("unpin_user_pages_dirty_lock", "fault_dirty_shared_page").replace(
        "set_page_dirty_lock", "do_wp_page").replace("process_vm_rw_single_vec", "handle_mm_fault").replace(
        "process_vm_rw_core", "__handle_mm_fault").replace("process_vm_rw", "do_user_addr_fault")
    lk = link(parse(text))
    assert isinstance(lk, NotCovered) and "no pinner" in str(lk)
