"""The mechanism families a report configures: each outcome follows from the mechanics and changes with the
parameter, the kernel version or the fix that changes those mechanics (never with a name or a label)."""

from __future__ import annotations

import pytest

from simulator import SimError, run
from simulator.callpath import END, PathPlan, Stage
from simulator.params import Param


# -- typed parameters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("param", "raw", "value"), [
    (Param("kernel", "6.12"), "5.10.0-rc1", "5.10"),
    (Param("gfp", "GFP_KERNEL", type="gfp"), "GFP_NOFS | __GFP_NOFAIL", "GFP_NOFS|__GFP_NOFAIL"),
    (Param("path", type="path"), "a,b.constprop.0, c", ["a", "b.constprop.0", "c"]),
    (Param("paths", type="paths"), "a,b;c", [["a", "b"], ["c"]]),
    (Param("locks", type="names"), "&ei->xattr_sem,fs_reclaim", ["&ei->xattr_sem", "fs_reclaim"]),
    (Param("mode", "auto", choices=["auto", True, False]), "false", False),
    (Param("order", 0, max=10), "0x3", 3),
])
def test_params_coerce(param, raw, value):
    assert param.coerce(raw) == value


@pytest.mark.parametrize(("param", "raw"), [
    (Param("kernel", "6.12"), "2.6"), (Param("kernel", "6.12"), "banana"), (Param("order", 0, max=10), 11),
    (Param("order", 0, max=10), 2.5), (Param("gfp", "GFP_KERNEL", type="gfp"), "GFP_KERNEL|__GFP_WHAT"),
    (Param("path", type="path"), "ok,not a name"), (Param("path", type="path"), ",".join(["f"] * 300)),
    (Param("locks", type="names"), "a\x1b[31m"), (Param("fail_rate", 0.1), "nan"),
])
def test_params_refuse(param, raw):
    with pytest.raises(SimError):
        param.coerce(raw)


# -- call paths -----------------------------------------------------------------------------------------------
def test_a_path_stage_and_its_rewind():
    plan = PathPlan(["entry", "do_syscall_64", "__alloc_pages_noprof", "__alloc_pages_slowpath"])
    assert plan.upto(Stage("__alloc_frozen_pages_noprof")) == ("entry", "do_syscall_64")     # an alias
    assert plan.upto(Stage("nowhere")) is None
    assert plan.upto(Stage("nowhere") | END) == tuple(plan.frames)          # END survives a union
    assert plan.through_any(("do_syscall_64",)) == ("entry", "do_syscall_64")


def test_reported_frames_print_as_the_report_named_them():
    from simulator import symbols
    from simulator.callpath import Reported
    from simulator.versions import KernelVersion

    old = KernelVersion.parse("5.2")
    assert symbols.print_stack(["__alloc_frozen_pages_noprof"], old)[0].startswith(" __alloc_pages_nodemask+")
    assert symbols.print_stack([Reported("__alloc_frozen_pages_noprof")], old)[0].startswith(
        " __alloc_frozen_pages_noprof+")


# -- NOFAIL from a caller's own context ---------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "conds"), [
    ({"kernel": "6.12"}, ["order"]),                                   # entry check, fast path missed
    ({"kernel": "6.1"}, ["order"]),                                    # rmqueue's check
    ({"kernel": "6.1", "order": "1"}, []),
    ({"context": "kthread", "comm": "xfsaild/sda3", "order": "0"}, ["pf_memalloc"]),
    ({"context": "kthread", "comm": "kworker/u8:2", "order": "0"}, []),   # no PF_MEMALLOC of its own
    ({"context": "kthread", "comm": "xfsaild/sda3", "order": "0", "kernel": "6.11"}, []),
    ({"context": "softirq", "gfp": "GFP_ATOMIC|__GFP_NOFAIL", "order": "0", "kernel": "5.16"}, ["no_reclaim"]),
    ({"context": "process", "memalloc": "true", "order": "0"}, ["pf_memalloc"]),     # made inside reclaim
])
def test_nofail_caller_warns_where_the_kernel_does(kw, conds):
    r = run("nofail-caller", overrides=kw)
    assert [w["cond"] for w in r.evidence.get("warnings", [])] == conds
    assert r.outcome == ("warning" if conds else "ok")


def test_nofail_without_direct_reclaim_fails_and_says_so():
    r = run("nofail-caller", overrides={"context": "softirq", "gfp": "GFP_ATOMIC|__GFP_NOFAIL", "order": "0",
                                        "kernel": "5.16"})
    assert r.evidence["warnings"][0]["completed"] is False            # the NOFAIL request returned NULL
    assert any(t["ev"] == "atomic-drain" for t in r.trace)
    # the drain's failures are __GFP_NOWARN; the NOFAIL request's own failure is reported (warn_alloc)
    assert r.console.count("page allocation failure") == 1 and "mode:0x8a20(GFP_ATOMIC|__GFP_NOFAIL)" in r.console


# -- lost writes -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fs", "lines"), [
    ("ext4", ["Aborting journal on device sdb1-8.", "This should not happen!! Data will be lost",
              "failed to convert unwritten extents to written extents -- potential data loss!"]),
    ("btrfs", ["BTRFS warning (device sdb1): lost page write due to IO error", "forced readonly"]),
    ("xfs", ["XFS (sdb1): log I/O error -5", "page discard on page"]),
    ("ext3", ["JBD: Detected IO errors while flushing file data", "lost async page write"]),
])
def test_device_write_errors_by_filesystem(fs, lines):
    r = run("device-write-errors", overrides={"fs": fs})
    assert r.outcome == "data-loss" and r.evidence["silent"] == r.evidence["lost_pages"] > 0
    for line in lines:
        assert line in r.console
    assert run("device-write-errors", "fsync-and-check", {"fs": fs}).outcome == "error-reported"
    assert run("device-write-errors", "healthy-device", {"fs": fs}).outcome == "ok"


def test_unwritten_extents_follow_the_kernel():
    assert "failed to convert unwritten" not in run("device-write-errors", overrides={"kernel": "5.4"}).console


def test_block_allocation_failure_drops_data_on_a_working_device():
    r = run("device-write-errors", overrides={"fail_at": "0", "alloc_error": "74"})
    assert r.outcome == "data-loss" and "with error 74" in r.console and "I/O error" not in r.console


# -- hangs through reclaim -----------------------------------------------------------------------------------
def test_memcg_writeback_wait_is_a_self_deadlock_and_nofs_removes_it():
    r = run("memcg-writeback-wait")
    assert r.outcome == "deadlock"
    assert [c["task"] for c in r.evidence["cycle"]] == ["redis-server:16212"]
    assert "ioend not yet submitted" in r.evidence["cycle"][0]["waits_on"]
    assert "try_to_free_mem_cgroup_pages" in r.console
    assert run("memcg-writeback-wait", "nofs-scope").outcome == "ok"
    assert run("memcg-writeback-wait", "cgroup-v2").outcome == "ok"
    assert run("memcg-writeback-wait", overrides={"gfp": "GFP_NOFS"}).outcome == "ok"


@pytest.mark.parametrize(("kernel", "outcome"), [("5.15", "deadlock"), ("6.6", "deadlock"), ("6.7", "ok")])
def test_shrinker_lock_inversion_needs_the_global_shrinker_rwsem(kernel, outcome):
    r = run("shrinker-lock-inversion", overrides={"kernel": kernel})
    assert r.outcome == outcome
    if outcome == "deadlock":
        assert {c["waits_on"] for c in r.evidence["cycle"]} == {"rwsem shrinker_rwsem", "rwsem &pmd->root_lock"}
    assert run("shrinker-lock-inversion", "destroy-outside-lock", {"kernel": kernel}).outcome == "ok"


@pytest.mark.parametrize(("kw", "outcome"), [
    ({"server": "loop", "kernel": "4.19"}, "deadlock"),
    ({"server": "loop", "kernel": "6.12"}, "ok"),            # the loop worker is NOIO by then
    ({"server": "nbd-client", "upper_fs": "ext4"}, "deadlock"),
    ({"server": "fuse-daemon", "backing_fs": "btrfs"}, "deadlock"),
    ({"server": "fuse-daemon", "backing_fs": "xfs"}, "ok"),    # XFS mappings are NOFS: no reclaim into filesystems
])
def test_stacked_servers(kw, outcome):
    assert run("stacked-reclaim-deadlock", overrides=kw).outcome == outcome


def test_reclaim_guard_refuses_the_write_and_deferring_the_iput_avoids_it():
    r = run("reclaim-guard")
    assert r.outcome == "warning" and r.evidence["warnings"][0]["cond"] == "reclaim_guard"
    assert "at fs/ext4/inode.c:" in r.console and " ext4_write_inode+" in r.console
    assert run("reclaim-guard", "defer-iput").outcome == "ok"
    assert run("reclaim-guard", overrides={"fs": "vfat"}).outcome == "ok"      # no guard: written from reclaim


# -- injected failures' error paths -------------------------------------------------------------------------------
@pytest.mark.parametrize(("error_path", "outcome", "line"), [
    ("null-deref", "crash", "KASAN: null-ptr-deref"),
    ("bad-pointer", "crash", "BUG: unable to handle page fault for address"),
    ("use-after-free", "crash", "BUG: KASAN: slab-use-after-free in "),
    ("bug", "crash", "kernel BUG at fs/btrfs/ordered-data.c:1234!"),
    ("warn", "warning", "WARNING: CPU: 0 PID: 6010 at fs/btrfs/ordered-data.c:1234"),
    ("refcount", "warning", "refcount_t: underflow; use-after-free."),
    ("lock-held", "warning", "WARNING: lock held when returning to user space!"),
    ("leak", "leak", "BUG: memory leak"),
])
def test_error_paths_after_an_injected_failure(error_path, outcome, line):
    r = run("unchecked-alloc-failure", overrides={"error_path": error_path,
                                                  "crash_site": "fs/btrfs/ordered-data.c:1234"})
    assert r.outcome == outcome and line in r.console
    assert r.console.index("FAULT_INJECTION: forcing a failure.") < r.console.index(line)
    assert run("unchecked-alloc-failure", "checked", {"error_path": error_path}).outcome == "ok"


@pytest.mark.parametrize("kw", [
    {"gfp": "GFP_NOFS|__GFP_NOFAIL"},                                  # never injected
    {"fail_nth": "0"},                                                 # nothing asked to fail
    {"cap": "fail_page_alloc", "min_order": "1"},                      # order 0 below min-order
])
def test_no_injection_no_error_path(kw):
    r = run("unchecked-alloc-failure", overrides=kw)
    assert r.outcome == "ok" and r.stats["injected_failures"] == 0


def test_the_crash_can_be_another_tasks():
    r = run("unchecked-alloc-failure", overrides={"crash_comm": "kworker/0:1", "crash_pid": "12",
                                                  "crash_path": "ret_from_fork,kthread,worker_thread,"
                                                                "process_one_work,hci_uart_write_work"})
    assert r.outcome == "crash" and r.evidence["uses_of_failed_result"][0]["task"] == "kworker/0:1:12"
    assert "RIP: 0010:hci_uart_write_work+" in r.console


# -- lock chains through fs_reclaim --------------------------------------------------------------------------
@pytest.mark.parametrize("locks", [
    ["&q->q_usage_counter(io)", "fs_reclaim"],                            # two links, reclaim takes the queue
    ["sb_internal", "&sbi->sb_lock", "fs_reclaim"],
    ["fscrypt_init_mutex", "fs_reclaim", "jbd2_handle"],                  # fs_reclaim in the middle
])
def test_any_chain_through_fs_reclaim_closes_into_a_cycle(locks):
    r = run("fs-reclaim-lockdep", overrides={"locks": ",".join(locks)})
    assert r.outcome == "deadlock" and r.evidence["cycle"][:-1] == locks
    assert run("fs-reclaim-lockdep", "nofs-scope", {"locks": ",".join(locks)}).outcome == "ok"


def test_no_fs_allocation_no_fs_reclaim_link():
    assert run("fs-reclaim-lockdep", overrides={"gfp": "GFP_NOFS"}).outcome == "ok"
    assert run("fs-reclaim-lockdep", overrides={"kernel": "4.13"}).outcome == "ok"     # no fs_reclaim map yet
