"""Evidence markers: the kinds of kernel message the labels are decided from, in one table.

A marker is one console line that says something about a report's consequence (shared/docs/LABELS.md):
``FAULT_INJECTION: forcing a failure``, ``Buffer I/O error ... lost async page write``, ext4's ``Data will be
lost``, a hwpoisoned dirty page, ``IN-RECLAIM_FS-W``... Each kind has one name here, used by the parser (which
finds them: ``triage.report.markers`` holds one regexp row per kind), the classifier's rules and features,
and the simulator's console and repro linker.

``evidence`` is the label (``vocab.labels``) a marker of that kind is evidence for when it belongs to the
primary crash, or ``context`` when it only qualifies other evidence (an errno, an I/O error that may have been
returned to the writer, the task a message names).
"""

from __future__ import annotations

from dataclasses import dataclass

from vocab.labels import LABELS


@dataclass(frozen=True)
class MarkerKind:
    kind: str
    evidence: str          # a label of vocab.labels, or "context"
    description: str


TABLE: tuple[MarkerKind, ...] = (
    MarkerKind("fault-injection", "fault-injection",
               "FAULT_INJECTION: forcing a failure (failslab, fail_page_alloc, fail_usercopy, ...), with its task"),
    MarkerKind("lost-write", "data-loss",
               "writeback dropped a page it could not write: 'lost (async) page write', 'Buffer I/O error on "
               "dev X, logical block N, lost ...', ext4's 'I/O error N writing to inode', iomap's 'writeback "
               "error on inode N'"),
    MarkerKind("data-will-be-lost", "data-loss",
               "ext4 'This should not happen!! Data will be lost' (delayed allocation failed; the errno tells "
               "a corrupted image, -EFSCORRUPTED / -EFSBADCRC, from lost data)"),
    MarkerKind("unwritten-extents", "data-loss",
               "ext4 'failed to convert unwritten extents to written extents -- potential data loss'"),
    MarkerKind("page-discard", "data-loss", "iomap / XFS 'page discard on page': a dirty page thrown away"),
    MarkerKind("hwpoison-dirty", "data-loss", "memory failure on a dirty page-cache or shmem page"),
    MarkerKind("loop-write-error", "data-loss", "the loop driver could not write to its backing file"),
    MarkerKind("write-io-error", "context", "a block-layer I/O error on a WRITE (lost only if the page is dropped)"),
    MarkerKind("delalloc-failed", "context", "ext4 'Delayed block allocation failed': its errno qualifies the "
                                             "'Data will be lost' that follows"),
    MarkerKind("fs-shutdown", "context",
               "a filesystem stopping on an error: btrfs 'Transaction aborted' / 'errno=-5 IO failure' / 'forced "
               "readonly', jbd2 'Aborting journal', ext4 'Detected aborted journal' / 'Remounting filesystem "
               "read-only', XFS 'Filesystem has been shut down' / xfs_do_force_shutdown, f2fs 'Stopped filesystem'"),
    MarkerKind("fs-error", "other", "a filesystem error or corruption report: the kernel refusing a bad image"),
    MarkerKind("beyond-eod", "context",
               "'attempt to access beyond end of device': a filesystem image claiming blocks its device lacks"),
    MarkerKind("alloc-failure", "context", "an error path saying an allocation failed (can't / failed to "
                                           "allocate, -ENOMEM): ties an injected failure to the crash"),
    MarkerKind("buffer-io-error", "context", "'Buffer I/O error on dev X' that does not say the write was lost"),
    MarkerKind("memory-failure", "context", "memory failure on a page that is not dirty page cache"),
    MarkerKind("io-error", "context", "a block-layer I/O error that is not a write"),
    MarkerKind("hwpoison-inject", "context", "hwpoison injected by a test ('Injecting memory failure')"),
    MarkerKind("page-allocation-failure", "context",
               "warn_alloc's 'page allocation failure: order:N, mode:...' with the decoded gfp mask"),
    MarkerKind("oom-killer", "context", "'invoked oom-killer', with the gfp mask and order"),
    MarkerKind("slab-alloc-failure", "context", "'SLUB: Unable to allocate memory on node'"),
    MarkerKind("hung-task", "reclaim-deadlock", "'INFO: task X:PID blocked for more than N seconds'"),
    MarkerKind("pf-memalloc-guard", "reclaim-deadlock",
               "a filesystem's WARN that it was entered from reclaim (ext4_write_inode, iomap / xfs writepage)"),
    MarkerKind("page-alloc-warning", "nofail-warning", "a WARNING in mm/page_alloc.c (the NOFAIL checks)"),
    MarkerKind("lockdep-usage", "reclaim-deadlock",
               "lockdep 'inconsistent {A} -> {B} usage' (reclaim when a state is RECLAIM_FS)"),
    MarkerKind("fs-reclaim-lock", "reclaim-deadlock", "the fs_reclaim pseudo-lock in a lockdep report, per role"),
    MarkerKind("panic-on-warn", "context", "panic_on_warn is set: a WARN became a panic"),
)

BY_KIND: dict[str, MarkerKind] = {m.kind: m for m in TABLE}
KINDS: tuple[str, ...] = tuple(m.kind for m in TABLE)
EVIDENCE: tuple[str, ...] = (*LABELS, "context")
