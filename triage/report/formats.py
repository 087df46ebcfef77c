"""The oops table: every kind of kernel crash report is one row here, not a branch in the parser.

This follows syzkaller's ``pkg/report/linux.go`` (the reference for syzbot's titles): an ``Oops`` is the header
text that announces a report on one console line plus the lines that look alike but are not crashes
(suppressions); each has ``OopsFormat`` rows, tried against the extracted report, the earliest match wins:

- ``title``: regexp that must match; ``report``: optional stricter regexp whose groups feed ``fmt``
  (no match => the report is corrupted);
- ``fmt``: Go-style format (``%[2]v`` = the second argument); arguments are the regexp groups, then the
  guilty stack frame picked by ``stack`` (``StackFmt``: regexps matched in order over the lines, a
  ``PARSE_STACK`` marker meaning "read a stack trace here", frame-skip regexps, an optional extractor);
- ``alt``: alternative titles (syzbot's cross-type aliases such as ``bad-access in X``);
- ``type``: syzkaller's crash type name; ``no_stack``: no stack trace is expected; ``corrupted``: a match means
  the report is damaged (e.g. only the second half of a two-printk header survived).

Templates inside regexps: ``{{ADDR}}``, ``{{PC}}`` (``[<ffffffff81234567>]``), ``{{FUNC}}`` (a function name followed
by ``.`` or ``+``, captured), ``{{SRC}}`` (``file.c:123``, captured).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from triage.report.wordset import RegexpSet, alternatives, required_literals


def compile_re(rx: str) -> re.Pattern[str]:
    """Expand the syzkaller regexp templates and compile (a multi-line title regexp as a ``LinesPattern``)."""
    rx = rx.replace("{{ADDR}}", r"0x[0-9a-f]+")
    rx = rx.replace("{{PC}}", r"\[\<?(?:0x)?[0-9a-f]+\>?\]")
    rx = rx.replace("{{FUNC}}", r"([a-zA-Z0-9_]+)(?:\.|\+)")
    rx = rx.replace("{{SRC}}", r"([a-zA-Z0-9-_/.]+\.[a-z]+:[0-9]+)")
    if LinesPattern.SKIP in rx and "^" not in rx and "$" not in rx:
        return LinesPattern(rx)  # type: ignore[return-value]   (it has the one method the table's users call)
    return re.compile(rx)


class LinesPattern:
    """A regexp ``HEAD(?:.*\n)+?PART1(?:.*\n)+?PART2...`` (syzkaller's "HEAD, then on some later line PART1, then
    on a later line PART2"), searched in linear time with the same result as ``re.search``.

    ``re`` retries such a regexp from every place ``HEAD`` matches, each time reading every line after it:
    quadratic when the later parts are missing (a KASAN header repeated 6,000 times took 37 s). Whether the parts
    follow depends only on the line ``HEAD`` ends on (``(?:.*\n)+?`` skips the rest of any line), and a later line
    leaves fewer lines after it: if the parts do not follow the first ``HEAD``, they follow none. So ``search``
    finds the first ``HEAD``, checks each part's first line after the previous one (one search per part), and
    only then runs the whole regexp, anchored there, to get the match (which then needs no backtracking)."""

    SKIP = "(?:.*\\n)+?"

    def __init__(self, rx: str):
        self.pattern = rx
        self.full = re.compile(rx)
        head, *parts = rx.split(self.SKIP)
        self.head = re.compile(head)
        self.parts = [re.compile("^(?:" + p + ")", re.M) for p in parts]
        # A part ".*X" (no "|" at its top) matches at the start of the first line after the previous one that holds
        # a match of X: where ``re`` tries ".*X" at every character, X alone is found by its first character.
        self.inner = [re.compile(_after_any(p), re.M) if _after_any(p) is not None else None for p in parts]
        # X starting with no literal (re tries it at every character) but holding one, on X's first line: the lines
        # holding that literal are the only ones where the part can match.
        self.needs = [_line_literal(x) for x in self.inner]

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        m = self.head.search(text, pos)
        return None if m is None else self._from(text, m)

    def match(self, text: str) -> re.Match[str] | None:
        """``re.match``: the match starting at the text's start, if any (HEAD there, then the parts as ``search``)."""
        m = self.head.match(text)
        return None if m is None else self._from(text, m)

    def _from(self, text: str, m: re.Match[str]) -> re.Match[str] | None:
        """The match starting where the head match ``m`` does, if the parts follow (none otherwise)."""
        end = m.end()
        for part, inner, need in zip(self.parts, self.inner, self.needs, strict=True):
            nl = text.find("\n", end)
            if nl < 0:
                return None
            if inner is None:
                found = part.search(text, nl + 1)
            elif need is not None:
                found = None
                at = text.find(need, nl + 1)
                while at >= 0:
                    lo = text.rfind("\n", 0, at) + 1
                    found = part.match(text, lo)
                    if found is not None:
                        break
                    hi = text.find("\n", at)
                    at = text.find(need, hi) if hi >= 0 else -1
            else:
                found = inner.search(text, nl + 1)
                if found is not None:       # the part's own match, at the start of the line holding X
                    found = part.match(text, text.rfind("\n", 0, found.start()) + 1)
            if found is None:
                return None
            end = found.end()
        return self.full.match(text, m.start())


def _line_literal(x: re.Pattern[str] | None) -> str | None:
    """A literal text every match of ``x`` holds, on the line the match starts on (nothing before it in ``x`` can
    read a newline), when ``x`` does not itself start with a literal; else None."""
    if x is None or any(t in x.pattern for t in ("\n", "\\n", "\\s", "\\S", "\\W", "\\D", "[^", "(?s")):
        return None
    from re import _parser as sre_parse  # (Python >= 3.11: required_literals's parser)
    first = list(sre_parse.parse(x.pattern, x.flags))[:1]
    if not first or first[0][0] is sre_parse.LITERAL:
        return None             # (it starts with a literal: re's own search looks for it first)
    found = required_literals(x)
    return found[0] if found is not None and len(found) == 1 and found[0].strip() else None


def _after_any(part: str) -> str | None:
    """X of a part ".*X" or ".*?X" that has no alternatives at its top (None for another part)."""
    x = part[3:] if part.startswith(".*?") else part[2:] if part.startswith(".*") else None
    if x is None or len(alternatives(part)) > 1 or x[:1] in ("*", "+", "?", "{"):
        return None
    return x


# A marker part: "parse a stack trace from here".
PARSE_STACK = re.compile(r"(?!x)x")

FrameExtractor = Callable[[list[str]], tuple[str, int]]


@dataclass
class StackFmt:
    parts: list[re.Pattern[str]]
    parts2: list[re.Pattern[str]] = field(default_factory=list)   # tried when ``parts`` finds no frame
    skip: list[str] = field(default_factory=list)                 # frame-skip regexps (searched, not anchored)
    extractor: str | None = None                                  # name in EXTRACTORS (stall / hang)
    global_skip: bool = True                                      # False: SKIP_PATTERNS not applied (old eras)


@dataclass
class OopsFormat:
    title: re.Pattern[str]
    fmt: str
    report: re.Pattern[str] | None = None
    alt: list[str] = field(default_factory=list)
    stack: StackFmt | None = None
    no_stack: bool = False
    corrupted: bool = False
    type: str | None = None                                       # None: the oops' default type
    since: str | None = None                                      # era (ISO day) the row came into use
    until: str | None = None                                      # era it went out of use (historical rows)


@dataclass
class Oops:
    header: str
    formats: list[OopsFormat]
    suppressions: list[re.Pattern[str]] = field(default_factory=list)
    type: str = ""
    since: str | None = None                                      # era syzkaller began to know this header

    def __post_init__(self) -> None:
        # One alternation instead of a loop: a log with a million suppressed lines stays fast.
        self.suppressed = re.compile("|".join(f"(?:{s.pattern})" for s in self.suppressions)).search \
            if self.suppressions else (lambda _line: None)


# ---------------------------------------------------------------------------------------------------------
# Eras of syzkaller's rules (ISO days, compared with triage.report.era.kernel_date of the report's kernel).
# Each change is bounded by syzbot titles made before and after it (quoted next to the rows that use it);
# the day chosen lies between the two.

ERA_TASK_HUNG_IN = "2017-10-01"      # before: "INFO: task hung" (no frame)
ERA_STACK_TITLES = "2017-12-01"      # before: KASAN / WARNING titles name the header's function, GPF the RIP's
ERA_INVALID_FREE = "2018-09-01"      # before: "KASAN: double-free or invalid-free in X"
ERA_RCU_USAGE_IN = "2018-04-15"      # before: "suspicious RCU usage at FILE:LINE"
ERA_LOCK_STATE_IN = "2018-11-15"     # before: "WARNING: inconsistent lock state" (no frame)
ERA_USB_URB_CALLER = "2019-03-01"    # before: "WARNING in usb_submit_urb" (no caller)
ERA_SLEEPING_IN = "2019-07-01"       # before: "BUG: sleeping function called from invalid context at FILE:LINE"
ERA_DENTRY_IN = "2019-12-01"         # before: "BUG: Dentry still in use [unmount of X]"
ERA_DOUBLE_FAULT = "2019-07-03"      # from: "PANIC: double fault" starts a report
ERA_PREEMPTIBLE_IN = "2020-01-15"    # before: "BUG: using smp_processor_id() in preemptible [ADDR] code: comm/NUM"
ERA_LOCKS_HELD_IN = "2020-09-01"     # before: "WARNING: syz-executor still has locks held!"
ERA_KERNEL_BUG_IN = "2020-12-01"     # before: "kernel BUG at FILE:LINE!"
ERA_NAMES_KEEP_DIGITS = "2021-02-04"  # before: 5+ digit runs inside names became NUM
ERA_ZERO_VMALLOC = "2021-06-01"      # before: zero-size vmalloc warnings were "WARNING in __vmalloc_node_range"
# While in force: a report cut by a second one before its stack took its frames from past the cut ("INFO: rcu
# detected stall in sys_open", Oct 2020; "WARNING: nested lock was not taken in ntfs_set_size", Dec 2022), not
# before ("BUG: unable to handle kernel NULL pointer dereference in corrupted", July 2018) nor today.
ERA_READ_PAST_SECOND_REPORT = ("2019-08-15", "2023-04-01")
ERA_ALL_NUMBERS = "2021-08-01"       # from: every number in a title is NUM

# ---------------------------------------------------------------------------------------------------------
# Stack reading parameters.

STACK_START = [compile_re(r) for r in (
    r"Call (?:T|t)race",
    r"Allocated:",
    r"Allocated by task [0-9]+:",
    r"Freed:",
    r"Freed by task [0-9]+:",
    r"[^k] backtrace(?: \(crc [0-9a-f]+\))?:",   # 'backtrace:' but not 'stack backtrace:'
    r"Backtrace:",
    r"Uninit was stored to memory at",
)]

FRAME_RES = [
    compile_re(r"^ *(?:{{PC}} ){0,2}{{FUNC}}"),
    # arm: both the current and the next frame (the top frame is only in LR).
    compile_re(r"^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \({{FUNC}}"),
]

STACK_START_ANY = re.compile("|".join(f"(?:{r.pattern})" for r in STACK_START))

# Frames never taken as the guilty one (reporting, sanitizer, allocator, locking, string and list plumbing).
SKIP_PATTERNS = [
    "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
    "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
    "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op", "report_bug",
    "fixup_bug", "print_report", "print_usage_bug", "do_error", "invalid_op", "_trap$|do_trap_", "show_stack",
    "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath", "warn_alloc", "warn_bogus", "__warn",
    "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab", "folio_(?:alloc|unlock)",
    "filemap_alloc_folio", "__filemap_get_folio", "find_or_create_page", "do_read_cache_folio",
    "read_cache_page", "pagecache_get_page", "grab_cache_page_write_begin", "slab_", "debug_object",
    "timer_is_static_object", "work_is_static_object", "__might_fault", "print_unlock", "imbalance_bug",
    "lockdep", "bh_enable", "bh_disable", "perf_trace", "lock_acquire", "lock_release", "lock_class",
    "mark_lock", "(reacquire|mark)_held_locks", "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock",
    "read_lock", "read_trylock", "write_lock", "write_trylock", "read_unlock", "write_unlock", "^down$",
    "_raw_spin", "_raw_read", "_raw_write", "down_read", "down_write", "down_trylock", "up_read", "up_write",
    "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu",
    "osq_lock", "osq_unlock", "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
    "(set|clear|change|test)_bit", "__wake_up", "memcpy", "memcmp", "memset", "memchr",
    "memmove", "memdup", "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strstr",
    "strnstr", "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
    "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter", "^copyin$",
    "^copyout$", "put_user", "get_user", "might_fault", "might_sleep", "might_resched", "list_add", "list_del",
    "list_replace", "list_move", "list_splice", "^rb_", "^__rb_", "_indirect_thunk_", "string", "pointer",
    "snprintf", "scnprintf", "kasprintf", "kvasprintf", "printk", "va_format", "dev_info", "dev_notice",
    "dev_warn", "dev_err", "dev_alert", "dev_crit", "dev_emerg", "program_check_exception",
    "program_check_common", "del_timer", "flush_work", "__cancel_work_timer", "cancel_work_sync",
    "try_to_grab_pending", "flush_workqueue", "drain_workqueue", "destroy_workqueue", "queue_work",
    "finish_wait", "kthread_stop", "kobject_", "add_uevent_var", "get_device_parent", "device_add",
    "device_del", "device_unregister", "device_destroy", "device_release", "devres_release_all",
    "hwrng_unregister", "i2c_del_adapter", "__unregister_client", "device_for_each_child",
    "rollback_registered", "unregister_netdev", "unregister_netdevice", "netif_napi_del", "refcount_",
    "kref_", "ref_tracker", "seqprop_assert", "memcpy_from_page", "memcpy_to_page", "stack_trace_save",
    "__napi_schedule", "napi_schedule", "^hrtimer_", "__timer_delete", "trace_hardirqs", "taint", "fortify",
    "kfree", "klist_", "^xas_", "hex_dump", "crc", "__phys_addr", "^(?:__)?die(?:_body)?$", "usb_submit_urb",
    "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg", "sysfs_remove",
    "device_remove_file", "stack_trace", "stack_walk", "unlock_page", "put_device", "alloc_frozen_pages",
    "__do_kernel_fault", "do_tag_check_fault", "do_mem_abort", "el1_abort", "el1_sync", "el1h_64_sync", "do_bad_area",
    "do_translation_fault", "wait_for_completion", "insert_work", "find_lock_entries", "truncate_inode_pages", "dput",
    "mark_buffer_dirty",
    # syzkaller's list has since gained these (pkg/report/linux.go after 2025-11-10; those a pattern above does not
    # already hold): the frames of generic code many reports pass through (inode puts, delayed work, timers, MMIO)
    "tty_unregister_device", "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_hcd_submit_urb",
    "^complete$", "readb$", "readw$", "readl$", "readq$", "writeb$", "writew$", "writel$", "writeq$", "logic_in",
    "logic_out", "assertfail", "^iput$", "^iput_final$", "^ihold$", "(trace|lockdep)_(hard|soft)irq",
    "^(un)?lock_page", "__queue_delayed_work", "queue_delayed_work_on", "ida_free", "do_(kernel|translation)_fault",
    "cleanup_srcu_struct", "rhashtable_lookup", "extract_(user|iter)_to_sg", "drop_nlink", "lock_timer_base",
    "sk_stop_timer_sync", "__mod_timer",
]

# Seeing such a line while reading a stack means the stack is mixed with another one (fault injection).
CORRUPTED_LINES = [compile_re(r"^( \[\<?(?:0x)?[0-9a-f]+\>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x")]
CORRUPTED_LINE_ANY = re.compile("|".join(f"(?:{r.pattern})" for r in CORRUPTED_LINES))

# Syscall-entry prefixes stripped from frames, in order (each step gives an alternative title).
STRIP_FRAME_PREFIXES = [
    "SYSC_", "SyS_", "__se_", "sys_", "__x64_", "__ia32_", "__arm64_", "__riscv_", "__s390x_", "____sys_",
    "___sys_", "__sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
]

# Frame names unified so that one root cause gets one title.
FRAME_CANON = [
    (re.compile(r"^_*synchronize_(?:rcu|srcu|net|sched).*"), "synchronize_rcu"),
    (re.compile(r"^smp_call_function.*"), "smp_call_function"),
]

# Where a stall's loop is dispatched from (searched in the frame name): the guilty frame is the one just above,
# e.g. the protocol handler above netif_receive_skb, the device ioctl above vfs_ioctl, the syscall above its entry.
STALL_ANCHORS = [re.compile(r) for r in (
    # syscall entry
    r"do_syscall_", r"do_fast_syscall_", r"do_int80_syscall", r"sysenter_dispatch", r"tracesys_phase2",
    r"el0_svc", r"invoke_syscall", r"ret_fast_syscall", r"system_call_fastpath", r"^entry_SYSCALL",
    r"^entry_SYSENTER", r"^entry_INT80", r"^x64_sys_call", r"^ia32_sys_call",
    # deferred work, interrupts, kernel threads
    r"^process_one_work", r"^_*do_softirq", r"^handle_softirqs", r"^call_timer_fn", r"^task_work_run",
    r"^run_ksoftirqd", r"^kthread$", r"^ret_from_fork",
    # generic dispatchers: the caller is the specific handler (protocol, device, file type, netlink family)
    r"^_*netif_receive_skb", r"^rtnetlink_rcv_msg", r"^nfnetlink_rcv_msg", r"^netlink_dump", r"^do_vfs_ioctl",
    r"^vfs_ioctl", r"compat_ioctl", r"^(?:compat_)?blkdev_ioctl", r"^sock_ioctl", r"^sock_do_ioctl",
    r"^sock_common_setsockopt", r"^sock_common_getsockopt", r"^sock_sendmsg", r"^sock_write_iter",
    r"^sock_read_iter", r"^vfs_write", r"^vfs_read", r"^do_iter_readv_writev", r"^do_iter_write", r"^do_iter_read",
    r"^new_sync_write", r"^new_sync_read", r"^__vfs_write", r"^__vfs_read", r"^do_dentry_open", r"^__do_fault",
    # generic syscalls (after syscall-prefix stripping): the caller says which device / file
    r"^(?:ioctl|read|write|readv|writev|pread64|pwrite64|splice|sendfile64|setsockopt|getsockopt)$",
    r"^tasklet_action", r"^tasklet_hi_action",
    # syzkaller's list has these too (timers, boot and idle entries, more file and socket operations, page faults,
    # the exit-to-user callbacks)
    r"_run_timers", r"run_timer_softirq", r"hrtimer_run", r"smpboot_thread_fn", r"start_secondary",
    r"cpu_startup_entry", r"vfs_iter_read", r"vfs_iter_write", r"call_read_iter", r"call_write_iter", r"ksys_ioctl",
    r"compat_sys_ioctl", r"blkdev_driver_ioctl", r"^call_mmap", r"mmap_region", r"do_mmap", r"vfs_open",
    r"^sock_recvmsg", r"^sock_release", r"^__sock_release", r"kernel_setsockopt", r"^listen$", r"kernel_listen",
    r"sk_common_release", r"^sock_mmap", r"^accept$", r"kernel_accept", r"^compat_sock_ioctl",
    r"^(sys_)?(socketpair|connect|ioctl)", r"do_page_fault", r"^page_fault$", r"__fput", r"exit_to_usermode",
)]


def linux_stall_extractor(frames: list[str]) -> tuple[str, int]:
    """Stalls loop over several functions; take the frame just above the first dispatch point (anchor), or none
    (("", -1): the stack is taken as corrupted) when no dispatch point is in it."""
    prev, prev_idx = frames[0], 0
    for i, frame in enumerate(frames):
        if "smp_call_function" in frame:
            return frame, i
        if _stall_anchor(frame):
            return prev, prev_idx
        prev, prev_idx = frame, i
    return "", -1


_STALL_ANCHOR_SET = RegexpSet(tuple(a.pattern for a in STALL_ANCHORS))


def _stall_anchor(frame: str) -> bool:
    """``any(a.search(frame) for a in STALL_ANCHORS)``: one RE2 pass for all the anchors (50 searches a frame
    otherwise), where RE2 answers for every anchor and the frame."""
    hits = _STALL_ANCHOR_SET.matching(frame) if _STALL_ANCHOR_SET.usable_all() else None
    return bool(hits) if hits is not None else any(a.search(frame) for a in STALL_ANCHORS)


_HANG_ANCHORS = ("rtnl_lock", "synchronize_rcu", "synchronize_srcu", "synchronize_net", "synchronize_sched")
_HANG_SKIP = ("sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait", "synchronize",
              "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier")


def linux_hang_extractor(frames: list[str]) -> tuple[str, int]:
    """Hung tasks sit in a victim's wait; group the common rtnl_lock / synchronize_rcu buckets first."""
    for i, frame in enumerate(frames):
        if any(a in frame for a in _HANG_ANCHORS):
            return frame, i
    for i, frame in enumerate(frames):
        if not any(s in frame for s in _HANG_SKIP):
            return frame, i
    return "", -1


EXTRACTORS: dict[str, FrameExtractor] = {"stall": linux_stall_extractor, "hang": linux_hang_extractor}

# ---------------------------------------------------------------------------------------------------------
# Shared pieces of the table.

RIP_FRAME = compile_re(
    r"(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|"
    r"(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))")
CALL_TRACE = compile_re(r"(?:Call (?:T|t)race:)|(?:Backtrace:)")


# The timer-interrupt path a stall report is printed from is never the culprit.
STALL_SKIP = ["apic_timer_interrupt", "rcu", "nmi_", "backtrace", "tick_", "update_process_times",
              "handle_.*irq", "irq_svc", "gic_handle_irq", "arch_timer_handler", "hrtimer", "__irq_", "irq_exit"]


def rip_stack(*skip: str, extractor: str | None = None) -> StackFmt:
    return StackFmt(parts=[RIP_FRAME, CALL_TRACE, PARSE_STACK], parts2=[CALL_TRACE, PARSE_STACK],
                    skip=list(skip), extractor=extractor)


def call_stack(*skip: str, extractor: str | None = None) -> StackFmt:
    return StackFmt(parts=[CALL_TRACE, PARSE_STACK], skip=list(skip), extractor=extractor)


def warning_stack(*skip: str) -> StackFmt:
    """WARNING traps: the stack starts at the RIP (x86) / ``--- interrupt:`` (powerpc) line, else Call Trace."""
    return StackFmt(
        parts=[compile_re(r"(?:" + RIP_FRAME.pattern + r"|--- interrupt: [0-9]+ at {{FUNC}})"), PARSE_STACK],
        parts2=[CALL_TRACE, PARSE_STACK], skip=list(skip))


def F(title: str, fmt: str, report: str | None = None, **kw) -> OopsFormat:  # noqa: N802 (table constructor)
    return OopsFormat(title=compile_re(title), fmt=fmt, report=compile_re(report) if report else None, **kw)


# The releasing frame (the "[<address>] func+0x1/0x2" line after "is trying to release lock (x) at:"), then the call
# trace: as syzkaller reads it (a stack's part ends at the next stack's start, so the call trace is a part of its own)
UNLOCK_STACK = StackFmt(parts=[compile_re(r"{{PC}} +{{FUNC}}"), CALL_TRACE, PARSE_STACK])
LOCKDEP = "LOCKDEP"
HANG = "HANG"

# ---------------------------------------------------------------------------------------------------------
# The table.

OOPSES: list[Oops] = [
    Oops("BUG:", [
        # 2017-2018: "KASAN: double-free or invalid-free in relay_open" (Nov 2017); "KASAN: invalid-free in
        # disconnect_rio" (Apr 2019).
        F(r"BUG: KASAN: double-free or invalid-free in {{FUNC}}", "KASAN: double-free or invalid-free in %[1]v",
          until=ERA_STACK_TITLES, type="KASAN-INVALID-FREE"),
        F(r"BUG: KASAN: double-free or invalid-free in {{FUNC}}", "KASAN: double-free or invalid-free in %[2]v",
          stack=StackFmt(parts=[compile_re(r"BUG: KASAN: double-free or invalid-free in {{FUNC}}"), CALL_TRACE,
                                PARSE_STACK], skip=["slab_", "kfree", "vunmap", "vfree", "kvfree", "kmem_cache_free"]),
          since=ERA_STACK_TITLES, until=ERA_INVALID_FREE, type="KASAN-INVALID-FREE"),
        F(r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}",
          "KASAN: invalid-free in %[2]v", alt=["invalid-free in %[2]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free)"
                                           r" in {{FUNC}}"), CALL_TRACE, PARSE_STACK],
                         skip=["slab_", "kfree", "vunmap", "vfree", "kvfree", "kmem_cache_free"]),
          type="KASAN-INVALID-FREE"),
        # Before stack titles (late 2017) the header named the function: "KASAN: use-after-free Read in
        # __list_add_valid" (Sept 2017), "... in __lock_acquire" (Nov 2017).
        F(r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)",
          "KASAN: %[1]v %[3]v in %[2]v", type="KASAN", until=ERA_STACK_TITLES),
        F(r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)",
          "KASAN: %[1]v %[3]v in %[4]v", alt=["bad-access in %[4]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}"), CALL_TRACE, PARSE_STACK],
                         parts2=[CALL_TRACE, PARSE_STACK]), type="KASAN"),
        F(r"BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+)",
          "KASAN: %[1]v %[2]v", corrupted=True, type="KASAN"),
        F(r"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(?:Read|Write)? ?at addr ([0-9a-f]+)",
          "KASAN: %[1]v in %[2]v at addr %[3]v", type="KASAN",
          stack=StackFmt(parts=[compile_re(r"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}"), CALL_TRACE, PARSE_STACK])),
        F(r"BUG: KASAN: (.*)", "KASAN: %[1]v", corrupted=True, type="KASAN"),
        F(r"BUG: KMSAN: kernel-usb-infoleak", "KMSAN: kernel-usb-infoleak in %[2]v",
          report=r"BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}", alt=["bad-access in %[2]v"],
          stack=StackFmt(parts=[CALL_TRACE, PARSE_STACK],
                         skip=["usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg",
                               "usb_control_msg"]), type="KMSAN-INFO-LEAK"),
        F(r"BUG: KMSAN: kernel-infoleak", "KMSAN: kernel-infoleak in %[2]v",
          report=r"BUG: KMSAN: kernel-infoleak in {{FUNC}}", alt=["bad-access in %[2]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KMSAN: kernel-infoleak"), PARSE_STACK],
                         parts2=[CALL_TRACE, PARSE_STACK],
                         skip=["copy_to_user", "copy_from_user", "_copy_to_iter", "copy_page_to_iter",
                               "kmsan_internal", "instrument_copy_to_user", "copy_to_user_nofault",
                               "copyout", "__put_user"]), type="KMSAN-INFO-LEAK"),
        F(r"BUG: KMSAN: ([a-z\-]+) in ", "KMSAN: %[1]v in %[2]v", alt=["bad-access in %[2]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KMSAN: (?:[a-z\-]+) in"), PARSE_STACK],
                         parts2=[CALL_TRACE, PARSE_STACK],
                         # (the generic encryption routines are where the bug is hit, not what it is)
                         skip=["alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$",
                               "^(?:crypto|cipher|drbg|rng)_"]), type="KMSAN"),
        F(r"BUG: KMSAN: (.*)", "KMSAN: %[1]v", corrupted=True, type="KMSAN"),
        # (a race with one known side names one function: "data-race in f", "race at unknown origin" below it)
        F(r"BUG: KCSAN: data-race", "KCSAN: %[1]v", report=r"BUG: KCSAN: (data-race in .*)",
          no_stack=True, type="KCSAN-DATARACE"),
        F(r"BUG: KCSAN: (.*)", "KCSAN: %[1]v", no_stack=True, type="KCSAN-DATARACE", corrupted=True),
        F(r"BUG: KFENCE: (use-after-free|out-of-bounds) ([a-z]+) in {{FUNC}}", "KFENCE: %[1]v %[2]v in %[4]v",
          alt=["bad-access in %[4]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), PARSE_STACK]), no_stack=True,
          type="KFENCE"),
        F(r"BUG: KFENCE: invalid free in {{FUNC}}", "KFENCE: invalid free in %[2]v", alt=["invalid-free in %[2]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), PARSE_STACK]), no_stack=True,
          type="KFENCE-INVALID-FREE"),
        F(r"BUG: KFENCE: invalid (read|write) in {{FUNC}}", "KFENCE: invalid %[1]v in %[3]v",
          alt=["bad-access in %[3]v"],
          stack=StackFmt(parts=[compile_re(r"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), PARSE_STACK]), no_stack=True,
          type="KFENCE"),
        F(r"BUG: KFENCE: memory corruption in {{FUNC}}", "KFENCE: memory corruption in %[2]v",
          stack=StackFmt(parts=[compile_re(r"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), PARSE_STACK]), no_stack=True,
          type="KFENCE-MEMORY-CORRUPTION"),
        F(r"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|"
          r"Unable to handle kernel data access)",
          "BUG: unable to handle kernel paging request in %[1]v", alt=["bad-access in %[1]v"],
          stack=rip_stack(), type="MEMORY_SAFETY_BUG"),
        F(r"BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference, address)",
          "BUG: unable to handle kernel NULL pointer dereference in %[1]v", alt=["bad-access in %[1]v"],
          stack=rip_stack(), type="NULL-POINTER-DEREFERENCE"),
        # The two halves of this header are two printk calls; the second may be lost.
        F(r"BUG: (?:unable to handle kernel|unable to handle)", "BUG: unable to handle kernel", corrupted=True),
        F(r"BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|"
          r"wrong owner|wrong CPU|trylock failure on UP)", "BUG: %[1]v %[2]v in %[3]v",
          stack=call_stack("spin_", "_lock", "_unlock"), type=LOCKDEP),
        F(r"BUG: soft lockup", "BUG: soft lockup in %[1]v", alt=["stall in %[1]v"],
          stack=rip_stack(extractor="stall"), type=HANG),
        F(r"BUG: .*still has locks held!", "BUG: still has locks held in %[1]v",
          report=r"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}", type=LOCKDEP),
        F(r"BUG: scheduling while atomic", "BUG: scheduling while atomic in %[1]v",
          stack=call_stack("schedule"), type="ATOMIC_SLEEP"),
        F(r"BUG: lock held when returning to user space", "BUG: lock held when returning to user space in %[1]v",
          report=r"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held"
                 r"(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}", no_stack=True),
        F(r"BUG: bad unlock balance detected!", "BUG: bad unlock balance in %[1]v", stack=UNLOCK_STACK, type=LOCKDEP),
        F(r"BUG: held lock freed!", "BUG: held lock freed in %[1]v",
          report=r"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}", type=LOCKDEP),
        F(r"BUG: Bad rss-counter state", "BUG: Bad rss-counter state", no_stack=True),
        F(r"BUG: non-zero nr_ptes on freeing mm", "BUG: non-zero nr_ptes on freeing mm", no_stack=True),
        F(r"BUG: non-zero nr_pmds on freeing mm", "BUG: non-zero nr_pmds on freeing mm", no_stack=True),
        # "BUG: Dentry still in use [unmount of nfsd nfsd]" (Aug 2019).
        F(r"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]",
          "BUG: Dentry still in use [%[1]v of %[2]v]", until=ERA_DENTRY_IN),
        F(r"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]",
          "BUG: Dentry still in use in %[1]v", alt=["BUG: Dentry still in use [%[1]v of %[2]v]"]),
        # (a bad page map is reported with the page table entry, not where the page came from: no frame to name)
        F(r"BUG: Bad page map", "BUG: Bad page map"),
        F(r"BUG: Bad page (state|cache)", "BUG: Bad page %[1]v in %[2]v",
          stack=StackFmt(parts=[compile_re(r"page last allocated"), PARSE_STACK], parts2=[CALL_TRACE, PARSE_STACK],
                         skip=["free_", "_free", "put_page", "release_pages", "page_remove_rmap", "zap_",
                               "unmap_", "bad_page", "check_new_page", "free_unref", "print_bad_pte",
                               "vm_normal_page", "prep_new_page", "rmqueue", "get_page_from_freelist",
                               "free_pcp", "destroy_large_folio", "folio_put", "__folio_put", "post_alloc_hook",
                               "get_page_from_freelist", "alloc_pages", "prep_new_page"])),
        F(r"BUG: workqueue lockup", "BUG: workqueue lockup", no_stack=True, type=HANG),
        # "BUG: sleeping function called from invalid context at mm/slab.h:LINE" (Dec 2018), "... in __kmalloc"
        # (Feb 2020).
        F(r"BUG: sleeping function called from invalid context at (.*)",
          "BUG: sleeping function called from invalid context at %[1]v", until=ERA_SLEEPING_IN, type="ATOMIC_SLEEP"),
        F(r"BUG: sleeping function called from invalid context at (.*)",
          "BUG: sleeping function called from invalid context in %[2]v", stack=call_stack(),
          type="ATOMIC_SLEEP"),
        # Before this row the line itself: "BUG: using smp_processor_id() in preemptible [ADDR] code: X/NUM" (2019).
        F(r"BUG: using ([a-z_]+)\(\) in preemptible", "BUG: using %[1]v() in preemptible code in %[2]v",
          since=ERA_PREEMPTIBLE_IN,
          stack=call_stack("dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu_"),
          type=LOCKDEP),
        F(r"BUG: workqueue leaked lock or atomic", "BUG: workqueue leaked lock or atomic in %[1]v",
          report=r"BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: ([a-zA-Z0-9_]+)\n",
          no_stack=True),
        F(r"BUG: memory leak", "memory leak in %[1]v",
          stack=StackFmt(parts=[compile_re(r"backtrace(?: \(crc [0-9a-f]+\))?:"), PARSE_STACK],
                         skip=["kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get",
                               "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create_chunk", "strdup",
                               "strndup", "memdup"]), type="LEAK"),
        F(r"BUG: .*stack guard page was hit at", "BUG: stack guard page was hit in %[1]v",
          alt=["stack-overflow in %[1]v"], stack=rip_stack(extractor="stall")),
        F(r"BUG: Invalid wait context", "WARNING: locking bug in %[1]v", stack=call_stack(), type=LOCKDEP),
        F(r"BUG: (MAX_LOCKDEP_KEYS|MAX_LOCKDEP_ENTRIES|MAX_LOCKDEP_CHAINS|MAX_LOCKDEP_CHAIN_HLOCKS|"
          r"MAX_STACK_TRACE_ENTRIES|MAX_LOCK_DEPTH) too low!", "BUG: %[1]v too low!", no_stack=True),
        F(r"BUG: TASK stack guard page was hit at", "BUG: TASK stack guard page was hit in %[1]v",
          alt=["stack-overflow in %[1]v"], stack=rip_stack(extractor="stall")),
        F(r"BUG: corrupted list in {{FUNC}}", "BUG: corrupted list in %[1]v", alt=["bad-access in %[1]v"],
          no_stack=True, type="MEMORY_SAFETY_BUG"),
        F(r"BUG: looking up invalid subclass: ([0-9]+)", "BUG: looking up invalid subclass in %[2]v",
          stack=call_stack("lock_", "look_up_lock_class"), type=LOCKDEP),
        F(r"BUG: unable to handle kernel", "BUG: unable to handle kernel", corrupted=True),
        F(r"BUG: stack guard page was hit", "BUG: stack guard page was hit in %[1]v",
          alt=["stack-overflow in %[1]v"], stack=rip_stack(extractor="stall")),
        # the header and nothing after it on its line (the rest lost): a corrupted report
        F(r"BUG:\s*(?:\n|\Z)", "BUG: corrupted", corrupted=True),
    ], [
        compile_re(r"ODEBUG:"),
        compile_re(r"Boot_DEBUG:"),
        compile_re(r"xlog_status:"),
        compile_re(r"DEBUG:"),
        compile_re(r"BUG: no syscalls can create resource"),
    ], ""),
    Oops("WARNING:", [
        F(r"WARNING: .*lib/debugobjects\.c", "WARNING: ODEBUG bug in %[1]v",
          stack=warning_stack("debug_", "__warn", "lockdep", "call_rcu", "kvfree", "vfree", "vunmap", "free_pages",
                              "timer", "destroy_work_on_stack", "cancel_work")),
        # "WARNING in usb_submit_urb" (Sept 2018), "WARNING in flexcop_usb_probe/usb_submit_urb" (Sept 2019).
        F(r"WARNING: .*drivers/usb/core/urb\.c.* usb_submit_urb", "WARNING in usb_submit_urb",
          until=ERA_USB_URB_CALLER),
        F(r"WARNING: .*drivers/usb/core/urb\.c.* usb_submit_urb", "WARNING in %[1]v/usb_submit_urb",
          since=ERA_USB_URB_CALLER,
          stack=warning_stack("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg",
                              "usb_control_msg")),
        F(r"WARNING: .*mm/usercopy\.c", "WARNING: bad usercopy in %[1]v",
          stack=warning_stack("usercopy", "__check")),
        F(r"WARNING: .*lib/kobject\.c", "WARNING: kobject bug in %[1]v", stack=warning_stack("kobject_")),
        F(r"WARNING: .*fs/proc/generic\.c.* proc_register", "WARNING: proc registration bug in %[1]v",
          stack=warning_stack("proc_")),
        F(r"WARNING: .*lib/refcount\.c", "WARNING: refcount bug in %[1]v",
          stack=warning_stack("refcount"), type="REFCOUNT_WARNING"),
        F(r"WARNING: .*kernel/locking/lockdep\.c.*lock_", "WARNING: locking bug in %[1]v",
          stack=StackFmt(parts=[CALL_TRACE, PARSE_STACK], skip=["lock_sync", "lock_sock", "release_sock"]),
          type=LOCKDEP),
        # "WARNING: syz-executor still has locks held!" (Nov 2018), "... still has locks held in X" (2022).
        F(r"WARNING: .*still has locks held!", "WARNING: still has locks held in %[1]v", since=ERA_LOCKS_HELD_IN,
          report=r"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}", type=LOCKDEP),
        F(r"WARNING: Nested lock was not taken", "WARNING: nested lock was not taken in %[1]v",
          stack=call_stack(), type=LOCKDEP),
        F(r"WARNING: lock held when returning to user space",
          "WARNING: lock held when returning to user space in %[1]v",
          report=r"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still "
                 r"held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}", no_stack=True, type=LOCKDEP),
        F(r"WARNING: .*mm/.*\.c.* k?.?malloc", "WARNING: kmalloc bug in %[1]v",
          stack=warning_stack("kmalloc", "krealloc", "slab", "kmem")),
        # "WARNING in __vmalloc_node_range" (May 2021) before this row.
        F(r"WARNING: .*mm/vmalloc\.c.*__vmalloc_node", "WARNING: zero-size vmalloc in %[1]v", since=ERA_ZERO_VMALLOC,
          stack=call_stack("vmalloc")),
        # Before stack titles: the function the WARNING line names ("WARNING in __check_heap_object", Nov 2017).
        F(r"WARNING: .* at {{SRC}} {{FUNC}}", "WARNING in %[2]v", until=ERA_STACK_TITLES),
        F(r"WARNING: .* at {{SRC}} {{FUNC}}", "WARNING in %[3]v", stack=warning_stack()),
        F(r"WARNING: .* at {{SRC}}\n", "WARNING in %[2]v", stack=warning_stack()),
        # 2025+: "WARNING: fs/x.c:12 at func+0x1/0x2, CPU#0: comm/pid" (optionally "[condition] " first)
        F(r"WARNING: (?:\[.*?\] )?{{SRC}} at ", "WARNING in %[2]v", stack=warning_stack()),
        F(r"WARNING: possible circular locking dependency detected", "possible deadlock in %[1]v",
          report=r"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock",
          stack=StackFmt(parts=[compile_re(r"at: (?:{{PC}} +)?{{FUNC}}"),
                                compile_re(r"at: (?:{{PC}} +)?{{FUNC}}"), PARSE_STACK],
                         skip=["lock_acquire", "lock_release"]), type=LOCKDEP),
        F(r"WARNING: possible irq lock inversion dependency detected", "possible deadlock in %[1]v",
          report=r"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just changed the state of "
                 r"lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}", type=LOCKDEP),
        F(r"WARNING: .*-safe -> .*-unsafe lock order detected", "possible deadlock in %[1]v",
          stack=StackFmt(parts=[compile_re(r"which became (?:.*) at:"), PARSE_STACK]), type=LOCKDEP),
        F(r"WARNING: possible recursive locking detected", "possible deadlock in %[1]v",
          report=r"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock"
                 r"(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}", type=LOCKDEP),
        # "WARNING: inconsistent lock state" (Apr 2018), "inconsistent lock state in ax25_rt_autobind" (June 2019):
        # the crash's stack names it, not the lock's "at:" line ("... in fs_reclaim_acquire (3)", Sept 2022, whose
        # "at:" is kmem_cache_alloc_trace)
        F(r"WARNING: inconsistent lock state", "inconsistent lock state in %[2]v", since=ERA_LOCK_STATE_IN,
          report=r"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}",
          stack=call_stack(), type=LOCKDEP),
        # "suspicious RCU usage at ./include/linux/rcupdate.h:LINE" (Dec 2017), "... in trace_call_bpf" (Aug 2018).
        F(r"WARNING: suspicious RCU usage", "suspicious RCU usage at %[1]v",
          report=r"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}", until=ERA_RCU_USAGE_IN, type=LOCKDEP),
        F(r"WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in %[2]v",
          report=r"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}",
          stack=call_stack("rcu", "kmem", "slab"), type=LOCKDEP),
        # (the unwinder's complaints about a stack: printk()s of no crash type, "")
        F(r"WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value",
          "WARNING: kernel stack regs has bad '%[1]v' value", no_stack=True, type=""),
        F(r"WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value",
          "WARNING: kernel stack frame pointer has bad value", no_stack=True, type=""),
        F(r"WARNING: bad unlock balance detected!", "WARNING: bad unlock balance in %[1]v", stack=UNLOCK_STACK,
          type=LOCKDEP),
        F(r"WARNING: held lock freed!", "WARNING: held lock freed in %[1]v",
          report=r"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}", type=LOCKDEP),
        F(r"WARNING: kernel stack regs .* has bad 'bp' value", "WARNING: kernel stack regs has bad value",
          no_stack=True, type=""),
        F(r"WARNING: kernel stack frame pointer .* has bad value", "WARNING: kernel stack regs has bad value",
          no_stack=True, type=""),
        F(r"WARNING: ([a-zA-Z0-9_]+) is trying to free .*", "WARNING: %[1]v is trying to free", no_stack=True),
        F(r"WARNING:\s*(?:\n|\Z)", "WARNING: corrupted", corrupted=True),
    ], [
        compile_re(r"WARNING: /etc/ssh/moduli does not exist, using fixed modulus"),
        compile_re(r"WARNING: workqueue cpumask: online intersect > possible intersect"),
        compile_re(r"WARNING: [Tt]he mand mount option"),
        compile_re(r"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1"),
        compile_re(r"WARNING: Unprivileged eBPF is enabled with eIBRS"),
        compile_re(r"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size"),
        compile_re(r"WARNING: See https.* for mitigation options\."),
        compile_re(r"WARNING: kernel not compiled with CPU_SRSO"),
        compile_re(r"EXT4-[Ff][Ss](?: \(.*\))?:"),
        compile_re(r"(?i:warning: .* uses (deprecated v2 capabilities|wireless extensions))"),
        compile_re(r"XFS \(\w+\): WARNING"),
    ], "WARNING"),
    Oops("INFO:", [
        F(r"INFO: possible circular locking dependency detected", "possible deadlock in %[1]v",
          report=r"INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying to acquire lock"
                 r"(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", type=LOCKDEP),
        F(r"INFO: possible irq lock inversion dependency detected", "possible deadlock in %[1]v",
          report=r"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just changed the state of "
                 r"lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", type=LOCKDEP),
        F(r"INFO: .*-safe -> .*-unsafe lock order detected", "possible deadlock in %[1]v",
          report=r"INFO: .*-safe -> .*-unsafe lock order detected \](?:.*\n)+?.*is trying to "
                 r"acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", type=LOCKDEP),
        F(r"INFO: possible recursive locking detected", "possible deadlock in %[1]v",
          report=r"INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire lock"
                 r"(?:.*\n)+?.*at: {{PC}} +{{FUNC}}", type=LOCKDEP),
        F(r"INFO: inconsistent lock state", "inconsistent lock state in %[1]v",
          report=r"INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}}",
          type=LOCKDEP),
        F(r"INFO: rcu_(?:preempt|sched|bh) (?:self-)?detected(?: expedited)? stall",
          "INFO: rcu detected stall in %[1]v",
          alt=["stall in %[1]v"],
          stack=StackFmt(
              parts=[compile_re(r"apic_timer_interrupt|Exception stack|el1h?_(?:64_)?irq"), RIP_FRAME, PARSE_STACK],
              parts2=[compile_re(r"(?:apic_timer_interrupt|Exception stack|el1h?_(?:64_)?irq)"), PARSE_STACK],
              skip=STALL_SKIP, extractor="stall"), type=HANG),
        F(r"INFO: trying to register non-static key", "INFO: trying to register non-static key in %[1]v",
          stack=call_stack("stack", "lock", "IRQ")),
        F(r"INFO: suspicious RCU usage", "suspicious RCU usage at %[1]v",
          report=r"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}", until=ERA_RCU_USAGE_IN),
        F(r"INFO: suspicious RCU usage", "INFO: suspicious RCU usage in %[2]v",
          report=r"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}", stack=call_stack("rcu", "kmem", "slab")),
        # "INFO: task hung" (Aug 2017), "INFO: task hung in __blkdev_get" (Nov 2017).
        F(r"INFO: task .* blocked for more than [0-9]+ seconds", "INFO: task hung", until=ERA_TASK_HUNG_IN,
          type=HANG),
        F(r"INFO: task .* blocked for more than [0-9]+ seconds", "INFO: task hung in %[1]v", alt=["hang in %[1]v"],
          stack=call_stack(extractor="hang"), type=HANG),
        # Old-style KASAN reports that lost their header.
        F(r"INFO: (Freed|Allocated) in (.*)", "INFO: %[1]v in %[2]v", corrupted=True),
        F(r"INFO: task .*:[0-9]+ can't die for more than .* seconds", "INFO: task can't die in %[1]v",
          alt=["hang in %[1]v"], stack=call_stack("schedule"), type=HANG),
        F(r"INFO: rcu_tasks(?:_trace)? detected stalls? on tasks", "INFO: rcu detected stall in %[1]v",
          alt=["stall in %[1]v"], stack=StackFmt(parts=[CALL_TRACE, PARSE_STACK], skip=["rcu"], extractor="stall"),
          type=HANG),
        F(r"INFO: rcu detected stall in (.*)", "INFO: rcu detected stall in %[1]v", alt=["stall in %[1]v"],
          no_stack=True, type=HANG),
        F(r"INFO:\s*(?:\n|\Z)", "INFO: corrupted", corrupted=True),
    ], [
        compile_re(r"INFO: lockdep is turned off"),
        compile_re(r"INFO: Stall ended before state dump start"),
        compile_re(r"INFO: NMI handler .* took too long to run"),
        compile_re(r"_INFO::"),
        compile_re(r"INFO: sys_.* is not present in /proc/kallsyms"),
        compile_re(r"INFO: no syscalls can create resource"),
        compile_re(r"INFO: (?:task|pid) .* is blocked on"),
        compile_re(r"INFO: NMI backtrace"),
    ], ""),
    Oops("Unable to handle kernel", [
        F(r"Unable to handle kernel (NULL pointer dereference)",
          "BUG: unable to handle kernel %[1]v in %[2]v", alt=["bad-access in %[2]v"], stack=rip_stack(),
          type="NULL-POINTER-DEREFERENCE"),
        F(r"Unable to handle kernel (paging request|access to user memory)",
          "BUG: unable to handle kernel %[1]v in %[2]v", alt=["bad-access in %[2]v"], stack=rip_stack(),
          type="MEMORY_SAFETY_BUG"),
    ], [], ""),
    Oops("general protection fault", [
        # Before stack titles: the RIP function, whatever it was ("general protection fault in
        # do_raw_spin_lock", Oct 2017).
        F(r"general protection fault.*:", "general protection fault in %[1]v",
          stack=StackFmt(parts=[RIP_FRAME], global_skip=False), until=ERA_STACK_TITLES),
        F(r"general protection fault.*:", "general protection fault in %[1]v", alt=["bad-access in %[1]v"],
          stack=rip_stack()),
    ], [compile_re(r"general protection fault .* error:\d+ in ")], "DoS"),
    Oops("stack segment: ", [
        F(r"stack segment: 0000", "stack segment fault in %[1]v", stack=rip_stack()),
    ], [], "DoS"),
    Oops("Kernel panic", [
        F(r"Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in %[1]v",
          report=r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}",
          no_stack=True),
        F(r"Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in %[1]v",
          report=r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",
          stack=call_stack("stack_chk")),
        F(r"Kernel panic - not syncing: corrupted stack end", "kernel panic: corrupted stack end in %[1]v",
          report=r"Kernel panic - not syncing: corrupted stack end detected inside scheduler",
          alt=["stack-overflow in %[1]v"], stack=call_stack("schedule", "retint_kernel", extractor="stall")),
        F(r"Kernel panic - not syncing: kernel stack overflow", "kernel stack overflow in %[1]v",
          alt=["stack-overflow in %[1]v"], stack=call_stack("bad_stack", extractor="stall")),
        F(r"Kernel panic - not syncing: Attempted to kill init!", "kernel panic: Attempted to kill init!",
          no_stack=False),
        F(r"Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+",
          "kernel panic: Couldn't open N_TTY ldisc"),
        # Printed after a BUG / WARNING / hung task: catching it first means the report lost its head.
        F(r"Kernel panic - not syncing: Fatal exception", "kernel panic: Fatal exception", corrupted=True),
        F(r"Kernel panic - not syncing: panic_on_warn set", "kernel panic: panic_on_warn set", corrupted=True),
        F(r"Kernel panic - not syncing: hung_task: blocked tasks", "kernel panic: hung_task: blocked tasks",
          corrupted=True),
        F(r"Kernel panic - not syncing: (.*)", "kernel panic: %[1]v"),
    ], [], "DoS"),
    # Not an oops header in 2018: a KASAN report after it was titled ("KASAN: stack-out-of-bounds Read in
    # lock_sock_nested", July 2018); "PANIC: double fault in fixup_bad_iret" (June 2020).
    Oops("PANIC: double fault", [
        F(r"PANIC: double fault", "PANIC: double fault in %[1]v", stack=StackFmt(parts=[RIP_FRAME])),
    ], [], "DoS", since=ERA_DOUBLE_FAULT),
    Oops("kernel BUG", [
        F(r"kernel BUG at mm/usercopy\.c", "BUG: bad usercopy in %[1]v",
          stack=call_stack("usercopy", "__check")),
        F(r"kernel BUG at lib/list_debug\.c", "BUG: corrupted list in %[1]v", alt=["bad-access in %[1]v"],
          stack=call_stack(), type="MEMORY_SAFETY_BUG"),
        # "kernel BUG at fs/f2fs/segment.h:LINE!" (Sept 2020), "kernel BUG in memory_bm_free" (Feb 2021).
        F(r"kernel BUG at (.*)", "kernel BUG at %[1]v", until=ERA_KERNEL_BUG_IN),
        F(r"kernel BUG at (.*)", "kernel BUG in %[2]v", stack=rip_stack("^skb_")),
    ], [], "BUG"),
    Oops("Kernel BUG", [F(r"Kernel BUG (.*)", "kernel BUG %[1]v")], [], "BUG"),
    Oops("BUG kmalloc-", [F(r"BUG kmalloc-.*: Object already free", "BUG: Object already free")], [], "DoS"),
    Oops("divide error:", [F(r"divide error: ", "divide error in %[1]v", stack=StackFmt(parts=[RIP_FRAME]))],
         [], "DoS"),
    Oops("divide_error:", [F(r"divide_error: ", "divide error in %[1]v", stack=StackFmt(parts=[RIP_FRAME]))],
         [], "DoS"),
    Oops("invalid opcode:", [
        F(r"invalid opcode: ", "invalid opcode in %[1]v", stack=StackFmt(parts=[RIP_FRAME])),
    ], [], "DoS"),
    Oops("UBSAN:", [
        F(r"UBSAN: Undefined behaviour in", "UBSAN: undefined-behaviour in %[1]v",
          stack=call_stack("ubsan", "overflow")),
        F(r"UBSAN: array-index-out-of-bounds in", "UBSAN: array-index-out-of-bounds in %[1]v",
          alt=["bad-access in %[1]v"], stack=call_stack("ubsan", "overflow"), type="MEMORY_SAFETY_UBSAN"),
        F(r"UBSAN: (.*?) in", "UBSAN: %[1]v in %[2]v", stack=call_stack("ubsan", "overflow")),
    ], [], "UBSAN"),
    Oops("Booting the kernel.", [
        F(r"Booting the kernel", "unexpected kernel reboot", no_stack=True),
    ], [compile_re(r"Parsing ELF|Decompressing Linux")], "REBOOT"),
    Oops("unregister_netdevice: waiting for", [
        F(r"unregister_netdevice: waiting for (?:.*) to become free",
          "unregister_netdevice: waiting for DEV to become free", no_stack=True),
    ], [], "DoS"),
    Oops("VFS: Close: file count is 0", [
        F(r"VFS: Close: file count is 0", "VFS: Close: file count is zero (use-after-free)",
          no_stack=True),
    ], [], "DoS"),
    # (arm and arm64: the faulting pc's frame, then the call trace or backtrace; an "LR is at (null)" is no frame)
    Oops("Internal error:", [
        F(r"Internal error:", "Internal error in %[1]v", alt=["bad-access in %[1]v"],
          stack=StackFmt(parts=[RIP_FRAME, CALL_TRACE, PARSE_STACK])),
    ], [], "DoS"),
    Oops("Unhandled fault:", [
        F(r"Unhandled fault:", "Unhandled fault in %[1]v", alt=["bad-access in %[1]v"],
          stack=StackFmt(parts=[RIP_FRAME, CALL_TRACE, PARSE_STACK])),
    ], [], "DoS"),
    Oops("Alignment trap:", [
        F(r"Alignment trap:", "Alignment trap in %[1]v", stack=StackFmt(parts=[RIP_FRAME, CALL_TRACE, PARSE_STACK])),
    ], [], "DoS"),
    Oops("trusty: panic", [
        F(r"trusty: panic.*ASSERT FAILED at \(.*?\): (.*)", "trusty: ASSERT FAILED: %[1]v", no_stack=True),
        F(r"trusty: panic.*?\):(?: DEBUG)? (.*)", "trusty: panic: %[1]v", no_stack=True),
    ], [], "DoS"),
    Oops("trusty: ASSERT FAILED", [
        F(r"trusty: ASSERT FAILED", "trusty: ASSERT FAILED: %[1]v",
          report=r"trusty: ASSERT FAILED \(.*?\):(?: DEBUG)? ([^\n]+)\n", no_stack=True),
    ], [], "DoS"),
    Oops("int3:", [F(r"int3: 0000", "int3 in %[1]v", stack=rip_stack())], [], "DoS"),
    # Messages of syzkaller's own executor and Go runtime (pkg/report/report.go commonOopses).
    Oops("SYZFAIL:", [F(r"SYZFAIL:(.*)", "SYZFAIL:%[1]v", no_stack=True)], [], "SYZ_FAILURE"),
    Oops("SYZFATAL:", [F(r"SYZFATAL:(.*)()", "SYZFATAL:%[1]v", alt=["SYZFATAL%[2]v"], no_stack=True)],
         [], "SYZ_FAILURE"),
    Oops("panic: ", [
        F(r"panic: runtime error: (.*)", "go runtime error", no_stack=True),
        F(r"panic: (.*)", "go panic: %[1]v", no_stack=True, corrupted=False),
    ], [compile_re(r"panic: failed to start executor binary"),
        compile_re(r"panic: executor failed: pthread_create failed"),
        compile_re(r"panic: error parsing command line arguments"),
        compile_re(r"panic: (?:[a-z]+ )?sysfs"), compile_re(r"Kernel panic"), compile_re(r"kernel panic"),
        compile_re(r"[a-z_]+_panic: "), compile_re(r"rcu_panic: "),
        # a kernel subsystem's own panic line ("REISERFS panic: assertion failure ..."), not a Go panic
        compile_re(r"[A-Za-z0-9_]+ panic: ")], "DoS"),
    Oops("fatal error:", [
        F(r"fatal error: (.*)", "go runtime error", no_stack=True),
    ], [], "DoS"),
]

# These headers do not start a new report when they appear inside one (they follow the real header).
REPORT_START_IGNORES = [compile_re(r) for r in (
    r"invalid opcode: 0000",
    r"Kernel panic - not syncing",
    r"unregister_netdevice: waiting for",
    r"PANIC: double fault",
    r"Internal error:",
)]

# Messages that are not bugs but carry a stack; seen inside a report they may mix stacks into it.
INFO_MESSAGES_WITH_STACK = ("vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure",
                            "FAULT_FLAG_ALLOW_RETRY missing")

# Lines that say the whole log is damaged.
CONSOLE_HANGUP = "serialport: VM disconnected."

# Titles that are corrupted whatever the format (a timestamp merged into the middle of a title).
CORRUPTED_TITLES = [re.compile(r"\[ *[0-9]+\.[0-9]+\]")]

@dataclass(frozen=True)
class Replacement:
    rx: re.Pattern[str]
    repl: str
    since: str | None = None      # era (ISO day) the replacement came into use
    until: str | None = None      # era it went out of use


def R(rx: str, repl: str, since: str | None = None, until: str | None = None) -> Replacement:  # noqa: N802
    return Replacement(re.compile(rx), repl, since, until)


# Dynamic parts of titles replaced by constants, in order (syzkaller's dynamicTitleReplacement).
TITLE_REPLACEMENTS = [
    R(r"syz-executor\.?[0-9]+((/|:)[0-9]+)?", "syz-executor"),
    R(r"syz\.[0-9]+\.[0-9]+", "syz"),
    R(r"syzkaller[0-9]+((/|:)[0-9]+)?", "syzkaller"),
    R(r"([^a-zA-Z0-9_])(?:0x)?[0-9a-f]{6,}", r"\1ADDR"),
    R(r"(\.\w+)(:[0-9]+)+", r"\1:LINE"),
    R(r"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+", r"\1"),
    R(r"CPU#[0-9]+", "CPU"),
    # Until early 2021 any run of 5+ digits not right after a letter was a number, also inside names
    # (syzbot: "... in __cfg8NUM_wpan_dev_from_attrs" 2019, "WARNING in mc1NUM_get_time" Feb 2021;
    # "general protection fault in nl802154_add_llsec_key" later in Feb 2021 keeps the name).
    R(r"([^a-zA-Z])[0-9]{5,}", r"\1NUM", until=ERA_NAMES_KEEP_DIGITS),
    # Small numbers stayed in titles until the second half of 2021 ("BUG: delta (-6195) <= 0 at ...",
    # "kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)" in July 2021).
    R(r"(\W)(\d+)(\W|$)", r"\1NUM\3", since=ERA_ALL_NUMBERS),
    R(r"(\W)(\d+)(\W|$)", r"\1NUM\3", since=ERA_ALL_NUMBERS),
    R(r"(\d+){7,}", "NUM"),
]


# The era each frame-skip pattern entered syzkaller's lists (global or a format's own; patterns absent here are
# as old as the lists): before it, titles name that frame. Evidence: the day of the last syzbot title naming
# such a frame and of the first one skipping it (or "-" if the sample has none); the day chosen is midway, or
# the first of the quarter after the last naming title when nothing bounds it.
SKIP_SINCE: dict[str, str] = {
    "strlen": "2018-02-15",                 # 2018-01 general protection fault in strlen / 2018-03
    "bh_enable": "2018-07-01",              # 2018-03 WARNING in __local_bh_enable_ip / -
    "memmove": "2018-07-01",                # 2018-03 BUG: unable to handle kernel paging request in __memmove / -
    "memdup": "2018-07-01",                 # 2018-04 WARNING: kmalloc bug in memdup_user / -
    "device_add": "2018-07-01",             # 2018-05 WARNING in __device_add_disk / -
    "strlcpy": "2018-07-01",                # 2018-04, 2018-05 KMSAN: uninit-value in strlcpy, ... nla_strlcpy / -
    "queue_work": "2018-10-01",             # 2018-08 KASAN: use-after-free Read in __queue_work / -
    "copy_from_iter": "2018-10-01",         # 2018-07 KASAN: use-after-free Read in _copy_from_iter / -
    "memset": "2019-01-01",                 # 2018-01 ... paging request in memset_erms / 2020-01
    "_indirect_thunk_": "2019-01-01",       # 2018-11 general protection fault in __x86_indirect_thunk_rbx / -
    "string": "2019-03-01",                 # 2018-07 general protection fault in string / 2019-10
    "^rb_": "2019-04-01",                   # 2018-01 ... in rb_first_postorder, 2019-01 ... in rb_erase / -
    "rollback_registered": "2019-04-01",    # 2018-09 WARNING in rollback_registered_many / 2019-09
    "del_timer": "2019-06-15",              # 2018-04, 2018-05 WARNING: ODEBUG bug in del_timer / 2020-08 (+"timer")
    "timer": "2019-06-15",                  # ODEBUG's own list: same titles / 2020-08 ODEBUG bug in cancel_delayed_work
    "lockdep": "2019-07-01",                # 2019-04 WARNING in lockdep_unregister_key / -
    "^mutex_": "2019-09-15",                # 2019-09 KMSAN: use-after-free in mutex_spin_on_owner / 2019-10
    "crc": "2021-01-01",                    # 2019-10 KMSAN: uninit-value in __crc32c_le_base, 2020-11 ... in
    #                                         crc32_le_base (a linux-nilfs syzbot mail) / -
    "lock_release": "2020-01-01",           # 2019-10 WARNING: bad unlock balance in rcu_lock_release / -
    "assertfail": "2021-07-01",             # 2021-05 kernel BUG in assertfail / -
    "lock_sock": "2020-04-01",              # 2019-04 WARNING: locking bug in lock_sock_nested / 2021-02
    "flush_work": "2020-05-01",             # 2019-02 WARNING in __flush_work / 2021-07
    "kmem_cache": "2020-05-01",             # 2018-09 WARNING in kmem_cache_create_usercopy / 2021-12
    "kthread_stop": "2020-05-01",           # 2018-10 KASAN: null-ptr-deref Write in kthread_stop / 2021-10
    "refcount_": "2020-10-01",              # 2018-10 .. 2020-08 KASAN: ... in refcount_inc_not_zero_checked etc. / -
    "read_cache_page": "2020-10-01",        # 2020-08 INFO: task hung in do_read_cache_page / -
    "alloc_page": "2020-12-20",             # 2020-06 ... NULL pointer dereference in alloc_pages_vma / 2021-07
    "k?v?(?:m|z|c)alloc": "2021-06-01",     # 2020-02 ... in __kmalloc, 2021-05 ... in __vmalloc_node_range / 2021-07
    "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)": "2023-01-01",   # 2022-10 ...
    #                                         inconsistent lock state in _atomic_dec_and_lock / -
    "ref_tracker": "2022-06-01",            # 2021-12 general protection fault in ref_tracker_alloc / 2022-12
    "__filemap_get_folio": "2022-07-01",    # 2022-04 kernel BUG in __filemap_get_folio / -
    "hex_dump": "2023-01-01",               # 2022-09 KASAN: slab-out-of-bounds Read in hex_dump_to_buffer / -
    "unlock_page": "2023-01-01",            # 2022-12 ... NULL pointer dereference in unlock_page / -
    "^(un)?lock_page": "2023-01-01",        # 2021-05 general protection fault in lock_page_memcg, 2022-12 as above / -
    "kref_": "2023-04-01",                  # 2023-01 WARNING: locking bug in lockref_put_or_lock / -
    "do_read_cache_folio": "2023-04-01",    # 2023-02 ... NULL pointer dereference in do_read_cache_folio / -
    # 2023-06 WARNING in mark_buffer_dirty (a linux-nilfs syzbot mail) / golden report 758 (a WARNING format of
    # 2025-11); not yet in syzkaller's list of after 2025-11-10 (the version that added that format)
    "mark_buffer_dirty": "2025-12-01",
    "__phys_addr": "2023-10-01",            # 2023-07 kernel BUG in __phys_addr (a reiserfs-devel syzbot mail) / -
}


def _last_change() -> str:
    days = [d for o in OOPSES for f in o.formats for d in (f.since, f.until) if d]
    days += [o.since for o in OOPSES if o.since]
    days += [d for r in TITLE_REPLACEMENTS for d in (r.since, r.until) if d]
    days += list(SKIP_SINCE.values()) + list(ERA_READ_PAST_SECOND_REPORT)
    return max(days, default="")


# Reports dated at or after this day get today's rules: no era title to compute.
LAST_RULE_CHANGE = _last_change()
