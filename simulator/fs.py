"""Filesystems: the super-block shrinker and eviction path shared by all, plus what ext4, XFS, tmpfs and the
NFS client do differently (mapping gfp, ``->writepages``, ``->evict_inode``, ``->release_folio``,
cached-object reclaim, memory-failure handling). Options come from the scenario's ``[[fs]]`` tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator import mm
from simulator.block import Bio, BlockDevice
from simulator.callpath import ACTION, END, LOCK_STAGE, MM_ENTRY, SCAN, SLEEP, WRITE_INODE_STAGE, Stage
from simulator.console import KTHREAD_BOTTOM
from simulator.engine import Completion
from simulator.journal import EROFS, Journal, give_up_on_write, lost_write_line
from simulator.pagecache import EIO, ENOMEM, AddressSpace, Folio, Inode
from simulator.reclaim import remove_folio
from simulator.versions import resolve

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

INODE_SCAN = 4          # inodes pruned per super_cache_scan call
PRUNE_ICACHE = Stage("prune_icache_sb", "dispose_list")
PRUNE_DCACHE = Stage("prune_dcache_sb", "shrink_dentry_list")


def _has_evict_work(inode: Inode) -> bool:
    x = inode.extra
    return bool(x.get("evict_lock") or x.get("evict_alloc") or x.get("evict_write_inode") or x.get("evict_read")
                or inode.needs_flush)
WRITE_ALLOC = ("__filemap_get_folio", "filemap_alloc_folio_noprof", "folio_alloc_noprof", "alloc_pages_noprof",
               "alloc_pages_mpol")


class Filesystem:
    fstype = "?"
    uses_buffers = False        # buffer heads: ->write_begin / ->page_mkwrite attach them, reclaim may strip them
    mapping_gfp = G.GFP_HIGHUSER_MOVABLE
    write_frames: tuple[str, ...] = ("generic_perform_write",)
    write_begin: tuple[str, ...] = ("grab_cache_page_write_begin",)
    fsync_frames: tuple[str, ...] = ()
    writepages_frames: tuple[str, ...] = ()

    def __init__(self, k: Kernel, name: str, dev: BlockDevice | None, opts: dict[str, Any]):
        self.k, self.name, self.dev, self.opts = k, name, dev, opts
        self.inodes: dict[str, Inode] = {}
        self.next_ino = 12
        self.umounting = False
        self.mounted = True
        self.s_wb_err = 0
        self.devname = opts.get("devname", dev.name + "1" if dev else "tmpfs")
        self.read_only = False          # set when a journal commit fails (simulator.journal)
        self.journal: Journal | None = Journal(k, self) if opts.get("journal") and dev is not None else None

    # -- inodes ----------------------------------------------------------------------------------
    def new_inode(self, path: str, *, cached_slab: bool = True) -> Inode:
        inode = Inode(self.next_ino, self, path)
        self.next_ino += 1
        gfp = self.mapping_gfp
        if self.opts.get("mapping_nofs"):
            gfp &= ~G.FS
        inode.mapping = AddressSpace(inode, gfp)
        self.inodes[path] = inode
        return inode

    def lookup(self, path: str) -> Inode:
        inode = self.inodes.get(path)
        if inode is None or inode.evicted:
            inode = self.new_inode(path)
        return inode

    # -- write path ------------------------------------------------------------------------------
    def write_page(self, task: Task, inode: Inode, idx: int, version: int):
        """One page of generic_perform_write: ->write_begin (page cache allocation), copy, ->write_end."""
        if self.read_only:
            return -EROFS
        m = inode.mapping
        folio = m.pages.get(idx)
        if folio is not None and folio.hwpoison:
            return -EIO
        if folio is None:
            with task.call(*self.write_begin, *WRITE_ALLOC):
                ok = yield from mm.alloc_pages(self.k, task, m.gfp_mask)
            if not ok:
                return -ENOMEM
            folio = Folio(m, idx)
            folio.memcg = getattr(task, "memcg", None)
            m.pages[idx] = folio
            self.k.subsystems["zone"].lru_add(folio)
        folio.pinned, was_pinned = True, folio.pinned          # locked across ->write_end
        try:
            err = yield from self.write_end(task, inode, folio)
        finally:
            folio.pinned = was_pinned
        if err:
            return err
        folio.version = version
        folio.uptodate = True
        folio.buffers = folio.buffers or self.uses_buffers       # block_write_begin: create_empty_buffers
        self.mark_dirty(inode, folio)
        return 0

    def mark_dirty(self, inode: Inode, folio: Folio) -> None:
        """__folio_mark_dirty: the folio and its inode become dirty (the flusher's background check)."""
        if folio.dirty:
            return
        folio.dirty = True
        if inode.dirtied_when is None:
            inode.dirtied_when = self.k.now()
        flusher = self.k.subsystems.get("flusher")
        if flusher:
            flusher.note_dirty()

    def page_mkwrite(self, task: Task, inode: Inode, folio: Folio) -> None:
        """->page_mkwrite of a write fault on a shared mapping: the filesystem prepares the folio for writing
        (buffer heads, block reservation) and it becomes dirty."""
        folio.buffers = folio.buffers or self.uses_buffers
        self.mark_dirty(inode, folio)

    def dirty_folio(self, task: Task, inode: Inode, folio: Folio) -> None:
        """->dirty_folio (set_page_dirty) from outside the write paths: here, a pinner dirtying a page it
        wrote to (filemap_dirty_folio: no questions asked)."""
        self.mark_dirty(inode, folio)

    def release_buffers(self, folio: Folio) -> bool:
        """try_to_free_buffers from ->release_folio: a clean folio's buffer heads go (not a dirty one's)."""
        if folio.dirty or folio.writeback or not folio.buffers:
            return False
        folio.buffers = False
        return True

    def write_end(self, task: Task, inode: Inode, folio: Folio):
        return 0
        yield  # pragma: no cover

    # -- writeback -------------------------------------------------------------------------------
    def writepages(self, task: Task, inode: Inode, sync_all: bool):
        """Submit every dirty folio: clear dirty, set writeback, one bio; errors recorded at completion. On a
        read-only (aborted) filesystem delayed-allocation data cannot get blocks and is dropped."""
        with task.call(*self.writepages_frames):
            if self.read_only and inode.is_dirty():
                give_up_on_write(self.k, task, self, inode, EROFS)
                return -EROFS
            err = self.writepages_hook(task, inode, sync_all)
            if err:
                return err
            if self.opts.get("map_alloc"):
                yield from self.map_blocks_alloc(task, inode)
            if self.submit_dirty(task, inode, sync_all) is not None and self.journal is not None:
                self.journal.dirty(2)           # block bitmap and extent tree of the allocation
        return 0

    map_alloc_frames: tuple[str, ...] = ("iomap_writepages", "xfs_map_blocks", "xfs_bmapi_convert_delalloc",
                                         "xfs_trans_alloc", "kmem_cache_alloc_noprof")

    def map_blocks_alloc(self, task: Task, inode: Inode):
        """->map_blocks allocates (a transaction for delayed allocation) while the folios it is building
        an ioend of are already under writeback, an ioend only this task will submit (``map_alloc`` gfp)."""
        folios = [f for f in inode.mapping.pages.values() if f.dirty]
        if not folios:
            return
        pending = Completion(self.k, f"writeback of inode {inode.ino} in an ioend not yet submitted")
        pending.holder = task
        for f in folios:
            f.writeback, f.wb_done = True, pending
        gfp = G.parse(self.opts["map_alloc"])
        if self.opts.get("map_alloc_nofs"):
            task.flags.add("PF_MEMALLOC_NOFS")
        try:
            with task.via(MM_ENTRY, *self.map_alloc_frames):
                yield from mm.alloc_pages(self.k, task, gfp)
        finally:
            task.flags.discard("PF_MEMALLOC_NOFS")
        for f in folios:
            f.writeback = False          # submit_dirty sets it again for the bio
        pending.complete()

    def writepages_hook(self, task: Task, inode: Inode, sync_all: bool) -> int:
        return 0

    def submit_dirty(self, task: Task, inode: Inode, sync_all: bool = False) -> Bio | None:
        """Every dirty folio in one bio. With ``writeback_skips_pinned`` (Kara's 2023 "writeback handling of
        pinned pages" series) a DMA-pinned folio is not cleaned: memory-cleaning writeback skips it, data
        integrity writeback writes a stable copy of it and leaves it dirty."""
        folios = [f for f in inode.mapping.pages.values() if f.dirty and not f.pinned]   # not a locked one
        if not folios or self.dev is None:
            return None
        kept = []
        if self.k.params.get("writeback_skips_pinned"):
            kept = [f for f in folios if f.dma_pins]
            if not sync_all:
                folios = [f for f in folios if not f.dma_pins]
            if kept:
                self.k.log(task, "pinned-kept-dirty", ino=inode.ino, pages=len(kept), bounced=sync_all)
            if not folios:
                return None
        for f in folios:
            f.dirty, f.writeback = f in kept, True
        blocks = [((self.name, inode.ino, f.index), f.version) for f in folios]
        bio = Bio(self.k, "WRITE", blocks, lambda b, fs=folios, ino=inode: self.end_io(b, ino, fs),
                  f"writeback of inode {inode.ino} on {self.devname}")
        inode.extra.setdefault("inflight", []).append(bio)
        self.k.log(task, "writeback", ino=inode.ino, pages=len(folios))
        self.dev.submit_bio(task, bio)
        if not inode.is_dirty():
            inode.dirtied_when = None
        return bio

    def end_io(self, bio: Bio, inode: Inode, folios: list[Folio]) -> None:
        for f in folios:
            f.writeback = False
        if bio.status:
            self.write_error(inode, folios, bio)
            inode.mapping.set_error(EIO)
        inode.extra["inflight"].remove(bio)

    def write_error(self, inode: Inode, folios: list[Folio], bio: Bio) -> None:
        """Buffer-head writeback (end_buffer_async_write): each failed page's block, lost."""
        for f in folios:
            self.k.console.printk(lost_write_line(self.k, self.devname, bio.sector // 8 + f.index))

    def fdatawait(self, task: Task, inode: Inode):
        for bio in list(inode.extra.get("inflight", [])):
            if not bio.done.event.triggered:
                yield from self.k.block(task, bio.done.event, bio.done,
                                        ("filemap_fdatawait_range", "folio_wait_writeback", "folio_wait_bit_common",
                                         "io_schedule", "schedule"))

    # -- reclaim ---------------------------------------------------------------------------------
    evict_frames: tuple[str, ...] = ()          # the fs's ->evict_inode frames (defaults when no path)
    own_inode_reclaim = False                   # reclaimable inodes go through ->free_cached_objects (XFS)
    write_inode_guard: str | None = None        # "file.c:line" of a WARN_ON_ONCE(PF_MEMALLOC) in ->write_inode

    def super_cache_scan(self, task: Task, gfp: int):
        """fs/super.c: SHRINK_STOP without __GFP_FS; trylock s_umount; dentries, inodes, fs objects."""
        if not gfp & G.FS or self.umounting or not self.mounted:
            return 0
        freed = 0
        with task.thru(SCAN, "super_cache_scan"):
            with task.via(ACTION, "prune_dcache_sb", "shrink_dentry_list", "__dentry_kill", "dentry_unlink_inode",
                          "iput", stop=PRUNE_ICACHE):
                for inode in [i for i in self.inodes.values() if i.extra.get("dentry_only") and not i.evicted]:
                    inode.extra["dentry_only"] = False
                    freed += yield from self.evict(task, inode)
            with task.via(ACTION, "prune_icache_sb", "dispose_list", stop=PRUNE_DCACHE):
                victims = [i for i in self.inodes.values() if self.evictable(task, i)][:INODE_SCAN]
                for inode in victims:
                    freed += yield from self.evict(task, inode)
            freed += yield from self.free_cached_objects(task, gfp)
        return freed

    def evictable(self, task: Task, inode: Inode) -> bool:
        if (inode.i_count or inode.evicted or inode.freeing or inode.extra.get("dentry_only")
                or (inode.extra.get("reclaimable") and self.own_inode_reclaim) or inode.is_dirty()
                or any(f.writeback for f in inode.mapping.pages.values())):
            return False
        # a fix discussed for seed 002: do not evict inodes whose eviction needs work from reclaim context;
        # non-blocking inode reclaim skips the ones that need I/O
        in_reclaim = "PF_MEMALLOC" in task.flags
        if self.opts.get("nonblocking_reclaim") and in_reclaim and (inode.needs_flush or inode.extra.get("evict_read")):
            return False
        return not (self.opts.get("skip_evict_in_reclaim") and in_reclaim
                    and (inode.prealloc or _has_evict_work(inode)))

    def free_cached_objects(self, task: Task, gfp: int):
        return 0
        yield  # pragma: no cover

    def evict(self, task: Task, inode: Inode):
        inode.freeing = True
        if self.opts.get("defer_evict_in_reclaim") and "PF_MEMALLOC" in task.flags and _has_evict_work(inode):
            # the final iput's work is handed to a work item that runs outside reclaim
            self.k.log(task, "evict-deferred", fs=self.name, ino=inode.ino)
            self.k.spawn("kworker/u8:4", lambda t, i=inode: self._deferred_evict(t, i), kthread=True, daemon=True)
            return 0
        self.k.log(task, "evict", fs=self.name, ino=inode.ino)
        with task.via(ACTION, "evict"):
            yield from self.evict_inode(task, inode)
        inode.evicted = True
        if inode.extra.pop("slab", False):
            self.k.subsystems["zone"].release(1)
            return 1
        return 0

    def _deferred_evict(self, task: Task, inode: Inode):
        task.workqueue = "events delayed_iput_work"
        with task.call(*KTHREAD_BOTTOM, "worker_thread", "process_one_work", "delayed_iput_work", "iput", "evict"):
            self.k.log(task, "evict", fs=self.name, ino=inode.ino)
            yield from self.evict_inode(task, inode)
        inode.evicted = True

    def evict_inode(self, task: Task, inode: Inode):
        with task.via(ACTION, *self.evict_frames):
            self.truncate_final(task, inode)
            yield from self.evict_work(task, inode)

    def evict_work(self, task: Task, inode: Inode, alloc: bool = True):
        """What evicting this inode does beyond dropping its pages ([[files]] keys): take a lock
        (``evict_lock``), allocate (``evict_alloc`` gfp, ``evict_order``), write the inode back
        (``evict_write_inode``: ->write_inode, refused with a WARN from reclaim where the fs guards it),
        read metadata from the device and wait (``evict_read``)."""
        x = inode.extra
        for cls in x.get("evict_lock") or ():
            if self.opts.get("skip_lock_in_reclaim") and "PF_MEMALLOC" in task.flags:
                self.k.log(task, "evict-lock-deferred", fs=self.name, lock=cls)
                continue
            lock = self.k.lock_class(cls)
            from simulator.lockchain import lock_frames

            with task.via(LOCK_STAGE, *lock_frames(lock)):
                yield from lock.lock(task)
            lock.unlock(task)
        if alloc and x.get("evict_alloc"):
            yield from self.evict_alloc(task, inode, G.parse(x["evict_alloc"]), int(x.get("evict_order", 0)))
        if x.get("evict_write_inode"):
            yield from self.write_inode(task, inode)
        if (x.get("evict_read") or inode.needs_flush) and self.dev is not None:
            if hasattr(self.dev, "map"):
                yield from self.dev.map(task)
            with task.via(SLEEP, "submit_bio_wait"):
                what = "inode write-back" if inode.needs_flush else "metadata read"
                bio = Bio(self.k, "WRITE" if inode.needs_flush else "READ",
                          [((self.name, "inode", inode.ino), 1)] if inode.needs_flush else [], None,
                          f"{what} for inode {inode.ino} on {self.devname}")
                self.dev.submit_bio(task, bio)
                yield from self.k.block(task, bio.done.event, bio.done, ("wait_for_completion_io",
                                                                         "io_schedule", "schedule"))

    def evict_alloc(self, task: Task, inode: Inode, gfp: int, order: int = 0,
                    frames: tuple[str, ...] = WRITE_ALLOC):
        """The page an eviction needs (a bitmap, a buffer): allocated with ``gfp`` unless already in memory
        (``pinned``). ``evict_alloc_mode`` (fs option): ``as-is``; ``retry-loop``: without __GFP_NOFAIL, the
        caller sleeps and retries; ``check``: without __GFP_NOFAIL, a failure skips the work."""
        if inode.extra.get("pinned"):
            return True
        mode = self.opts.get("evict_alloc_mode", "as-is")
        if mode != "as-is":
            gfp &= ~G.NOFAIL
        while True:
            with task.via(MM_ENTRY, *frames):
                ok = yield from mm.alloc_pages(self.k, task, gfp, order)
            if ok or mode != "retry-loop":
                if not ok:
                    self.k.log(task, "evict-alloc-failed", ino=inode.ino)
                return ok
            self.k.log(task, "evict-alloc-retry", ino=inode.ino)
            yield from self.k.sleep(task, mm.RETRY_THROTTLE)

    def write_inode(self, task: Task, inode: Inode):
        """->write_inode from eviction (write_inode_now): a guarded fs refuses it in PF_MEMALLOC context."""
        with task.via(WRITE_INODE_STAGE, "write_inode_now", "writeback_single_inode", "__writeback_single_inode",
                      "write_inode", *self.write_inode_frames):
            if self.write_inode_guard and "PF_MEMALLOC" in task.flags:
                file, _, line = self.write_inode_guard.partition(":")
                self.k.warns.append({"t": self.k.now(), "task": task.name, "cond": "reclaim_guard",
                                     "reason": f"{task.stack[-1]} entered from reclaim (PF_MEMALLOC): write refused",
                                     "alloc": None, "gfp": None, "order": None, "site": str(task.stack[-1]),
                                     "completed": None})
                self.k.log(task, "reclaim-guard", fs=self.name, ino=inode.ino, fn=str(task.stack[-1]))
                if "reclaim_guard" not in self.k.subsystems["zone"].warned:
                    self.k.subsystems["zone"].warned.add("reclaim_guard")
                    self.k.console.warn(task, task.stack[-1], file, int(line), list(task.stack[:-1]))
                return
            self.k.log(task, "write-inode", fs=self.name, ino=inode.ino)
        return
        yield  # pragma: no cover

    write_inode_frames: tuple[str, ...] = ()

    def truncate_final(self, task: Task, inode: Inode) -> None:
        """truncate_inode_pages_final(): drops every folio, dirty or not."""
        dropped = [f for f in inode.mapping.pages.values() if f.dirty]
        if dropped:
            self.k.log(task, "drop-dirty", fs=self.name, ino=inode.ino, pages=len(dropped))
        for f in list(inode.mapping.pages.values()):
            if f.hwpoison:
                inode.mapping.pages.pop(f.index, None)
                continue
            remove_folio(self.k, f)

    def release_folio(self, task: Task, folio: Folio, gfp: int):
        folio.private = False
        return True
        yield  # pragma: no cover

    # -- memory failure ----------------------------------------------------------------------------
    def error_remove_folio(self, folio: Folio) -> bool:
        """->error_remove_folio: truncate the poisoned folio (True) or keep it (False)."""
        folio.mapping.pages.pop(folio.index, None)
        self.k.subsystems["zone"].lru_del(folio)
        return True

    def stored(self, key: tuple) -> int | None:
        """The version of a page that reached stable storage (None: never written there)."""
        return self.dev.blocks.get(key) if self.dev else None

    def read_missing(self, inode: Inode, idx: int) -> int:
        """What a read returns for a page not in the cache: the stored copy, or zeros (a hole)."""
        return self.stored((self.name, inode.ino, idx)) or 0


# ext4's WARN_ON_ONCE(!folio_buffers(folio)) in ->dirty_folio (6dcc693bc57f, v4.10): representative lines
EXT4_DIRTY_WARN = {"5.18": 3661, "4.4": 3576}
EXT4_NO_BUFFERS_LINE = 2620          # mpage_prepare_extent_to_map: page_buffers() BUG before 5.18 (Lee Jones, 5.16)


class Ext4(Filesystem):
    fstype = "ext4"
    uses_buffers = True
    write_frames = ("ext4_file_write_iter", "ext4_buffered_write_iter", "generic_perform_write")
    write_begin = ("ext4_da_write_begin", "grab_cache_page_write_begin")
    fsync_frames = ("ext4_sync_file", "file_write_and_wait_range")
    writepages_frames = ("ext4_writepages", "ext4_do_writepages")
    evict_frames = ("ext4_evict_inode",)
    write_inode_guard = "fs/ext4/inode.c:5291"        # ext4_write_inode: WARN_ON_ONCE(current->flags & PF_MEMALLOC)
    write_inode_frames = ("ext4_write_inode",)

    def __init__(self, k: Kernel, name: str, dev: BlockDevice | None, opts: dict[str, Any]):
        super().__init__(k, name, dev, opts)
        self.buddy = self.new_inode("<buddy cache>")
        self.buddy.i_count = 1
        self.journal_nofs = resolve(k.version, "scoped_nofs", opts.get("jbd2_nofs_scope", "auto"))

    def dirty_folio(self, task: Task, inode: Inode, folio: Folio) -> None:
        """ext4_dirty_folio (ext4_set_page_dirty before 5.18): WARN_ON_ONCE(!folio_buffers(folio)), then
        block_dirty_folio dirties it anyway."""
        with task.via(END, "ext4_dirty_folio"):
            if not folio.buffers:
                k = self.k
                k.warns.append({"t": k.now(), "task": task.name, "cond": "dirty_without_buffers",
                                "reason": "a folio dirtied without ->page_mkwrite: no buffers, no block reserved",
                                "alloc": None, "gfp": None, "order": None, "site": str(task.stack[-1]),
                                "completed": None})
                k.log(task, "dirty-without-buffers", ino=inode.ino, index=folio.index)
                zone = k.subsystems["zone"]
                if "ext4_dirty_folio" not in zone.warned:
                    zone.warned.add("ext4_dirty_folio")
                    line = EXT4_DIRTY_WARN["5.18" if k.version.at_least("5.18") else "4.4"]
                    k.console.warn(task, task.stack[-1], "fs/ext4/inode.c", line, list(task.stack[:-1]))
        self.mark_dirty(inode, folio)

    def unbuffered_folios(self, task: Task, inode: Inode) -> None:
        """mpage_prepare_extent_to_map() meets dirty folios without buffers (dirtied behind ext4's back): before
        cc5095747edf (5.18, backported to stable) page_buffers() BUGs with the folio locked; since, a warning
        and the folio is marked clean unwritten ("ext4: don't BUG if someone dirty pages without asking ext4
        first": the data is lost)."""
        bad = [f for f in inode.mapping.pages.values() if f.dirty and not f.buffers and not f.pinned]
        if not bad:
            return
        k = self.k
        with task.call("mpage_prepare_extent_to_map"):
            if not resolve(k.version, "ext4_nobuffers_warn", self.opts.get("nobuffers_warn", "auto")):
                folio = bad[0]
                folio.pinned = True              # the oops leaves it locked
                k.crashes.append({"t": k.now(), "task": task.name, "site": "mpage_prepare_extent_to_map",
                                  "what": f"page_buffers() on folio {folio.index} of inode {inode.ino}: none"})
                k.log(task, "no-buffers-bug", ino=inode.ino, index=folio.index)
                k.console.kernel_bug(task, list(task.stack), "fs/ext4/inode.c", EXT4_NO_BUFFERS_LINE)
                from simulator.engine import TaskKilled

                raise TaskKilled()
            for folio in bad:
                k.console.printk(f"EXT4-fs warning (device {self.devname}): mpage_prepare_extent_to_map:"
                                 f"{EXT4_NO_BUFFERS_LINE + 26}: inode #{inode.ino}: comm {task.comm}: page "
                                 f"{folio.index} does not have buffers attached")
                folio.dirty = False
                k.log(task, "no-buffers-cleaned", ino=inode.ino, index=folio.index)

    def writepages_hook(self, task: Task, inode: Inode, sync_all: bool) -> int:
        self.unbuffered_folios(task, inode)
        alloc_error = int(self.opts.get("alloc_error") or 0)
        if alloc_error and inode.is_dirty():
            # block allocation for the delayed-allocation data fails (a bitmap that fails its checksum:
            # -EFSBADCRC, no space: -ENOSPC): ext4 gives up on the write
            give_up_on_write(self.k, task, self, inode, alloc_error)
            return -alloc_error
        rate = float(self.opts.get("writepages_enomem_rate", 0.0))
        if rate and self.k.rng.random() < rate:
            # the seed's debug mount option: "a 1 in 16 chance that ext4_writepages will immediately return
            # with ENOMEM (and printk the inode number)"
            self.k.console.printk(f"EXT4-fs ({self.devname}): ext4_writepages: ENOMEM injected for inode {inode.ino}")
            self.k.log(task, "writepages-enomem", ino=inode.ino, sync_all=sync_all)
            return -ENOMEM
        return 0

    def write_error(self, inode: Inode, folios: list[Folio], bio: Bio) -> None:
        v = self.k.version
        line = 353 if v.at_least("6.0") else 343
        err = 10 if v.at_least("4.13") else -5          # blk_status_t from 4.13 on, errno before
        self.k.console.printk(f"EXT4-fs warning (device {self.devname}): ext4_end_bio:{line}: I/O error {err} writing "
                              f"to inode {inode.ino} starting block {bio.sector // 8})")
        for f in folios:
            block = bio.sector // 8 + f.index
            self.k.console.printk(f"Buffer I/O error on device {self.devname}, logical block {block}")
        if resolve(v, "ext4_dioread_nolock", self.opts.get("unwritten", "auto")):
            # end_io converts the unwritten extents it wrote; after the error the conversion fails too
            self.k.console.printk(f"EXT4-fs ({self.devname}): failed to convert unwritten extents to written "
                                  f"extents -- potential data loss!  (inode {inode.ino}, error -5)")

    # journal: a lockdep map, and the NOFS scope jbd2 sets for a running handle (4.12+)
    def journal_start(self, task: Task) -> bool:
        with task.call("__ext4_journal_start_sb", "jbd2__journal_start", "start_this_handle"):
            self.k.lockdep.acquire(task, "jbd2_handle")
        if self.journal_nofs and "PF_MEMALLOC_NOFS" not in task.flags:
            task.flags.add("PF_MEMALLOC_NOFS")
            return True
        return False

    def journal_stop(self, task: Task, scoped: bool) -> None:
        self.k.lockdep.release(task, "jbd2_handle")
        if scoped:
            task.flags.discard("PF_MEMALLOC_NOFS")

    def evict_inode(self, task: Task, inode: Inode):
        with task.via(ACTION, "ext4_evict_inode"):
            self.truncate_final(task, inode)
            if inode.nlink == 0:
                scoped = self.journal_start(task)
                with task.call("ext4_truncate"):
                    pass
                self.journal_stop(task, scoped)
            prealloc = inode.prealloc
            with task.via(ACTION, "ext4_clear_inode"):
                if prealloc:
                    with task.via(ACTION, "ext4_discard_preallocations"):
                        yield from self.mb_load_buddy(task, inode)
                    inode.prealloc = False
            yield from self.evict_work(task, inode, alloc=not prealloc)

    def mb_load_buddy(self, task: Task, inode: Inode):
        """ext4_mb_load_buddy_gfp(GFP_NOFS|__GFP_NOFAIL): the buddy bitmap page of the inode's group."""
        group = inode.extra.get("group", 0)
        m = self.buddy.mapping
        with task.via(ACTION, "ext4_mb_load_buddy_gfp"):
            if group in m.pages:
                return
            gfp = G.parse(inode.extra.get("evict_alloc") or "GFP_NOFS|__GFP_NOFAIL")
            ok = yield from self.evict_alloc(task, inode, gfp, int(inode.extra.get("evict_order", 0)))
            if not ok:
                return
            folio = Folio(m, group)
            m.pages[group] = folio
            self.k.subsystems["zone"].lru_add(folio)


class Xfs(Filesystem):
    fstype = "xfs"
    mapping_gfp = G.GFP_HIGHUSER_MOVABLE & ~G.FS      # xfs_setup_inode() clears __GFP_FS
    write_frames = ("xfs_file_write_iter", "xfs_file_buffered_write", "iomap_file_buffered_write")
    write_begin = ("iomap_write_begin",)
    fsync_frames = ("xfs_file_fsync", "filemap_write_and_wait_range")
    writepages_frames = ("xfs_vm_writepages", "iomap_writepages")
    write_inode_frames = ("iomap_do_writepage",)
    write_inode_guard = "fs/iomap/buffered-io.c:1949"     # iomap_do_writepage: WARN_ON_ONCE(PF_MEMALLOC)
    own_inode_reclaim = True

    def free_cached_objects(self, task: Task, gfp: int):
        """xfs_reclaim_inodes_nr: with synchronous inode reclaim (XFS of 5.2) dirty inodes are written
        with xfs_bwrite() and waited for, from inside reclaim."""
        freed = 0
        with task.call("xfs_fs_free_cached_objects", "xfs_reclaim_inodes_nr", "xfs_reclaim_inodes_ag"):
            for inode in [i for i in self.inodes.values() if i.extra.get("reclaimable") and not i.evicted][:2]:
                with task.call("xfs_reclaim_inode"):
                    pending = inode.extra.get("flush_bio")
                    if pending is not None:          # xfs_iflock(): another reclaimer is flushing it
                        if not self.opts.get("sync_inode_reclaim", True) or self.opts.get("nonblocking_reclaim"):
                            continue
                        yield from self.k.block(task, pending.done.event, pending.done,
                                                ("xfs_iflock", "wait_for_completion", "schedule"))
                    elif inode.needs_flush and self.opts.get("sync_inode_reclaim", True) \
                            and not self.opts.get("nonblocking_reclaim"):
                        with task.call("xfs_iflush", "xfs_bwrite", "__xfs_buf_submit"):
                            bio = Bio(self.k, "WRITE", [((self.name, "icluster", inode.ino), 1)], None,
                                      f"xfs_buf write of inode cluster {inode.ino}")
                            inode.extra["flush_bio"] = bio
                            self.dev.submit_bio(task, bio)
                        with task.call("xfs_buf_iowait"):
                            yield from self.k.block(task, bio.done.event, bio.done,
                                                    ("wait_for_completion", "wait_for_common", "__wait_for_common",
                                                     "do_wait_for_common", "schedule_timeout", "schedule"))
                        inode.needs_flush = False
                    elif inode.needs_flush:
                        continue          # non-blocking reclaim skips dirty inodes
                if inode.evicted:
                    continue
                inode.evicted = True
                if inode.extra.pop("slab", False):
                    self.k.subsystems["zone"].release(1)
                    freed += 1
        return freed


class Shmem(Filesystem):
    fstype = "tmpfs"
    write_frames = ("generic_perform_write",)
    write_begin = ("shmem_write_begin", "shmem_get_folio_gfp", "shmem_alloc_and_add_folio", "shmem_alloc_folio",
                   "vma_alloc_folio_noprof")

    def __init__(self, k: Kernel, name: str, dev: BlockDevice | None, opts: dict[str, Any]):
        super().__init__(k, name, None, opts)
        self.keep_poisoned = resolve(k.version, "shmem_keep_poisoned", opts.get("keep_poisoned", "auto"))
        self.devname = "tmpfs"

    def writepages(self, task: Task, inode: Inode, sync_all: bool):
        return 0          # no swap configured: shmem pages stay in memory
        yield  # pragma: no cover

    def error_remove_folio(self, folio: Folio) -> bool:
        if self.keep_poisoned:            # shmem_error_remove_folio() returns 0: keep it, report EIO later
            return False
        return super().error_remove_folio(folio)


class Nfs(Filesystem):
    """The NFS client: write requests (``nfs_page``) allocated per written page, unstable writes that
    leave folios with private data until a COMMIT, and ``->release_folio`` that may commit."""

    fstype = "nfs"
    write_frames = ("nfs_file_write", "generic_perform_write")
    write_begin = ("nfs_write_begin",)
    writepages_frames = ("nfs_writepages",)

    def write_end(self, task: Task, inode: Inode, folio: Folio):
        with task.call("nfs_write_end", "nfs_update_folio", "nfs_writepage_setup", "nfs_setup_write_request",
                       "nfs_page_create_from_folio", "nfs_page_create"):
            with task.call("nfs_page_alloc"):
                req = yield from mm.kmem_cache_alloc(self.k, task, "nfs_page", G.parse(self.opts.get("req_gfp",
                                                                                                       "GFP_NOFS")))
            if req is None:
                if self.opts.get("check_alloc", False):
                    return -ENOMEM
                self.k.crashes.append({"t": self.k.now(), "task": task.name, "site": "nfs_page_create",
                                       "what": "NULL nfs_page dereferenced after a failed allocation"})
                self.k.log(task, "null-deref", site="nfs_page_create")
                self.k.console.oops_null_deref(task, list(task.stack), offset=0x18)
                from simulator.engine import TaskKilled

                raise TaskKilled()
        return 0

    def submit_dirty(self, task: Task, inode: Inode, sync_all: bool = False) -> Bio | None:
        """nfs_writepages: an (unstable) WRITE RPC sent by rpciod instead of a bio."""
        folios = [f for f in inode.mapping.pages.values() if f.dirty]
        if not folios:
            return None
        for f in folios:
            f.dirty, f.writeback = False, True
        blocks = [((self.name, inode.ino, f.index), f.version) for f in folios]
        bio = Bio(self.k, "WRITE", blocks, lambda b, fs=folios, ino=inode: self.end_io(b, ino, fs),
                  f"NFS WRITE of inode {inode.ino} (rpc queued to rpciod)")
        inode.extra.setdefault("inflight", []).append(bio)
        self.k.subsystems["rpciod"].queue_write(inode, folios, bio)
        if not inode.is_dirty():
            inode.dirtied_when = None
        return bio

    def stored(self, key: tuple) -> int | None:
        return self.k.subsystems["rpciod"].server.get(key)

    def release_folio(self, task: Task, folio: Folio, gfp: int):
        """nfs_release_folio(): before the fix it commits unconditionally and waits; the fix skips the
        commit when reclaim runs for a filesystem-related (NOFS) allocation or in kswapd."""
        with task.call("nfs_release_folio"):
            ctx = mm.current_gfp_context(task, gfp)
            if self.opts.get("release_commit", "always") != "always":
                if (ctx & G.GFP_KERNEL) != G.GFP_KERNEL or "PF_KSWAPD" in task.flags:
                    return False
            rpciod = self.k.subsystems["rpciod"]
            with task.call("nfs_commit_inode", "__nfs_commit_inode", "nfs_initiate_commit", "rpc_run_task"):
                done = rpciod.queue_commit(folio.mapping.inode)
            with task.call("nfs_commit_inode", "__nfs_commit_inode", "wait_on_commit"):
                yield from self.k.block(task, done.event, done, ("out_of_line_wait_on_bit", "__wait_on_bit",
                                                                 "bit_wait", "io_schedule", "schedule"))
            folio.private = False
            return True


FILESYSTEMS: dict[str, type[Filesystem]] = {"ext4": Ext4, "xfs": Xfs, "tmpfs": Shmem, "nfs": Nfs}

# Other disk filesystems share the generic mechanics; what differs is the names their paths print when no
# report path is given, and whether ->write_inode guards against reclaim (markers.PF_MEMALLOC_GUARDS).
_PROFILES: dict[str, dict[str, Any]] = {
    "btrfs": {"write_frames": ("btrfs_file_write_iter", "btrfs_buffered_write"), "write_begin": ("prepare_one_folio",),
              "writepages_frames": ("btrfs_writepages", "extent_writepages"), "fsync_frames": ("btrfs_sync_file",),
              "evict_frames": ("btrfs_evict_inode",), "write_inode_frames": ("btrfs_writepage",),
              "write_inode_guard": "fs/btrfs/inode.c:8021"},
    "f2fs": {"write_frames": ("f2fs_file_write_iter", "f2fs_buffered_write_iter"), "write_begin": ("f2fs_write_begin",),
             "writepages_frames": ("f2fs_write_data_pages",), "fsync_frames": ("f2fs_sync_file",),
             "evict_frames": ("f2fs_evict_inode",), "write_inode_frames": ("f2fs_write_data_page",),
             "write_inode_guard": "fs/f2fs/data.c:2925"},
    "nilfs2": {"write_frames": ("generic_file_write_iter",), "write_begin": ("nilfs_write_begin",),
               "writepages_frames": ("nilfs_writepages",), "fsync_frames": ("nilfs_sync_file",),
               "evict_frames": ("nilfs_evict_inode",)},
    "ntfs3": {"write_frames": ("ntfs_file_write_iter",), "write_begin": ("ntfs_write_begin",),
              "writepages_frames": ("ntfs_writepages",), "evict_frames": ("ntfs_evict_inode",)},
    "overlay": {"write_frames": ("ovl_write_iter",), "evict_frames": ("ovl_evict_inode",)},
    "fuse": {"write_frames": ("fuse_file_write_iter", "fuse_perform_write"), "write_begin": ("fuse_fill_write_pages",),
             "writepages_frames": ("fuse_writepages",), "fsync_frames": ("fuse_fsync",),
             "evict_frames": ("fuse_evict_inode",)},
    "ext3": {"uses_buffers": True,
             "write_frames": ("generic_file_aio_write", "__generic_file_aio_write", "generic_file_buffered_write"),
             "write_begin": ("ext3_write_begin",), "writepages_frames": ("ext3_ordered_writepage",),
             "fsync_frames": ("ext3_sync_file",), "evict_frames": ("ext3_evict_inode",)},
    "gfs2": {"writepages_frames": ("gfs2_writepages",), "evict_frames": ("gfs2_evict_inode",)},
    "jfs": {"writepages_frames": ("jfs_writepages",), "evict_frames": ("jfs_evict_inode",)},
    "ocfs2": {"writepages_frames": ("ocfs2_writepages",), "evict_frames": ("ocfs2_evict_inode",)},
    "bcachefs": {"writepages_frames": ("bch2_writepages",), "evict_frames": ("bch2_evict_inode",)},
    "vfat": {"writepages_frames": ("fat_writepages",), "evict_frames": ("fat_evict_inode",)},
}
for _fstype, _attrs in _PROFILES.items():
    FILESYSTEMS[_fstype] = type(_fstype.capitalize(), (Filesystem,), {"fstype": _fstype, **_attrs})
