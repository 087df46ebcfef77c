"""Function names that mean the same thing across kernel versions, and the frames that identify a bug.

``canonical(func)`` strips compiler suffixes (``.constprop.0``, ``.isra.0``, ``.cold``, ``.part.0``, combos)
and maps renamed kernel functions to one name through ``RENAMES`` (exact names) and ``SUFFIX_RULES``
(mechanical renames such as the 6.10 memory-allocation-profiling ``_noprof`` suffix), so a 4.19 trace and a
6.17 trace of the same path compare equal.

``signature(frames, title)`` is the crashing trace's canonical function names after the reporting,
sanitizer, allocator, locking, scheduler and entry plumbing listed in ``SKIP`` is dropped: the first
``SIGNATURE_LEN`` frames that are the bug's own. It depends only on the frames, so the same crash read from
a raw console log, a syzbot excerpt or a quoted e-mail gives the same signature.

``foldable(signature, title)``: whether two reports with that signature are the same bug. A signature of fewer
than ``MIN_FOLD_FRAMES`` frames (a report without a readable trace: only the title's function, or nothing) or
of a ``... in corrupted`` report says too little: such reports never fold on it ("WARNING in corrupted" would
gather every damaged report of a list).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import compress, count, filterfalse, groupby, islice, takewhile
from operator import attrgetter, itemgetter

from triage.report.frames import COMPILER_SUFFIXES, strip_suffix, strip_tokens
from triage.report.memo import by_name
from triage.report.model import Frame
from vocab.titles import UNREAD_FRAME, frameless

SIGNATURE_LEN = 6
MIN_FOLD_FRAMES = 2

# Renamed functions: every name in a group maps to the group's first name. (Versions per
# shared/docs/kernel-semantics.md §c.2/§d.1 and the folio conversions of 5.16-6.x.)
_RENAME_GROUPS: list[tuple[str, ...]] = [
    # page allocator entry and slow path: <=5.12 __alloc_pages_nodemask, 5.13-6.9 __alloc_pages, 6.10+
    # __alloc_pages_noprof, 2025+ __alloc_frozen_pages_noprof; the slow path is inlined in some builds, so
    # the WARN's RIP reads either name: one canonical name for all of them.
    ("__alloc_pages", "__alloc_pages_nodemask", "__alloc_pages_noprof", "__alloc_frozen_pages_noprof",
     "__alloc_frozen_pages", "__alloc_pages_slowpath", "__alloc_pages_internal"),
    ("alloc_pages", "alloc_pages_current", "alloc_pages_noprof"),
    ("alloc_pages_mpol", "alloc_pages_mpol_noprof", "alloc_frozen_pages_mpol_noprof"),
    ("__alloc_pages_node", "__alloc_pages_node_noprof"),
    ("folio_alloc", "__folio_alloc", "__folio_alloc_noprof", "folio_alloc_noprof"),
    ("vma_alloc_folio", "vma_alloc_folio_noprof", "alloc_pages_vma"),
    ("filemap_alloc_folio", "__page_cache_alloc", "filemap_alloc_folio_noprof", "__filemap_alloc_folio"),
    ("__filemap_get_folio", "pagecache_get_page", "__filemap_get_folio_mpol"),
    ("filemap_add_folio", "add_to_page_cache_lru"),
    ("__filemap_add_folio", "__add_to_page_cache_locked"),
    ("filemap_remove_folio", "delete_from_page_cache"),
    ("kmalloc_trace", "kmem_cache_alloc_trace", "__kmalloc_cache_noprof", "kmalloc_trace_noprof"),
    ("kmalloc_node_trace", "kmem_cache_alloc_node_trace", "__kmalloc_cache_node_noprof"),
    ("__kmalloc_node", "__kmalloc_node_noprof", "__do_kmalloc_node"),
    # reclaim
    ("shrink_folio_list", "shrink_page_list"),
    ("fs_reclaim_acquire", "__fs_reclaim_acquire"),
    ("fs_reclaim_release", "__fs_reclaim_release"),
    ("folio_referenced", "page_referenced"),
    ("filemap_release_folio", "try_to_release_page"),
    ("mapping_evict_folio", "invalidate_inode_page"),
    ("truncate_inode_folio", "truncate_inode_page"),
    # page -> folio waits, locks and dirtying
    ("folio_wait_writeback", "wait_on_page_writeback"),
    ("folio_wait_bit_common", "wait_on_page_bit_common"),
    ("folio_wait_bit", "wait_on_page_bit"),
    ("__folio_lock", "__lock_page"),
    ("folio_lock", "lock_page"),
    ("folio_end_writeback", "end_page_writeback"),
    ("folio_mark_dirty", "set_page_dirty"),
    ("filemap_dirty_folio", "__set_page_dirty_nobuffers"),
    ("block_dirty_folio", "__set_page_dirty_buffers"),
    ("folio_mark_accessed", "mark_page_accessed"),
    ("folio_put", "put_page"),
    ("__folio_put", "__put_page"),
    ("writepage_cb", "__writepage"),
    # block layer
    ("submit_bio_noacct", "generic_make_request"),
    ("submit_bio_checks", "generic_make_request_checks"),
    # buffer heads
    ("bdev_getblk", "__getblk_gfp"),
]
RENAMES: dict[str, str] = {name: group[0] for group in _RENAME_GROUPS for name in group}

# Mechanical renames, applied after RENAMES when the exact name is not in it: (regexp, replacement).
SUFFIX_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\w+)_noprof$"), r"\1"),                           # 6.10 alloc tagging: kmalloc_noprof, ...
    (re.compile(r"^(?:__x64|__ia32|__arm64|__riscv|__s390x?|__se|__do|__powerpc)_(?:compat_)?sys_(\w+)$"), r"sys_\1"),
    (re.compile(r"^(?:SyS|SYSC|sys|compat_SyS|compat_sys|__sys)_(\w+)$"), r"sys_\1"),  # <=4.16 wrappers, __sys_*
]

# Every compiler suffix and clone number: ".clone.3", ".prop.0", ".123" as well.
_SUFFIX_EXTRA = COMPILER_SUFFIXES | {"clone", "prop"}


def canonical(func: str) -> str:
    """One name for a kernel function across versions and compilers (``''`` for a non-str)."""
    if not isinstance(func, str):
        return ""
    return _canonical(func)


@by_name
def _canonical(func: str) -> str:
    name = func.strip()
    if "." in name:                     # (no suffix to strip in a name without a dot: most are so)
        name = strip_tokens(strip_suffix(name), _SUFFIX_EXTRA, True)
    if name in RENAMES:
        return RENAMES[name]
    if not ("_noprof" in name or "sys_" in name or "SyS_" in name or "SYSC_" in name):
        return name     # every match of a SUFFIX_RULES row holds one of these (a ``sub`` parses its template each call)
    for rx, repl in SUFFIX_RULES:
        new = rx.sub(repl, name)
        if new != name:
            return RENAMES.get(new, new)
    return name


canonical_name = _canonical       # ``canonical`` of a str: one table lookup (what a loop over many frames calls)


# Frames that are plumbing, not the bug, by kind: whole-name regexps over the canonical name.
SKIP_TABLE: dict[str, str] = {
    "reporting": r"""
        dump_stack\w* __dump_stack show_stack dump_backtrace show_regs\w* show_trace\w* print_\w+ printk\w*
        vprintk\w* _printk panic nmi_panic check_panic_on_warn __warn\w* warn_slowpath\w* warn_alloc report_bug
        handle_bug exc_invalid_op asm_exc_\w+ do_error_trap do_invalid_op do_trap invalid_op fixup_bug die
        __die\w* oops_\w+ do_trap_no_signal exc_general_protection general_protection page_fault_oops
        kernelmode_fixup_or_oops do_user_addr_fault exc_page_fault handle_page_fault __bad_area\w* bad_area\w*
        no_context do_page_fault page_fault do_kernel_fault __do_kernel_fault do_mem_abort do_bad_area
        do_translation_fault do_el1_\w+ el1h?_\w+ brk_handler bug_brk_handler call_el1_break_hook
        call_break_hook do_debug_exception arm64_notify_die bug_handler __bug_\w+ nmi_cpu_backtrace\w*
        nmi_trigger_cpumask_backtrace arch_trigger_cpumask_backtrace trigger_\w+_backtrace __fortify_\w+
        fortify_panic usercopy_abort __check_object_size check_heap_object check_\w+_object
        __list_\w+_valid\w* __list_\w+_report refcount_warn_saturate lockdep_rcu_suspicious""",
    "sanitizers": r"""
        kasan_\w+ __kasan_\w+ ____kasan_\w+ __asan_\w+ asan_\w+ kmsan_\w+ __msan_\w+ ubsan_\w+ __ubsan_\w+
        kcsan_\w+ __kcsan_\w+ __tsan_\w+ kfence_\w+ __kfence_\w+ check_memory_region\w* memcpy memset memmove
        __memcpy __memset __memmove instrument_\w+ __check_\w+_region kmemleak_\w+""",
    "fault-injection": r"""should_fail\w* __should_fail\w* should_failslab fail_dump""",
    "locking": r"""
        lock_acquire __lock_acquire lock_release __lock_release lock_acquired lock_contended lock_is_held\w*
        validate_chain check_prevs?_add check_noncircular check_irq_usage check_deadlock check_path
        check_usage\w* mark_lock\w* mark_usage mark_held_locks valid_state mark_irqflags check_wait_context
        lockdep_\w+ __lockdep_\w+ register_lock_class assign_lock_key look_up_lock_class debug_check_no_\w+
        _raw_\w+ __raw_\w+ do_raw_\w+ queued_\w+ native_queued_spin_lock_slowpath __pv_queued_spin_lock_slowpath\w*
        pv_queued_spin_lock_slowpath (?:raw_)?spin_(?:un)?lock\w* (?:raw_)?read_(?:un)?lock\w*
        (?:raw_)?write_(?:un)?lock\w* (?:down|up)_(?:read|write)\w* down up down_\w+ __down\w* ___down\w*
        rwsem_\w+ __rwsem_\w+ mutex_lock\w* __mutex_lock\w* mutex_unlock\w* __mutex_unlock\w* mutex_trylock\w*
        rt_mutex_\w+ __rt_mutex_\w+ rwbase_\w+ rtlock_\w+ rt_(?:spin|read|write)_\w+ _?atomic_dec_and_\w*lock\w*
        percpu_(?:down|up)_\w+ __percpu_(?:down|up)_\w+ __might_sleep ___might_sleep __might_resched
        __might_fault might_fault might_sleep might_alloc rcu_lock_acquire rcu_read_lock\w*""",
    "scheduler": r"""
        context_switch __schedule\w* schedule schedule_\w+ io_schedule\w* preempt_schedule\w* __cond_resched\w*
        _cond_resched __switch_to\w* switch_to finish_task_switch\w* wait_for_completion\w* __wait_for_common
        wait_for_common\w* do_wait_for_common bit_wait\w* out_of_line_wait_on_bit\w* __wait_on_bit\w*
        wait_on_bit\w* __wait_rcu_gp synchronize_rcu\w*""",
    "allocator": r"""
        __alloc_pages alloc_pages alloc_pages_mpol __alloc_pages_node alloc_pages_node __alloc_pages_\w+
        folio_alloc\w* alloc_frozen_pages\w* get_page_from_freelist rmqueue\w* __rmqueue\w* prep_new_page
        post_alloc_hook _*kmalloc\w* _*do_kmalloc\w* _*kmem_cache_\w*alloc\w* _*slab_alloc\w* new_slab\w*
        filemap_alloc_folio slab_pre_alloc_hook slab_post_alloc_hook kzalloc\w* kcalloc\w* krealloc\w*
        __krealloc kvmalloc\w* __kvmalloc\w* kvzalloc\w* kvcalloc\w* kmemdup\w* kstrdup\w* vmalloc\w*
        __vmalloc\w* vzalloc\w* alloc_slab_page allocate_slab cache_grow_begin fallback_alloc ____cache_alloc\w*
        __do_cache_alloc kmem_getpages fs_reclaim_\w+ __fs_reclaim_\w+""",
    "entry": r"""
        do_syscall_\w+ entry_SYSCALL\w* ret_from_fork\w* el0_\w+ el0t_\w+ invoke_syscall __invoke_syscall
        do_el0_svc\w* asm_sysvec_\w+ sysvec_\w+ __sysvec_\w+ asm_common_interrupt common_interrupt irq_exit\w*
        __irq_exit_rcu do_softirq\w* __do_softirq handle_softirqs run_ksoftirqd smpboot_thread_fn kthread
        call_timer_fn expire_timers __run_timers\w* run_timer_\w+ __hrtimer_run_queues hrtimer_interrupt
        tick_sched\w* update_process_times""",
}
SKIP_PATTERNS: list[str] = [p for group in SKIP_TABLE.values() for p in group.split()]
SKIP = re.compile("(?:" + "|".join(SKIP_PATTERNS) + r")\Z")


def _literal_head(alt: str) -> str | None:
    """The first character of the regexp ``alt`` when it is a letter, digit or "_" matched once, else None."""
    c = alt[:1]
    if c.isascii() and (c.isalnum() or c == "_") and alt[1:2] not in ("*", "+", "?", "{"):
        return c
    return None


def _factored(alternatives: list[str]) -> str:
    """The alternation of ``alternatives``, those that start with the same literal character written as one
    (``ab|ac`` -> ``a(?:b|c)``, and so on down): ``re`` tries the alternatives of a branch in turn, so a name is
    tested against the ~30 first characters, not the 257 patterns."""
    tails: dict[str, list[str]] = {}
    order: list[str] = []
    for alt in alternatives:
        c = _literal_head(alt)
        if c is None:
            order.append(alt)
        elif c in tails:
            tails[c].append(alt[1:])
        else:
            tails[c] = [alt[1:]]
            order.append(c)
    return "|".join(alt if _literal_head(alt) != alt or alt not in tails else
                    alt + tails[alt][0] if len(tails[alt]) == 1 else alt + "(?:" + _factored(tails[alt]) + ")"
                    for alt in order)


# SKIP with its alternatives factored (the same names: 8.6 -> 4.6 k instructions a name)
_SKIP_FACTORED = re.compile("(?:" + _factored(SKIP_PATTERNS) + r")\Z")
_skipped = by_name(lambda name: _SKIP_FACTORED.match(name) is not None)     # (once per name)

_CRASH_LABELS = frozenset({"crash", "irq", "nmi"})
_FUNCTION = attrgetter("function")
_STACK = attrgetter("stack")
_IS_FRAME = Frame.__instancecheck__      # ``isinstance(f, Frame)``
_IS_STR = str.__instancecheck__
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_TITLE_FUNC = re.compile(r"\bin ([A-Za-z_][\w.]*)\s*$")


def _crash_run(frames: list[Frame]) -> Iterator[Frame]:
    """The crashing trace: the first contiguous run of crash/irq/nmi frames (else the first stack), read as the
    caller goes (the signature needs its first few frames only)."""
    stacks = list(map(_STACK, frames))
    # (the first crash/irq/nmi label: C-level steps, no Python step a frame)
    start = next(compress(count(), map(_CRASH_LABELS.__contains__, stacks)), None)
    if start is None:
        if not frames:
            return iter(())
        start, labels = 0, {stacks[0]}
    else:
        labels = _CRASH_LABELS
    # each frame while its label is one of ``labels`` (``zip`` stops with the labels' ``takewhile``, the shorter)
    return map(_SECOND, zip(takewhile(labels.__contains__, islice(stacks, start, None)), islice(frames, start, None),
                            strict=False))


def signature(frames: Iterable[Frame], title: str | None = None, length: int = SIGNATURE_LEN) -> list[str]:
    """Canonical names of the bug's own frames in the crashing trace (plumbing in ``SKIP`` dropped).

    If ``title`` ends in ``... in FUNC`` and FUNC is in the trace, the signature starts there (syzbot names
    a bug after its first non-plumbing frame); with no frames at all it is ``[FUNC]``.
    """
    try:
        frames = list(filter(_IS_FRAME, frames))
    except TypeError:
        frames = []
    funcs = list(map(_FUNCTION, _crash_run(frames)))
    canon = _canonical if all(map(_IS_STR, funcs)) else canonical
    # the canonical names but the empty ones; the skip test (a regexp of ~250 names, per name) only for those the
    # signature reads: from the title's function on (it is one of the names kept, no skipped one, when present),
    # up to ``length`` names kept; each run of equal names once (inline expansions and renamed twins). C-level
    # steps (``islice`` over ``groupby``), no Python step a frame.
    canon_names = list(filter(None, map(canon, funcs)))
    title_func = None
    if isinstance(title, str):
        m = _TITLE_FUNC.search(title[:500])
        if m:
            title_func = canonical(m.group(1))
    if length <= 0:                 # (none, or a count from the end: every name read, as the slices say)
        names = list(map(_FIRST, groupby(filterfalse(_skipped, canon_names))))
        if title_func and title_func in names:
            return names[names.index(title_func):][:length]
        return [title_func] if not names and title_func and title_func != UNREAD_FRAME else names[:length]
    first = 0
    if title_func and title_func in canon_names and not _skipped(title_func):
        first = canon_names.index(title_func)   # (its first place: no equal name before it to run into)
    names = list(map(_FIRST, islice(groupby(filterfalse(_skipped, islice(canon_names, first, None))), length)))
    if not names and title_func and title_func != UNREAD_FRAME:
        names = [title_func]
    return names


def foldable(signature: list[str], title: str | None) -> bool:
    """Whether the signature says enough to fold reports on it (see the module doc)."""
    if len([f for f in signature if f and f != UNREAD_FRAME]) < MIN_FOLD_FRAMES:
        return False
    return not frameless(title)
