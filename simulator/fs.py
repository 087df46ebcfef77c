"""Filesystems: the super-block shrinker and eviction path shared by all, plus what ext4, XFS, tmpfs and the
NFS client do differently (mapping gfp, ``->writepages``, ``->evict_inode``, ``->release_folio``,
cached-object reclaim, memory-failure handling). Options come from the scenario's ``[[fs]]`` tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator import mm
from simulator.block import Bio, BlockDevice
from simulator.pagecache import EIO, ENOMEM, AddressSpace, Folio, Inode
from simulator.reclaim import remove_folio
from simulator.versions import resolve

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

INODE_SCAN = 4          # inodes pruned per super_cache_scan call
WRITE_ALLOC = ("__filemap_get_folio", "filemap_alloc_folio_noprof", "folio_alloc_noprof", "alloc_pages_noprof",
               "alloc_pages_mpol")


class Filesystem:
    fstype = "?"
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
        if not folio.dirty:
            folio.dirty = True
            if inode.dirtied_when is None:
                inode.dirtied_when = self.k.now()
            flusher = self.k.subsystems.get("flusher")
            if flusher:
                flusher.note_dirty()
        return 0

    def write_end(self, task: Task, inode: Inode, folio: Folio):
        return 0
        yield  # pragma: no cover

    # -- writeback -------------------------------------------------------------------------------
    def writepages(self, task: Task, inode: Inode, sync_all: bool):
        """Submit every dirty folio: clear dirty, set writeback, one bio; errors recorded at completion."""
        with task.call(*self.writepages_frames):
            err = self.writepages_hook(task, inode, sync_all)
            if err:
                return err
            self.submit_dirty(task, inode)
        return 0
        yield  # pragma: no cover

    def writepages_hook(self, task: Task, inode: Inode, sync_all: bool) -> int:
        return 0

    def submit_dirty(self, task: Task, inode: Inode) -> Bio | None:
        folios = [f for f in inode.mapping.pages.values() if f.dirty]
        if not folios or self.dev is None:
            return None
        for f in folios:
            f.dirty, f.writeback = False, True
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
        for f in folios:
            self.k.console.printk(f"Buffer I/O error on dev {self.devname}, logical block {bio.sector // 8 + f.index}"
                                  ", lost async page write")

    def fdatawait(self, task: Task, inode: Inode):
        for bio in list(inode.extra.get("inflight", [])):
            if not bio.done.event.triggered:
                yield from self.k.block(task, bio.done.event, bio.done,
                                        ("filemap_fdatawait_range", "folio_wait_writeback", "folio_wait_bit_common",
                                         "io_schedule", "schedule"))

    # -- reclaim ---------------------------------------------------------------------------------
    def super_cache_scan(self, task: Task, gfp: int):
        """fs/super.c: SHRINK_STOP without __GFP_FS; trylock s_umount; dentries, inodes, fs objects."""
        if not gfp & G.FS or self.umounting or not self.mounted:
            return 0
        freed = 0
        with task.call("super_cache_scan"):
            with task.call("prune_dcache_sb", "shrink_dentry_list", "__dentry_kill", "dentry_unlink_inode", "iput"):
                for inode in [i for i in self.inodes.values() if i.extra.get("dentry_only") and not i.evicted]:
                    inode.extra["dentry_only"] = False
                    freed += yield from self.evict(task, inode)
            with task.call("prune_icache_sb", "dispose_list"):
                victims = [i for i in self.inodes.values() if self.evictable(task, i)][:INODE_SCAN]
                for inode in victims:
                    freed += yield from self.evict(task, inode)
            freed += yield from self.free_cached_objects(task, gfp)
        return freed

    def evictable(self, task: Task, inode: Inode) -> bool:
        return (inode.i_count == 0 and not inode.evicted and not inode.freeing and not inode.extra.get("dentry_only")
                and not inode.extra.get("reclaimable")
                and not inode.is_dirty() and not any(f.writeback for f in inode.mapping.pages.values()))

    def free_cached_objects(self, task: Task, gfp: int):
        return 0
        yield  # pragma: no cover

    def evict(self, task: Task, inode: Inode):
        inode.freeing = True
        self.k.log(task, "evict", fs=self.name, ino=inode.ino)
        with task.call("evict"):
            yield from self.evict_inode(task, inode)
        inode.evicted = True
        if inode.extra.pop("slab", False):
            self.k.subsystems["zone"].release(1)
            return 1
        return 0

    def evict_inode(self, task: Task, inode: Inode):
        self.truncate_final(task, inode)
        return
        yield  # pragma: no cover

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


class Ext4(Filesystem):
    fstype = "ext4"
    write_frames = ("ext4_file_write_iter", "ext4_buffered_write_iter", "generic_perform_write")
    write_begin = ("ext4_da_write_begin", "grab_cache_page_write_begin")
    fsync_frames = ("ext4_sync_file", "file_write_and_wait_range")
    writepages_frames = ("ext4_writepages", "ext4_do_writepages")

    def __init__(self, k: Kernel, name: str, dev: BlockDevice | None, opts: dict[str, Any]):
        super().__init__(k, name, dev, opts)
        self.buddy = self.new_inode("<buddy cache>")
        self.buddy.i_count = 1
        self.journal_nofs = resolve(k.version, "scoped_nofs", opts.get("jbd2_nofs_scope", "auto"))

    def writepages_hook(self, task: Task, inode: Inode, sync_all: bool) -> int:
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

    def evictable(self, task: Task, inode: Inode) -> bool:
        if not super().evictable(task, inode):
            return False
        # fix (b) of seed 002: do not evict inodes with preallocations from reclaim context
        return not (self.opts.get("skip_evict_in_reclaim") and inode.prealloc and "PF_MEMALLOC" in task.flags)

    def evict_inode(self, task: Task, inode: Inode):
        with task.call("ext4_evict_inode"):
            self.truncate_final(task, inode)
            if inode.nlink == 0:
                scoped = self.journal_start(task)
                with task.call("ext4_truncate"):
                    pass
                self.journal_stop(task, scoped)
            with task.call("ext4_clear_inode"):
                if inode.prealloc:
                    with task.call("ext4_discard_preallocations"):
                        yield from self.mb_load_buddy(task, inode)
                    inode.prealloc = False

    def mb_load_buddy(self, task: Task, inode: Inode):
        """ext4_mb_load_buddy_gfp(GFP_NOFS|__GFP_NOFAIL): the buddy bitmap page of the inode's group."""
        group = inode.extra.get("group", 0)
        m = self.buddy.mapping
        with task.call("ext4_mb_load_buddy_gfp"):
            if group in m.pages:
                return
            mode = self.opts.get("buddy_alloc", "nofail")
            while True:
                gfp = G.GFP_NOFS | (G.NOFAIL if mode == "nofail" else 0)
                with task.call(*WRITE_ALLOC):
                    ok = yield from mm.alloc_pages(self.k, task, gfp)
                if ok:
                    break
                if mode != "retry-loop":      # unreachable for NOFAIL
                    return
                self.k.log(task, "buddy-retry")
                yield from self.k.sleep(task, mm.RETRY_THROTTLE)
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

    def free_cached_objects(self, task: Task, gfp: int):
        """xfs_reclaim_inodes_nr: with synchronous inode reclaim (XFS of 5.2) dirty inodes are written
        with xfs_bwrite() and waited for, from inside reclaim."""
        freed = 0
        with task.call("xfs_fs_free_cached_objects", "xfs_reclaim_inodes_nr", "xfs_reclaim_inodes_ag"):
            for inode in [i for i in self.inodes.values() if i.extra.get("reclaimable") and not i.evicted][:2]:
                with task.call("xfs_reclaim_inode"):
                    pending = inode.extra.get("flush_bio")
                    if pending is not None:          # xfs_iflock(): another reclaimer is flushing it
                        if not self.opts.get("sync_inode_reclaim", True):
                            continue
                        yield from self.k.block(task, pending.done.event, pending.done,
                                                ("xfs_iflock", "wait_for_completion", "schedule"))
                    elif inode.needs_flush and self.opts.get("sync_inode_reclaim", True):
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

    def submit_dirty(self, task: Task, inode: Inode) -> Bio | None:
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
