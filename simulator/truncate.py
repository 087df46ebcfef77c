"""Page-cache truncation (mm/truncate.c, mm/filemap.c): the folios of a range are locked and cleaned in a
batch (``truncate_cleanup_folio``: unmap, ->invalidate_folio, ``folio_cancel_dirty``), then removed together
(``delete_from_page_cache_batch`` -> ``filemap_unaccount_folio``).

Cleaning and removal are separate steps, and the folio lock does not stop everyone from dirtying a folio: a
buffer-head filesystem's ``mark_buffer_dirty`` sets the folio dirty without it. A folio dirtied in between is
removed anyway: ``filemap_unaccount_folio`` warns once (``WARN_ON_ONCE(folio_test_dirty(folio) &&
mapping_can_writeback(mapping))``: "a bug and loss of unwritten data - on ordinary filesystems"; before 5.16
``unaccount_page_cache_page``) and what the folio held is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.callpath import END, Stage
from simulator.pagecache import EIO
from simulator.reclaim import remove_folio

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.pagecache import Inode
    from simulator.programs import Program

TRUNCATE_RANGE = Stage("truncate_inode_pages_range")
UNACCOUNT = Stage("filemap_unaccount_folio", "unaccount_page_cache_page")
# the WARN's line in mm/filemap.c (217: syzbot's 6.9 report; the older one is representative)
UNACCOUNT_LINE = {"5.16": 217, "4.4": 200}


def _line(k: Kernel) -> int:
    return next(line for v, line in UNACCOUNT_LINE.items() if k.version.at_least(v) or v == "4.4")


def truncate_inode_pages_range(k: Kernel, task: Task, inode: Inode, batch_seconds: float):
    """Lock and clean every cached folio of ``inode``, spend ``batch_seconds`` on the batch (the
    invalidations, cond_resched), then remove them: a folio dirty again by then is dropped with a WARN."""
    m = inode.mapping
    can_writeback = inode.fs.dev is not None and inode.fs.fstype != "tmpfs"
    with task.thru(TRUNCATE_RANGE, "truncate_pagecache", "truncate_inode_pages", "truncate_inode_pages_range"):
        batch = sorted(m.pages.values(), key=lambda f: f.index)
        for f in batch:
            f.pinned = True                     # folio locked: writeback skips it
            f.dirty = False                     # ->invalidate_folio, folio_cancel_dirty: cleaned, data dropped
        k.log(task, "truncate-cleaned", ino=inode.ino, pages=len(batch))
        if batch_seconds:
            yield k.env.timeout(batch_seconds)
        redirtied = [f for f in batch if f.dirty]
        if redirtied and can_writeback:
            k.log(task, "dirty-folio-removed", ino=inode.ino, pages=len(redirtied))
            with task.via(UNACCOUNT, "delete_from_page_cache_batch"), task.via(END, "filemap_unaccount_folio"):
                if "dirty_folio_removed" not in k.subsystems["zone"].warned:
                    k.subsystems["zone"].warned.add("dirty_folio_removed")
                    fn = task.stack[-1]
                    k.warns.append({"t": k.now(), "task": task.name, "cond": "dirty_folio_removed",
                                    "reason": "a dirty folio removed from the page cache (its data is lost)",
                                    "gfp": None, "order": None, "site": str(fn), "completed": None})
                    k.console.warn(task, fn, "mm/filemap.c", _line(k), list(task.stack[:-1]))
        for f in batch:
            f.pinned = False
            remove_folio(k, f)


OPEN_TRUNC = ("__x64_sys_creat", "do_sys_openat2", "do_filp_open", "path_openat", "do_open", "handle_truncate",
              "do_truncate", "notify_change")


def op_open_trunc(k: Kernel, task: Task, prog: Program, file: str, batch_seconds: float = 0.0):
    """creat() / open(O_TRUNC) of ``file``: the lookup (a filesystem may refuse the entry: EIO), then
    do_truncate -> notify_change -> the inode's ->setattr -> truncate_setsize to 0. (The data-loss detector does
    not know a program discarded its own writes: truncate files the writers' acknowledgements do not cover.)"""
    from simulator.console import SYSCALL_BOTTOM
    from simulator.programs import _report

    fs, path = prog.fs_path(file)
    lookup = getattr(fs, "lookup_entry", None)
    inode = lookup(task, path) if lookup else fs.lookup(path)
    if inode is None:
        _report(k, task, file, "creat", -EIO)
        return
    setattr_frames = fs.setattr_frames(inode) if hasattr(fs, "setattr_frames") else ()
    with task.via(TRUNCATE_RANGE, *SYSCALL_BOTTOM, *OPEN_TRUNC, *setattr_frames, "truncate_setsize"):
        yield from truncate_inode_pages_range(k, task, inode, float(batch_seconds))
    inode.size_pages = 0
    k.progress()
