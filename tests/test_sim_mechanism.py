"""Milestone 3: the outcome follows the mechanism. Changing a parameter that removes the cause removes
the outcome; changing the kernel version moves the NOFAIL WARN as kernel-semantics.md (c.6) says."""

from __future__ import annotations

import pytest

from simulator import fuzz, run


def test_no_memory_pressure_no_deadlock():
    r = run("stacked-reclaim-deadlock", overrides={"free_pages": "400"})
    assert r.outcome == "ok"
    assert not any(t["ev"] == "direct-reclaim" for t in r.trace)


def test_no_synchronous_xfs_inode_reclaim_no_deadlock():
    assert run("stacked-reclaim-deadlock", overrides={"xfs_sync_reclaim": "false"}).outcome == "ok"


@pytest.mark.parametrize(("kernel", "outcome"), [("5.2", "deadlock"), ("5.5", "deadlock"), ("5.6", "ok"),
                                                 ("6.12", "ok")])
def test_io_flusher_needs_a_kernel_that_has_the_prctl(kernel, outcome):
    assert run("stacked-reclaim-deadlock", "io-flusher", {"kernel": kernel}).outcome == outcome


def test_fail_rate_zero_no_loss():
    res = fuzz("writepages-enomem", 40, overrides={"fail_rate": "0"})
    assert res["outcomes"] == {"ok": 40} and res["lost_pages"] == 0


def test_loss_fraction_grows_with_fail_rate():
    fractions = [fuzz("writepages-enomem", 150, overrides={"fail_rate": str(p)})["loss_fraction"]
                 for p in (0.02, 0.0625, 0.25, 0.5)]
    assert fractions == sorted(fractions) and fractions[0] < fractions[-1]
    # one integrity pass per inode: a page is lost exactly when that one call got ENOMEM
    for p, f in zip((0.02, 0.0625, 0.25, 0.5), fractions, strict=True):
        assert abs(f - p) < max(0.02, p / 3)


def test_retry_enomem_follows_the_kernel_when_auto():
    lossy = run("writepages-enomem", overrides={"retry_enomem": "auto", "kernel": "4.11", "fail_rate": "0.5"})
    fixed = run("writepages-enomem", overrides={"retry_enomem": "auto", "kernel": "4.12", "fail_rate": "0.5"})
    assert lossy.outcome == "data-loss" and fixed.outcome == "ok"


def test_ignore_gfp_wait_default_means_no_injected_failure():
    # the kernel's default (Y) protects allocations that may sleep, whatever the probability
    for seed in range(1, 6):
        r = run("unchecked-alloc-failure", overrides={"ignore_gfp_wait": "true", "probability": "100"}, seed=seed)
        assert r.stats["injected_failures"] == 0 and r.outcome == "ok"
    r = run("unchecked-alloc-failure")  # syzkaller's setting, N: the seed's crash
    assert r.stats["injected_failures"] == 1 and r.outcome == "crash"


def test_nofail_is_never_injected_and_nowait_always_is():
    assert run("unchecked-alloc-failure", overrides={"gfp": "GFP_NOFS|__GFP_NOFAIL"}).outcome == "ok"
    # GFP_NOWAIT cannot sleep, so ignore-gfp-wait=Y does not protect it
    nowait = run("unchecked-alloc-failure", overrides={"gfp": "GFP_NOWAIT", "ignore_gfp_wait": "true"})
    assert nowait.outcome == "crash"


@pytest.mark.parametrize(("kernel", "outcome"), [("5.10", "ok"), ("6.6", "ok"), ("6.11", "ok"), ("6.12", "warning"),
                                                 ("6.17", "warning"), ("6.18", "warning")])
def test_nofail_pf_memalloc_warn_depends_on_kernel(kernel, outcome):
    r = run("nofail-reclaim", overrides={"kernel": kernel})
    assert r.outcome == outcome
    # the same NOFAIL allocation from reclaim happened in every version
    assert sum(t["ev"] == "evict" for t in r.trace) == 4


def test_nofail_warn_line_follows_version():
    assert "at mm/page_alloc.c:4240 " in run("nofail-reclaim").console
    assert "at mm/page_alloc.c:4630 " in run("nofail-reclaim", overrides={"kernel": "6.17"}).console
    assert "__alloc_frozen_pages_noprof+" in run("nofail-reclaim", overrides={"kernel": "6.17"}).console


@pytest.mark.parametrize(("kernel", "outcome"), [("4.12", "data-loss"), ("4.13", "error-reported"),
                                                 ("6.12", "error-reported")])
def test_fsync_error_reporting_by_version(kernel, outcome):
    assert run("writeback-eio", overrides={"kernel": kernel}).outcome == outcome


@pytest.mark.parametrize(("kernel", "outcome"), [("5.15", "data-loss"), ("5.16", "error-reported")])
def test_shmem_keep_poisoned_auto_follows_kernel(kernel, outcome):
    assert run("hwpoison-dirty-shmem", overrides={"keep_poisoned": "auto", "kernel": kernel}).outcome == outcome


def test_hwpoison_on_ext4_is_reported_by_fsync_and_clean_pages_lose_nothing():
    r = run("hwpoison-dirty-shmem", overrides={"fs": "ext4"})
    assert r.outcome == "error-reported" and r.evidence["examples"][0]["reported"] == "fsync -5"
    assert run("hwpoison-dirty-shmem", overrides={"fs": "ext4", "fsync_before_poison": "true"}).outcome == "ok"


def test_lockdep_splat_needs_fs_in_the_transaction_allocation():
    assert run("fs-reclaim-lockdep", overrides={"gfp": "GFP_NOFS"}).outcome == "ok"


def test_nofs_allocation_that_cannot_oom_kill_livelocks():
    """mapping-nofs with almost no memory: the daemon's NOFS allocation gets no OOM kill (!__GFP_FS) and
    loops, while kswapd waits on XFS inode writeback that only the daemon can complete (S9's mechanism)."""
    r = run("stacked-reclaim-deadlock", "mapping-nofs", {"free_pages": "20", "fio_pages": "4"})
    assert r.outcome == "livelock"
    spin = r.evidence["retrying"][0]
    assert spin["task"] == "tcmu-runner:1460" and spin["in"] == "ext4_da_write_begin"
    assert any(t["ev"] == "oom-skip" for t in r.trace)
    assert "fio:3301" in r.evidence["unfinished"]
