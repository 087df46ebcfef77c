"""Pages of a file mapping pinned with ``pin_user_pages`` (FOLL_PIN): written behind the filesystem's back.

A filesystem expects a page-cache folio to be written only between ->write_begin and ->write_end, or after
->page_mkwrite (which attaches buffer heads and reserves blocks) until writeback cleans it. A pin breaks
that: writeback may clean the folio and reclaim may strip its buffers while the pinner (a device's DMA,
process_vm_writev's copy, a direct-I/O read) keeps writing into it, and at unpin the pinner dirties it with
set_page_dirty_lock, with no ->page_mkwrite: ext4 warns (no buffers), and its writeback later BUGs (before
5.18) or cleans the folio unwritten (since): the data is lost (Kara, "Filesystem crashes due to pages without
buffers", 2018; cc5095747edf). The operations:

    mmap_write   a store through a shared mapping: the write fault's ->page_mkwrite, the folio dirty
    pin          pin_user_pages(FOLL_WRITE [| FOLL_LONGTERM]); a long-term write pin of a file mapping is
                 refused (-EFAULT) where the kernel refuses it
    dma_write    the pinner writes into the pinned folios (the program is told the data is written)
    unpin        unpin_user_pages_dirty_lock: set_page_dirty_lock on each, then the pin is dropped

``kind`` picks the frames a task prints when no report path is followed: ``short-term`` (process_vm_writev,
one system call) or ``long-term`` (an RDMA memory registration, FOLL_LONGTERM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import mm
from simulator.console import SYSCALL_BOTTOM
from simulator.pagecache import Folio
from simulator.versions import resolve

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.programs import Program

EFAULT = 14
FAULT = ("asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault", "handle_mm_fault", "__handle_mm_fault",
         "do_fault", "do_shared_fault", "do_page_mkwrite")
PIN_FRAMES = {
    "short-term": (*SYSCALL_BOTTOM, "__x64_sys_process_vm_writev", "process_vm_rw", "process_vm_rw_core",
                   "process_vm_rw_single_vec", "pin_user_pages_remote", "__gup_longterm_locked",
                   "__get_user_pages_locked"),
    "long-term": (*SYSCALL_BOTTOM, "__x64_sys_write", "ksys_write", "vfs_write", "ib_uverbs_write",
                  "ib_uverbs_reg_mr", "ib_umem_get", "pin_user_pages_fast", "__gup_longterm_locked"),
}
UNPIN_FRAMES = {
    "short-term": (*SYSCALL_BOTTOM, "__x64_sys_process_vm_writev", "process_vm_rw", "process_vm_rw_core",
                   "process_vm_rw_single_vec", "unpin_user_pages_dirty_lock"),
    "long-term": (*SYSCALL_BOTTOM, "__x64_sys_write", "ksys_write", "vfs_write", "ib_uverbs_write",
                  "ib_uverbs_dereg_mr", "ib_umem_release", "__ib_umem_release", "unpin_user_page_range_dirty_lock"),
}
PAGE_MKWRITE = {"ext4": ("ext4_page_mkwrite", "block_page_mkwrite")}


def _folio(k: Kernel, task: Task, inode, idx: int):
    """The page-cache folio at ``idx``, read in (a fault on a hole: a new zeroed folio) if absent."""
    folio = inode.mapping.pages.get(idx)
    if folio is not None:
        return folio
    with task.call("filemap_fault", "__filemap_get_folio", "filemap_alloc_folio_noprof", "folio_alloc_noprof"):
        ok = yield from mm.alloc_pages(k, task, inode.mapping.gfp_mask)
    if not ok:
        return None
    folio = Folio(inode.mapping, idx, inode.fs.read_missing(inode, idx))
    inode.mapping.pages[idx] = folio
    k.subsystems["zone"].lru_add(folio)
    return folio


def op_mmap_write(k: Kernel, task: Task, prog: Program, file: str, pages: int = 1, start: int = 0):
    """Stores through a MAP_SHARED mapping of ``file``: each first store is a write fault (->page_mkwrite)."""
    f = prog.file(file)
    inode, fs = f.inode, f.inode.fs
    for idx in range(start, start + int(pages)):
        with task.call(*FAULT):
            folio = yield from _folio(k, task, inode, idx)
            if folio is None:
                k.log(task, "fault-oom", file=file, index=idx)
                return
            with task.call(*PAGE_MKWRITE.get(fs.fstype, ())):
                fs.page_mkwrite(task, inode, folio)
        k.version_seq = getattr(k, "version_seq", 0) + 1
        folio.version = k.version_seq
        k.acks.append({"t": k.now(), "task": task.name, "file": file, "key": (fs.name, inode.ino, idx),
                       "version": folio.version})
    k.progress()


def op_pin(k: Kernel, task: Task, prog: Program, file: str, pages: int = 1, start: int = 0,
           kind: str = "short-term"):
    """pin_user_pages(FOLL_WRITE) on the mapped pages: GUP faults each page writable first (->page_mkwrite
    if it is not dirty yet), then takes a FOLL_PIN reference."""
    f = prog.file(file)
    inode, fs = f.inode, f.inode.fs
    pinned = prog.pins.setdefault(file, [])
    with task.call(*PIN_FRAMES[kind]):
        if kind == "long-term" and resolve(k.version, "gup_longterm_file_refused",
                                           k.params.get("longterm_file_pin_refused", "auto")):
            k.reports.append({"t": k.now(), "task": task.name, "file": file, "op": "pin", "err": -EFAULT})
            k.log(task, "pin-refused", file=file, reason="FOLL_LONGTERM write pin of a dirty-tracked file mapping")
            return
        for idx in range(start, start + int(pages)):
            with task.call("faultin_page", *FAULT[3:]):
                folio = yield from _folio(k, task, inode, idx)
                if folio is None:
                    return
                if not folio.dirty:
                    with task.call(*PAGE_MKWRITE.get(fs.fstype, ())):
                        fs.page_mkwrite(task, inode, folio)
            folio.dma_pins += 1
            pinned.append(folio)
    k.log(task, "pin", file=file, pages=len(pinned), kind=kind)


def op_dma_write(k: Kernel, task: Task, prog: Program, file: str):
    """The pinner writes new data into every folio it pinned; the program is told it is written."""
    f = prog.file(file)
    fs = f.inode.fs
    for folio in prog.pins.get(file, []):
        k.version_seq = getattr(k, "version_seq", 0) + 1
        folio.version = k.version_seq
        k.acks.append({"t": k.now(), "task": task.name, "file": file,
                       "key": (fs.name, folio.mapping.inode.ino, folio.index), "version": folio.version})
        k.log(task, "dma-write", file=file, index=folio.index, buffers=folio.buffers, dirty=folio.dirty)
    k.progress()
    return
    yield  # pragma: no cover


def op_unpin(k: Kernel, task: Task, prog: Program, file: str, dirty: bool = True, kind: str = "short-term"):
    """unpin_user_pages_dirty_lock: set_page_dirty_lock on each pinned folio (the filesystem's ->dirty_folio,
    no ->page_mkwrite), then the pin goes."""
    pinned = prog.pins.pop(file, [])
    with task.call(*UNPIN_FRAMES[kind]):
        for folio in pinned:
            if dirty:
                with task.call("set_page_dirty_lock", "folio_mark_dirty"):
                    folio.mapping.inode.fs.dirty_folio(task, folio.mapping.inode, folio)
            folio.dma_pins -= 1
    k.log(task, "unpin", file=file, pages=len(pinned), dirty=dirty)
    return
    yield  # pragma: no cover
