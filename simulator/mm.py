"""The page allocator: one zone with watermarks, the fast path and ``__alloc_pages_slowpath`` as a decision
procedure (kernel-semantics.md (c)), the NOFAIL WARNs by version, slab caches with failslab, the OOM killer.

Every function that may sleep is a generator (``yield from``); it returns its result SimPy-style.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import callpath as C
from simulator import faults
from simulator import gfp as G
from simulator.versions import switch

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task
    from simulator.pagecache import Folio

COSTLY_ORDER = 3
# where the next stage begins, for each stage of an allocation (simulator.callpath)
_AFTER_ENTRY = C.FREELIST | C.SLOWPATH | C.FAILSLAB | C.MEMCG_CHARGE
_AFTER_SLOWPATH = C.DIRECT_RECLAIM | C.MAY_OOM | C.END
_AFTER_SLAB = C.FAILSLAB | C.NEW_SLAB | C.MM_ENTRY
_TO_MEMCG_RECLAIM = C.MEMCG_RECLAIM | C.SHRINK_LIST
_TO_MEMCG_WORK = C.MEMCG_RECLAIM | C.SHRINK_LIST | C.SHRINK_SLAB | C.SCAN
MAX_PAGE_ORDER = 10        # MAX_ORDER - 1 (x86-64 default)
MAX_RECLAIM_RETRIES = 16
RETRY_THROTTLE = 0.1       # congestion_wait(HZ/10) / reclaim_throttle between reclaim retries (seconds)
NOFAIL_RETRY = 0.01        # cond_resched() + goto retry in the NOFAIL loop, coarsened to keep runs cheap

# Where the NOFAIL WARNs sit (kernel-semantics.md c.6), and representative mm/page_alloc.c lines.
# condition -> (site: "entry" from 6.12, "nopage" before), lines per first version (newest first).
WARN_LINES: list[tuple[str, dict[str, int]]] = [
    ("6.18", {"order": 4649, "no_reclaim": 4655, "pf_memalloc": 4660, "costly": 4660, "oom": 4047,
              "order_too_large": 5124}),
    ("6.15", {"order": 4619, "no_reclaim": 4625, "pf_memalloc": 4630, "costly": 4630, "oom": 4017,
              "order_too_large": 5124}),
    ("6.12", {"order": 4229, "no_reclaim": 4235, "pf_memalloc": 4240, "costly": 4240, "oom": 3941,
              "order_too_large": 4747}),
    ("6.0", {"order": 3837, "no_reclaim": 5399, "pf_memalloc": 5405, "costly": 5411, "oom": 4523,
             "order_too_large": 5525}),
    ("5.13", {"order": 3488, "no_reclaim": 4975, "pf_memalloc": 4981, "costly": 4987, "oom": 4203,
              "order_too_large": 5005}),
    ("5.0", {"order": 3203, "no_reclaim": 4609, "pf_memalloc": 4616, "costly": 4622, "oom": 4023,
             "order_too_large": 4645}),
    ("2.6", {"order": 2869, "no_reclaim": 3926, "pf_memalloc": 3931, "costly": 3936, "oom": 3791,
             "order_too_large": 3926}),
]
WARN_TEXT = {
    "order": "__GFP_NOFAIL with order > 1", "no_reclaim": "__GFP_NOFAIL without __GFP_DIRECT_RECLAIM",
    "pf_memalloc": "__GFP_NOFAIL from PF_MEMALLOC (reclaim) context", "costly": "__GFP_NOFAIL with a costly order",
    "oom": "__GFP_NOFAIL and out_of_memory() could not kill",
}


def current_gfp_context(task: Task, gfp: int) -> int:
    """Scoped NOIO / NOFS (memalloc_noio_save, memalloc_nofs_save, PR_SET_IO_FLUSHER)."""
    if "PF_MEMALLOC_NOIO" in task.flags:
        return gfp & ~(G.IO | G.FS)
    if "PF_MEMALLOC_NOFS" in task.flags:
        return gfp & ~G.FS
    return gfp


class Zone:
    def __init__(self, k: Kernel, *, managed: int, free: int, wmark_min: int, wmark_low: int, wmark_high: int):
        self.k = k
        self.managed, self.free = managed, free
        self.wmark = {"min": wmark_min, "low": wmark_low, "high": wmark_high}
        self.lru: dict[Folio, None] = {}          # file LRU, oldest first
        self.kswapd_wake = k.env.event()
        self.warned: set[str] = set()             # WARN_ON_ONCE sites already fired
        self.slab: dict[str, int] = {}            # cache -> free objects
        self.allocs = 0

    # -- freelist ----------------------------------------------------------------------------------
    def ok(self, n: int, mark: str, gfp: int, alloc_flags: str = "") -> bool:
        if alloc_flags == "no_watermarks":
            return self.free >= n
        m = self.wmark[mark]
        if gfp & G.HIGH:
            m -= m // 2
        if alloc_flags == "oom":
            m -= m // 2
        elif alloc_flags == "harder":
            m -= m // 4
        return self.free - n >= m

    def take(self, n: int) -> None:
        self.free -= n
        self.allocs += 1

    def release(self, n: int) -> None:
        self.free += n
        self.k.progress()

    def wake_kswapd(self) -> None:
        if not self.kswapd_wake.triggered:
            self.kswapd_wake.succeed()

    def lru_add(self, folio: Folio) -> None:
        folio.on_lru = True
        self.lru[folio] = None

    def lru_del(self, folio: Folio) -> None:
        if folio.on_lru:
            folio.on_lru = False
            self.lru.pop(folio, None)

    def reclaimable(self) -> int:
        return len(self.lru)


def _warn_line(k: Kernel, cond: str) -> int:
    for first, lines in WARN_LINES:
        if k.version.at_least(first):
            return lines[cond]
    return WARN_LINES[-1][1][cond]


def warn_nofail(k: Kernel, task: Task, cond: str, gfp: int, order: int, alloc_id: int) -> None:
    """WARN_ON_ONCE in the allocator; ``_GFP`` variants (5.19+, before 6.12) honour __GFP_NOWARN. The RIP is
    the innermost frame the task is in (the slowpath, or rmqueue for the order check before 6.12)."""
    zone: Zone = k.subsystems["zone"]
    if any(w["alloc"] == alloc_id and w["cond"] == cond for w in k.warns):
        return
    k.warns.append({"t": k.now(), "task": task.name, "cond": cond, "reason": WARN_TEXT[cond], "alloc": alloc_id,
                    "gfp": G.fmt(gfp, k.version), "order": order, "site": _caller(task)})
    k.log(task, "warn", cond=cond, gfp=G.fmt(gfp, k.version), site=_caller(task))
    if cond in zone.warned:
        return
    zone.warned.add(cond)
    gfp_warn = switch(k.version, "warn_gfp") and not switch(k.version, "nofail_warn_at_entry")
    if gfp_warn and gfp & G.NOWARN:
        return
    k.console.warn(task, task.stack[-1], "mm/page_alloc.c", _warn_line(k, cond), list(task.stack[:-1]))


def _caller(task: Task) -> str:
    """The innermost frame that is not the allocators' own: the allocation site."""
    for fn in reversed(task.stack):
        if fn not in C.ALLOCATOR and fn not in C.FAILSLAB and fn not in C.FAULT_DUMP:
            return str(fn)
    return "?"


def might_alloc(k: Kernel, task: Task, gfp: int) -> None:
    """fs_reclaim acquire+release: records "held locks -> fs_reclaim" (4.14+, FS requests only)."""
    if not switch(k.version, "fs_reclaim_map"):
        return
    if gfp & G.DIRECT_RECLAIM and gfp & G.FS and "PF_MEMALLOC" not in task.flags and k.lockdep.held.get(task.pid):
        with task.call("might_alloc", "fs_reclaim_acquire", "__fs_reclaim_acquire"):
            k.lockdep.acquire_release(task, "fs_reclaim")


class Memcg:
    """A memory cgroup with a hard limit: its tasks' allocations are charged to it; over the limit, the
    charging task reclaims the cgroup's own pages (try_to_free_mem_cgroup_pages). ``legacy``: cgroup v1,
    whose reclaim waits for folios under writeback it marked before (kernel-semantics.md d.2 case 3, c.7)."""

    def __init__(self, name: str, limit: int, legacy: bool = True):
        self.name, self.limit, self.legacy = name, limit, legacy
        self.usage = 0


MEMCG_RECLAIM_RETRIES = 5      # try_charge: nr_retries = MAX_RECLAIM_RETRIES (5 in memcg before 5.x's 16)


def memcg_charge(k: Kernel, task: Task, gfp: int, n: int):
    """try_charge: within the limit, charge; else reclaim the cgroup's pages and retry; NOFAIL forces."""
    from simulator import reclaim

    memcg: Memcg | None = getattr(task, "memcg", None)
    if memcg is None:
        return True
    for _ in range(MEMCG_RECLAIM_RETRIES + 1):
        if memcg.usage + n <= memcg.limit:
            memcg.usage += n
            return True
        if not gfp & G.DIRECT_RECLAIM:
            break
        k.log(task, "memcg-reclaim", memcg=memcg.name, usage=memcg.usage, limit=memcg.limit)
        with task.via(_TO_MEMCG_WORK, "try_charge_memcg"):
            with task.via(reclaim.RECLAIM_WORK, "try_to_free_mem_cgroup_pages", "do_try_to_free_pages"):
                had = "PF_MEMALLOC" in task.flags
                task.flags.add("PF_MEMALLOC")
                try:
                    yield from reclaim.shrink_node(k, task, gfp, memcg)
                finally:
                    if not had:
                        task.flags.discard("PF_MEMALLOC")
    if gfp & G.NOFAIL:
        memcg.usage += n            # NOFAIL charges go over the limit ("force") [c.7]
        return True
    k.log(task, "memcg-charge-failed", memcg=memcg.name)
    return False


def alloc_pages(k: Kernel, task: Task, gfp: int, order: int = 0):
    """__alloc_pages: the order check, fault injection, the memcg charge, the fast path at the low watermark
    (rmqueue's NOFAIL order WARN before 6.12), else the slowpath. Returns True or False (NULL)."""
    zone: Zone = k.subsystems["zone"]
    n = 1 << order
    gfp = current_gfp_context(task, gfp)
    with task.via(_AFTER_ENTRY, "__alloc_frozen_pages_noprof"):
        might_alloc(k, task, gfp)
        if order > MAX_PAGE_ORDER:
            return (yield from _too_large(k, task, gfp, order))
        if faults.should_fail_alloc_page(k, task, k.subsystems.get("fail_page_alloc"), gfp, order):
            return False
        if getattr(task, "memcg", None) is not None:
            with task.via(_TO_MEMCG_RECLAIM, "__memcg_kmem_charge_page", "obj_cgroup_charge"):
                if not (yield from memcg_charge(k, task, gfp, n)):
                    return False
        k.alloc_seq += 1
        alloc_id = k.alloc_seq
        if gfp & G.NOFAIL and order > 1 and not switch(k.version, "nofail_warn_at_entry"):
            with task.via(C.END, "get_page_from_freelist", "rmqueue"):
                warn_nofail(k, task, "order", gfp, order, alloc_id)
        if zone.ok(n, "low", gfp):
            return _got(k, zone, n, alloc_id)
        with task.via(_AFTER_SLOWPATH, "__alloc_pages_slowpath"):
            ok = yield from _slowpath(k, task, zone, gfp, order, alloc_id)
    return ok


def _too_large(k: Kernel, task: Task, gfp: int, order: int):
    """order > MAX_PAGE_ORDER: a caller's size bug, WARN (unless __GFP_NOWARN) and NULL; in the slowpath
    before 5.0, at the allocator entry since (kernel-semantics.md c.2)."""
    k.log(task, "alloc-too-large", order=order, site=_caller(task))
    k.alloc_seq += 1
    if not gfp & G.NOWARN and "order_too_large" not in k.subsystems["zone"].warned:
        k.subsystems["zone"].warned.add("order_too_large")
        k.warns.append({"t": k.now(), "task": task.name, "cond": "order_too_large", "alloc": k.alloc_seq,
                        "reason": f"order {order} > MAX_PAGE_ORDER ({MAX_PAGE_ORDER}): a caller's size bug",
                        "gfp": G.fmt(gfp, k.version), "order": order, "site": _caller(task), "completed": False})
        frames = ("__alloc_pages_slowpath",) if not switch(k.version, "max_order_check_at_entry") else ()
        with task.call(*frames):
            k.console.warn(task, task.stack[-1], "mm/page_alloc.c", _warn_line(k, "order_too_large"),
                           list(task.stack[:-1]))
    return False
    yield  # pragma: no cover


def _slowpath(k: Kernel, task: Task, zone: Zone, gfp: int, order: int, alloc_id: int):
    from simulator import reclaim

    n = 1 << order
    nofail = bool(gfp & G.NOFAIL)
    can_reclaim = bool(gfp & G.DIRECT_RECLAIM)
    at_entry = switch(k.version, "nofail_warn_at_entry")
    if nofail and at_entry:
        for cond, hit in (("order", order > 1), ("no_reclaim", not can_reclaim),
                          ("pf_memalloc", "PF_MEMALLOC" in task.flags)):
            if hit:
                warn_nofail(k, task, cond, gfp, order, alloc_id)
    no_progress = 0
    while True:
        if gfp & G.KSWAPD_RECLAIM:
            zone.wake_kswapd()
        if zone.ok(n, "min", gfp):
            return _got(k, zone, n, alloc_id)
        reserve = ""
        if not gfp & G.NOMEMALLOC and (gfp & G.MEMALLOC or "PF_MEMALLOC" in task.flags):
            reserve = "no_watermarks"
        elif task.oom_victim:
            reserve = "oom"
        if reserve and zone.ok(n, "min", gfp, reserve):
            return _got(k, zone, n, alloc_id)
        goto_nopage = not can_reclaim or "PF_MEMALLOC" in task.flags
        if not goto_nopage:
            progress = yield from reclaim.direct_reclaim(k, task, gfp, order)
            if zone.ok(n, "min", gfp):
                return _got(k, zone, n, alloc_id)
            if gfp & G.NORETRY or (order > COSTLY_ORDER and not gfp & G.RETRY_MAYFAIL):
                goto_nopage = True
            else:
                no_progress = 0 if progress else no_progress + 1
                if no_progress <= MAX_RECLAIM_RETRIES and (progress or zone.reclaimable()):
                    task.retries += 1
                    yield from k.sleep(task, RETRY_THROTTLE)
                    continue
                oom_progress = out_of_memory(k, task, gfp, order)
                if task.oom_victim and reserve == "oom":
                    goto_nopage = True
                elif oom_progress:
                    no_progress = 0
                    task.retries += 1
                    yield from k.sleep(task, RETRY_THROTTLE)
                    continue
                else:
                    goto_nopage = True
                    if nofail:
                        warn_nofail(k, task, "oom", gfp, order, alloc_id)
        # nopage:
        if nofail:
            if not at_entry:
                if not can_reclaim:
                    warn_nofail(k, task, "no_reclaim", gfp, order, alloc_id)
                    return _fail(k, task, zone, gfp, order, alloc_id)
                if "PF_MEMALLOC" in task.flags:
                    warn_nofail(k, task, "pf_memalloc", gfp, order, alloc_id)
                if order > COSTLY_ORDER:
                    warn_nofail(k, task, "costly", gfp, order, alloc_id)
            elif not can_reclaim:
                return _fail(k, task, zone, gfp, order, alloc_id)
            if zone.ok(n, "min", gfp, "harder"):
                return _got(k, zone, n, alloc_id)
            task.retries += 1
            yield from k.sleep(task, NOFAIL_RETRY)
            continue
        return _fail(k, task, zone, gfp, order, alloc_id)


def _got(k: Kernel, zone: Zone, n: int, alloc_id: int) -> bool:
    zone.take(n)
    _settle(k, alloc_id, True)
    return True


def _settle(k: Kernel, alloc_id: int, completed: bool) -> None:
    for w in k.warns:
        if w["alloc"] == alloc_id:
            w["completed"] = completed
            w["settled_at"] = k.now()


def _fail(k: Kernel, task: Task, zone: Zone, gfp: int, order: int, alloc_id: int) -> bool:
    _settle(k, alloc_id, False)
    k.log(task, "alloc-fail", gfp=G.fmt(gfp, k.version), order=order, site=_caller(task))
    if not gfp & G.NOWARN:
        k.console.printk(f"{task.comm}: page allocation failure: order:{order}, mode:{G.fmt(gfp, k.version)}, "
                         f"nodemask=(null),cpuset=/,mems_allowed=0")
        k.console.emit(k.console.cpu_lines(task) + k.console.call_trace(list(task.stack), task))
    return False


# -- slab --------------------------------------------------------------------------------------------
OBJS_PER_SLAB = 8


def kmem_cache_alloc(k: Kernel, task: Task, cache: str, gfp: int, size: int = 64, entry: str = "kmem_cache"):
    """kmem_cache_alloc / kmalloc: failslab and fs_reclaim in the pre-alloc hook, a new slab when empty."""
    zone: Zone = k.subsystems["zone"]
    gfp = current_gfp_context(task, gfp)
    top = "kmem_cache_alloc_noprof" if entry == "kmem_cache" else "__kmalloc_noprof"
    with task.via(_AFTER_SLAB, top, "slab_alloc_node"):
        with task.via(C.FAILSLAB, "slab_pre_alloc_hook"):
            might_alloc(k, task, gfp)
            if faults.should_failslab(k, task, k.subsystems.get("failslab"), gfp, size):
                return None
        if zone.slab.get(cache, 0) == 0:
            with task.via(C.MM_ENTRY, "__slab_alloc", "___slab_alloc", "new_slab", "allocate_slab"):
                ok = yield from alloc_pages(k, task, gfp)
            if not ok:
                return None
            zone.slab[cache] = OBJS_PER_SLAB
        zone.slab[cache] -= 1
    return f"{cache}#{zone.allocs}"


# -- OOM ---------------------------------------------------------------------------------------------
def out_of_memory(k: Kernel, task: Task, gfp: int, order: int):
    """__alloc_pages_may_oom + out_of_memory(): no kill for !__GFP_FS (global OOM), but report progress."""
    if order > COSTLY_ORDER or gfp & (G.RETRY_MAYFAIL | G.THISNODE):
        return False
    if not gfp & G.FS:
        k.log(task, "oom-skip", reason="!__GFP_FS: out_of_memory() returns true without killing")
        return True
    if any(t.oom_victim and t.state != "X" and getattr(t, "rss", 0) for t in k.tasks):
        # oom_evaluate_task(): a victim is still exiting with its memory: wait for it (progress)
        k.log(task, "oom-wait-victim")
        return True
    victims = [t for t in k.tasks if not t.kthread and t.state != "X" and not t.oom_victim and
               getattr(t, "rss", 0) > 0]
    if not victims:
        k.log(task, "oom-none")
        return False
    victim = max(victims, key=lambda t: (t.rss, t.pid))
    with task.call("__alloc_pages_may_oom", "out_of_memory"):
        k.console.printk(f"{task.comm} invoked oom-killer: gfp_mask={G.fmt(gfp, k.version)}, order={order}, "
                         "oom_score_adj=0")
        k.console.emit(k.console.cpu_lines(task) + k.console.call_trace(list(task.stack), task))
    kb = victim.rss * 4
    k.console.printk(f"Out of memory: Killed process {victim.pid} ({victim.comm}) total-vm:{kb + 4096}kB, "
                     f"anon-rss:{kb}kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:64kB oom_score_adj:0")
    victim.oom_victim = True
    k.log(task, "oom-kill", victim=victim.name)
    k.subsystems["oom_reaper"](victim)
    return True
