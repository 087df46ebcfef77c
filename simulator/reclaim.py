"""Memory reclaim: direct reclaim (``try_to_free_pages``), kswapd, ``shrink_folio_list`` per-folio rules and
``shrink_slab`` calling the filesystems' super-block shrinkers (kernel-semantics.md (d))."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator.callpath import ACTION, END, PAGE_OUT, SCAN, SHRINK_LIST, SHRINK_SLAB, Stage
from simulator.console import KTHREAD_BOTTOM
from simulator.versions import switch

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

SWAP_CLUSTER_MAX = 32
SCAN_COST = 0.001          # seconds one kswapd shrink_folio_list batch takes
TRY_TO_FREE = Stage("try_to_free_pages", "try_to_free_mem_cgroup_pages")
RECLAIM_WORK = SHRINK_LIST | SHRINK_SLAB | SCAN
BALANCE = Stage("balance_pgdat")


def fs_reclaim_counts(k: Kernel, task: Task, gfp: int) -> bool:
    return switch(k.version, "fs_reclaim_map") and bool(gfp & G.FS) and "PF_MEMALLOC" not in task.flags


def direct_reclaim(k: Kernel, task: Task, gfp: int, order: int):
    """__perform_reclaim: hold fs_reclaim (lockdep), set PF_MEMALLOC, try_to_free_pages()."""
    k.log(task, "direct-reclaim", gfp=G.fmt(gfp, k.version))
    with task.via(TRY_TO_FREE, "__alloc_pages_direct_reclaim", "__perform_reclaim"):
        counts = fs_reclaim_counts(k, task, gfp)
        if counts:
            with task.call("fs_reclaim_acquire", "__fs_reclaim_acquire"):
                k.lockdep.acquire(task, "fs_reclaim")
        task.flags.add("PF_MEMALLOC")
        try:
            with task.via(RECLAIM_WORK, "try_to_free_pages", "do_try_to_free_pages", "shrink_zones"):
                freed = yield from shrink_node(k, task, gfp)
        finally:
            task.flags.discard("PF_MEMALLOC")
            if counts:
                k.lockdep.release(task, "fs_reclaim")
    return freed


def shrink_node(k: Kernel, task: Task, gfp: int, memcg: Any = None):
    """LRU pages first (of ``memcg`` only, for a memcg limit reclaim), then the slab shrinkers (global)."""
    with task.via(RECLAIM_WORK, "shrink_node"):
        with task.via(PAGE_OUT, "shrink_lruvec", "shrink_inactive_list", "shrink_folio_list",
                      stop=SHRINK_SLAB | SCAN):
            freed = yield from shrink_folio_list(k, task, gfp, memcg)
        if memcg is None:
            freed += yield from shrink_slab(k, task, gfp)
    if freed:
        k.log(task, "reclaimed", pages=freed)
    return freed


def shrink_folio_list(k: Kernel, task: Task, gfp: int, memcg: Any = None):
    """Oldest first (of ``memcg``'s folios for a memcg limit reclaim). A folio under writeback is marked
    PG_reclaim and rotated, except that reclaim of a cgroup-v1 memcg with ``__GFP_FS`` waits for a folio it
    already marked (kernel-semantics.md d.2, case 3); dirty / poisoned / locked folios rotate; a clean folio's
    buffer heads are released, and a DMA-pinned one then stays (its pin holds a reference) unless reclaim
    skips pinned folios (``reclaim_skips_pinned``); private ones go through ->release_folio; clean ones are
    freed."""
    zone = k.subsystems["zone"]
    freed = dirty_seen = 0
    lru = [f for f in zone.lru if f.memcg is memcg] if memcg is not None else list(islice(zone.lru, SWAP_CLUSTER_MAX))
    for folio in lru[:SWAP_CLUSTER_MAX]:
        if not folio.on_lru:
            continue
        if folio.writeback:
            if memcg is not None and memcg.legacy and folio.reclaim and gfp & G.FS and folio.wb_done is not None:
                k.log(task, "memcg-writeback-wait", ino=folio.mapping.inode.ino, index=folio.index)
                with task.via(END, "folio_wait_writeback", "folio_wait_bit_common"):
                    yield from k.block(task, folio.wb_done.event, folio.wb_done, ("io_schedule", "schedule"))
                continue
            folio.reclaim = True
        skip_pinned = folio.dma_pins and k.params.get("reclaim_skips_pinned")
        if folio.writeback or folio.dirty or folio.hwpoison or folio.pinned or skip_pinned:
            dirty_seen += folio.dirty
            zone.lru.pop(folio)
            zone.lru[folio] = None          # activate / rotate
            continue
        if folio.buffers:
            # try_to_release_page -> try_to_free_buffers: a clean folio's buffer heads go first...
            folio.mapping.inode.fs.release_buffers(folio)
            if folio.dma_pins:
                # ...and __remove_mapping then fails: the pin holds a reference (Kara, 2018)
                k.log(task, "buffers-stripped-pinned", ino=folio.mapping.inode.ino, index=folio.index)
                zone.lru.pop(folio)
                zone.lru[folio] = None
                continue
        if folio.private:
            fs = folio.mapping.inode.fs
            with task.via(ACTION, "filemap_release_folio"):
                released = yield from fs.release_folio(task, folio, gfp)
            if not released or not folio.on_lru:
                continue
        remove_folio(k, folio)
        freed += 1
    if dirty_seen and not freed and "flusher" in k.subsystems:
        k.subsystems["flusher"].wake("vmscan")
    if lru and "PF_KSWAPD" in task.flags:
        yield k.env.timeout(SCAN_COST)     # kswapd scans in the background: other tasks allocate meanwhile
    return freed


def remove_folio(k: Kernel, folio) -> None:
    zone = k.subsystems["zone"]
    folio.mapping.pages.pop(folio.index, None)
    zone.lru_del(folio)
    zone.release(1)
    if folio.memcg is not None:
        folio.memcg.usage -= 1


def shrink_slab(k: Kernel, task: Task, gfp: int):
    """Every registered shrinker; up to 6.6 under the global shrinker_rwsem (read), which
    ``(un)register_shrinker`` takes for write (``versions`` lockless_shrinkers)."""
    freed = 0
    rwsem = None if switch(k.version, "lockless_shrinkers") else k.subsystems.get("shrinker_rwsem")
    with task.via(SCAN, "shrink_slab"):
        if rwsem is not None:
            yield from rwsem.lock(task, shared=True)
        try:
            for sb in list(k.subsystems.get("shrinkers", [])):
                with task.via(SCAN, "do_shrink_slab"):
                    freed += yield from sb.super_cache_scan(task, gfp)
        finally:
            if rwsem is not None:
                rwsem.unlock(task)
    return freed


def balance_pgdat(k: Kernel, task: Task):
    """One kswapd pass: hold fs_reclaim (lockdep, 4.14+) and reclaim as GFP_KERNEL up to the high watermark."""
    zone = k.subsystems["zone"]
    with task.thru(BALANCE, "balance_pgdat"):
        lockdep = switch(k.version, "fs_reclaim_map")
        if lockdep:
            k.lockdep.acquire(task, "fs_reclaim")
        for _ in range(4):
            if zone.free >= zone.wmark["high"]:
                break
            with task.via(RECLAIM_WORK, "kswapd_shrink_node"):
                freed = yield from shrink_node(k, task, G.GFP_KERNEL)
            if not freed:
                break
        if lockdep:
            k.lockdep.release(task, "fs_reclaim")


def kswapd(k: Kernel, path: list[str] | None = None, *, once: bool = False):
    """The kswapd0 kthread: sleeps until woken below the low watermark, then ``balance_pgdat``; ``path``: a
    report's kswapd stack to print; ``once``: one pass, now (a kswapd of a lockdep chain's link)."""
    zone = k.subsystems["zone"]

    def body(task: Task):
        task.flags.update({"PF_MEMALLOC", "PF_KSWAPD"})
        task.follow(path)
        with task.via(BALANCE, *KTHREAD_BOTTOM, "kswapd"):
            while True:
                if not once:
                    task.state = "S"
                    yield zone.kswapd_wake
                    task.state = "R"
                    zone.kswapd_wake = k.env.event()
                yield from balance_pgdat(k, task)
                if once:
                    return

    return body
