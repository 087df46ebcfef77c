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
def test_unchecked_alloc_kernel_default_knobs_inject_nothing():
    r = run("unchecked-alloc-failure", overrides={"ignore_gfp_wait": "true"})
    assert r.outcome == "ok"
    assert r.stats["injected_failures"] == 0
    assert "FAULT_INJECTION" not in r.console


def test_unchecked_alloc_under_syzbot_failslab_crashes():
    r = run("unchecked-alloc-failure")
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


# -- stacked-reclaim-deadlock (seed 003) ---------------------------------------------------------------
def test_stacked_default_deadlocks_on_the_daemon_itself():
    r = run("stacked-reclaim-deadlock")
    assert r.outcome == "deadlock"
    cycle = r.evidence["cycle"]
    assert [c["task"] for c in cycle] == ["tcmu-runner:1460"] and cycle[0]["which_needs"] == "tcmu-runner:1460"
    assert "xfs_buf write" in cycle[0]["waits_on"]
    text = r.console
    assert "INFO: task tcmu-runner:1460 blocked for more than 143 seconds." in text
    block = text[text.index("INFO: task tcmu-runner"):]
    block = block[:block.index("RIP: 0033")]
    order = ["wait_for_completion+", "xfs_buf_iowait+", "xfs_reclaim_inode+", "super_cache_scan+",
             "try_to_free_pages+", "__alloc_pages_slowpath+", "ext4_da_write_begin+", "ksys_pwrite64+"]
    positions = [block.index(" " + fn) for fn in order]
    assert positions == sorted(positions)


@pytest.mark.parametrize("variant", ["mapping-nofs", "io-flusher"])
def test_stacked_fixes_that_strip_fs_from_the_daemon_allocation(variant):
    r = run("stacked-reclaim-deadlock", variant, {"kernel": "5.10"})      # PR_SET_IO_FLUSHER exists from 5.6
    assert r.outcome == "ok"
    assert "blocked for more than" not in r.console
    assert any(t["ev"] == "direct-reclaim" and "GFP_FS" not in t["gfp"] and "GFP_KERNEL" not in t["gfp"]
               for t in r.trace if t["task"].startswith("tcmu-runner"))


def test_stacked_nofs_in_dm_worker_does_not_remove_the_deadlock():
    r = run("stacked-reclaim-deadlock", "nofs-in-dm-worker")
    assert r.outcome == "deadlock"
    assert r.evidence["cycle"][0]["task"] == "tcmu-runner:1460"


# -- hwpoison-dirty-shmem (seed 004) -------------------------------------------------------------------
def test_hwpoison_dirty_shmem_truncation_is_silent_loss():
    r = run("hwpoison-dirty-shmem")
    assert r.outcome == "data-loss"
    assert r.evidence["silent"] == 1 and r.evidence["examples"][0]["page"] == 1
    assert "Memory failure: 0x" in r.console and "recovery action for dirty LRU page: Recovered" in r.console
    reads = [t for t in r.trace if t["ev"] == "read"]
    assert [t["version"] for t in reads][1] == 0          # the read returned a hole (zeros), no error


def test_hwpoison_keep_poisoned_reports_eio():
    r = run("hwpoison-dirty-shmem", "keep-poisoned")
    assert r.outcome == "error-reported"
    assert r.evidence["examples"][0]["reported"] == "read -5"


# -- writeback-eio (S6), fs-reclaim-lockdep (S10), nfs-rpciod-releasepage (S4) --------------------------
def test_writeback_eio_errseq_tells_both_writers():
    r = run("writeback-eio")
    assert r.outcome == "error-reported" and r.evidence["silent"] == 0
    assert "Buffer I/O error on device sda1, logical block" in r.console
    assert sorted({e["writer"] for e in r.evidence["examples"]}) == ["postgres:4201"]   # first examples


def test_writeback_eio_as_eio_loses_the_second_writer():
    r = run("writeback-eio", "as-eio")
    assert r.outcome == "data-loss"
    assert {e["writer"] for e in r.evidence["examples"]} == {"postgres:4202"}
    assert "blk_update_request: I/O error, dev sda" in r.console        # 4.12 wording


def test_writeback_eio_healthy_disk_is_ok():
    assert run("writeback-eio", "healthy-disk").outcome == "ok"


def test_fs_reclaim_lockdep_cycle_and_nofs_scope_fix():
    r = run("fs-reclaim-lockdep")
    assert r.outcome == "deadlock" and r.evidence["kind"].startswith("lock-order")
    assert "fs_reclaim" in r.evidence["cycle"] and "jbd2_handle" in r.evidence["cycle"]
    assert "WARNING: possible circular locking dependency detected" in r.console
    assert "-> #2 (fs_reclaim){+.+.}-{0:0}:" in r.console and "-> #1 (&ei->xattr_sem)" in r.console
    fixed = run("fs-reclaim-lockdep", "nofs-scope")
    assert fixed.outcome == "ok" and "circular locking" not in fixed.console


def test_nfs_rpciod_releasepage_self_deadlock_and_fix():
    r = run("nfs-rpciod-releasepage")
    assert r.outcome == "deadlock"
    assert r.evidence["cycle"][0]["task"].startswith("kworker/u8:1")
    assert "Workqueue: rpciod rpc_async_schedule" in r.console
    assert run("nfs-rpciod-releasepage", "skip-commit-in-reclaim").outcome == "ok"


def test_every_scenario_and_variant_runs_and_is_deterministic():
    from simulator import run_all

    first = [r.to_dict() for r in run_all()]
    second = [r.to_dict() for r in run_all()]
    assert first == second
    assert len({r["scenario"] for r in first}) >= 8
    assert {r["outcome"] for r in first} >= {"ok", "warning", "deadlock", "data-loss", "error-reported", "crash"}
