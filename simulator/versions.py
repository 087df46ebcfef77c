"""Kernel versions and the behaviour switches derived from them (kernel-semantics.md section (i)).

Every switch is a row of ``SWITCHES``: the first version that has the behaviour. A scenario may pin a
switch to true/false (to model the buggy configuration of its seed thread); ``auto`` derives it here.
The model knows kernels ``KNOWN_FIRST`` .. ``KNOWN_LAST``: the oldest gfp layout kernel-semantics.md
documents (L1, v4.4) to the newest tree it read (the 2026 mm tree); ``KernelVersion.parse`` refuses others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering


@total_ordering
@dataclass(frozen=True)
class KernelVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> KernelVersion:
        m = re.fullmatch(r"\s*v?(\d+)\.(\d+)(?:[.\-+].*)?\s*", str(text))
        if not m:
            raise ValueError(f"not a kernel version: {text!r} (want e.g. 6.12 or 5.2)")
        v = cls(int(m.group(1)), int(m.group(2)))
        if not KNOWN_FIRST <= (v.major, v.minor) <= KNOWN_LAST:
            raise ValueError(f"unknown kernel {text.strip()!r}: the model knows {_dotted(KNOWN_FIRST)} to "
                             f"{_dotted(KNOWN_LAST)}")
        return v

    @classmethod
    def nearest(cls, text: str) -> tuple[KernelVersion | None, str]:
        """A report's kernel release as the model can run it: (version, note). Outside the known range the
        nearest known version is used and the note says so; unreadable text gives (None, note)."""
        m = re.match(r"\s*v?(\d+)\.(\d+)", str(text or ""))
        if not m:
            return None, f"no kernel version in {text!r}"
        got = (int(m.group(1)), int(m.group(2)))
        near = min(max(got, KNOWN_FIRST), KNOWN_LAST)
        note = "" if near == got else f"kernel {got[0]}.{got[1]} is outside what the model knows: run as " \
                                      f"{_dotted(near)}"
        return cls(*near), note

    def __lt__(self, other: KernelVersion) -> bool:
        return (self.major, self.minor) < (other.major, other.minor)

    def at_least(self, text: str) -> bool:
        return not self < _parsed(text)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


KNOWN_FIRST = (4, 4)
KNOWN_LAST = (6, 19)


def _dotted(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


@lru_cache(maxsize=256)
def _parsed(text: str) -> KernelVersion:
    """A version named in the model's own tables (any x.y; not range-checked)."""
    major, minor = text.split(".")
    return KernelVersion(int(major), int(minor))


# switch name -> (first version with it, source key in kernel-semantics.md)
SWITCHES: dict[str, tuple[str, str]] = {
    "scoped_nofs": ("4.12", "DOCFSIO"),
    "fs_reclaim_map": ("4.14", "LDXFS"),
    "errseq": ("4.13", "ES413"),
    "errseq_report_after_open": ("4.17", "ES417"),
    "retry_enomem": ("4.12", "TSO17"),              # do_writepages loops ENOMEM for WB_SYNC_ALL
    "io_flusher": ("5.6", "MANIOFL"),                # PR_SET_IO_FLUSHER exists
    "shmem_keep_poisoned": ("5.16", "SHMHWP"),
    "warn_gfp": ("5.19", "NOWARN"),                  # WARN_ON_ONCE_GFP: NOWARN-suppressible
    "nofail_warn_at_entry": ("6.12", "PA618, BARRY"),  # NOFAIL WARNs moved to slowpath entry
    "gfp_atomic_removed": ("6.3", "GT6"),
    "task_markers": ("5.15", "<TASK> in call traces"),
    "uid_in_header": ("6.10", "CPU: n UID: 0 PID: ..."),
    "lockdep_wait_type": ("5.8", "-{0:0} suffix"),
    "hung_task_new_format": ("5.14", "task:... state:D ..."),
    # NOFAIL && order > 1 WARN at the top of rmqueue() (6.0-6.11; before, on its buddy path, which every
    # order > 1 request took); from 6.12 at the slowpath entry (kernel-semantics.md c.6)
    "rmqueue_order_warn_top": ("6.0", "PA510 vs 6.1 rmqueue()"),
    # the MAX_ORDER check moved from the slowpath to the allocator entry (commit c63ae43ba53b, v5.0)
    "max_order_check_at_entry": ("5.0", "c63ae43ba53b"),
    # shrinkers: one global shrinker_rwsem held (read) across every shrink_slab() and taken for write by
    # (un)register_shrinker, until lockless (SRCU + per-shrinker refcount) shrinkers in 6.7
    "lockless_shrinkers": ("6.7", "mm: shrinker: make global slab shrink lockless (v6.7)"),
    # ext4 writes delayed-allocation data into unwritten extents and converts them at I/O completion
    "ext4_dioread_nolock": ("5.6", "ext4: make dioread_nolock the default (v5.6)"),
    # ext4 writeback of a dirty folio without buffers: page_buffers() BUG before, a warning and the folio
    # cleaned unwritten since (cc5095747edf, v5.18; backported to the 4.14+ stable trees)
    "ext4_nobuffers_warn": ("5.18", "cc5095747edf"),
    # FOLL_LONGTERM write pins of file-backed, dirty-tracked mappings refused (Stoakes, "mm/gup: disallow
    # FOLL_LONGTERM GUP-nonfast writing to file-backed mappings"; version unverified)
    "gup_longterm_file_refused": ("6.5", "Stoakes 2023 (unverified version)"),
    # btrfs_abort_transaction() prints no stack trace (no WARN) for -ENOMEM, -EIO, -EROFS (8bb808c6ad91)
    "btrfs_abort_enomem_quiet": ("6.1", "8bb808c6ad91"),
    # the loop worker runs with PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE (LOOP key; version not pinned: unverified)
    "loop_worker_noio": ("5.14", "LOOP (unverified version)"),
}


def switch(version: KernelVersion, name: str) -> bool:
    return version.at_least(SWITCHES[name][0])


def resolve(version: KernelVersion, name: str, value: object) -> bool:
    """A switch parameter: ``auto`` follows the version, anything else is taken as given."""
    if value == "auto":
        return switch(version, name)
    return bool(value)
