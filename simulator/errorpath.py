"""Error paths opened by an injected failure: what the code does after an allocation it did not expect to fail.

``op_fault_site`` runs a task along a call path to an allocation site. Fault injection (``simulator.faults``:
fail-nth, the debugfs knobs and their defaults, __GFP_NOFAIL never failed) decides whether that allocation
fails. When it does, the caller's error path (``error_path``, the parameter that describes the code) runs:

    check          the failure is checked and -ENOMEM goes back to user space (the fix)
    null-deref     the NULL result is used: a NULL-pointer dereference (GPF with KASAN)
    bad-pointer    a half-built object keeps a stale pointer that is followed: a page fault on it
    use-after-free the cleanup frees an object another reference still reaches: KASAN use-after-free
    bug            a BUG_ON() on the unexpected error
    warn           a WARN_ON() on the half-built state (or a transaction abort's WARN)
    refcount       the cleanup drops a reference twice: refcount_t underflow
    lock-held      the error path returns without an unlock: lockdep's lock held when returning to user space
    leak           the cleanup forgets an object: kmemleak

The bad action happens in the task and along the call path where the report shows it (``crash_path``,
``crash_comm``: another task, e.g. a work item, that later uses what the error path left). Nothing happens
unless the injection fired: that, and the ``check`` fix, is what the detectors see.

``op_transaction_fault`` is the same inside a filesystem transaction: the failure comes after the transaction
dirtied metadata, so the filesystem aborts it and shuts down (``journal.shutdown``: read-only from then on,
and the dirty data of every other writer can no longer be placed), and the code may go on to do one of the
bad actions above (``after``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import gfp as G
from simulator import mm
from simulator.callpath import END, MM_ENTRY, SITE_STAGE
from simulator.console import KTHREAD_BOTTOM, SYSCALL_BOTTOM
from simulator.engine import TaskKilled

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.programs import Program

ERROR_PATHS = ("check", "null-deref", "bad-pointer", "use-after-free", "bug", "warn", "refcount", "lock-held", "leak")
# seed 001: the NFS write request the 4.12 cleanup assumed GFP_NOFS could not fail
SEED_SITE = (*SYSCALL_BOTTOM, "__x64_sys_write", "ksys_write", "vfs_write", "new_sync_write", "nfs_file_write",
             "generic_perform_write", "nfs_write_end", "nfs_update_folio", "nfs_writepage_setup",
             "nfs_setup_write_request", "nfs_page_create_from_folio", "nfs_page_create", "nfs_page_alloc")
SEED_CRASH = (*SYSCALL_BOTTOM, "__x64_sys_write", "ksys_write", "vfs_write", "new_sync_write", "nfs_file_write",
              "generic_perform_write", "nfs_write_end", "nfs_update_folio", "nfs_writepage_setup",
              "nfs_setup_write_request", "nfs_page_create_from_folio", "nfs_page_create")


def op_fault_site(k: Kernel, task: Task, prog: Program, cap: str = "failslab", gfp: str = "GFP_NOFS",
                  order: int = 0, size: int = 64, path: list[str] | None = None, fail_nth: int = 1,
                  error_path: str = "null-deref", crash_path: list[str] | None = None, crash_comm: str = "",
                  crash_pid: int = 0, crash_site: str = "", check: bool = False, message: str = ""):
    """Allocate at the site (failslab: a slab object; fail_page_alloc: pages), then the error path (which
    first prints the failing path's ``message``, if the code has one)."""
    task.follow(path)
    task.fail_nth = int(fail_nth)
    mask = G.parse(gfp)
    if cap == "fail_page_alloc":
        with task.via(MM_ENTRY, *(SEED_SITE if not path else ()), "alloc_pages_noprof"):
            ok = yield from mm.alloc_pages(k, task, mask, int(order))
    else:
        with task.via(SITE_STAGE, *SEED_SITE):
            ok = (yield from mm.kmem_cache_alloc(k, task, "site", mask, int(size))) is not None
    task.fail_nth = 0
    if ok:
        k.log(task, "site-allocated")
        return
    k.log(task, "site-failed", error_path=error_path)
    if message:
        k.console.printk(message)
    if check:
        k.reports.append({"t": k.now(), "task": task.name, "file": "-", "op": "syscall", "err": -12})
        k.log(task, "error-returned", op="syscall", err=-12)
        return
    actor = task
    if crash_comm and crash_comm != task.comm:
        done = k.env.event()
        worker = k.spawn(crash_comm, lambda t: _bad_action(k, t, crash_path, error_path, crash_site, done),
                         kthread=crash_comm.startswith(("kworker", "ksoftirqd", "kswapd")) or "/" in crash_comm,
                         pid=int(crash_pid) or None)
        worker.workqueue = "events " + (crash_path[-1] if crash_path else "deferred_work")
        yield done
        return
    yield from _bad_action(k, actor, crash_path, error_path, crash_site, None)


def op_transaction_fault(k: Kernel, task: Task, prog: Program, fs: str = "fs", cap: str = "failslab",
                         gfp: str = "GFP_NOFS", order: int = 0, size: int = 64, path: list[str] | None = None,
                         fail_nth: int = 1, abort_site: str = "", after: str = "none",
                         crash_path: list[str] | None = None, crash_comm: str = "", crash_pid: int = 0,
                         crash_site: str = "", check: bool = False, nofail: bool = False):
    """An allocation inside a transaction of ``fs`` (``nofail``: made with __GFP_NOFAIL, which fault injection
    never fails; ``check``: made and checked before the transaction dirtied anything, so a failure is only
    -ENOMEM to the caller). A failure after that aborts the transaction in ``abort_site`` (default: the
    innermost function of the filesystem on the path) and shuts the filesystem down."""
    from simulator.callpath import Stage
    from simulator.journal import shutdown
    from simulator.symbols import SYMBOLS

    fsys = k.subsystems["fs_by_name"][fs]
    default = DEFAULT_TRANSACTION_SITE.get(fsys.fstype, SEED_SITE)
    task.follow(path)
    task.fail_nth = int(fail_nth)
    mask = G.parse(gfp) | (G.NOFAIL if nofail else 0)
    with task.via(SITE_STAGE, *(() if path else default)):
        own = [str(fn) for fn in task.stack if str(fn).startswith(FS_PREFIX.get(fsys.fstype, ("?",)))]
        if cap == "fail_page_alloc":
            with task.via(MM_ENTRY, "alloc_pages_noprof"):
                ok = yield from mm.alloc_pages(k, task, mask, int(order))
        else:
            ok = (yield from mm.kmem_cache_alloc(k, task, "site", mask, int(size))) is not None
    task.fail_nth = 0
    if ok:
        k.log(task, "site-allocated")
        return
    if check:
        k.reports.append({"t": k.now(), "task": task.name, "file": "-", "op": "syscall", "err": -12})
        k.log(task, "error-returned", op="syscall", err=-12)
        return
    where = abort_site or (own[-1] if own and path else DEFAULT_ABORT_SITE.get(fsys.fstype, "transaction"))
    file, _, line = crash_site.partition(":") if after == "none" and crash_site else ("", "", "")
    if not file or not line.isdigit():
        file, line = (SYMBOLS.get(where) or (DEFAULT_ABORT_FILE.get(fsys.fstype, "fs/inode.c"), 1000, False))[:2]
    # the abort prints where the report shows it: along its crash stack when the crash is the abort's own
    # WARN (btrfs before 6.1), else along the injecting path, up to the aborting function
    task.follow(crash_path if after == "none" and crash_path else path)
    upto = default[:default.index(where) + 1] if where in default else (*default, where)
    with task.thru(Stage(where), *upto):
        shutdown(k, task, fsys, -12, where, str(file), int(line))
    if after == "none":                     # the system call fails with the error
        k.reports.append({"t": k.now(), "task": task.name, "file": "-", "op": "syscall", "err": -12})
        k.log(task, "error-returned", op="syscall", err=-12)
        return
    crash_path = crash_path or [str(fn) for fn in (path[:path.index(where) + 1] if path and where in path else upto)]
    if crash_comm and crash_comm != task.comm:
        done = k.env.event()
        worker = k.spawn(crash_comm, lambda t: _bad_action(k, t, crash_path, after, crash_site, done),
                         kthread=crash_comm.startswith(("kworker", "ksoftirqd", "kswapd")) or "/" in crash_comm,
                         pid=int(crash_pid) or None)
        worker.workqueue = "events " + (crash_path[-1] if crash_path else "deferred_work")
        yield done
        return
    yield from _bad_action(k, task, crash_path, after, crash_site, None)


FS_PREFIX = {"btrfs": ("btrfs_", "__btrfs_"), "ext4": ("ext4_", "__ext4_"), "xfs": ("xfs_",)}
_OPEN = (*SYSCALL_BOTTOM, "__x64_sys_openat", "do_sys_openat2", "do_filp_open", "path_openat", "open_last_lookups",
         "lookup_open")
# where the model's own transaction allocation sits when no report path is given (the allocator's caller last)
DEFAULT_TRANSACTION_SITE = {
    "btrfs": (*_OPEN, "btrfs_create", "btrfs_create_common", "btrfs_add_link", "btrfs_insert_dir_item",
              "insert_with_overflow", "btrfs_insert_empty_items", "btrfs_search_slot", "btrfs_cow_block",
              "btrfs_force_cow_block", "btrfs_alloc_tree_block", "btrfs_add_delayed_tree_ref"),
    "ext4": (*_OPEN, "ext4_create", "__ext4_new_inode", "ext4_mark_inode_dirty", "ext4_reserve_inode_write",
             "__ext4_journal_get_write_access", "jbd2_journal_get_write_access", "do_get_write_access", "jbd2_alloc"),
    "xfs": (*_OPEN, "xfs_generic_create", "xfs_create", "xfs_dir_createname", "xfs_dir2_sf_addname",
            "xfs_idata_realloc"),
}
DEFAULT_ABORT_SITE = {"btrfs": "btrfs_add_link", "ext4": "ext4_reserve_inode_write", "xfs": "xfs_create"}
DEFAULT_ABORT_FILE = {"btrfs": "fs/btrfs/inode.c", "ext4": "fs/ext4/inode.c", "xfs": "fs/xfs/xfs_inode.c"}


def _bad_action(k: Kernel, t: Task, crash_path: list[str] | None, error_path: str, crash_site: str,
                done: Any):
    """What the error path leaves behind, done by ``t`` along ``crash_path``."""
    yield k.env.timeout(0)
    t.follow(crash_path)
    bottom = KTHREAD_BOTTOM if t.kthread else SYSCALL_BOTTOM
    default = SEED_CRASH if not crash_path else bottom
    file, _, line = (crash_site or "").partition(":")
    with t.via(END, *default):
        frames = list(t.stack) if t.stack else ["?"]
        site = str(frames[-1])
        what = {"null-deref": "NULL result dereferenced", "bad-pointer": "stale pointer followed",
                "use-after-free": "freed object read", "bug": "BUG_ON on the error",
                "warn": "WARN_ON on the half-built state", "refcount": "reference dropped twice",
                "lock-held": "returned to user space holding a lock", "leak": "object never freed"}[error_path]
        rec = {"t": k.now(), "task": t.name, "site": site, "what": what, "error_path": error_path}
        k.log(t, "error-path", kind=error_path, site=site)
        con = k.console
        if error_path == "null-deref":
            k.crashes.append(rec)
            con.oops_null_deref(t, frames, offset=0x18)
        elif error_path == "bad-pointer":
            k.crashes.append(rec)
            con.page_fault(t, frames, 0xffffc90000a1b2c0 + (k.seed % 16) * 0x40)
        elif error_path == "use-after-free":
            k.crashes.append(rec)
            con.kasan_uaf(t, frames, frames[:-1], frames[:-1])
        elif error_path == "bug":
            k.crashes.append(rec)
            con.kernel_bug(t, frames, file or "fs/inode.c", int(line or 0) or 1000)
        elif error_path in ("warn", "refcount", "lock-held"):
            k.warns.append({"t": k.now(), "task": t.name, "cond": "error_path", "reason": what, "alloc": None,
                            "gfp": None, "order": None, "site": site, "completed": None})
            if error_path == "warn":
                con.warn(t, frames[-1], file or "fs/inode.c", int(line or 0) or 1000, frames[:-1])
            elif error_path == "refcount":
                con.refcount_underflow(t, frames)
            else:
                con.lock_held_return(t, [("&type->i_mutex_dir_key#5", site)])
        else:
            k.leaks.append(rec)
            con.memory_leak(t, frames)
    if done is not None:
        done.succeed()
    elif error_path in ("null-deref", "bad-pointer", "bug"):
        raise TaskKilled()
