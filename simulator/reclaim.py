"""Memory reclaim: direct reclaim (``try_to_free_pages``), kswapd, ``shrink_folio_list`` per-folio rules and
``shrink_slab`` calling the filesystems' super-block shrinkers (kernel-semantics.md (d))."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from simulator import gfp as G
from simulator.console import KTHREAD_BOTTOM
from simulator.versions import switch

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

SWAP_CLUSTER_MAX = 32


def fs_reclaim_counts(k: Kernel, task: Task, gfp: int) -> bool:
    return switch(k.version, "fs_reclaim_map") and bool(gfp & G.FS) and "PF_MEMALLOC" not in task.flags


def direct_reclaim(k: Kernel, task: Task, gfp: int, order: int):
    """__perform_reclaim: hold fs_reclaim (lockdep), set PF_MEMALLOC, try_to_free_pages()."""
    k.log(task, "direct-reclaim", gfp=G.fmt(gfp, k.version))
    with task.call("__alloc_pages_direct_reclaim", "__perform_reclaim"):
        counts = fs_reclaim_counts(k, task, gfp)
        if counts:
            with task.call("fs_reclaim_acquire", "__fs_reclaim_acquire"):
                k.lockdep.acquire(task, "fs_reclaim")
        task.flags.add("PF_MEMALLOC")
        try:
            with task.call("try_to_free_pages", "do_try_to_free_pages", "shrink_zones"):
                freed = yield from shrink_node(k, task, gfp)
        finally:
            task.flags.discard("PF_MEMALLOC")
            if counts:
                k.lockdep.release(task, "fs_reclaim")
    return freed


def shrink_node(k: Kernel, task: Task, gfp: int):
    with task.call("shrink_node"):
        with task.call("shrink_lruvec", "shrink_inactive_list", "shrink_folio_list"):
            freed = yield from shrink_folio_list(k, task, gfp)
        freed += yield from shrink_slab(k, task, gfp)
    if freed:
        k.log(task, "reclaimed", pages=freed)
    return freed


def shrink_folio_list(k: Kernel, task: Task, gfp: int):
    """Oldest first: skip writeback/dirty/poisoned/pinned folios (rotate), release private ones, free clean."""
    zone = k.subsystems["zone"]
    freed = dirty_seen = 0
    for folio in list(islice(zone.lru, SWAP_CLUSTER_MAX)):
        if not folio.on_lru:
            continue
        if folio.writeback or folio.dirty or folio.hwpoison or folio.pinned:
            dirty_seen += folio.dirty
            zone.lru.pop(folio)
            zone.lru[folio] = None          # activate / rotate
            continue
        if folio.private:
            fs = folio.mapping.inode.fs
            with task.call("filemap_release_folio"):
                released = yield from fs.release_folio(task, folio, gfp)
            if not released or not folio.on_lru:
                continue
        remove_folio(k, folio)
        freed += 1
    if dirty_seen and not freed and "flusher" in k.subsystems:
        k.subsystems["flusher"].wake("vmscan")
    return freed


def remove_folio(k: Kernel, folio) -> None:
    zone = k.subsystems["zone"]
    folio.mapping.pages.pop(folio.index, None)
    zone.lru_del(folio)
    zone.release(1)


def shrink_slab(k: Kernel, task: Task, gfp: int):
    freed = 0
    with task.call("shrink_slab"):
        for sb in list(k.subsystems.get("shrinkers", [])):
            with task.call("do_shrink_slab"):
                freed += yield from sb.super_cache_scan(task, gfp)
    return freed


def kswapd(k: Kernel):
    """The kswapd0 kthread: sleeps until woken below the low watermark, reclaims up to high as GFP_KERNEL."""
    zone = k.subsystems["zone"]

    def body(task: Task):
        task.flags.update({"PF_MEMALLOC", "PF_KSWAPD"})
        with task.call(*KTHREAD_BOTTOM, "kswapd"):
            while True:
                task.state = "S"
                yield zone.kswapd_wake
                task.state = "R"
                zone.kswapd_wake = k.env.event()
                with task.call("balance_pgdat"):
                    lockdep = switch(k.version, "fs_reclaim_map")
                    if lockdep:
                        k.lockdep.acquire(task, "fs_reclaim")
                    for _ in range(4):
                        if zone.free >= zone.wmark["high"]:
                            break
                        with task.call("kswapd_shrink_node"):
                            freed = yield from shrink_node(k, task, G.GFP_KERNEL)
                        if not freed:
                            break
                    if lockdep:
                        k.lockdep.release(task, "fs_reclaim")

    return body
