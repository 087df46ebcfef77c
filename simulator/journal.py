"""Metadata commits and what a filesystem does when they fail: the journal aborts, the filesystem goes
read-only, and writeback that still holds dirty data can no longer place it (kernel-semantics.md e.3).

``shutdown`` is the same end reached from inside a transaction: an error (an allocation that failed) after
the transaction dirtied metadata it cannot undo. btrfs aborts the transaction (before 8bb808c6ad91, 6.1, with a
WARN for -ENOMEM too) and forces the filesystem read-only; ext4 records the error, aborts the journal and
remounts read-only; XFS cancels a dirty transaction and shuts down.

A ``Journal`` belongs to one filesystem: a kthread (jbd2/<dev>-8, btrfs-transaction, xfsaild) commits the
metadata the filesystem dirtied (block allocations at writeback) every ``interval`` seconds, as buffer-head
writes to the device. A failed commit prints what that filesystem prints, aborts the journal and makes the
filesystem read-only; from then on ``Filesystem.writepages`` cannot allocate blocks for delayed-allocation
data and drops it (ext4's ``give_up_on_write``: "Data will be lost"; XFS's "page discard"). The messages
follow the kernel's wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.block import Bio
from simulator.console import KTHREAD_BOTTOM

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.fs import Filesystem

EIO, EROFS = 5, 30


class Journal:
    """Periodic metadata commits of one filesystem; ``aborted`` once one fails."""

    def __init__(self, k: Kernel, fs: Filesystem, interval: float = 5.0):
        self.k, self.fs, self.interval = k, fs, interval
        self.dirty_blocks: list[int] = []      # metadata blocks dirtied since the last commit
        self.aborted = False
        self.next_block = 1024
        names = {"ext4": f"jbd2/{fs.devname}-8", "ext3": "kjournald", "btrfs": "btrfs-transaction",
                 "xfs": f"xfsaild/{fs.devname}"}
        self.task = k.spawn(names.get(fs.fstype, f"jbd2/{fs.devname}-8"), self._body, kthread=True, daemon=True)

    def dirty(self, n: int = 1) -> None:
        """The filesystem changed ``n`` metadata blocks (bitmaps, inode tables, extent trees)."""
        for _ in range(n):
            self.dirty_blocks.append(self.next_block)
            self.next_block += 1

    def _body(self, task: Task):
        frames = {"ext4": ("kjournald2", "jbd2_journal_commit_transaction"),
                  "ext3": ("kjournald", "journal_commit_transaction"),
                  "btrfs": ("transaction_kthread", "btrfs_commit_transaction"),
                  "xfs": ("xfsaild", "xfsaild_push")}.get(self.fs.fstype, ("kjournald2",))
        with task.call(*KTHREAD_BOTTOM, *frames):
            while not self.aborted:
                task.state = "S"
                yield self.k.env.timeout(self.interval)
                task.state = "R"
                if not self.dirty_blocks or not self.fs.mounted or self.fs.dev is None:
                    continue
                blocks, self.dirty_blocks = self.dirty_blocks, []
                bio = Bio(self.k, "WRITE", [((self.fs.name, "meta", b), 1) for b in blocks], None,
                          f"metadata commit of {self.fs.devname}")
                self.fs.dev.submit_bio(task, bio)
                yield from self.k.block(task, bio.done.event, bio.done, ("submit_bio_wait", "io_schedule"))
                if bio.status:
                    self.fail(task, blocks)

    def fail(self, task: Task, blocks: list[int]) -> None:
        """A commit's writes failed: the filesystem's messages, the abort, read-only."""
        k, fs, dev = self.k, self.fs, self.fs.devname
        con = k.console
        self.k.log(task, "journal-abort", fs=fs.name, blocks=len(blocks))
        if fs.fstype == "btrfs":
            con.printk(f"BTRFS warning (device {dev}): lost page write due to IO error on /dev/{dev} (-5)")
            con.printk(f"BTRFS error (device {dev}): error writing primary super block to device 1")
            con.printk(f"BTRFS: error (device {dev}) in write_all_supers:4370: errno=-5 IO failure "
                       "(1 errors while writing supers)")
            con.printk(f"BTRFS info (device {dev}): forced readonly")
        elif fs.fstype == "xfs":
            con.printk(f'XFS ({dev}): metadata I/O error in "xfs_buf_ioend+0x219/0x540" at daddr 0x{blocks[0]:x} '
                       "len 8 error 5")
            con.printk(f"XFS ({dev}): log I/O error -5")
            con.printk(f"XFS ({dev}): Filesystem has been shut down due to log error (0x2).")
            con.printk(f"XFS ({dev}): Please unmount the filesystem and rectify the problem(s).")
        else:
            for b in blocks[:10]:
                con.printk(lost_write_line(k, dev, b))
            jbd = "JBD" if fs.fstype == "ext3" else "JBD2"
            fsname = "EXT3-fs" if fs.fstype == "ext3" else "EXT4-fs"
            con.printk(f"{jbd}: Detected IO errors while flushing file data on {dev}-8")
            con.printk(f"Aborting journal on device {dev}-8.")
            where = "ext3_journal_start_sb" if fs.fstype == "ext3" else "ext4_journal_check_start:84"
            con.printk(f"{fsname} error (device {dev}): {where}: comm {task.comm}: Detected aborted journal")
            con.printk(f"{fsname} ({dev}): Remounting filesystem read-only")
        self.aborted = True
        fs.read_only = True


ERRNO_TEXT = {-12: "Out of memory", -5: "IO failure", -28: "No space left", -30: "Readonly filesystem"}


def shutdown(k: Kernel, task: Task, fs: Filesystem, err: int, where: str, file: str, line: int) -> None:
    """A transaction that cannot complete (``err`` inside it, in ``where`` at ``file:line``): the filesystem's
    messages, a WARN where that kernel prints one (recorded for the detectors), then read-only."""
    from simulator.versions import switch

    con, dev, v = k.console, fs.devname, k.version
    text = ERRNO_TEXT.get(err, "unknown error")
    k.log(task, "fs-shutdown", fs=fs.name, err=err, where=where)
    if fs.fstype == "btrfs":
        state, state_ro = (" state A", " state EA") if v.at_least("5.16") else ("", "")
        if switch(v, "btrfs_abort_enomem_quiet") and err in (-12, -5, -30):
            con.printk(f"BTRFS error (device {dev}{state}): Transaction aborted (error {err})")
        else:          # btrfs_abort_transaction(): WARN(1, "BTRFS: Transaction aborted (error %d)") at its caller
            k.warns.append({"t": k.now(), "task": task.name, "cond": "transaction_abort",
                            "reason": f"transaction aborted (error {err}) in {where}", "alloc": None, "gfp": None,
                            "order": None, "site": where, "completed": None})
            con.warn(task, task.stack[-1] if task.stack else where, file, line, list(task.stack[:-1]),
                     message=f"BTRFS: Transaction aborted (error {err})")
        con.printk(f"BTRFS: error (device {dev}{state}) in {where}:{line}: errno={err} {text}")
        con.printk(f"BTRFS info (device {dev}{state_ro}): forced readonly")
    elif fs.fstype == "xfs":
        con.printk(f"XFS ({dev}): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x2ba/0x570 "
                   "(fs/xfs/xfs_trans.c:1098).  Shutting down filesystem.")
        con.printk(f"XFS ({dev}): Please unmount the filesystem and rectify the problem(s)")
    else:
        fsname = "EXT3-fs" if fs.fstype == "ext3" else "EXT4-fs"
        con.printk(f"{fsname} error (device {dev}) in {where}:{line}: {text}")
        con.printk(f"Aborting journal on device {dev}-8.")
        con.printk(f"{fsname} ({dev}): Remounting filesystem read-only")
    fs.read_only = True
    if fs.journal is not None:
        fs.journal.aborted = True


def lost_write_line(k: Kernel, dev: str, block: int) -> str:
    """fs/buffer.c's report of a failed asynchronous buffer write (the 4.x+ wording: every kernel the model
    knows; 2.6/3.x printed 'lost page write due to I/O error on DEV')."""
    return f"Buffer I/O error on dev {dev}, logical block {block}, lost async page write"


def give_up_on_write(k: Kernel, task: Task, fs: Filesystem, inode, err: int) -> None:
    """Writeback cannot place delayed-allocation data (the filesystem is read-only after an abort, or block
    allocation failed): the filesystem's messages, then the dirty folios are invalidated (ext4
    ``mpage_release_unused_pages(mpd, true)``, XFS/iomap ``discard_folio``) and the error is recorded."""
    from simulator.reclaim import remove_folio

    dirty = [f for f in inode.mapping.pages.values() if f.dirty]
    if not dirty:
        return
    con, dev = k.console, fs.devname
    if fs.fstype == "xfs":
        for f in dirty[:4]:
            con.printk(f"XFS ({dev}): page discard on page {0xffffea0000000000 + f.index * 0x40:016x}, inode "
                       f"0x{inode.ino:x}, pos {f.index * 4096}.")
    elif fs.fstype == "ext3":           # blocks were allocated at write time: the writes go out and fail
        for f in dirty[:4]:
            con.printk(lost_write_line(k, dev, 8192 + inode.ino * 16 + f.index))
    elif fs.fstype == "btrfs":
        con.printk(f"BTRFS: error (device {dev}) in btrfs_run_delalloc_range:1251: errno=-{err} "
                   f"{'Readonly filesystem' if err == EROFS else 'IO failure'}")
    else:
        fsname = "EXT3-fs" if fs.fstype == "ext3" else "EXT4-fs"
        con.printk(f"{fsname} ({dev}): Delayed block allocation failed for inode {inode.ino} at logical offset "
                   f"{dirty[0].index} with max blocks {len(dirty)} with error {err}")
        con.printk(f"{fsname} ({dev}): This should not happen!! Data will be lost")
    k.log(task, "give-up-on-write", fs=fs.name, ino=inode.ino, pages=len(dirty), err=err)
    for f in dirty:
        f.dirty = False
        remove_folio(k, f)
    inode.mapping.set_error(err)
