"""Milestones 1-2: each seed scenario's default run gives the outcome its thread describes, and each fix
variant changes it the way the thread says. Outcomes come from the detectors; we also check the evidence
and the console lines that justify them."""

from __future__ import annotations

import pytest

from simulator import gfp as G
from simulator import run
from simulator.versions import KernelVersion


def test_gfp_masks_print_like_the_kernel():
    v612, v419, v49 = KernelVersion.parse("6.12"), KernelVersion.parse("4.19"), KernelVersion.parse("4.9")
    assert G.fmt(G.GFP_NOFS | G.NOFAIL, v612) == "0x8c40(GFP_NOFS|__GFP_NOFAIL)"
    assert G.fmt(G.GFP_KERNEL, v612) == "0xcc0(GFP_KERNEL)"
    assert G.fmt(G.GFP_HIGHUSER_MOVABLE, v612) == "0x100cca(GFP_HIGHUSER_MOVABLE)"
    assert G.value(G.GFP_NOFS | G.NOFAIL, v419) == 0x600840
    assert G.fmt(G.GFP_ATOMIC, v419) == "0x480020(GFP_ATOMIC)"
    assert G.value(G.GFP_KERNEL, v49) == 0x24000c0


# -- nofail-reclaim (seed 002) -------------------------------------------------------------------------
def test_nofail_reclaim_default_warns_from_reclaim_and_completes():
    r = run("nofail-reclaim")
    assert r.outcome == "warning"
    w = r.evidence["warnings"][0]
    assert w["cond"] == "pf_memalloc" and w["site"] == "ext4_mb_load_buddy_gfp"
    assert w["gfp"] == "0x8c40(GFP_NOFS|__GFP_NOFAIL)"
    assert r.evidence["allocation_completed"] is True
    lines = r.console.splitlines()
    assert any(ln.startswith("WARNING: CPU: 0 PID: 5744 at mm/page_alloc.c:") and "__alloc_pages_slowpath+0x" in ln
               for ln in lines)
    trace = r.console[r.console.index("Call Trace:"):]
    order = ["ext4_mb_load_buddy_gfp+", "ext4_discard_preallocations+", "ext4_clear_inode+", "evict+",
             "prune_icache_sb+", "super_cache_scan+", "shrink_slab+", "try_to_free_pages+"]
    positions = [trace.index(" " + fn) for fn in order]
    assert positions == sorted(positions)
    assert r.console.count("WARNING: CPU") == 1          # WARN_ON_ONCE


@pytest.mark.parametrize("variant", ["retry-loop", "skip-evict-in-reclaim", "pin-buddy"])
def test_nofail_reclaim_fixes_remove_the_warning(variant):
    r = run("nofail-reclaim", variant)
    assert r.outcome == "ok"
    assert "WARNING" not in r.console
    if variant == "retry-loop":          # the allocation still happens, without __GFP_NOFAIL
        assert any(t["ev"] == "evict" for t in r.trace)


# -- writepages-enomem (seed 000) ----------------------------------------------------------------------
def test_writepages_enomem_default_loses_data_silently():
    r = run("writepages-enomem", seed=1)
    assert r.outcome == "data-loss"
    ev = r.evidence
    assert ev["silent"] == ev["lost_pages"] > 0 and ev["reported"] == 0
    enomem_inodes = {t["ino"] for t in r.trace if t["ev"] == "writepages-enomem"}
    dropped = {t["ino"] for t in r.trace if t["ev"] == "drop-dirty"}
    assert dropped and dropped <= enomem_inodes      # exactly the inodes whose one integrity pass got ENOMEM


def test_writepages_enomem_retry_fix_keeps_the_data():
    r = run("writepages-enomem", "retry-enomem", seed=1)
    assert r.outcome == "ok"
    assert any(t["ev"] == "writepages-retry" for t in r.trace)     # ENOMEM happened and was retried
    assert not any(t["ev"] == "drop-dirty" for t in r.trace)


# -- unchecked-alloc-failure (seed 001) ----------------------------------------------------------------
def test_unchecked_alloc_default_knobs_inject_nothing():
    r = run("unchecked-alloc-failure")
    assert r.outcome == "ok"
    assert r.stats["injected_failures"] == 0
    assert "FAULT_INJECTION" not in r.console


def test_unchecked_alloc_under_syzbot_failslab_crashes():
    r = run("unchecked-alloc-failure", "syzbot")
    assert r.outcome == "crash"
    assert r.evidence["uses_of_failed_result"][0]["site"] == "nfs_page_create"
    text = r.console
    assert "FAULT_INJECTION: forcing a failure.\nname failslab, interval 1, probability 0, space 0, times 1" in text
    assert text.index("FAULT_INJECTION") < text.index("general protection fault")
    assert "RIP: 0010:nfs_page_create+0x" in text


def test_unchecked_alloc_checked_variant_returns_enomem():
    r = run("unchecked-alloc-failure", "checked")
    assert r.outcome == "ok"
    assert r.stats["injected_failures"] == 1
    assert r.evidence["errors_returned"][0]["err"] == -12
    assert "general protection fault" not in r.console
