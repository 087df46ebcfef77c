"""Link a parsed report to the simulator scenario that reproduces its mechanism, run it, store the run.

Linking reads what the report shows, not its label: the allocation site and callers (frames), the
filesystems in the stacks, the reclaim context (kswapd / direct reclaim / shrinkers / evict), the gfp
flags, the lock names of a lockdep chain, the evidence markers (fault injection, memory failure, I/O
errors, hung tasks) and the kernel version. It uses the parser's fields (``Report.frames``, ``.gfp``,
``.markers``, ``.kernel``) when present and falls back to regular expressions over the report text, so a
bare call trace pasted in a mail still links.

``LINK_RULES`` is the table: a rule fits when all its ``need`` groups match (each group: any of its
features); ``bonus`` features raise the score; ``params`` derives scenario parameters from the report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# -- features ---------------------------------------------------------------------------------------------
_FRAME_RX = re.compile(r"(?:^|[\s\[<(])(?:\? )?([A-Za-z_][\w]*)(?:\.[\w.]+)?"
                       r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+| \S+\.[ch]:\d+ \[inline\])", re.M)
_GFP_RX = re.compile(r"\b(__GFP_[A-Z_]+|GFP_[A-Z_]+)\b")
_KERNEL_RX = re.compile(r"(?:Not tainted|Tainted: [A-Z ]+?)\s+(\d+\.\d+)(?:\.\d+)?[-\w.+]*", re.M)
_LOCK_RX = re.compile(r"\(([&\w>\-#/.]+)\)\{[.+\-?]{4}\}")
_MARKER_RX: dict[str, re.Pattern[str]] = {
    "fault_injection": re.compile(r"FAULT_INJECTION: forcing a failure"),
    "failslab": re.compile(r"name failslab,"),
    "memory_failure": re.compile(r"Memory failure: (?:0x)?[0-9a-f]+: recovery action for dirty"),
    "buffer_io_error": re.compile(r"Buffer I/O error on dev"),
    "lost_page_write": re.compile(r"lost (?:async )?page write"),
    "io_error_write": re.compile(r"I/O error.*\bWRITE\b|I/O error writing|error writing"),
    "hung_task": re.compile(r"blocked for more than \d+ seconds"),
    "lockdep_circular": re.compile(r"possible circular locking dependency|possible recursive locking"),
    "page_alloc_warning": re.compile(r"WARNING: .*at mm/page_alloc\.c:\d+|RIP: 0010:(?:__alloc_pages_slowpath|"
                                     r"__alloc_pages|__alloc_frozen_pages|__alloc_pages_noprof)"),
    "oops": re.compile(r"general protection fault|BUG: kernel NULL pointer dereference|BUG: unable to handle|"
                       r"KASAN: null-ptr-deref"),
    "writepages_enomem": re.compile(r"writepages\S*[: ].*(?:ENOMEM|error -12\b|err -12\b)", re.I),
    "nomem_delalloc": re.compile(r"Delayed block allocation failed.*error -12\b"),
}
# marker kinds of the parser (triage.report.markers) mapped to ours
_PARSER_KINDS = {"fault_injection": "fault_injection", "memory_failure": "memory_failure",
                 "buffer_io_error": "buffer_io_error", "lost_async_page_write": "lost_page_write",
                 "lost_page_write": "lost_page_write", "hung_task": "hung_task",
                 "page_alloc_warning": "page_alloc_warning"}


@dataclass
class Features:
    functions: set[str] = field(default_factory=set)
    gfp: set[str] = field(default_factory=set)
    markers: set[str] = field(default_factory=set)
    locks: set[str] = field(default_factory=set)
    kernel: str | None = None
    text: str = ""

    def has(self, feature: str) -> bool:
        """``fn:name`` (a frame), ``gfp:FLAG``, ``marker:kind``, ``lock:name`` (substring), ``text:regex``."""
        kind, _, val = feature.partition(":")
        if kind == "fn":
            return val in self.functions
        if kind == "gfp":
            return val in self.gfp
        if kind == "marker":
            return val in self.markers
        if kind == "lock":
            return any(val in lk for lk in self.locks)
        if kind == "text":
            return re.search(val, self.text) is not None
        raise ValueError(f"bad feature {feature!r}")


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def features(report: Any, text: str | None = None) -> Features:
    """Features of a parsed report (``triage.report.Report`` or its dict), with text fallbacks."""
    body = text if text is not None else (_get(report, "report") or "")
    f = Features(text=body)
    for fr in _get(report, "frames", []) or []:
        name = _get(fr, "norm_function") or _get(fr, "function")
        if name:
            f.functions.add(str(name).split(".")[0])
    f.functions.update(m.group(1) for m in _FRAME_RX.finditer(body))
    for entry in _get(report, "gfp", []) or []:
        for flag in _get(entry, "flags", []) or []:
            f.gfp.add(str(flag))
    f.gfp.update(_GFP_RX.findall(body))
    for m in _get(report, "markers", []) or []:
        kind = _get(m, "kind")
        if kind in _PARSER_KINDS:
            f.markers.add(_PARSER_KINDS[kind])
        if kind == "fault_injection" and _get(m, "fault") == "failslab":
            f.markers.add("failslab")
    for kind, rx in _MARKER_RX.items():
        if rx.search(body):
            f.markers.add(kind)
    f.locks.update(_LOCK_RX.findall(body))
    kernel = _get(report, "kernel")
    m = re.match(r"(\d+\.\d+)", str(kernel)) if kernel else None
    if m is None:
        km = _KERNEL_RX.search(body)
        f.kernel = km.group(1) if km else None
    else:
        f.kernel = m.group(1)
    return f


# -- rules --------------------------------------------------------------------------------------------------
RECLAIM = ["fn:try_to_free_pages", "fn:shrink_slab", "fn:do_shrink_slab", "fn:super_cache_scan", "fn:kswapd",
           "fn:balance_pgdat", "fn:shrink_node", "fn:prune_icache_sb", "fn:prune_dcache_sb", "fn:shrink_folio_list",
           "fn:shrink_page_list", "fn:__perform_reclaim", "fn:__alloc_pages_direct_reclaim", "lock:fs_reclaim"]


def _kernel_param(f: Features) -> dict[str, str]:
    return {"kernel": f.kernel} if f.kernel else {}


def _nofail_params(f: Features) -> dict[str, str]:
    return _kernel_param(f)


def _hwpoison_params(f: Features) -> dict[str, str]:
    out = _kernel_param(f)
    if any(fn.startswith("shmem_") for fn in f.functions) or "shmem" in f.text or "tmpfs" in f.text:
        out["fs"] = "tmpfs"
    elif any(fn.startswith("ext4_") for fn in f.functions):
        out["fs"] = "ext4"
    return out


def _fault_params(f: Features) -> dict[str, str]:
    out = _kernel_param(f)
    for mask in ("GFP_NOFS", "GFP_KERNEL", "GFP_NOIO", "GFP_NOWAIT", "GFP_ATOMIC"):
        if mask in f.gfp:
            out["req_gfp"] = mask
            break
    return out


@dataclass
class LinkRule:
    scenario: str
    variant: str | None
    need: list[list[str]]                 # every group must match (any feature of the group)
    bonus: list[str]
    why: str
    params: Any = _kernel_param


LINK_RULES: list[LinkRule] = [
    LinkRule("nofail-reclaim", None,
             [["marker:page_alloc_warning", "text:WARN_ON_ONCE.*PF_MEMALLOC"], RECLAIM,
              ["fn:ext4_mb_load_buddy_gfp", "fn:ext4_discard_preallocations", "fn:__getblk_slow",
               "fn:ext4_clear_inode", "fn:ext4_evict_inode", "fn:evict", "gfp:__GFP_NOFAIL"]],
             ["fn:ext4_mb_load_buddy_gfp", "fn:ext4_discard_preallocations", "fn:prune_icache_sb", "fn:evict",
              "gfp:__GFP_NOFAIL"],
             "a page-allocator WARN for a __GFP_NOFAIL request made from reclaim (inode eviction)", _nofail_params),
    LinkRule("stacked-reclaim-deadlock", None,
             [["marker:hung_task"], RECLAIM,
              ["fn:xfs_reclaim_inode", "fn:xfs_reclaim_inodes_ag", "fn:xfs_reclaim_inodes_nr", "fn:xfs_buf_iowait",
               "fn:xfs_icwalk_ag", "fn:ksys_pwrite64", "fn:loop_process_work", "fn:nbd_read_stat",
               "fn:tcmu_queue_cmd", "fn:folio_wait_writeback", "fn:wait_on_page_writeback", "fn:wait_on_page_bit"]],
             ["fn:xfs_reclaim_inode", "fn:xfs_buf_iowait", "fn:ksys_pwrite64", "fn:ext4_da_write_begin",
              "text:tcmu|dm-zoned|nbd|loop\\d"],
             "a task hung in direct reclaim waiting for IO that the stacked device's single server must do"),
    LinkRule("fs-reclaim-lockdep", None,
             [["marker:lockdep_circular"], ["lock:fs_reclaim", "fn:fs_reclaim_acquire", "fn:__fs_reclaim_acquire"],
              ["lock:jbd2_handle", "lock:sb_internal", "fn:start_this_handle", "fn:ext4_evict_inode", "fn:evict",
               "fn:start_transaction", "fn:xfs_trans_alloc", "fn:btrfs_evict_inode"]],
             ["lock:jbd2_handle", "fn:start_this_handle", "fn:prune_dcache_sb", "fn:prune_icache_sb"],
             "lockdep: a transaction lock and fs_reclaim taken in both orders (allocation under the transaction, "
             "transaction start from reclaim)"),
    LinkRule("nfs-rpciod-releasepage", None,
             [["fn:nfs_release_page", "fn:nfs_release_folio"], ["fn:nfs_commit_inode", "fn:__nfs_commit_inode",
                                                                  "fn:nfs_wb_folio", "fn:nfs_wb_page"], RECLAIM],
             ["text:rpciod", "marker:hung_task"],
             "NFS ->release_folio committing (and waiting for rpciod) from reclaim"),
    LinkRule("unchecked-alloc-failure", None,
             [["marker:fault_injection"], ["marker:oops", "text:KASAN:|BUG: unable to handle"]],
             ["marker:failslab", "gfp:GFP_NOFS", "gfp:GFP_KERNEL"],
             "an injected allocation failure followed by a use of the failed result", _fault_params),
    LinkRule("hwpoison-dirty-shmem", None,
             [["marker:memory_failure"]], ["text:shmem|tmpfs", "fn:shmem_file_read_iter"],
             "memory failure on a dirty page-cache page, which is truncated", _hwpoison_params),
    LinkRule("writepages-enomem", None,
             [["marker:writepages_enomem", "marker:nomem_delalloc"]], ["fn:ext4_writepages", "fn:do_writepages"],
             "->writepages failing with ENOMEM on a data-integrity pass"),
    LinkRule("writeback-eio", None,
             [["marker:buffer_io_error", "marker:lost_page_write", "marker:io_error_write"]],
             ["marker:lost_page_write", "fn:ext4_end_bio", "text:ext4_end_bio"],
             "writeback I/O errors: pages left clean but not on disk; fsync reporting decides who learns it"),
]


@dataclass
class Link:
    scenario: str
    variant: str | None
    params: dict[str, str]
    score: int
    why: str
    matched: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "variant": self.variant, "params": self.params, "score": self.score,
                "why": self.why, "matched": self.matched}


def _supported_kernel(params: dict[str, str]) -> dict[str, str]:
    """Drop a kernel version the simulator cannot model (it then uses the scenario's default)."""
    from simulator.versions import KernelVersion

    if "kernel" in params:
        try:
            KernelVersion.parse(params["kernel"])
        except ValueError:
            params = {k: v for k, v in params.items() if k != "kernel"}
    return params


def link(report: Any, text: str | None = None) -> Link | None:
    """The best-fitting scenario for a parsed report, or None when no rule's requirements all hold."""
    f = features(report, text)
    best: Link | None = None
    for rule in LINK_RULES:
        matched: list[str] = []
        ok = True
        for group in rule.need:
            hit = [feat for feat in group if f.has(feat)]
            if not hit:
                ok = False
                break
            matched.append(hit[0])
        if not ok:
            continue
        bonus = [feat for feat in rule.bonus if f.has(feat) and feat not in matched]
        score = 10 * len(rule.need) + len(bonus)
        if best is None or score > best.score:
            best = Link(rule.scenario, rule.variant, _supported_kernel(dict(rule.params(f))), score, rule.why,
                        matched + bonus)
    return best


# -- running and storing --------------------------------------------------------------------------------------
class ReproError(Exception):
    """The report does not exist or cannot be reproduced (one line for the CLI)."""


def store_run(db: Any, report_id: int | None, run: Any) -> int:
    """Insert a simulator run (``simulator.RunResult``) into ``repro_runs``; returns the row id."""
    from triage.store import transaction

    row = {
        "report_id": report_id, "scenario": run.scenario, "variant": run.variant,
        "params": json.dumps(run.params, sort_keys=True), "seed": run.seed, "outcome": run.outcome,
        "evidence": json.dumps(run.evidence, sort_keys=True, default=str), "console": run.console,
        "trace": json.dumps(run.trace, default=str), "sim_version": run.sim_version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with transaction(db):
        return db["repro_runs"].insert(row).last_pk


def repro(db: Any, report_id: int, seed: int = 1, *, store: bool = True) -> dict[str, Any]:
    """Link stored report ``report_id``, run the scenario, store the run. Returns link + run summary."""
    from simulator import run as sim_run
    from triage.report import parse

    rows = list(db.execute("SELECT id, text FROM reports WHERE id = ?", [report_id]).fetchall())
    if not rows:
        raise ReproError(f"no report with id {report_id}")
    text = rows[0][1] or ""
    rep = parse(text)
    lk = link(rep, (_get(rep, "report") or "") + "\n" + text)
    if lk is None:
        raise ReproError(f"report {report_id}: no scenario fits its mechanism (no link rule matched)")
    result = sim_run(lk.scenario, lk.variant, lk.params, seed)
    run_id = store_run(db, report_id, result) if store else None
    return {"report_id": report_id, "link": lk.to_dict(), "run_id": run_id, "scenario": result.scenario,
            "variant": result.variant, "params": result.params, "seed": result.seed, "outcome": result.outcome,
            "evidence": result.evidence, "console": result.console}


def run_all_for_demo(seed: int = 1) -> list[dict[str, Any]]:
    """Every scenario and variant at its defaults: the runs ``triage demo`` imports, classifies and links."""
    from simulator import run_all

    return [r.to_dict() for r in run_all(seed)]
