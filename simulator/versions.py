"""Kernel versions and the behaviour switches derived from them (kernel-semantics.md section (i)).

Every switch is a row of ``SWITCHES``: the first version that has the behaviour. A scenario may pin a
switch to true/false (to model the buggy configuration of its seed thread); ``auto`` derives it here.
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
        if not (2, 6) <= (v.major, v.minor) <= (7, 99):
            raise ValueError(f"kernel version out of range: {text!r}")
        return v

    def __lt__(self, other: KernelVersion) -> bool:
        return (self.major, self.minor) < (other.major, other.minor)

    def at_least(self, text: str) -> bool:
        return not self < _parsed(text)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@lru_cache(maxsize=256)
def _parsed(text: str) -> KernelVersion:
    return KernelVersion.parse(text)


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
}


def switch(version: KernelVersion, name: str) -> bool:
    return version.at_least(SWITCHES[name][0])


def resolve(version: KernelVersion, name: str, value: object) -> bool:
    """A switch parameter: ``auto`` follows the version, anything else is taken as given."""
    if value == "auto":
        return switch(version, name)
    return bool(value)
