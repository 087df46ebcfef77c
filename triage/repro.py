"""From a parsed report to a simulator run of its mechanism, with the fixes that change the outcome.

``link(report)`` reads only the parser's ``Report`` (its crash stacks, the console's primary crash and the
``fault-injection-N`` stacks of its trace, markers of the whole input with their lines and tasks, lockdep
locks, decoded gfp flags, kernel release, task, title and crash type) and returns either a
``Link`` (the mechanism, its typed parameters filled from the report, and the report lines and frames that
chose them) or a ``NotCovered`` saying why no mechanism of the simulator covers the report. It never
looks at a label: the run's detectors decide what happens.

The choice is a table, ``RULES``: each rule looks at one family of primary crash (lost writes, a filesystem's
reclaim guard, a page dirtied without buffers by its pinner, an allocator WARN, a lockdep cycle, a crash
after an injected failure, with or without the filesystem shutting down, hung tasks) and returns a Link, a
NotCovered with the reason, or None (not its family). The first answer wins.

``repro(db, id)`` links a stored report, runs the mechanism and every fix variant that applies, says which
fixes flip the outcome, and stores the run (``repro_runs``); ``runs_for(db, id)`` gives what ``triage show``
prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Outcomes that are the correct behaviour of the kernel, not a failure of the run.
PASSING = ("ok", "error-reported")

# -- the functions the rules look for (kernel names; stripped of compiler suffixes, all versions) -----------
ALLOCATOR_ENTRY = {"__alloc_pages", "__alloc_pages_nodemask", "__alloc_pages_noprof", "__alloc_frozen_pages_noprof",
                   "__alloc_frozen_pages", "__alloc_pages_internal"}
SLOWPATH = {"__alloc_pages_slowpath"}
RMQUEUE = {"rmqueue", "get_page_from_freelist", "rmqueue_buddy", "buffered_rmqueue"}
ALLOCATOR = ALLOCATOR_ENTRY | SLOWPATH | RMQUEUE
DIRECT_RECLAIM = {"try_to_free_pages", "__perform_reclaim", "__alloc_pages_direct_reclaim", "do_try_to_free_pages"}
MEMCG_RECLAIM = {"try_to_free_mem_cgroup_pages", "mem_cgroup_reclaim"}
KSWAPD = {"kswapd", "balance_pgdat"}
SHRINKER = {"shrink_slab", "do_shrink_slab", "super_cache_scan", "prune_icache_sb", "prune_dcache_sb",
            "shrink_dentry_list", "shrink_slab_memcg"}
PAGE_RECLAIM = {"shrink_folio_list", "shrink_page_list", "shrink_inactive_list", "shrink_lruvec", "evict_folios"}
RECLAIM = DIRECT_RECLAIM | MEMCG_RECLAIM | KSWAPD | SHRINKER | PAGE_RECLAIM
DCACHE = {"prune_dcache_sb", "shrink_dentry_list", "__dentry_kill", "dput"}
SOFTIRQ = {"handle_softirqs", "__do_softirq", "run_ksoftirqd", "do_softirq", "irq_exit_rcu", "__irq_exit_rcu",
           "net_rx_action", "call_timer_fn", "run_timer_softirq", "__run_timers", "expire_timers"}
KTHREAD_BOTTOM = {"kthread", "ret_from_fork", "ret_from_fork_asm", "worker_thread", "process_one_work"}
WAITS = {"wait_for_completion", "folio_wait_writeback", "wait_on_page_writeback", "wait_on_page_bit",
         "folio_wait_bit", "folio_wait_bit_common", "wait_on_page_bit_common", "io_schedule", "xfs_buf_iowait",
         "__wait_on_bit", "bit_wait_io", "wait_on_commit", "nfs_commit_inode", "__nfs_commit_inode"}
WRITEPAGES = {"do_writepages", "write_cache_pages", "xfs_vm_writepages", "iomap_writepages", "ext4_writepages",
              "ext4_do_writepages", "btrfs_writepages", "extent_writepages", "__filemap_fdatawrite_range"}
SERVER_WRITE = {"ksys_pwrite64", "__x64_sys_pwrite64", "vfs_iter_write", "lo_write_bvec", "loop_process_work",
                "lo_rw_aio", "do_iter_write", "fuse_dev_write", "sock_sendmsg", "sock_recvmsg", "nbd_read_stat",
                "__x64_sys_write", "ksys_write"}
SHRINKER_UNREGISTER = {"unregister_shrinker", "shrinker_free", "register_shrinker", "prealloc_shrinker",
                       "shrinker_register"}
NFS_RELEASE = {"nfs_release_folio", "nfs_release_page", "nfs_wb_folio", "nfs_wb_page"}
# functions whose name tells the filesystem (innermost wins); overlayfs and FUSE sit on top of another fs
FS_PREFIXES = [("ext4_", "ext4"), ("__ext4_", "ext4"), ("jbd2_", "ext4"), ("xfs_", "xfs"), ("btrfs_", "btrfs"),
               ("f2fs_", "f2fs"), ("nilfs_", "nilfs2"), ("ntfs_", "ntfs3"), ("__ntfs_", "ntfs3"),
               ("ovl_", "overlay"), ("fuse_", "fuse"), ("gfs2_", "gfs2"), ("ocfs2_", "ocfs2"), ("jfs_", "jfs"),
               ("bch2_", "bcachefs"), ("fat_", "vfat"), ("ext3_", "ext3"), ("shmem_", "tmpfs")]
FS_SCENARIO_TYPES = {"ext4", "xfs", "btrfs", "f2fs", "nilfs2", "ntfs3", "ext3", "gfs2", "ocfs2", "jfs", "bcachefs",
                     "vfat", "fuse", "overlay"}
# where the kernel prints a warning for a PF_MEMALLOC recursion into a write path (parser's pf-memalloc-guard)
GUARDED = {"ext4_write_inode": "ext4"}
LOST_WRITE_MARKERS = {"lost-write", "data-will-be-lost", "unwritten-extents", "page-discard"}
MAX_PATH = 256


def base(name: str) -> str:
    """``foo.constprop.0`` -> ``foo`` (the parser's ``strip_suffix``)."""
    from triage.report.frames import strip_suffix

    return strip_suffix(name)


# -- what a rule reads ----------------------------------------------------------------------------------------
@dataclass
class Facts:
    """The parsed report as the rules read it."""

    title: str | None
    type: str | None
    kernel: str | None
    kernel_note: str
    task: dict | None
    stacks: dict[str, list[Any]]                  # stack label -> frames, innermost first (parser order)
    markers: list[dict]                           # evidence markers of the whole input, in line order
    gfp_flags: set[str]
    locks: list[dict]
    corrupted: bool = False
    crash_event: dict | None = None               # the console's primary crash (Report.crash)
    injection: dict | None = None                 # the fault injection the rules weigh (see ``_injection``)
    injection_stack: list[Any] = field(default_factory=list)   # its stack, innermost first
    injection_in_crash: bool = False              # the crash's own stack runs through the injected call

    @property
    def crash(self) -> list[Any]:
        return self.stacks.get("crash", [])

    def path(self, stack: str = "crash") -> list[str]:
        """A stack's function names, outermost first (what a mechanism's ``path`` parameter takes)."""
        frames = self.injection_stack if stack == "fault-injection" else self.stacks.get(stack) or []
        return [f.function for f in reversed(frames)][-MAX_PATH:]

    def names(self, stack: str = "crash") -> set[str]:
        return {base(f.function) for f in self.stacks.get(stack, [])}

    def kinds(self) -> set[str]:
        return {m["kind"] for m in self.markers}

    def marker(self, kind: str) -> dict | None:
        return next((m for m in self.markers if m["kind"] == kind), None)

    def blocked_stacks(self) -> list[tuple[str, list[Any]]]:
        """The stacks of tasks a hang report shows blocked (the crash task first)."""
        return [(label, frames) for label, frames in self.stacks.items()
                if label == "crash" or label.startswith(("other-task:", "crash-"))]


def facts(report: Any) -> Facts:
    """The rules' view of a parsed report: its fields only (issue 12's rule: the parser is the one reader of
    kernel text)."""
    from simulator.versions import KernelVersion

    stacks: dict[str, list[Any]] = {}
    for fr in report.frames:
        stacks.setdefault(fr.stack, []).append(fr)
    kernel, note = (None, "")
    if report.kernel:
        v, note = KernelVersion.nearest(report.kernel)
        kernel = str(v) if v else None
    gfp_flags = {flag for g in report.gfp for flag in g.get("flags", [])}
    locks = list(report.locks) if report.type == "LOCKDEP" else []
    f = Facts(report.title, report.type, kernel, note, report.task, stacks, list(report.markers), gfp_flags, locks,
              bool(report.corrupted), report.crash)
    _injection(f, report)
    return f


class _TraceFrame:
    """A frame of ``Report.trace`` (a dict) seen as the rules see ``Report.frames`` (``.function``)."""

    __slots__ = ("function", "file", "line")

    def __init__(self, d: dict):
        self.function, self.file, self.line = d["function"], None, None


def _injection(f: Facts, report: Any) -> None:
    """The fault injection behind the crash and the stack it printed: the console's N-th
    ``FAULT_INJECTION`` marker prints stack ``fault-injection-N`` of ``Report.trace`` (the excerpt syzbot
    mails often starts after it). The crash task's own injection wins, else the last one."""
    found = [m for m in f.markers if m["kind"] == "fault-injection"]
    if not found:
        return
    pid = (f.task or {}).get("pid")
    mine = [m for m in found if pid is not None and (m.get("task") or {}).get("pid") == pid]
    m = (mine or found)[-1]
    label = f"fault-injection-{found.index(m) + 1}"
    f.injection = m
    f.injection_stack = [_TraceFrame(d) for d in report.trace if d.get("stack") == label]
    if not f.injection_stack and any(base(fr.function) in INJECTION_FRAMES for fr in f.crash):
        # the injection's dump itself crashed (its printk, a tracepoint): the crash stack is the injection's
        f.injection_stack, f.injection_in_crash = list(f.crash), True


# -- what a rule answers ---------------------------------------------------------------------------------------
@dataclass
class Link:
    scenario: str
    params: dict[str, Any]
    why: str
    evidence: list[str]                      # report lines and frames that chose the mechanism and its parameters
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "params": self.params, "why": self.why, "evidence": self.evidence,
                "notes": self.notes}


@dataclass
class NotCovered:
    why: str

    def __str__(self) -> str:
        return f"no mechanism in the simulator covers this report: {self.why}"


Rule = Callable[[Facts], "Link | NotCovered | None"]


def _fs_of(names: Iterable[str]) -> str | None:
    """The filesystem of the innermost function that names one (``names`` outermost first)."""
    found = None
    for n in names:
        for prefix, fs in FS_PREFIXES:
            if n.startswith(prefix):
                found = fs
    return found


def _common(f: Facts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.kernel:
        out["kernel"] = f.kernel
    return out


def _notes(f: Facts) -> list[str]:
    return [f.kernel_note] if f.kernel_note else []


def _frame_line(fr: Any) -> str:
    loc = f" {fr.file}:{fr.line}" if fr.file else ""
    return f"frame {fr.function}{loc}"


def _printable(text: Any, limit: int = 64) -> bool:
    return isinstance(text, str) and 0 < len(text) <= limit and text.isprintable()


def _task_params(f: Facts, comm: str = "comm", pid: str = "pid") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.task and _printable(f.task.get("comm")):
        out[comm] = f.task["comm"]
    if f.task and f.task.get("pid") is not None and 0 < int(f.task["pid"]) < 4_000_000:
        out[pid] = int(f.task["pid"])
    return out


# -- rule: a filesystem refusing a write from reclaim -------------------------------------------------------------
GUARD_FS = [("ext4_", "ext4"), ("xfs_", "xfs"), ("iomap_", "xfs"), ("btrfs_", "btrfs"), ("f2fs_", "f2fs")]


def rule_guard(f: Facts) -> Link | NotCovered | None:
    g = f.marker("pf-memalloc-guard")
    if g is None:
        return None
    names, path = f.names(), f.path()
    if not names & RECLAIM:
        return NotCovered(f"{g['function']}'s PF_MEMALLOC guard fired outside memory reclaim (no reclaim frame "
                          "in the stack), which the simulator does not model")
    fs = next((fs for prefix, fs in GUARD_FS if g["function"].startswith(prefix)), "ext4")
    params = _common(f)
    params.update(fs=fs, via_dcache=bool(names & DCACHE))
    if names & KSWAPD:
        params.update(reclaimer="kswapd", kswapd_path=path)
        if f.task and str(f.task.get("comm", "")).startswith("kswapd"):
            params["kswapd_comm"] = f.task["comm"]
    else:
        params.update(reclaimer="direct", path=path, **_task_params(f))
    return Link("reclaim-guard", params, f"reclaim recursed into {fs}'s write path, whose PF_MEMALLOC guard "
                f"({g['function']}) refused it", [g["line"]] + [_frame_line(fr) for fr in f.crash
                                                              if base(fr.function) in SHRINKER][:3], _notes(f))


# -- rule: a pinned page dirtied behind the filesystem's back -----------------------------------------------------
# the filesystem's check that a page being dirtied has its buffers (WARN_ON_ONCE(!folio_buffers))
DIRTY_CHECKS = {"ext4_set_page_dirty": "ext4", "ext4_dirty_folio": "ext4"}
# a pinner dirtying the pages it pinned (unpin, or set_page_dirty_lock on a GUP reference)
PIN_DIRTIERS = {"unpin_user_pages_dirty_lock", "unpin_user_page_range_dirty_lock", "put_user_pages_dirty_lock",
                "set_page_dirty_lock", "folio_mark_dirty_lock", "process_vm_rw_single_vec", "process_vm_rw",
                "bio_set_pages_dirty", "bio_check_pages_dirty", "bio_dirty_fn", "__ib_umem_release",
                "ib_umem_release", "i915_gem_userptr_put_pages", "__i915_gem_userptr_put_pages",
                "vb2_destroy_framevec", "vhost_log_write"}
LONGTERM_PINNERS = {"__ib_umem_release", "ib_umem_release", "ib_umem_get", "vfio_unpin_pages_remote",
                    "io_buffer_unmap", "io_sqe_buffers_unregister"}


def rule_pinned_redirty(f: Facts) -> Link | NotCovered | None:
    crash = f.crash
    fn = base(((f.crash_event or {}).get("function")) or (crash[0].function if crash else ""))
    if f.type != "WARNING" or fn not in DIRTY_CHECKS:
        return None
    names = f.names()
    dirtiers = names & PIN_DIRTIERS
    if not dirtiers:
        return NotCovered(f"{fn} warned about a page dirtied without buffers, but no pinner "
                          "(unpin_user_pages_dirty_lock, set_page_dirty_lock on a GUP reference) is in its stack: a "
                          "page dirtied some other way, which the simulator does not model")
    params = _common(f)
    params.update(fs=DIRTY_CHECKS[fn], path=f.path(), kind="long-term" if names & LONGTERM_PINNERS else "short-term",
                  **_task_params(f))
    evidence = [(f.crash_event or {}).get("line") or f"crash: {f.title}"] + \
        [_frame_line(fr) for fr in crash if base(fr.function) in PIN_DIRTIERS][:3]
    who = ", ".join(sorted(dirtiers))
    return Link("gup-pinned-redirty", params, f"a pinned page dirtied by its pinner ({who}) without ->page_mkwrite: "
                f"{fn} found no buffers on it (writeback cleaned it and reclaim stripped them while it was pinned)",
                evidence, _notes(f))


# -- rule: a dirty folio removed by truncation ----------------------------------------------------------------
# filemap_unaccount_folio's WARN_ON_ONCE(folio dirty) (unaccount_page_cache_page before 5.16)
UNACCOUNT = {"filemap_unaccount_folio", "unaccount_page_cache_page"}
TRUNCATION = {"truncate_inode_pages_range", "truncate_inode_pages", "truncate_pagecache", "truncate_setsize",
              "truncate_inode_pages_final", "truncate_inode_folio", "truncate_inode_page", "truncate_complete_page"}
SETATTR_TRUNCATE = {"simple_setattr", "notify_change", "do_truncate", "truncate_setsize"}


def rule_truncate_dirty(f: Facts) -> Link | NotCovered | None:
    crash = f.crash
    fn = base(((f.crash_event or {}).get("function")) or (crash[0].function if crash else ""))
    if f.type != "WARNING" or fn not in UNACCOUNT:
        return None
    names, path = f.names(), f.path()
    if not names & TRUNCATION:
        return NotCovered(f"{fn} warned about a dirty folio removed from the page cache, but no truncation "
                          "(truncate_inode_pages_range and its callers) is in its stack: a removal the simulator "
                          "does not model")
    if names & PIN_DIRTIERS:
        return NotCovered(f"{fn} warned about a folio a pinner (get_user_pages) dirtied while its inode was "
                          "evicted, which the simulator does not model")
    fs = _fs_of(path)
    notes = _notes(f)
    if fs is None and "simple_setattr" in names:
        fs = "nilfs2"
        notes.append("no filesystem function in the stack: simple_setattr means the truncated inode has no "
                     "->setattr, as nilfs2's metadata files (def_mdt_iops) have none; the model assumes nilfs2")
    if fs != "nilfs2":
        return NotCovered(f"a dirty folio truncated on {fs or 'an unnamed filesystem'}: the simulator models "
                          "nilfs2's inode file exposed by a corrupted directory entry and truncated by open(O_TRUNC)")
    if not names & SETATTR_TRUNCATE:
        return NotCovered(f"{fn} warned during a truncation that is not a ->setattr size change (eviction: "
                          "truncate_inode_pages_final), which the simulator does not model")
    params = _common(f)
    params.update(fs=fs, path=path, **_task_params(f))
    setattr_first = sorted((fr for fr in crash if base(fr.function) in SETATTR_TRUNCATE | TRUNCATION),
                           key=lambda fr: base(fr.function) != "simple_setattr")
    evidence = [(f.crash_event or {}).get("line") or f"crash: {f.title}"] + [_frame_line(fr)
                                                                             for fr in setattr_first[:4]]
    return Link("truncate-dirty-metadata", params, f"{fn}: truncation removed a folio dirtied again after it cleaned "
                "it; on nilfs2 an inode-file page (a metadata file with no ->setattr, reached through a corrupted "
                "directory entry) re-dirtied by an inode update, whose records are then lost", evidence, notes)


# -- rule: NOFAIL warnings -----------------------------------------------------------------------------------
def rule_nofail(f: Facts) -> Link | NotCovered | None:
    crash = f.crash
    warn = f.marker("page-alloc-warning")
    trace_only = f.title is None and crash and base(crash[0].function) in ALLOCATOR
    if warn is None and not (f.type == "WARNING" and crash and base(crash[0].function) in ALLOCATOR) \
            and not trace_only:
        return None
    rip = base(warn["function"]) if warn else base(crash[0].function)
    names = f.names()
    path = f.path()
    evidence = [warn["line"]] if warn else [f"call trace: {crash[0].function} at the top"]
    comm = (f.task or {}).get("comm") or ""
    reclaim_ctx = bool(names & (DIRECT_RECLAIM | KSWAPD | MEMCG_RECLAIM))
    in_reclaim = reclaim_ctx and bool(names & SHRINKER)
    softirq = bool(names & SOFTIRQ) or "irq" in f.stacks or comm.startswith(("ksoftirqd", "swapper"))
    kthread = bool(names & KTHREAD_BOTTOM) or comm.startswith(("kswapd", "xfsaild", "kworker"))
    from simulator.daemons import kthread_flags

    memalloc_kthread = "PF_MEMALLOC" in kthread_flags(comm) or reclaim_ctx
    nofail_gfp = "__GFP_NOFAIL" in f.gfp_flags
    at_rmqueue = rip in RMQUEUE
    kernel_ok_slowpath = f.kernel is None or _at_least(f.kernel, "5.0")
    reasons = []
    if nofail_gfp:
        reasons.append("the printed gfp mask has __GFP_NOFAIL")
    if at_rmqueue:
        reasons.append(f"the WARN is in {rip}: its only check is __GFP_NOFAIL with order > 1")
    if in_reclaim or memalloc_kthread:
        reasons.append("the request runs in PF_MEMALLOC context, where only a __GFP_NOFAIL request warns")
    if softirq and rip in SLOWPATH:
        reasons.append("a request that may not reclaim warns in the slowpath only with __GFP_NOFAIL")
    if rip in SLOWPATH and kernel_ok_slowpath and not reasons:
        reasons.append("from 5.0 the slowpath's WARNs are the __GFP_NOFAIL checks (the order check moved to the "
                       "allocator entry)")
    if not reasons:
        return NotCovered(f"an allocator WARN in {rip} without __GFP_NOFAIL evidence (no NOFAIL gfp, caller "
                          "context or WARN site that only a NOFAIL request reaches): the order > MAX_PAGE_ORDER "
                          "check, a caller's size bug the simulator does not model")
    params = _common(f)
    gfp = None
    if in_reclaim:
        params.update(_nofail_reclaim_params(f, names, path))
        evidence += [_frame_line(fr) for fr in crash if base(fr.function) in (SHRINKER | KSWAPD | DIRECT_RECLAIM)][:4]
        return Link("nofail-reclaim", params, "a __GFP_NOFAIL allocation made while reclaim evicts a filesystem "
                    "inode (PF_MEMALLOC context); " + "; ".join(reasons), evidence, _notes(f))
    context = "softirq" if softirq else ("kthread" if kthread else "process")
    params.update(context=context, path=path, **_task_params(f))
    if reclaim_ctx:
        params["memalloc"] = True          # inside reclaim, not through a shrinker: PF_MEMALLOC all the same
    if nofail_gfp:
        gfp = "|".join(sorted(fl for fl in f.gfp_flags if fl.startswith(("GFP_", "__GFP_"))))
    params["gfp"] = gfp or ("GFP_ATOMIC|__GFP_NOFAIL" if softirq else "GFP_KERNEL|__GFP_NOFAIL")
    # the order: > 1 where that is the only check the WARN's site or context leaves
    only_order = at_rmqueue or (not softirq and not memalloc_kthread)
    params["order"] = 2 if only_order else 0
    if only_order:
        reasons.append("order > 1: the one NOFAIL condition a request that may reclaim outside PF_MEMALLOC meets")
    return Link("nofail-caller", params, f"a __GFP_NOFAIL request from {context} context the allocator warns "
                "about; " + "; ".join(reasons), evidence, _notes(f))


def _nofail_reclaim_params(f: Facts, names: set[str], path: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    after = path[next((i for i, n in enumerate(path) if base(n) in SHRINKER), 0):]
    fs = _fs_of(base(n) for n in after if base(n) not in ALLOCATOR)
    if fs == "overlay":
        fs = _fs_of(base(n) for n in after if not n.startswith("ovl_")) or "ext4"
    out["fs"] = fs if fs in FS_SCENARIO_TYPES else "ext4"
    out["via_dcache"] = bool(names & DCACHE)
    if names & KSWAPD:
        out["reclaimer"] = "kswapd"
        out["kswapd_path"] = path
        if f.task and str(f.task.get("comm", "")).startswith("kswapd"):
            out["kswapd_comm"] = f.task["comm"]
    else:
        out["reclaimer"] = "direct"
        out["path"] = path
        out.update(_task_params(f))
    return out


# -- rule: lockdep chains through fs_reclaim ----------------------------------------------------------------------
def _is_fs_reclaim(lock: str) -> bool:
    return lock.strip("()") in ("fs_reclaim", "__fs_reclaim_map")


def _chain(f: Facts) -> list[str]:
    """L0..Ln of a lockdep circular-dependency report: 'Chain exists of', else the '-> #i' links."""
    links = {d["link"]: d["lock"] for d in f.locks if d["role"] == "chain" and d.get("lock")}
    exists = next((d["locks"] for d in f.locks if d["role"] == "chain-exists"), None)
    if links and sorted(links) == list(range(len(links))):
        chain = [links[i] for i in range(len(links))]
        if exists and len(exists) == len(chain) and exists[0] == chain[0] and exists[-1] == chain[-1]:
            return exists
        return chain
    return []


def rule_lockdep(f: Facts) -> Link | NotCovered | None:
    if f.type != "LOCKDEP" and not f.locks:
        return None
    usage = next((d for d in f.locks if d["role"] == "usage"), None)
    title = f.title or ""
    if usage is not None:
        if "RECLAIM_FS" in usage["from"] + usage["to"]:
            return NotCovered(f"an inconsistent lock state with {usage['from']} -> {usage['to']} (the per-lock "
                              "RECLAIM_FS states of lockdep before 4.14); the model's lockdep records fs_reclaim "
                              "dependencies as 4.14+ does")
        return NotCovered(f"an inconsistent lock state {{{usage['from']}}} -> {{{usage['to']}}}: a lock used from "
                          "interrupt context, not memory reclaim recursing into a filesystem")
    if "circular" not in title and "possible deadlock" not in title and "deadlock" not in title:
        return NotCovered(f"a lockdep report that is not a dependency cycle ({title or f.type}): the simulator "
                          "models fs_reclaim dependency cycles only")
    chain = _chain(f)
    acquiring = next((d for d in f.locks if d["role"] == "acquiring"), None)
    holding = next((d for d in f.locks if d["role"] == "holding"), None)
    if not chain and acquiring and holding and acquiring["lock"] == holding["lock"]:
        # a recursive acquisition: the task takes again a lock class it holds
        if not f.names() & RECLAIM:
            return NotCovered(f"a recursive acquisition of {acquiring['lock']} outside memory reclaim: lock "
                              "nesting the simulator does not model")
        params = _common(f)
        path = f.path()
        fs = _fs_of(base(n) for n in path[next((i for i, n in enumerate(path) if base(n) in SHRINKER), 0):])
        params.update(locks=[acquiring["lock"], holding["lock"]], paths=[path], held_at=holding.get("at") or "",
                      fs=fs if fs in FS_SCENARIO_TYPES else "ext4", **_task_params(f))
        return Link("fs-reclaim-lockdep", params, f"a task holding {holding['lock']} allocates, and reclaim's "
                    "filesystem callback takes the same lock class again (recursive locking through reclaim)",
                    [f"holding {holding['lock']} at {holding.get('at')}, acquiring it at {acquiring.get('at')}"],
                    _notes(f))
    if len(chain) < 2:
        return NotCovered("the lockdep report's dependency chain could not be read (no '-> #N' links with their "
                          "locks), so there is no chain to rebuild")
    paths = [f.path("crash")] + [f.path(f"lockdep-chain-{i}") for i in range(1, len(chain))]
    reclaim_links = [i for i in range(len(chain)) if {base(n) for n in paths[i]} & RECLAIM]
    if not any(_is_fs_reclaim(lk) for lk in chain) and not reclaim_links:
        return NotCovered(f"a lock-order cycle ({' -> '.join(chain)}) with no fs_reclaim and no link taken in "
                          "memory reclaim: lock ordering outside reclaim, which the simulator does not model")
    params = _common(f)
    params.update(locks=chain, paths=paths, **_task_params(f))
    fs_frames = [n for i in reclaim_links for n in paths[i]] or [n for p in paths for n in p]
    fs = _fs_of(base(n) for n in fs_frames)
    params["fs"] = fs if fs in FS_SCENARIO_TYPES else "ext4"
    held = next((d for d in f.locks if d["role"] == "holding"), None)
    evidence = [f"lockdep chain: {' --> '.join(chain)}"]
    if held:
        evidence.append(f"held: {held['lock']} at {held.get('at') or '?'}")
    return Link("fs-reclaim-lockdep", params, "a lockdep cycle through memory reclaim: "
                + ("allocations under the chain's locks take fs_reclaim, and reclaim's filesystem callback takes "
                   "them back" if any(_is_fs_reclaim(lk) for lk in chain) else
                   "a link of the chain is taken by reclaim's filesystem callback"), evidence, _notes(f))


# -- rule: an injected failure's error path -------------------------------------------------------------------
INJECTION_FRAMES = {"should_fail", "should_fail_ex", "should_failslab", "__should_failslab", "fail_dump",
                    "should_fail_alloc_page", "__should_fail_alloc_page", "dump_stack", "dump_stack_lvl",
                    "__dump_stack"}
ENTRY_FRAMES = KTHREAD_BOTTOM | {"entry_SYSCALL_64_after_hwframe", "do_syscall_64", "do_syscall_x64",
                                 "entry_SYSCALL_64", "system_call_fastpath"}


GENERIC_PREFIXES = ("__x64_sys_", "__se_sys_", "__do_sys_", "SyS_", "SYSC_", "ksys_", "do_syscall", "entry_",
                    "__sys_", "sys_", "vfs_", "do_sys", "__vfs_", "kthread", "ret_from_fork", "worker_thread",
                    "process_one_work", "panic", "dump_", "__dump_", "show_stack", "kmem_cache_", "kmalloc", "kzalloc",
                    "__kmalloc", "slab_", "__slab", "___slab", "should_fail", "fail_dump")


def _specific(name: str) -> bool:
    """A frame that ties two stacks to the same code path (not syscall, VFS, allocator or dump plumbing)."""
    return name not in ENTRY_FRAMES | ALLOCATOR | INJECTION_FRAMES and not name.startswith(GENERIC_PREFIXES)


def _error_path(f: Facts) -> str | None:
    """What the crash says the error path did (from the crash type and title)."""
    title, kind = (f.title or "").lower(), (f.type or "").upper()
    if "refcount" in title or kind == "REFCOUNT_WARNING":
        return "refcount"
    if "lock held when returning" in title:
        return "lock-held"
    if "memory leak" in title:
        return "leak"
    if "kmalloc bug" in title:
        return None                  # a caller asking for an absurd size, not an error path
    if "use-after-free" in title or "double-free" in title or "invalid-free" in title:
        return "use-after-free"
    if "null pointer dereference" in title or "null-ptr-deref" in title or title.startswith(
            "general protection fault"):
        return "null-deref"
    if "paging request" in title or "page fault" in title:
        return "bad-pointer"
    if title.startswith("kernel bug") or kind == "BUG":
        return "bug"
    if title.startswith("warning"):
        return "warn"
    return None


def rule_fault_injection(f: Facts) -> Link | NotCovered | None:
    fi = f.injection
    if fi is None:
        return None
    error_path = _error_path(f)
    if f.type == "LOCKDEP" or error_path is None:
        return NotCovered(f"a fault injection next to {f.title or 'a report'!r}, which is not a crash an error "
                          "path makes (a use of the failed result, a BUG_ON, a WARN, a double put, a leak)")
    site = [n for n in f.path("fault-injection") if base(n) not in INJECTION_FRAMES]
    crash = [n for n in f.path() if base(n) not in INJECTION_FRAMES]
    fi_pid = (fi.get("task") or {}).get("pid")
    crash_pid = (f.task or {}).get("pid")
    same_task = (fi_pid is not None and fi_pid == crash_pid) or f.injection_in_crash
    shared = {n for n in {base(n) for n in site} & {base(n) for n in crash} if _specific(n)}
    told = None if same_task or shared else _error_message_tie(f, site)
    if not same_task and not shared and told is None:
        return NotCovered("the injected failure and the crash are in different tasks, share no frame of their "
                          "own, and no error message of the failing path comes before the crash, so nothing ties "
                          "the crash to that failure's error path")
    if not same_task and f.corrupted and fi_pid is not None:
        return NotCovered("a corrupted report (interleaved console) whose crash is another task's than the "
                          "injection's: its stacks cannot tie the crash to the injection")
    params = _common(f)
    cap = fi.get("fault") if fi.get("fault") in ("failslab", "fail_page_alloc") else "failslab"
    params.update(cap=cap, error_path=error_path, path=site or crash, crash_path=crash)
    fi_task = fi.get("task") or (f.task if same_task else None) or {}
    if _printable(fi_task.get("comm")):
        params["comm"] = fi_task["comm"]
    if fi_pid:
        params["pid"] = int(fi_pid)
    if told is not None and _printable(told[0]["line"].strip(), 200):
        params["message"] = told[0]["line"].strip()
    if not same_task and f.task:
        params["crash_comm"] = f.task.get("comm") or ""
        params["crash_pid"] = int(f.task.get("pid") or 0)
    top = f.crash[0] if f.crash else None
    if top is not None and top.file and top.line:
        params["crash_site"] = f"{top.file}:{top.line}"
    if "__GFP_NOFAIL" in f.gfp_flags:
        return NotCovered("the failed request is __GFP_NOFAIL, which fault injection never fails")
    if f.injection_in_crash:
        tie = "the crash's own stack, which runs through the injected call"
    elif same_task:
        tie = "the same task"
    elif shared:
        tie = f"a frame both stacks share ({sorted(shared)[0]})"
    else:
        tie = f"another task, tied by the failing path's error message (naming {', '.join(told[1])})"
    evidence = [fi["line"], f"crash: {f.title}"] + ([f"fault-injection stack: {' <- '.join(site[-1:-4:-1])}"]
                                                    if site else []) + ([told[0]["line"]] if told else [])
    down = _shutdown(f, fi, site)
    if down is not None:
        return _shutdown_link(f, params, down, error_path, tie, evidence)
    return Link("unchecked-alloc-failure", params, f"an allocation failed by {cap} and its error path "
                f"({error_path}) in {tie}", evidence, _notes(f))


SHUTDOWN_FS = ("btrfs", "ext4", "xfs")          # the filesystems whose transaction abort the model has


def _shutdown(f: Facts, fi: dict, site: list[str]) -> tuple[str, dict] | None:
    """The filesystem the injected failure shut down, and the report's line that says so: an error the
    filesystem printed after the injection and before the crash (an ``fs-shutdown`` or ``fs-error`` marker, or an
    ``alloc-failure`` one such as btrfs's "Transaction aborted (error -12)"), the filesystem named by that
    line or else by the innermost filesystem function of the injection's stack."""
    end = (f.crash_event or {}).get("lineno") or float("inf")
    said = next((m for m in f.markers if m["kind"] in ("fs-shutdown", "fs-error", "alloc-failure")
                 and fi["lineno"] < m["lineno"] <= end), None)
    if said is None:
        return None
    fs = MARKER_FS.get(str(said.get("fs") or "")) or _fs_of(base(n) for n in site)
    return (fs, said) if fs in SHUTDOWN_FS else None


def _shutdown_link(f: Facts, params: dict[str, Any], down: tuple[str, dict], error_path: str, tie: str,
                   evidence: list[str]) -> Link:
    """fs-shutdown: the unchecked-alloc-failure parameters, the filesystem, where it aborted, and what the
    crash says happened after (the abort's own WARN on btrfs before 6.1: nothing more)."""
    fs, said = down
    site = params.pop("path")
    own = [n for n in site if base(n).startswith(FS_OWN_PREFIXES[fs])]
    top = base(f.crash[0].function) if f.crash else ""
    abort_warn = (error_path == "warn" and fs == "btrfs" and top.startswith(FS_OWN_PREFIXES[fs])
                  and not (f.kernel and _at_least(f.kernel, "6.1")))
    params.pop("message", None)
    params.pop("error_path", None)
    named = base(str(said.get("function") or ""))          # "EXT4-fs error (device D) in FUNC:LINE"
    if abort_warn:
        where = top
    elif named.startswith(FS_OWN_PREFIXES[fs]):
        where = named
    else:
        where = base(own[-1]) if own else ""
    params.update(fs=fs, path=site, after="none" if abort_warn else error_path, abort_site=where)
    what = "its abort's WARN" if abort_warn else f"then {error_path}"
    return Link("fs-shutdown", params, f"an allocation failed by {params['cap']} inside a {fs} transaction in {tie}: "
                f"the filesystem aborted it and shut down ({what})", evidence + [said["line"]], _notes(f))


FS_OWN_PREFIXES = {"btrfs": ("btrfs_", "__btrfs_"), "ext4": ("ext4_", "__ext4_"), "xfs": ("xfs_",)}


# words of an error message that say nothing about what the failed allocation was for
MESSAGE_STOP = {"can", "cannot", "allocate", "allocation", "alloc", "failed", "failure", "fail", "unable", "not",
                "for", "the", "error", "enomem", "memory", "out", "new", "dev", "device", "buffer", "struct"}


def _words(text: str) -> set[str]:
    """Lower-case alphanumeric words of three letters or more (function names split at ``_``)."""
    return {w for w in "".join(ch if ch.isalnum() else " " for ch in text.lower()).split() if len(w) >= 3}


def _error_message_tie(f: Facts, site: list[str]) -> tuple[dict, list[str]] | None:
    """The failing path's own error message (an ``alloc-failure`` marker: "Can't allocate HCI device") printed
    just before the crash header or by the crash task, naming what the injected allocation was for (a word of
    a function of the injection's own stack): it ties an injection in one task to a crash in another."""
    crash = f.crash_event
    if not crash:
        return None
    before = {n for n, _ in crash.get("before") or []}
    pid = (crash.get("task") or {}).get("pid")
    own = {w for n in site if _specific(base(n)) for w in _words(base(n))} - MESSAGE_STOP
    for m in f.markers:
        if m["kind"] != "alloc-failure":
            continue
        if m["lineno"] not in before and (pid is None or (m.get("task") or {}).get("pid") != pid):
            continue
        common = sorted((_words(m["line"]) - MESSAGE_STOP) & own)
        if common:
            return m, common
    return None


# -- rule: lost writes ----------------------------------------------------------------------------------------
MARKER_FS = {"EXT4-fs": "ext4", "EXT3-fs": "ext3", "EXT2-fs": "ext3", "BTRFS": "btrfs", "XFS": "xfs",
             "F2FS-fs": "f2fs", "NILFS": "nilfs2", "jbd2": "ext4", "JBD2": "ext4", "FAT-fs": "vfat",
             "xfs": "xfs"}
LOSS_FS = {"data-will-be-lost": "ext4", "unwritten-extents": "ext4"}       # who prints them
MEMORY_SAFETY = ("MEMORY_SAFETY_BUG", "NULL-POINTER-DEREFERENCE", "KASAN", "KMSAN", "UBSAN", "REFCOUNT")


def _loss_markers(f: Facts) -> list[dict]:
    out = []
    for m in f.markers:
        kind = m["kind"]
        if kind in ("data-will-be-lost", "unwritten-extents") and m.get("error") is None:
            continue          # no errno: the format string (a diff, a quote of the source), not the kernel's line
        if kind in LOST_WRITE_MARKERS or kind == "hwpoison-dirty":
            out.append(m)
        elif kind == "buffer-io-error" and m.get("write"):
            out.append(m)
    return out


def _writeback_failed(f: Facts) -> bool:
    """A filesystem error raised in background writeback (``EXT4-fs error ... in ext4_writepages``)."""
    return any(m["kind"] == "fs-error" and str(m.get("function") or "").endswith(("writepages", "writepage",
                                                                                   "_end_io", "_end_bio"))
               for m in f.markers)


def rule_data_loss(f: Facts) -> Link | NotCovered | None:
    losses = _loss_markers(f)
    if not losses:
        return None
    kinds = {m["kind"] for m in losses}
    buffer = [m for m in losses if m.get("block") is not None or m["kind"] == "buffer-io-error"]
    sync_only = bool(buffer) and len(buffer) == len(losses) and not any(m.get("page_write") == "async" for m in buffer)
    if sync_only and not _writeback_failed(f):
        return NotCovered("only synchronous buffer writes failed ('lost sync page write'): their callers get the "
                          "error back, which is a reported failure, not written data dropped silently")
    hwpoison = next((m for m in losses if m["kind"] == "hwpoison-dirty"), None)
    title, ctype = f.title or "", (f.type or "").upper()
    primary_ok = (not title or ctype in ("HANG", "STALL") or title.startswith("kernel panic")
                  or (hwpoison is not None and ctype == "BUG"))
    if not primary_ok:
        if f.injection is not None:
            return None              # a crash after an injected failure: the error-path rules weigh it
        return NotCovered(f"the primary crash is {title!r} ({f.type}); the lost-write lines next to it are "
                          "secondary, and the simulator does not model that crash")
    errnos = {abs(m["error"]) for m in losses if m.get("error")}
    corrupt = {m.get("errno") for m in losses if m.get("corruption")}
    params = _common(f)
    evidence = [m["line"] for m in losses[:3]]
    if hwpoison is not None:
        fs = "tmpfs" if hwpoison.get("shmem") else _marker_fs(f) or "ext4"
        params.update(fs=fs if fs in ("tmpfs", "ext4", "xfs", "btrfs", "f2fs", "ext3") else "ext4",
                      fsync_after=False)
        return Link("hwpoison-dirty-shmem", params, f"memory failure on a dirty page-cache page "
                    f"({hwpoison.get('page_type') or 'dirty page'}): truncated with the data only it held",
                    evidence, _notes(f) + ["no fsync reporting the error appears in the report"])
    if errnos == {12}:
        return Link("writepages-enomem", params, "->writepages failed with ENOMEM and the dirty pages were "
                    "dropped", evidence, _notes(f))
    io_errors = [m for m in f.markers
                 if m["kind"] in ("write-io-error", "io-error") and m.get("op") in ("WRITE", None)]
    write_failed = bool(io_errors) or bool(kinds & {"lost-write", "page-discard", "buffer-io-error"}) \
        or 5 in errnos or 30 in errnos
    if not write_failed and corrupt & {"EFSCORRUPTED"}:
        return NotCovered("'Data will be lost' with -EFSCORRUPTED: the filesystem refused a corrupted image, "
                          "which the simulator does not model (and is not a lost write)")
    fs = _marker_fs(f) or next((LOSS_FS[k] for k in kinds if k in LOSS_FS), None) or "ext4"
    params.update(fs=fs if fs in ("ext4", "ext3", "btrfs", "xfs", "vfat", "f2fs", "nilfs2") else "ext4")
    dev = next((m.get("device") for m in io_errors + losses if m.get("device")), None)   # the failing disk first
    if dev and not dev.startswith("/"):
        params["devname"] = dev
    elif dev:
        params["devname"] = dev.rsplit("/", 1)[-1]
    if not write_failed:
        err = next(iter(errnos & {28, 74, 117}), 28)
        params.update(fail_at=0.0, alloc_error=err)
        why = f"block allocation for delayed-allocation data failed (error {err}) and the data was dropped"
    else:
        why = "writes to the device failed: written data reached neither the disk nor the writer (async " \
              "writeback errors, a journal abort, dropped delayed-allocation data)"
    return Link("device-write-errors", params, why, evidence, _notes(f))


def _marker_fs(f: Facts) -> str | None:
    for m in f.markers:
        fs = MARKER_FS.get(str(m.get("fs") or ""))
        if fs:
            return fs
    return None


# -- rule: hung tasks in reclaim ------------------------------------------------------------------------------
LOOP_SERVER = {"loop_process_work", "lo_write_bvec", "lo_rw_aio", "loop_workfn", "do_req_filebacked",
               "loop_handle_cmd", "loop_queue_work"}
PAGE_WAITS = {"folio_wait_writeback", "wait_on_page_writeback", "wait_on_page_bit", "folio_wait_bit",
              "folio_wait_bit_common", "wait_on_page_bit_common"}


def _stack_task(f: Facts, label: str) -> dict[str, Any]:
    """comm and pid of the task a stack belongs to (the crash task, or ``other-task:comm/pid``)."""
    if label.startswith("other-task:"):
        comm, _, pid = label[len("other-task:"):].rpartition("/")
        out: dict[str, Any] = {"comm": comm}
        if pid.isdigit() and 0 < int(pid) < 4_000_000:
            out["pid"] = int(pid)
        return out
    return {k: v for k, v in (f.task or {}).items() if v is not None}


def _outer(frames: list[Any]) -> list[str]:
    return [fr.function for fr in reversed(frames)][-MAX_PATH:]


def rule_hang(f: Facts) -> Link | NotCovered | None:
    title = (f.title or "").lower()
    if f.type != "HANG" and not f.marker("hung-task"):
        return None
    if "stall" in title and "rcu" in title:
        return NotCovered("an RCU stall: a CPU kept from scheduling, not tasks waiting on each other through "
                          "reclaim")
    if not f.marker("hung-task") and "hung" not in title and "blocked" not in title:
        return NotCovered(f"a hang report ({f.title}) that is not a hung-task report")
    stacks = f.blocked_stacks()
    named = [(label, frames, {base(fr.function) for fr in frames}) for label, frames in stacks]
    reclaiming = [x for x in named if x[2] & (DIRECT_RECLAIM | MEMCG_RECLAIM | KSWAPD | SHRINKER | PAGE_RECLAIM)]
    if not reclaiming:
        return NotCovered("hung tasks blocked on locks, the journal or a device with no reclaim frame in their "
                          "stacks: an ordinary wait, not reclaim recursing into a filesystem or IO path")
    params = _common(f)
    for label, frames, names in reclaiming:
        if names & MEMCG_RECLAIM and names & PAGE_WAITS and names & WRITEPAGES:
            fs = _fs_of(base(n) for n in _outer(frames))
            t = _stack_task(f, label)
            params.update(path=_outer(frames), fs=fs if fs in ("xfs", "ext4", "btrfs", "f2fs", "ext3") else "xfs",
                          **{k: v for k, v in t.items() if k in ("comm", "pid")})
            return Link("memcg-writeback-wait", params, "a task hung in memcg reclaim waiting on page writeback it "
                        "started itself (->writepages allocates before submitting its I/O)",
                        [f"{t.get('comm')}: " + " <- ".join(n for n in _outer(frames)[::-1]
                                                             if base(n) in MEMCG_RECLAIM | PAGE_WAITS | WRITEPAGES)],
                        _notes(f))
    unregister = [x for x in named if x[2] & SHRINKER_UNREGISTER]
    shrinking = [x for x in reclaiming if x[2] & {"shrink_slab", "do_shrink_slab"}]
    if unregister and shrinking:
        (rl, rframes, _), (wl, wframes, _) = shrinking[0], unregister[0]
        rt, wt = _stack_task(f, rl), _stack_task(f, wl)
        fs = _fs_of(base(n) for n in _outer(rframes))
        params.update(path=_outer(rframes), worker_path=_outer(wframes),
                      fs=fs if fs in ("ext4", "xfs", "btrfs", "f2fs", "ext3") else "ext4")
        params.update({k: v for k, v in (("comm", rt.get("comm")), ("pid", rt.get("pid")),
                                         ("worker_comm", wt.get("comm"))) if v})
        if not f.kernel:
            params.pop("kernel", None)
        return Link("shrinker-lock-inversion", params, "a task in shrink_slab waits on a lock held by a task that "
                    "waits to unregister a shrinker", [f"{wt.get('comm')}: unregister_shrinker",
                                                       f"{rt.get('comm')}: shrink_slab"], _notes(f))
    for label, frames, names in named:
        if names & NFS_RELEASE:
            t = _stack_task(f, label)
            params["rpciod_path"] = _outer(frames)
            return Link("nfs-rpciod-releasepage", params, "NFS ->release_folio in reclaim waits for a COMMIT only "
                        "rpciod can send", [f"{t.get('comm')}: " + ", ".join(sorted(names & NFS_RELEASE))],
                        _notes(f))
    for label, frames, names in reclaiming:
        if not names & (WAITS | PAGE_WAITS):
            continue
        t = _stack_task(f, label)
        comm = str(t.get("comm") or "")
        if names & LOOP_SERVER or comm.startswith("loop"):
            server = "loop"
        elif comm.startswith("nbd"):
            server = "nbd-client"
        elif names & {"fuse_dev_write", "fuse_dev_do_write"} or "fuse" in comm:
            server = "fuse-daemon"
        elif names & SERVER_WRITE:
            server = "tcmu-runner"
        else:
            continue
        path = _outer(frames)
        alloc_at = next((i for i, n in enumerate(path) if base(n) in ALLOCATOR), len(path))
        scan_at = next((i for i, n in enumerate(path) if base(n) in SHRINKER), len(path))
        upper = _fs_of(base(n) for n in path[scan_at:])
        backing = _fs_of(base(n) for n in path[:alloc_at])
        params.update(server=server, server_path=path,
                      upper_fs=upper if upper in ("xfs", "ext4", "btrfs", "f2fs", "ext3", "nilfs2", "gfs2", "ocfs2",
                                                  "jfs") else "xfs",
                      backing_fs=backing if backing in ("ext4", "xfs", "btrfs", "f2fs", "ext3") else "ext4")
        if comm:
            params["server_comm"] = comm
        if t.get("pid"):
            params["server_pid"] = t["pid"]
        return Link("stacked-reclaim-deadlock", params, f"the {server} serving a device hangs in its own direct "
                    "reclaim, waiting for I/O to a filesystem on the device it serves",
                    [f"{comm}: " + " <- ".join(n for n in path[::-1] if base(n) in (WAITS | SHRINKER | SERVER_WRITE
                                                                                  | LOOP_SERVER))[:300]], _notes(f))
    return NotCovered("tasks hung in reclaim, but no stack shows what they wait for as something the model "
                      "ties back to them (their own I/O server, a shrinker lock, NFS commit, their own writeback)")


def _at_least(kernel: str, version: str) -> bool:
    a = tuple(int(x) for x in kernel.split(".")[:2])
    b = tuple(int(x) for x in version.split(".")[:2])
    return a >= b


RULES: list[Rule] = [rule_data_loss, rule_guard, rule_pinned_redirty, rule_truncate_dirty, rule_nofail, rule_lockdep,
                     rule_fault_injection, rule_hang]


def link(report: Any) -> Link | NotCovered:
    """The mechanism that covers a parsed report, with its parameters, or why none does."""
    f = facts(report)
    for rule in RULES:
        answer = rule(f)
        if answer is not None:
            return answer
    what = report.title or (report.event or {}).get("title") or "no crash and no evidence marker"
    return NotCovered(f"no mechanism fits {what!r} (the simulator models NOFAIL allocator warnings, reclaim "
                      "recursion deadlocks, injected-failure error paths and lost writes)")


# -- running ----------------------------------------------------------------------------------------------------
class ReproError(Exception):
    """The report does not exist or cannot be reproduced (one line for the CLI)."""


def _flat(params: dict[str, Any]) -> dict[str, Any]:
    return dict(params)


def run_link(lk: Link, seed: int = 1, variant: str | None = None, *, with_trace: bool = True) -> Any:
    from simulator import run as sim_run

    return sim_run(lk.scenario, variant, _flat(lk.params), seed, with_trace=with_trace)


def failing(outcome: str) -> bool:
    return outcome not in PASSING


def fix_runs(lk: Link, result: Any, seed: int = 1) -> list[dict[str, Any]]:
    """Every fix variant of the mechanism that applies to this run, and whether it flips the outcome."""
    from simulator.scenario import get

    sc = get(lk.scenario)
    out = []
    for name in sc.fixes(result.params):
        r = run_link(lk, seed, name, with_trace=False)
        out.append({"variant": name, "outcome": r.outcome, "help": sc.variants[name].get("help", ""),
                    "flips": failing(result.outcome) and not failing(r.outcome)})
    return out


def store_run(db: Any, report_id: int | None, run: Any, lk: Link | None = None,
              fixes: list[dict[str, Any]] | None = None) -> int:
    """Insert a simulator run (``simulator.RunResult``) into ``repro_runs``; returns the row id."""
    from triage.store import transaction

    row = {
        "report_id": report_id, "scenario": run.scenario, "variant": run.variant,
        "params": json.dumps(run.params, sort_keys=True), "seed": run.seed, "outcome": run.outcome,
        "evidence": json.dumps(run.evidence, sort_keys=True, default=str), "console": run.console,
        "trace": json.dumps(run.trace, default=str), "sim_version": run.sim_version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if lk is not None or fixes is not None:
        row["link"] = json.dumps(lk.to_dict() if lk else None, sort_keys=True)
        row["fixes"] = json.dumps(fixes or [], sort_keys=True)
    with transaction(db):
        return db["repro_runs"].insert(row, alter=False).last_pk


def _load(db: Any, report_id: int) -> Any:
    from triage.report import parse

    row = db.execute("SELECT text FROM reports WHERE id = ?", [report_id]).fetchone()
    if row is None:
        raise ReproError(f"no report with id {report_id}")
    return parse(row[0] or "")


def repro(db: Any, report_id: int, seed: int = 1, *, store: bool = True, fixes: bool = True) -> dict[str, Any]:
    """Link stored report ``report_id``, run the mechanism and its fixes, store the run. A report no
    mechanism covers gives ``{"covered": False, "why": ...}``."""
    lk = link(_load(db, report_id))
    if isinstance(lk, NotCovered):
        return {"report_id": report_id, "covered": False, "why": str(lk)}
    from simulator import SimError

    try:
        result = run_link(lk, seed)
    except SimError as exc:          # a value read from the report that the model cannot take
        return {"report_id": report_id, "covered": False,
                "why": str(NotCovered(f"{lk.scenario} cannot run with what the report gives: {exc}"))}
    fx = fix_runs(lk, result, seed) if fixes else []
    run_id = store_run(db, report_id, result, lk, fx) if store else None
    return {"report_id": report_id, "covered": True, "link": lk.to_dict(), "run_id": run_id,
            "scenario": result.scenario, "variant": result.variant, "params": result.params, "seed": result.seed,
            "outcome": result.outcome, "evidence": result.evidence, "console": result.console, "fixes": fx}


def repro_many(db: Any, report_ids: Iterable[int], seed: int = 1, *, store: bool = True, fixes: bool = True
               ) -> Iterator[dict[str, Any] | ReproError]:
    """``repro`` for each id in turn; an unknown id yields its ReproError and the rest go on."""
    for rid in report_ids:
        try:
            yield repro(db, rid, seed, store=store, fixes=fixes)
        except ReproError as exc:
            yield exc


def labelled_report_ids(db: Any) -> list[int]:
    """Every stored report whose effective label is a consequence (not ``other``)."""
    from vocab.labels import CONSEQUENCE_LABELS

    marks = ",".join("?" * len(CONSEQUENCE_LABELS))
    rows = db.execute(f"SELECT report_id FROM report_labels WHERE label IN ({marks}) ORDER BY report_id",
                      list(CONSEQUENCE_LABELS)).fetchall()
    return [r[0] for r in rows]


RUN_COLUMNS = ("id", "report_id", "scenario", "variant", "params", "seed", "outcome", "evidence", "console",
               "sim_version", "created_at")


def runs_for(db: Any, report_ids: int | Iterable[int]) -> list[dict[str, Any]]:
    """The stored runs of a report (or of a group of duplicate reports), newest first, JSON decoded: what
    ``triage show`` prints, with ``link`` (why the mechanism was chosen) and ``fixes`` (each fix variant's
    outcome and whether it flips the run's)."""
    ids = [report_ids] if isinstance(report_ids, int) else list(report_ids)
    if not ids:
        return []
    cols = {r[1] for r in db.execute("PRAGMA table_info(repro_runs)").fetchall()}
    names = list(RUN_COLUMNS) + [c for c in ("link", "fixes") if c in cols]
    marks = ",".join("?" * len(ids))
    rows = db.execute(f"SELECT {', '.join(names)} FROM repro_runs WHERE report_id IN ({marks}) "
                      "ORDER BY created_at DESC, id DESC", ids).fetchall()
    out = []
    for row in rows:
        d = dict(zip(names, row, strict=True))
        for key in ("params", "evidence", "link", "fixes"):
            if isinstance(d.get(key), str):
                try:
                    d[key] = json.loads(d[key])
                except ValueError:
                    pass
        d.setdefault("link", None)
        d["fixes"] = d.get("fixes") or []
        out.append(d)
    return out


def run_lines(run: dict[str, Any]) -> list[str]:
    """A stored run's link and fixes as lines for a terminal (after its evidence), made inert
    (``triage.termsafe``): report text in them reaches no terminal raw."""
    from triage.termsafe import line

    return [line(text) for text in _run_lines(run)]


def _run_lines(run: dict[str, Any]) -> list[str]:
    out = []
    lk = run.get("link")
    if isinstance(lk, dict) and lk.get("why"):
        out.append(f"why this mechanism: {lk['why']}")
        out += [f"  from the report: {e}" for e in (lk.get("evidence") or [])[:3]]
        out += [f"  note: {n}" for n in lk.get("notes") or []]
    for fx in run.get("fixes") or []:
        if not isinstance(fx, dict):
            continue
        flip = "  <- flips the outcome" if fx.get("flips") else ""
        out.append(f"fix {fx.get('variant')}: {fx.get('outcome')}{flip}")
    return out


def run_all_for_demo(seed: int = 1) -> list[dict[str, Any]]:
    """Every scenario and variant at its defaults: the runs ``triage demo`` imports, classifies and links."""
    from simulator import run_all

    return [r.to_dict() for r in run_all(seed)]
