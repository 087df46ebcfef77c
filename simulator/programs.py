"""User programs: each scenario task runs a list of operations (system calls and faults) from this table.

An operation is a generator ``op(k, task, prog, **args)``. Writes acknowledged to the program and errors
returned to it are recorded here: they are what the data-loss detector weighs against the final state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator import mm, writeback
from simulator.callpath import LOCK_STAGE, MM_ENTRY, SLEEP
from simulator.console import KTHREAD_BOTTOM, SYSCALL_BOTTOM
from simulator.pagecache import EIO, Folio, OpenFile
from simulator.versions import resolve, switch

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.fs import Filesystem


class Program:
    def __init__(self, k: Kernel, ops: list[dict[str, Any]]):
        self.k, self.ops = k, ops
        self.files: dict[str, OpenFile] = {}
        self.pins: dict[str, list[Folio]] = {}          # pinned folios per file (simulator.gup)

    def fs_path(self, spec: str) -> tuple[Filesystem, str]:
        fsname, _, path = spec.partition(":")
        return self.k.subsystems["fs_by_name"][fsname], path

    def file(self, spec: str) -> OpenFile:
        if spec not in self.files:
            raise KeyError(f"file {spec!r} used before open")
        return self.files[spec]

    def run(self, task: Task):
        for op in self.ops:
            args = {key: val for key, val in op.items() if key != "op"}
            self.k.log(task, "op", op=op["op"], **{a: v for a, v in args.items() if isinstance(v, (int, str, float))})
            yield from OPS[op["op"]](self.k, task, self, **args)


def _report(k: Kernel, task: Task, spec: str, op: str, err: int) -> None:
    k.reports.append({"t": k.now(), "task": task.name, "file": spec, "op": op, "err": err})
    k.log(task, "error-returned", op=op, file=spec, err=err)


def op_open(k: Kernel, task: Task, prog: Program, file: str):
    fs, path = prog.fs_path(file)
    inode = fs.lookup(path)
    inode.i_count += 1
    report_after_open = resolve(k.version, "errseq_report_after_open", k.params.get("errseq", "auto"))
    prog.files[file] = OpenFile(inode, task, OpenFile.sample(inode.mapping, report_after_open))
    return
    yield  # pragma: no cover


def op_close(k: Kernel, task: Task, prog: Program, file: str):
    f = prog.files.pop(file)
    f.inode.i_count -= 1
    return
    yield  # pragma: no cover


def op_write(k: Kernel, task: Task, prog: Program, file: str, pages: int = 1, start: int = 0, pwrite: bool = False):
    f = prog.file(file)
    inode, fs = f.inode, f.inode.fs
    sys = ("__x64_sys_pwrite64", "ksys_pwrite64") if pwrite else ("__x64_sys_write", "ksys_write")
    with task.call(*SYSCALL_BOTTOM, *sys, "vfs_write", "new_sync_write", *fs.write_frames):
        for idx in range(start, start + pages):
            k.version_seq = getattr(k, "version_seq", 0) + 1
            version = k.version_seq
            err = yield from fs.write_page(task, inode, idx, version)
            if err:
                _report(k, task, file, "write", err)
                return
            k.acks.append({"t": k.now(), "task": task.name, "file": file, "key": (fs.name, inode.ino, idx),
                           "version": version})
    k.progress()


def op_write_files(k: Kernel, task: Task, prog: Program, prefix: str, count: int, pages: int = 1,
                   fsync: bool = False):
    """Create ``count`` files, write ``pages`` pages to each and close them (``fsync``: fsync before close)."""
    for n in range(int(count)):
        spec = f"{prefix}{n}"
        yield from op_open(k, task, prog, spec)
        yield from op_write(k, task, prog, spec, pages=int(pages))
        if fsync:
            yield from op_fsync(k, task, prog, spec)
        yield from op_close(k, task, prog, spec)


def op_read(k: Kernel, task: Task, prog: Program, file: str, pages: int = 1, start: int = 0):
    """Buffered read: cached pages, poisoned ones fail with EIO, missing ones are read in (holes read zeros)."""
    f = prog.file(file)
    inode, fs = f.inode, f.inode.fs
    with task.call(*SYSCALL_BOTTOM, "__x64_sys_read", "ksys_read", "vfs_read", "filemap_read"):
        for idx in range(start, start + pages):
            folio = inode.mapping.pages.get(idx)
            if folio is not None and folio.hwpoison:
                _report(k, task, file, "read", -EIO)
                return
            if folio is not None:
                got = folio.version
            else:
                got = fs.read_missing(inode, idx)
                if fs.stored((fs.name, inode.ino, idx)) is not None or fs.fstype == "nfs":
                    with task.call("__filemap_get_folio", "filemap_alloc_folio_noprof", "folio_alloc_noprof",
                                   "alloc_pages_noprof"):
                        ok = yield from mm.alloc_pages(k, task, inode.mapping.gfp_mask)
                    if not ok:
                        _report(k, task, file, "read", -12)
                        return
                    folio = Folio(inode.mapping, idx, got)
                    inode.mapping.pages[idx] = folio
                    k.subsystems["zone"].lru_add(folio)
            k.log(task, "read", file=file, index=idx, version=got)
    k.progress()


def op_fsync(k: Kernel, task: Task, prog: Program, file: str):
    with task.call(*SYSCALL_BOTTOM):
        err = yield from writeback.fsync(k, task, prog.file(file))
    k.log(task, "fsync", file=file, ret=err)
    if err:
        _report(k, task, file, "fsync", err)
    k.progress()


def op_fsync_if(k: Kernel, task: Task, prog: Program, file: str, when: bool):
    if when:
        yield from op_fsync(k, task, prog, file)


def op_sleep_until(k: Kernel, task: Task, prog: Program, t: float):
    if float(t) > k.now():
        yield from k.sleep(task, float(t) - k.now())


def op_sleep(k: Kernel, task: Task, prog: Program, seconds: float):
    yield from k.sleep(task, float(seconds))


def op_hog(k: Kernel, task: Task, prog: Program, pages: int):
    """Fault in anonymous memory (madvise(MADV_POPULATE_WRITE)): the memory pressure of the scenario."""
    task.rss = getattr(task, "rss", 0)
    with task.via(MM_ENTRY, *SYSCALL_BOTTOM, "__x64_sys_madvise", "do_madvise", "madvise_do_behavior",
                  "madvise_populate", "faultin_page_range", "__get_user_pages", "handle_mm_fault", "__handle_mm_fault",
                  "do_anonymous_page", "alloc_anon_folio", "vma_alloc_folio_noprof", "alloc_pages_mpol"):
        for _ in range(int(pages)):
            ok = yield from mm.alloc_pages(k, task, G.GFP_HIGHUSER_MOVABLE)
            if not ok:
                k.log(task, "hog-fault-failed")
                return
            task.rss += 1
    k.progress()


def op_madvise_hwpoison(k: Kernel, task: Task, prog: Program, file: str, page: int = 0):
    """madvise(MADV_HWPOISON) on a mapped page of ``file``: memory_failure() on its folio."""
    f = prog.file(file)
    folio = f.inode.mapping.pages.get(page)
    if folio is None:
        return
    pfn = 0x1a000 + (f.inode.ino * 64 + page) % 0x4000
    with task.call(*SYSCALL_BOTTOM, "__x64_sys_madvise", "do_madvise", "madvise_inject_error", "memory_failure"):
        k.console.printk(f"Injecting memory failure for pfn {pfn:#x} at process virtual address "
                         f"{0x20000000 + page * 4096:#x}")
        kind = "dirty LRU page" if folio.dirty else "clean LRU page"
        was_dirty = folio.dirty
        folio.hwpoison = True
        folio.dirty = False
        fs = f.inode.fs
        if was_dirty and fs.dev is not None:
            f.inode.mapping.set_error(EIO)            # me_pagecache_dirty: mapping_set_error(-EIO)
        truncated = fs.error_remove_folio(folio)
        k.log(task, "memory-failure", pfn=hex(pfn), type=kind, truncated=truncated, dirty=was_dirty)
        k.console.printk(f"Memory failure: {pfn:#x}: recovery action for {kind}: Recovered")
    return
    yield  # pragma: no cover


def op_umount(k: Kernel, task: Task, prog: Program, fs: str):
    with task.call(*SYSCALL_BOTTOM):
        yield from writeback.umount(k, task, k.subsystems["fs_by_name"][fs])
    k.progress()


def op_unlink(k: Kernel, task: Task, prog: Program, file: str):
    """Unlink a file whose last reference is then only its dentry: the dcache shrinker will evict it."""
    fs, path = prog.fs_path(file)
    inode = fs.lookup(path)
    inode.nlink = 0
    inode.extra["dentry_only"] = True
    return
    yield  # pragma: no cover


def op_setxattr(k: Kernel, task: Task, prog: Program, file: str, gfp: str = "GFP_KERNEL"):
    """ext4_xattr_set: a journal handle, then xattr_sem, then a kvmalloc with ``gfp`` (seed of S10)."""
    f = prog.file(file)
    fs = f.inode.fs
    with task.call(*SYSCALL_BOTTOM, "__x64_sys_setxattr", "ext4_xattr_set"):
        scoped = fs.journal_start(task)
        with task.call("ext4_xattr_set_handle"):
            with task.call("ext4_write_lock_xattr", "down_write"):
                k.lockdep.acquire(task, "&ei->xattr_sem")
            with task.call("ext4_xattr_set_entry", "ext4_xattr_inode_cache_find", "kvmalloc_node_noprof"):
                obj = yield from mm.kmem_cache_alloc(k, task, "kmalloc-4k", G.parse(gfp), 4096, entry="kmalloc")
            k.lockdep.release(task, "&ei->xattr_sem")
        fs.journal_stop(task, scoped)
    if obj is None:
        _report(k, task, file, "setxattr", -12)
    k.progress()


def op_fail_nth(k: Kernel, task: Task, prog: Program, n: int):
    """Write ``n`` to /proc/thread-self/fail-nth: fail the n-th injectable call of this task."""
    task.fail_nth = int(n)
    return
    yield  # pragma: no cover


def op_prctl_io_flusher(k: Kernel, task: Task, prog: Program):
    if switch(k.version, "io_flusher"):
        task.flags.update({"PF_MEMALLOC_NOIO", "PF_LOCAL_THROTTLE"})
    return
    yield  # pragma: no cover


def op_follow(k: Kernel, task: Task, prog: Program, path: list[str] | None = None):
    """From here on the task prints a report's call path where the mechanics pass its stages."""
    task.follow(path)
    return
    yield  # pragma: no cover


STREAM_SECONDS, STREAM_TICK = 2.0, 0.0005


def op_pressure(k: Kernel, task: Task, prog: Program, reclaimer: str = "direct", pages: int = 0):
    """Fault in anonymous memory: ``direct``: ``pages`` of it (down past min: direct reclaim); ``kswapd``:
    just below the low watermark (kswapd is woken, the task does not reclaim), then wait for kswapd."""
    zone = k.subsystems["zone"]
    if reclaimer != "kswapd":
        yield from op_hog(k, task, prog, int(pages))
        return
    # a steady allocator: whatever kswapd frees is used again, so the zone stays just below low
    for _ in range(int(STREAM_SECONDS / STREAM_TICK)):
        if zone.free >= zone.wmark["low"]:
            yield from op_hog(k, task, prog, zone.free - zone.wmark["low"] + 1)
        yield from k.sleep(task, STREAM_TICK)


def op_context(k: Kernel, task: Task, prog: Program, kind: str = "process", memalloc: Any = "auto",
               defer: bool = False):
    """Where the next allocations run: ``process`` (a system call), ``kthread`` (with the PF_* flags that
    kernel thread sets for itself: ``memalloc`` auto, or forced), ``softirq`` (atomic: cannot sleep);
    ``defer``: a softirq's work is handed to a work item, which may sleep."""
    from simulator.daemons import kthread_flags

    task.kthread = kind in ("kthread", "softirq")
    if kind == "softirq" and defer:
        kind, task.deferred = "kthread", True
        task.workqueue = "events deferred_alloc_work"
    if memalloc is True or (memalloc == "auto" and kind == "kthread"):
        # PF_MEMALLOC: forced (the request is made inside reclaim), or as that kernel thread sets it itself
        task.flags.update({"PF_MEMALLOC"} if memalloc is True else kthread_flags(task.comm))
    task.atomic = kind == "softirq"
    return
    yield  # pragma: no cover


_ALLOC_DEFAULTS = {"process": (*SYSCALL_BOTTOM, "__x64_sys_ioctl", "kmalloc_noprof", "__kmalloc_cache_noprof",
                               "___slab_alloc", "new_slab", "allocate_slab", "alloc_pages_mpol"),
                   "kthread": (*KTHREAD_BOTTOM, "kmalloc_noprof", "__kmalloc_noprof", "___slab_alloc", "new_slab",
                               "allocate_slab", "alloc_pages_mpol"),
                   "softirq": (*KTHREAD_BOTTOM, "smpboot_thread_fn", "run_ksoftirqd", "handle_softirqs",
                               "kmalloc_noprof", "__kmalloc_cache_noprof", "___slab_alloc", "new_slab",
                               "allocate_slab", "alloc_pages_mpol")}


def op_alloc(k: Kernel, task: Task, prog: Program, gfp: str, order: int = 0, fallback: str = "none",
             check: bool = False, drain: bool = False):
    """One allocation of ``2^order`` pages with ``gfp`` from the task's context. ``fallback="order0"``: as
    kvmalloc does, ``2^order`` single pages instead of one block; ``check``: without __GFP_NOFAIL, a NULL is
    handled (-ENOMEM); ``drain``: the context first used up what GFP_ATOMIC may take (a softirq flood)."""
    mask, order = G.parse(gfp), int(order)
    kind = "softirq" if task.atomic else ("kthread" if task.kthread else "process")
    if getattr(task, "deferred", False):           # the work item may sleep: a GFP_KERNEL request
        mask = (mask & ~(G.HIGH | G.ATOMIC)) | G.GFP_KERNEL
    if drain == "auto":
        drain = task.atomic
    if drain:
        held = 0
        while (yield from mm.alloc_pages(k, task, G.GFP_ATOMIC | G.NOWARN)):
            held += 1
        k.log(task, "atomic-drain", pages=held)
    if check:
        mask &= ~G.NOFAIL
    blocks = [(order, 1)] if fallback != "order0" or order == 0 else [(0, 1 << order)]
    with task.via(MM_ENTRY, *_ALLOC_DEFAULTS[kind]):
        for o, count in blocks:
            for _ in range(count):
                ok = yield from mm.alloc_pages(k, task, mask, o)
                if not ok:
                    k.log(task, "alloc-null", gfp=G.fmt(mask, k.version), order=o, handled=check)
                    _report(k, task, "-", "alloc", -12)
                    return
    k.progress()


def op_lock(k: Kernel, task: Task, prog: Program, lock: str, shared: bool = False):
    """Take a lock (down_write / down_read / mutex_lock) and keep it."""
    from simulator.lockchain import lock_frames

    lk = k.lock_class(lock)
    with task.via(LOCK_STAGE, *lock_frames(lk)):
        yield from lk.lock(task, shared=bool(shared))


def op_unlock(k: Kernel, task: Task, prog: Program, lock: str):
    k.lock_class(lock).unlock(task)
    return
    yield  # pragma: no cover


def op_unlock_if(k: Kernel, task: Task, prog: Program, lock: str, when: bool = True, unless: bool = False):
    if when and not unless:
        k.lock_class(lock).unlock(task)
    return
    yield  # pragma: no cover


def op_unregister_shrinker(k: Kernel, task: Task, prog: Program):
    """unregister_shrinker(): up to 6.6, down_write(shrinker_rwsem), which every shrink_slab() holds for
    read; from 6.7 (lockless shrinkers) it waits only for users of its own shrinker."""
    with task.via(SLEEP, "unregister_shrinker"):
        if switch(k.version, "lockless_shrinkers"):
            k.log(task, "unregister-shrinker", lockless=True)
            return
        rwsem = k.subsystems["shrinker_rwsem"]
        yield from rwsem.lock(task)
        rwsem.unlock(task)
    k.log(task, "unregister-shrinker", lockless=False)


def op_memcg(k: Kernel, task: Task, prog: Program, name: str = "app", limit: int = 64, legacy: bool = True):
    """Join a memory cgroup with a hard limit (cgroup v1 when ``legacy``)."""
    task.memcg = mm.Memcg(name, int(limit), bool(legacy))
    return
    yield  # pragma: no cover


OPS: dict[str, Callable[..., Any]] = {
    "open": op_open, "close": op_close, "write": op_write, "write_files": op_write_files, "read": op_read,
    "fsync": op_fsync, "fsync_if": op_fsync_if, "sleep": op_sleep, "sleep_until": op_sleep_until,
    "hog": op_hog, "madvise_hwpoison": op_madvise_hwpoison, "umount": op_umount, "unlink": op_unlink,
    "setxattr": op_setxattr, "fail_nth": op_fail_nth, "prctl_io_flusher": op_prctl_io_flusher,
    "follow": op_follow, "pressure": op_pressure, "context": op_context, "alloc": op_alloc, "memcg": op_memcg,
    "lock": op_lock, "unlock": op_unlock, "unlock_if": op_unlock_if, "unregister_shrinker": op_unregister_shrinker,
}


def _register_mechanism_ops() -> None:
    from simulator import gup, truncate
    from simulator.errorpath import op_fault_site, op_transaction_fault
    from simulator.lockchain import op_lock_chain

    OPS["lock_chain"] = op_lock_chain
    OPS["fault_site"] = op_fault_site
    OPS["transaction_fault"] = op_transaction_fault
    OPS.update(mmap_write=gup.op_mmap_write, pin=gup.op_pin, dma_write=gup.op_dma_write, unpin=gup.op_unpin)
    OPS["open_trunc"] = truncate.op_open_trunc


_register_mechanism_ops()
