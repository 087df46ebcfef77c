"""Writeback: ``do_writepages`` (with the WB_SYNC_ALL ENOMEM retry of 4.12+ as a switch), the flusher
kworker (periodic, background threshold, woken by reclaim), fsync's write-and-wait plus error check, and
the umount path (sync_filesystem once, then evict every inode)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.console import KTHREAD_BOTTOM
from simulator.pagecache import ENOMEM
from simulator.versions import resolve

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.fs import Filesystem
    from simulator.pagecache import Inode

DIRTY_WRITEBACK_INTERVAL = 5.0      # dirty_writeback_centisecs = 500
DIRTY_EXPIRE = 30.0                 # dirty_expire_centisecs = 3000
ENOMEM_THROTTLE = 0.02              # reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK) in do_writepages


def do_writepages(k: Kernel, task: Task, inode: Inode, sync_all: bool):
    fs: Filesystem = inode.fs
    retry = resolve(k.version, "retry_enomem", k.params.get("retry_enomem", "auto"))
    with task.call("do_writepages"):
        while True:
            err = yield from fs.writepages(task, inode, sync_all)
            if err == -ENOMEM and sync_all and retry:
                k.log(task, "writepages-retry", ino=inode.ino)
                yield from k.sleep(task, ENOMEM_THROTTLE)
                continue
            return err


class Flusher:
    """The writeback kworker: periodic expiry-based writeback, background writeback above the threshold."""

    def __init__(self, k: Kernel, background_thresh: int):
        self.k = k
        self.background_thresh = background_thresh
        self.kick = k.env.event()
        self.reason = ""
        self.task = k.spawn("kworker/u8:2", self._body, kthread=True, daemon=True)
        self.task.workqueue = "writeback wb_workfn (flush-8:0)"

    def wake(self, reason: str) -> None:
        self.reason = self.reason or reason
        if not self.kick.triggered:
            self.kick.succeed()

    def note_dirty(self) -> None:
        lru = self.k.subsystems["zone"].lru
        if len(lru) > self.background_thresh and sum(f.dirty for f in lru) > self.background_thresh:
            self.wake("background")

    def _body(self, task: Task):
        env = self.k.env
        with task.call(*KTHREAD_BOTTOM, "worker_thread", "process_one_work", "wb_workfn", "wb_do_writeback",
                       "wb_writeback", "__writeback_inodes_wb", "writeback_sb_inodes"):
            while True:
                task.state = "S"
                yield env.any_of([self.kick, env.timeout(DIRTY_WRITEBACK_INTERVAL)])
                task.state = "R"
                reason, self.reason = self.reason or "periodic", ""
                if self.kick.triggered:
                    self.kick = env.event()
                for fs in list(self.k.subsystems.get("filesystems", [])):
                    if not fs.mounted or fs.umounting:
                        continue
                    for inode in list(fs.inodes.values()):
                        if inode.evicted or inode.dirtied_when is None or not inode.is_dirty():
                            continue
                        if reason == "periodic" and env.now - inode.dirtied_when < DIRTY_EXPIRE:
                            continue
                        with task.call("__writeback_single_inode"):
                            err = yield from do_writepages(self.k, task, inode, sync_all=False)
                        if err:
                            # the inode stays dirty and is retried on a later pass (redirty_tail)
                            self.k.log(task, "writeback-error", ino=inode.ino, err=err)


def fsync(k: Kernel, task: Task, file) -> int:
    """vfs_fsync_range -> ->fsync: write and wait, then report the error this file has not seen yet."""
    inode = file.inode
    fs: Filesystem = inode.fs
    errseq_mode = "errseq" if resolve(k.version, "errseq", k.params.get("errseq", "auto")) else "as_eio"
    with task.call("__x64_sys_fsync", "do_fsync", "vfs_fsync_range", *fs.fsync_frames):
        with task.call("__filemap_fdatawrite_range", "filemap_fdatawrite_wbc"):
            err = yield from do_writepages(k, task, inode, sync_all=True)
        yield from fs.fdatawait(task, inode)
        with task.call("file_check_and_advance_wb_err"):
            err2 = file.check_and_advance(errseq_mode)
    return err or err2


def umount(k: Kernel, task: Task, fs: Filesystem):
    """generic_shutdown_super: sync_filesystem() (one WB_SYNC_ALL pass), then evict_inodes()."""
    with task.call("__x64_sys_umount", "generic_shutdown_super"):
        with task.call("sync_filesystem"):
            for inode in list(fs.inodes.values()):
                if not inode.evicted and inode.is_dirty():
                    err = yield from do_writepages(k, task, inode, sync_all=True)
                    if err:
                        k.log(task, "sync-error", ino=inode.ino, err=err)
            for inode in list(fs.inodes.values()):
                yield from fs.fdatawait(task, inode)
        fs.umounting = True
        with task.call("evict_inodes"):
            for inode in list(fs.inodes.values()):
                if not inode.evicted and inode is not getattr(fs, "buddy", None):
                    with task.call("truncate_inode_pages_final"):
                        yield from fs.evict(task, inode)
    fs.mounted = False
    if fs.fstype == "ext4" and k.version.at_least("5.19"):
        k.console.printk(f"EXT4-fs ({fs.devname}): unmounting filesystem 1b6e8f2c-2d1f-4a7e-9c0b-5f3a1e7d9b42.")
