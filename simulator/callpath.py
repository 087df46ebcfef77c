"""Call paths taken from a report, followed by a task as the model's mechanics pass the same stages.

A mechanism parameter of type ``path`` is a report's stack, outermost frame first. A task given one
(``task.follow(path)``) prints the report's function names where the model goes the same way: each stage
of the mechanics calls ``task.via(next_stage, *defaults)``, which pushes the frames of the path from its
cursor up to (not including) the first frame of the next stage, and moves the cursor there; when the next
stage is not on the path ahead, the model's own default frames are pushed and the cursor stays. Leaving
the stage puts the cursor back, so a stage entered twice prints the same frames twice. ``task.via(END)``
takes the rest of the path. Without a path, ``via`` is ``call``: the model's default frames.

Stages are sets of function names (``Stage``), matched on the name without compiler suffixes and through
the renames of ``ALIASES``, so a 4.19 trace and a 6.17 trace mark the same stage.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.symbols import RENAMES, Reported

__all__ = ["ALIASES", "END", "PathPlan", "Reported", "Stage", "base"]

_SUFFIXES = (".constprop", ".isra", ".part", ".cold", ".lto_priv", ".llvm", ".specialized")


def base(name: str) -> str:
    """``foo.constprop.0`` -> ``foo``."""
    cut = len(name)
    for suffix in _SUFFIXES:
        i = name.find(suffix)
        if 0 < i < cut:
            cut = i
    return name[:cut]


# Names of one function across versions: the model's canonical name -> every name the kernel used.
ALIASES: dict[str, frozenset[str]] = {canon: frozenset({canon, *(alias for _, alias in renames)})
                                      for canon, renames in RENAMES.items()}
_EXTRA_ALIASES = [
    {"__alloc_frozen_pages_noprof", "__alloc_pages_nodemask", "__alloc_pages", "__alloc_pages_noprof",
     "__alloc_frozen_pages", "__alloc_pages_internal"},
    {"shrink_folio_list", "shrink_page_list"},
    {"folio_wait_writeback", "wait_on_page_writeback", "folio_wait_bit", "wait_on_page_bit",
     "folio_wait_bit_common", "wait_on_page_bit_common"},
    {"filemap_release_folio", "try_to_release_page"},
    {"kmem_cache_alloc_noprof", "kmem_cache_alloc", "kmem_cache_alloc_lru", "kmem_cache_alloc_lru_noprof",
     "kmem_cache_alloc_node", "kmem_cache_alloc_node_noprof"},
    {"__kmalloc_noprof", "__kmalloc", "kmalloc_trace", "kmem_cache_alloc_trace", "__kmalloc_cache_noprof",
     "kmalloc_trace_noprof", "__kmalloc_node", "__kmalloc_node_noprof", "__do_kmalloc_node", "kmalloc_noprof",
     "kmalloc", "kzalloc", "kzalloc_noprof", "kcalloc", "kmalloc_array", "kmalloc_array_noprof",
     "__kmalloc_large_node", "__kmalloc_large_node_noprof", "___kmalloc_large_node", "kmalloc_large",
     "krealloc", "krealloc_noprof", "__kmalloc_node_track_caller", "kmemdup", "kmemdup_noprof",
     "kvmalloc_node_noprof", "kvmalloc_node", "__kvmalloc_node_noprof", "kvmalloc", "kvzalloc", "kvcalloc",
     "kmem_alloc", "kmem_zalloc", "kmem_zone_alloc", "kmem_zone_zalloc", "kvmalloc_array"},
]
for _group in _EXTRA_ALIASES:
    _all = frozenset(_group).union(*(ALIASES.get(n, frozenset()) for n in _group))
    for _n in _group:
        ALIASES[_n] = _all


class Stage:
    """A set of function names that marks where a stage of the mechanics begins; ``rest``: when none of them
    is ahead, the rest of the path (``END`` is the empty stage with ``rest``)."""

    __slots__ = ("names", "rest")

    def __init__(self, *names: str | Iterable[str], rest: bool = False):
        out: set[str] = set()
        for n in names:
            for one in ([n] if isinstance(n, str) else n):
                out |= ALIASES.get(one, {one})
        self.names = frozenset(out)
        self.rest = rest

    def __contains__(self, name: str) -> bool:
        return name in self.names or base(name) in self.names

    def __or__(self, other: Stage) -> Stage:
        return Stage(self.names | other.names, rest=self.rest or other.rest)

    def __repr__(self) -> str:
        return f"Stage({', '.join(sorted(self.names)[:4])}{', ...' if len(self.names) > 4 else ''})"


END = Stage(rest=True)          # the rest of the path


class PathPlan:
    """A report's call path and the cursor of the task following it."""

    __slots__ = ("frames", "pos")

    def __init__(self, frames: Iterable[str]):
        self.frames = tuple(Reported(f) for f in frames)
        self.pos = 0

    def upto(self, stage: Stage, stop: Stage | None = None, *, inclusive: bool = False
             ) -> tuple[Reported, ...] | None:
        """The frames from the cursor to the first frame of ``stage`` (exclusive; ``inclusive``: with it), or
        None if it is not ahead, or if a frame of ``stop`` comes first. ``END``: the rest."""
        if stage.names:
            for i in range(self.pos, len(self.frames)):
                f = self.frames[i]
                if f in stage:
                    return self.frames[self.pos:i + 1 if inclusive else i]
                if stop is not None and f in stop:
                    return None
        return self.frames[self.pos:] if stage.rest else None

    def through_any(self, names: tuple[str, ...]) -> tuple[Reported, ...] | None:
        """The frames from the cursor through the last of ``names`` found in a short window after the first
        one ahead (a stage's own functions), or None if none is ahead."""
        stage = Stage(*names)
        first = self.find(stage)
        if first is None:
            return None
        last = first
        for i in range(first + 1, min(len(self.frames), first + 2 * len(names) + 2)):
            if self.frames[i] in stage:
                last = i
        return self.frames[self.pos:last + 1]

    def find(self, stage: Stage) -> int | None:
        """Index of the first frame of ``stage`` at or after the cursor."""
        for i in range(self.pos, len(self.frames)):
            if self.frames[i] in stage:
                return i
        return None

    def has(self, stage: Stage) -> bool:
        return any(f in stage for f in self.frames)


# -- stages of the mechanics, by the kernel functions that begin them --------------------------------------
MM_ENTRY = Stage("__alloc_frozen_pages_noprof")                     # the page allocator proper
FREELIST = Stage("get_page_from_freelist", "rmqueue", "rmqueue_buddy", "rmqueue_pcplist", "__rmqueue")
SLOWPATH = Stage("__alloc_pages_slowpath")
MAY_OOM = Stage("__alloc_pages_may_oom", "out_of_memory")
DIRECT_RECLAIM = Stage("__alloc_pages_direct_reclaim", "__perform_reclaim", "try_to_free_pages")
MEMCG_CHARGE = Stage("try_charge_memcg", "try_charge", "__mem_cgroup_try_charge", "mem_cgroup_charge",
                     "__mem_cgroup_charge", "charge_memcg", "obj_cgroup_charge", "__memcg_kmem_charge_page",
                     "__memcg_kmem_newpage_charge", "memcg_kmem_charge", "__memcg_kmem_charge",
                     "memcg_slab_post_alloc_hook", "__memcg_slab_post_alloc_hook", "obj_cgroup_charge_pages")
MEMCG_RECLAIM = Stage("try_to_free_mem_cgroup_pages", "mem_cgroup_reclaim")
KSWAPD = Stage("kswapd", "balance_pgdat")
SHRINK_LIST = Stage("shrink_lruvec", "shrink_inactive_list", "shrink_folio_list", "evict_folios",
                    "shrink_list")
SHRINK_SLAB = Stage("shrink_slab", "shrink_slab_memcg", "do_shrink_slab")
SCAN = Stage("super_cache_scan", "xfs_buftarg_shrink_scan", "xfs_qm_shrink_scan", "ext4_es_scan",
             "mb_cache_scan", "nfs4_xattr_entry_scan", "ovl_cache_scan", "gfs2_qd_shrink_scan",
             "dm_bufio_shrink_scan", "bch2_btree_cache_scan", "xfs_inodegc_shrinker_scan")
PAGE_OUT = Stage("pageout", "filemap_release_folio", "folio_wait_writeback", "remove_mapping", "__remove_mapping")
SLAB = Stage("kmem_cache_alloc_noprof", "__kmalloc_noprof")
NEW_SLAB = Stage("new_slab", "allocate_slab", "___slab_alloc", "__slab_alloc", "alloc_slab_page",
                 "cache_grow_begin", "kmem_getpages", "cache_alloc_refill", "____cache_alloc")
VMALLOC = Stage("vm_area_alloc_pages", "__vmalloc_area_node", "__vmalloc_node_range", "__vmalloc_node_range_noprof",
                "vmalloc", "__vmalloc", "vzalloc", "__vmalloc_node", "vmalloc_noprof", "__vmalloc_noprof")
FAILSLAB = Stage("should_failslab", "__should_failslab", "should_fail_alloc_page", "__should_fail_alloc_page",
                 "should_fail_usercopy", "should_fail_bio", "should_fail_request")
FAULT_DUMP = Stage("should_fail_ex", "should_fail", "fail_dump", "dump_stack", "dump_stack_lvl", "__dump_stack")
LOCKDEP = Stage("lock_acquire", "__lock_acquire", "lock_acquire.part.0", "validate_chain", "check_prevs_add",
                "check_prev_add", "check_noncircular", "print_circular_bug", "lock_release", "__lock_release",
                "lockdep_rcu_suspicious", "print_deadlock_bug")
SLEEP = Stage("schedule", "__schedule", "io_schedule", "schedule_timeout", "wait_for_completion",
              "wait_for_common", "__wait_for_common", "do_wait_for_common", "io_schedule_timeout",
              "rwsem_down_write_slowpath", "rwsem_down_read_slowpath", "__mutex_lock", "mutex_lock",
              "mutex_lock_nested", "__mutex_lock_common", "down_write", "down_read", "down_write_killable",
              "folio_wait_bit_common", "__wait_on_bit", "out_of_line_wait_on_bit", "bit_wait", "bit_wait_io",
              "__wait_on_bit_lock", "percpu_down_write", "percpu_rwsem_wait", "__percpu_down_read",
              "wait_on_page_bit", "folio_wait_bit", "wait_on_page_writeback", "folio_wait_writeback",
              "rt_mutex_slowlock", "__down_common", "__down", "down", "synchronize_srcu", "__synchronize_srcu",
              "wait_for_completion_io", "wait_for_completion_killable", "blk_mq_freeze_queue_wait")
WARN_INTERNALS = Stage("__warn", "report_bug", "handle_bug", "exc_invalid_op", "asm_exc_invalid_op",
                       "warn_slowpath_fmt", "__warn_printk", "panic", "check_panic_on_warn")
# every frame of the allocators themselves (what a NOFAIL WARN's "site" skips to find the caller)
ALLOCATOR = MM_ENTRY | FREELIST | SLOWPATH | SLAB | NEW_SLAB | VMALLOC | Stage(
    "alloc_pages_noprof", "alloc_pages_mpol", "alloc_frozen_pages_noprof", "alloc_frozen_pages",
    "alloc_frozen_pages_mpol_noprof", "folio_alloc_noprof", "folio_alloc_mpol_noprof", "folio_alloc_mpol",
    "filemap_alloc_folio_noprof", "__filemap_get_folio", "__filemap_get_folio_mpol", "vma_alloc_folio_noprof",
    "alloc_pages_node", "__alloc_pages_node", "__alloc_pages_node_noprof", "alloc_pages_node_noprof",
    "slab_alloc_node", "__slab_alloc_node", "slab_pre_alloc_hook", "kmalloc_large_node", "__kmalloc_large_node",
    "___kmalloc_large_node", "__kmalloc_large_node_noprof", "kmalloc_large_node_noprof", "alloc_pages_exact",
    "__get_free_pages", "get_zeroed_page", "alloc_pages_bulk_array_mempolicy", "alloc_pages_bulk_noprof",
    "__alloc_pages_bulk", "__alloc_pages_bulk_noprof", "find_or_create_page", "grab_cache_page_write_begin",
    "mempool_alloc", "mempool_alloc_noprof", "alloc_page_interleave", "__page_cache_alloc", "page_cache_alloc")
# what a reclaim callback ends in: an allocation, a lock, a sleep, a WARN
ACTION = MM_ENTRY | LOCKDEP | SLEEP | WARN_INTERNALS
# unions used on hot paths, built once
LOCK_STAGE = LOCKDEP | SLEEP
WRITE_INODE_STAGE = ACTION | END
SITE_STAGE = SLAB | FAILSLAB
