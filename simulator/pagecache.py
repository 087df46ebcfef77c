"""Page cache state: folios (clean / dirty / writeback / hwpoison), address spaces with their gfp mask and
writeback error (errseq), inodes, and open files sampling the error cursor (kernel-semantics.md (e))."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.engine import Task

EIO, ENOMEM, ENOSPC = 5, 12, 28
ERRSEQ_SEEN = 1 << 12
ERRSEQ_CTR = 1 << 13


class Folio:
    __slots__ = ("mapping", "index", "version", "dirty", "writeback", "uptodate", "hwpoison", "private",
                 "pinned", "on_lru", "reclaim", "memcg", "wb_done", "buffers", "dma_pins", "__weakref__")

    def __init__(self, mapping: AddressSpace, index: int, version: int = 0):
        self.mapping, self.index, self.version = mapping, index, version
        self.dirty = self.writeback = self.hwpoison = self.private = self.pinned = False
        self.uptodate = True
        self.on_lru = False
        self.reclaim = False          # PG_reclaim: reclaim saw it under writeback
        self.memcg = None             # the memory cgroup it is charged to (simulator.mm.Memcg)
        self.wb_done = None           # the Completion its writeback ends with
        self.buffers = False          # buffer heads attached (->write_begin / ->page_mkwrite of a buffer-head fs)
        self.dma_pins = 0             # FOLL_PIN references (pin_user_pages): a device or a copy may write into it

    def __repr__(self) -> str:
        st = "".join(c for c, on in (("D", self.dirty), ("W", self.writeback), ("P", self.hwpoison),
                                     ("U", self.private), ("B", self.buffers), ("G", self.dma_pins)) if on)
        return f"<folio ino {self.mapping.inode.ino} idx {self.index} v{self.version} {st}>"


class AddressSpace:
    def __init__(self, inode: Inode, gfp_mask: int):
        self.inode = inode
        self.gfp_mask = gfp_mask
        self.pages: dict[int, Folio] = {}
        self.wb_err = 0               # errseq_t
        self.as_eio = False           # pre-4.13 AS_EIO bit
        self.as_enospc = False

    def set_error(self, err: int) -> None:
        """mapping_set_error(): errseq_set + legacy AS_EIO."""
        self.as_eio = True
        old = self.wb_err
        new = (old & ~0xFFF) | err
        if old & ERRSEQ_SEEN or old == 0:
            new += ERRSEQ_CTR
        self.wb_err = new & ~ERRSEQ_SEEN
        fs = self.inode.fs
        if fs is not None:
            fs.s_wb_err = self.wb_err

    def nr_dirty(self) -> int:
        return sum(1 for f in self.pages.values() if f.dirty)


@dataclass(eq=False)
class Inode:
    ino: int
    fs: Any
    path: str
    nlink: int = 1
    i_count: int = 0                  # open references
    size_pages: int = 0
    dirtied_when: float | None = None
    evicted: bool = False
    freeing: bool = False
    prealloc: bool = False            # ext4: inode preallocations pending (discard at clear_inode)
    needs_flush: bool = False         # xfs: dirty inode cluster, reclaim must write it
    mapping: AddressSpace = field(init=False)
    extra: dict = field(default_factory=dict)

    def is_dirty(self) -> bool:
        return any(f.dirty for f in self.mapping.pages.values())


@dataclass(eq=False)
class OpenFile:
    inode: Inode
    task: Task
    f_wb_err: int = 0
    fd: int = 3

    def check_and_advance(self, errseq_mode: str) -> int:
        """The error fsync reports on this file: errseq (4.13+) or the pre-4.13 AS_EIO test-and-clear."""
        m = self.inode.mapping
        if errseq_mode == "as_eio":
            if m.as_eio:
                m.as_eio = False
                return -EIO
            return 0
        cur = m.wb_err
        if (cur & ~ERRSEQ_SEEN) == (self.f_wb_err & ~ERRSEQ_SEEN):
            return 0
        m.wb_err = cur | ERRSEQ_SEEN
        self.f_wb_err = m.wb_err
        return -(cur & 0xFFF)

    @staticmethod
    def sample(mapping: AddressSpace, report_after_open: bool) -> int:
        """errseq_sample() at open(): an unseen error is still reported to a later opener (4.17+)."""
        cur = mapping.wb_err
        if report_after_open and not cur & ERRSEQ_SEEN:
            return 0
        return cur
