"""nilfs2's inode file (ifile) and segment construction, for the mechanism ``truncate-dirty-metadata``.

nilfs2 is log-structured: a file's blocks on disk are reachable only through its on-disk inode record, which
lives in a page of the ifile, a metadata file (``nilfs_mdt``) cached like any file. An inode update
(``nilfs_mark_inode_dirty`` -> ``nilfs_update_inode``) copies the in-core inode into its ifile buffer, kept in
``ii->i_bh`` until eviction, and marks it dirty with ``mark_buffer_dirty``: no folio lock, and no check that
the folio is still in the ifile's page cache. Segment construction (``nilfs_segctor_do_construct``, from
->writepages with WB_SYNC_ALL, fsync and umount) writes the dirty data blocks and the dirty ifile pages it
finds in the ifile's page cache, and waits for the segment.

A corrupted image can hold a directory entry naming an internal inode (Konishi's #syz fix of syzbot
026119922c20a8915631: "an internal inode being exposed in the namespace"): the lookup returns the metadata
inode itself, whose ``def_mdt_iops`` has no ->setattr, so ``open(O_TRUNC)`` / ``creat()`` truncates it through
``simple_setattr`` -> ``truncate_setsize`` (simulator.truncate). The fix rejects such entries when a
directory page is checked (``nilfs_check_folio``: "disallowed inode number", NILFS_PRIVATE_INODE).

Only a nilfs2 ``[[fs]]`` with ``ifile = true`` behaves this way; without it nilfs2 keeps the generic mechanics
the other scenarios use.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator import mm
from simulator.block import Bio
from simulator.fs import FILESYSTEMS
from simulator.pagecache import EIO, AddressSpace, Folio, Inode

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

NILFS_IFILE_INO = 6             # include/uapi/linux/nilfs2_ondisk.h
NILFS_FIRST_INO = 11
RECORDS_PER_PAGE = 32           # 128-byte on-disk inodes in a 4 KiB block


class Nilfs2(FILESYSTEMS["nilfs2"]):            # type: ignore[misc, valid-type]
    def __init__(self, k: Kernel, name: str, dev: Any, opts: dict[str, Any]):
        super().__init__(k, name, dev, opts)
        self.ifile: Inode | None = None
        if opts.get("ifile"):
            self.ifile = Inode(NILFS_IFILE_INO, self, "<ifile>")
            self.ifile.mapping = AddressSpace(self.ifile, G.GFP_NOFS)
        # what each ifile folio holds: inode number -> {page index: data version} of the records copied in
        self.records: weakref.WeakKeyDictionary[Folio, dict[int, dict[int, int]]] = weakref.WeakKeyDictionary()
        self.on_disk: dict[int, dict[int, int]] = {}            # inode records that reached the disk
        self.exposed = {p: NILFS_IFILE_INO for p in opts.get("exposed") or ()}

    # -- lookup: a directory entry naming a private inode ------------------------------------------------
    def lookup_entry(self, task: Task, path: str) -> Inode | None:
        """nilfs_lookup: an entry naming the ifile returns the ifile's own inode; with ``reject_private_ino``
        the directory page check refuses it (the lookup fails with EIO)."""
        ino = self.exposed.get(path)
        if ino is None or self.ifile is None:
            return self.lookup(path)
        if self.opts.get("reject_private_ino"):
            self.k.console.printk(f"NILFS error (device {self.devname}): nilfs_check_folio: bad entry in directory "
                                  f"#2: disallowed inode number - offset=48, inode={ino}, rec_len=16, name_len=5")
            self.k.log(task, "private-inode-rejected", path=path, ino=ino)
            return None
        self.k.log(task, "private-inode-exposed", path=path, ino=ino)
        return self.ifile

    def setattr_frames(self, inode: Inode) -> tuple[str, ...]:
        """The ->setattr notify_change calls: the metadata files' def_mdt_iops has none (simple_setattr)."""
        return ("simple_setattr",) if inode is self.ifile else ("nilfs_setattr",)

    # -- inode updates into the ifile ----------------------------------------------------------------------
    def write_page(self, task: Task, inode: Inode, idx: int, version: int):
        err = yield from super().write_page(task, inode, idx, version)
        if not err and self.ifile is not None:
            yield from self.update_inode(task, inode)      # generic_write_end -> mark_inode_dirty (i_size)
        return err

    def update_inode(self, task: Task, inode: Inode):
        """nilfs_update_inode: copy the inode into its ifile buffer (``i_bh``, looked up once) and
        mark_buffer_dirty it (the folio becomes dirty whether or not it is still in the page cache)."""
        ifile = self.ifile
        folio = inode.extra.get("i_bh")
        if folio is None:
            idx = inode.ino // RECORDS_PER_PAGE
            folio = ifile.mapping.pages.get(idx)
            if folio is None:
                ok = yield from mm.alloc_pages(self.k, task, ifile.mapping.gfp_mask)
                if not ok:
                    return
                folio = Folio(ifile.mapping, idx)
                ifile.mapping.pages[idx] = folio
                self.k.subsystems["zone"].lru_add(folio)
            inode.extra["i_bh"] = folio
        self.records.setdefault(folio, {})[inode.ino] = {i: f.version for i, f in inode.mapping.pages.items()}
        folio.buffers = True
        cached = ifile.mapping.pages.get(folio.index) is folio
        if not folio.dirty:
            folio.dirty = True
            self.k.log(task, "ifile-redirty" if cached else "ifile-orphan-dirty", ino=inode.ino, page=folio.index,
                       locked=folio.pinned)

    # -- segment construction --------------------------------------------------------------------------
    def writepages(self, task: Task, inode: Inode, sync_all: bool):
        if self.ifile is None:
            return (yield from super().writepages(task, inode, sync_all))
        with task.call(*self.writepages_frames, "nilfs_construct_segment", "nilfs_segctor_do_construct"):
            return (yield from self.construct(task))

    def construct(self, task: Task):
        """Collect the dirty files (their inodes go into the ifile), then write their dirty data and the dirty
        ifile pages of the ifile's page cache as one segment, and wait for it."""
        files = [i for i in self.inodes.values() if not i.evicted and i.is_dirty()]
        for inode in files:
            yield from self.update_inode(task, inode)
        data = [f for i in files for f in i.mapping.pages.values() if f.dirty and not f.pinned]
        meta = [f for f in self.ifile.mapping.pages.values() if f.dirty and not f.pinned]
        if not data and not meta:
            return 0
        snap = {f: {ino: dict(v) for ino, v in self.records.get(f, {}).items()} for f in meta}
        for f in data + meta:
            f.dirty, f.writeback = False, True
        for inode in files:
            if not inode.is_dirty():
                inode.dirtied_when = None
        blocks = [((self.name, f.mapping.inode.ino, f.index), f.version) for f in data + meta]

        def end_io(bio: Bio) -> None:
            for f in data + meta:
                f.writeback = False
            if bio.status:
                return
            for recs in snap.values():
                self.on_disk.update(recs)

        bio = Bio(self.k, "WRITE", blocks, end_io, f"segment write on {self.devname}")
        self.k.log(task, "segment", data=len(data), ifile_pages=len(meta))
        self.dev.submit_bio(task, bio)
        yield from self.k.block(task, bio.done.event, bio.done, ("nilfs_segctor_wait", "wait_for_completion",
                                                                 "schedule"))
        return -EIO if bio.status else 0

    def fdatawait(self, task: Task, inode: Inode):
        if self.ifile is None:
            yield from super().fdatawait(task, inode)

    def stored(self, key: tuple) -> int | None:
        """A data block is on disk for good only once an inode record pointing at it is (log-structured)."""
        if self.ifile is None or key[1] == NILFS_IFILE_INO:
            return super().stored(key)
        block = super().stored(key)
        record = self.on_disk.get(key[1], {}).get(key[2])
        if block is None or record is None:
            return None
        return min(block, record)


FILESYSTEMS["nilfs2"] = Nilfs2
