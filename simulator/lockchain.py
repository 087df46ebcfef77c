"""A lockdep dependency chain through ``fs_reclaim``, built link by link by tasks doing what the kernel does.

A lockdep report names a chain ``L0 -> L1 -> ... -> Ln`` (``Chain exists of``): each link ``i`` was
recorded when a task holding ``L(i-1)`` took ``Li``, with the stack printed under ``-> #i``; the report
fires when a task holding ``Ln`` takes ``L0``. Here each link is replayed by a task of its own, by the
mechanism that takes such a lock:

- ``X -> fs_reclaim``: an allocation made while holding X. The allocator's ``might_alloc`` takes
  fs_reclaim only for a request that may enter the filesystem (``__GFP_FS``, direct reclaim allowed, not
  PF_MEMALLOC): a NOFS scope around X's section (``memalloc_nofs_save``) or a GFP_NOFS request records no
  link [kernel-semantics.md d.5].
- ``fs_reclaim -> Y``: reclaim (kswapd's balance_pgdat, or a task in direct reclaim) holds fs_reclaim and
  its filesystem callback (super_cache_scan -> evict -> ->evict_inode) takes Y. Direct reclaim reaches the
  filesystem only with ``__GFP_FS`` (super_cache_scan's SHRINK_STOP).
- ``X -> Y``: a task takes Y while holding X.

The simulator's lockdep records the links and prints the circular-dependency report when the closing
acquisition finds the path; the detector reads the cycle. Tasks follow the report's stacks (``paths[i]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator import mm, reclaim
from simulator.callpath import LOCKDEP, MM_ENTRY, SLEEP, PathPlan, Stage
from simulator.console import KTHREAD_BOTTOM, SYSCALL_BOTTOM

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.programs import Program

FS_RECLAIM = ("fs_reclaim", "__fs_reclaim_map")
KSWAPD_STAGE = Stage("kswapd", "balance_pgdat")
LINK_GAP = 1.0          # seconds between links
_LOCK_DEFAULT = {"rwsem": ("down_write",), "mutex": ("mutex_lock_nested",)}
LOCK_SITES: list[tuple[str, tuple[str, ...]]] = [
    ("jbd2_handle", ("__ext4_journal_start_sb", "jbd2__journal_start", "start_this_handle")),
    ("sb_internal", ("__sb_start_write", "percpu_down_read")),
    ("sb_writers", ("mnt_want_write", "__sb_start_write", "percpu_down_read")),
    ("xattr_sem", ("ext4_xattr_set_handle", "ext4_write_lock_xattr", "down_write")),
    ("i_data_sem", ("ext4_map_blocks", "down_write")),
    ("ilock", ("xfs_ilock", "down_write_nested")),
    ("i_mutex_key", ("inode_lock", "down_write")),
    ("q_usage_counter", ("blk_mq_submit_bio", "blk_queue_enter")),
]
_ALLOC_DEFAULT = ("kmalloc_noprof", "__kmalloc_noprof", "slab_alloc_node")


def is_fs_reclaim(lock: str) -> bool:
    return lock.strip("()") in FS_RECLAIM


def op_lock_chain(k: Kernel, task: Task, prog: Program, locks: list[str], paths: list[list[str]] | None = None,
                  comm: str = "", pid: int = 0, fs: str = "fs", gfp: str = "GFP_KERNEL", nofs_scope: bool = False,
                  skip_in_reclaim: bool = False, held_at: str = ""):
    """Replay links n..1 of ``locks`` (L0 first), then the closing acquisition of L0 under Ln. ``[X, X]``:
    one task holding X allocates, and reclaim's callback takes X again (recursive locking)."""
    if len(locks) < 2:
        return
    paths = list(paths or [])
    n = len(locks) - 1
    fsys = k.subsystems["fs_by_name"][fs]
    fsys.opts["skip_lock_in_reclaim"] = skip_in_reclaim
    if n == 1 and locks[0] == locks[1] and not is_fs_reclaim(locks[0]):
        path = paths[0] if paths else []
        body = _recursive_body(k, fsys, locks[0], path, G.parse(gfp), nofs_scope, held_at)
        actor = k.spawn(comm or _comm_for(path), body, kthread=_is_kthread(path, comm), pid=int(pid) or None)
        yield actor.proc
        return
    for i in range(n, -1, -1):
        outer, inner = (locks[i - 1], locks[i]) if i > 0 else (locks[n], locks[0])
        path = paths[i] if i < len(paths) else []
        name, tid = (comm or _comm_for(path), int(pid) or None) if i == 0 else (_comm_for(path), None)
        body = _link_body(k, fsys, outer, inner, path, G.parse(gfp), nofs_scope)
        actor = k.spawn(name, body, kthread=_is_kthread(path, name), pid=tid)
        yield actor.proc
        yield k.env.timeout(LINK_GAP)


def _comm_for(path: list[str]) -> str:
    plan = PathPlan(path)
    if plan.has(KSWAPD_STAGE):
        return "kswapd0"
    if plan.has(Stage("worker_thread", "process_one_work")):
        return "kworker/u8:3"
    return "syz-executor"


def _is_kthread(path: list[str], comm: str) -> bool:
    return PathPlan(path).has(Stage(*KTHREAD_BOTTOM)) or comm.startswith(("kswapd", "kworker"))


def _link_body(k: Kernel, fsys: Any, outer: str, inner: str, path: list[str], gfp: int, nofs_scope: bool):
    def body(t: Task):
        t.follow(path)
        if is_fs_reclaim(outer):
            yield from _reclaim_takes(k, t, fsys, inner, path)
        elif is_fs_reclaim(inner):
            yield from _alloc_under(k, t, outer, gfp, nofs_scope)
        else:
            yield from _nest(k, t, outer, inner)

    return body


def _recursive_body(k: Kernel, fsys: Any, cls: str, path: list[str], gfp: int, nofs_scope: bool, held_at: str):
    """Hold ``cls`` (taken in ``held_at`` on the path) and allocate: direct reclaim evicts an inode whose
    ->evict_inode takes ``cls`` again."""
    def body(t: Task):
        t.follow(path)
        lock = k.lock_class(cls)
        inode = fsys.new_inode(f"/chain/{len(fsys.inodes)}")
        inode.extra.update(slab=True, evict_lock=[cls])
        with t.thru(Stage(held_at) if held_at else Stage(), *_bottom(t), *lock_frames(lock)[:-1]):
            if nofs_scope:
                t.flags.add("PF_MEMALLOC_NOFS")
            with t.call(*lock_frames(lock)[-1:]):
                yield from lock.lock(t)
            fill_with_page_cache(k, fsys)                            # at min: the next request reclaims
            with t.via(MM_ENTRY, *_ALLOC_DEFAULT):
                yield from mm.alloc_pages(k, t, gfp)
            t.flags.discard("PF_MEMALLOC_NOFS")
            lock.unlock(t)

    return body


def fill_with_page_cache(k: Kernel, fsys: Any) -> None:
    """Memory used up by clean page cache down to the min watermark: the next request reclaims, and
    reclaim can free those pages (the filesystem is not needed for that)."""
    from simulator.pagecache import Folio

    zone = k.subsystems["zone"]
    inode = fsys.new_inode(f"/cache/{len(fsys.inodes)}")
    for idx in range(max(0, zone.free - zone.wmark["min"])):
        folio = Folio(inode.mapping, idx)
        inode.mapping.pages[idx] = folio
        zone.take(1)
        zone.lru_add(folio)
        if fsys.dev is not None:
            fsys.dev.blocks[(fsys.name, inode.ino, idx)] = 0


def _bottom(t: Task) -> tuple[str, ...]:
    return KTHREAD_BOTTOM if t.kthread else SYSCALL_BOTTOM


def _alloc_under(k: Kernel, t: Task, outer: str, gfp: int, nofs_scope: bool):
    """Hold ``outer`` and allocate: might_alloc records outer -> fs_reclaim for a request that may enter
    the filesystem."""
    lock = k.lock_class(outer)
    with t.via(MM_ENTRY, *_bottom(t), *_ALLOC_DEFAULT):
        if nofs_scope:
            t.flags.add("PF_MEMALLOC_NOFS")
        yield from lock.lock(t)
        yield from mm.alloc_pages(k, t, gfp)
        lock.unlock(t)
        t.flags.discard("PF_MEMALLOC_NOFS")


def _nest(k: Kernel, t: Task, outer: str, inner: str):
    a, b = k.lock_class(outer), k.lock_class(inner)
    with t.via(LOCKDEP | SLEEP, *_bottom(t), *lock_frames(a)):
        yield from a.lock(t)
        with t.via(LOCKDEP, *lock_frames(b)):
            yield from b.lock(t)
        b.unlock(t)
        a.unlock(t)


def lock_frames(lock: Any) -> tuple[str, ...]:
    """Where the kernel takes a lock of this class (default frames when no report path is followed)."""
    for word, frames in LOCK_SITES:
        if word in lock.cls:
            return frames
    return _LOCK_DEFAULT[lock.kind]


def _reclaim_takes(k: Kernel, t: Task, fsys: Any, inner: str, path: list[str]):
    """Reclaim holding fs_reclaim evicts an inode whose ->evict_inode takes ``inner``: kswapd's pass, or
    direct reclaim entered by a request that cannot be met above the min watermark."""
    inode = fsys.new_inode(f"/chain/{len(fsys.inodes)}")
    inode.extra.update(slab=True, evict_lock=[inner])
    zone = k.subsystems["zone"]
    if PathPlan(path).has(KSWAPD_STAGE) or t.comm.startswith("kswapd"):
        t.flags.update({"PF_MEMALLOC", "PF_KSWAPD"})
        zone.take(max(0, zone.free - zone.wmark["low"] + 1))        # others used memory: kswapd has work
        with t.via(reclaim.BALANCE, *KTHREAD_BOTTOM, "kswapd"):
            yield from reclaim.balance_pgdat(k, t)
        return
    fill_with_page_cache(k, fsys)                                    # at min: the next request reclaims
    t.rss = 0
    with t.via(MM_ENTRY, *_bottom(t), "handle_mm_fault", "__handle_mm_fault", "do_anonymous_page",
               "vma_alloc_folio_noprof", "alloc_pages_mpol"):
        ok = yield from mm.alloc_pages(k, t, G.GFP_HIGHUSER_MOVABLE)
    t.rss += int(ok)
