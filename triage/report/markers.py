"""Evidence lines in a report: the markers the classifier rules read (shared/docs/LABELS.md).

``find_markers(text)`` returns, in line order, one dict per marker line:

    {"kind": ..., "line": the cleaned line, "lineno": 1-based, "task": {"comm", "pid"} | None, ...kind fields}

``task`` is the task that printed the line when the text says so: a ``comm`` in the message itself, the
``CPU: N PID: M Comm: X`` line that follows a fault-injection message, or the console caller tag
(``[ T1234]`` gives ``{"comm": None, "pid": 1234}``).

Markers come from ``MARKERS``, a table of (kind, regexp, field extractor). Adding a marker is adding a row.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

from triage.report.context import kernel_version
from triage.report.gfp import find_gfp, has_flag
from triage.report.lines import Line, cleaned
from triage.report.stacks import lockdep_locks

# errno values a marker may print, and which of them mean "the filesystem image is corrupted".
ERRNO = {1: "EPERM", 2: "ENOENT", 5: "EIO", 11: "EAGAIN", 12: "ENOMEM", 22: "EINVAL", 28: "ENOSPC",
         30: "EROFS", 74: "EFSBADCRC", 117: "EFSCORRUPTED", 121: "EREMOTEIO", 122: "EDQUOT"}
CORRUPTION_ERRNOS = frozenset({74, 117})

_FS_PREFIX = (r"(?:EXT[234]-fs|XFS|BTRFS|F2FS-fs|NILFS|ntfs3?|JFS|erofs|EROFS|gfs2|GFS2|ocfs2|OCFS2|hfsplus|hfs|"
              r"udf|UDF-fs|isofs|ISOFS|squashfs|SQUASHFS|FAT-fs|exFAT-fs|exfat|REISERFS|jbd2|JBD2|bcachefs|"
              r"Squashfs|befs|BEFS|minix|MINIX-fs|qnx[46]|sysv|ufs|UFS-fs|romfs|affs|AFFS|hpfs|HPFS|jffs2|"
              r"ubifs|UBIFS|zonefs|orangefs|ceph|fuse|overlayfs)")

# Functions whose WARN is a "called from reclaim" guard (WARN_ON_ONCE(current->flags & PF_MEMALLOC) or the
# PF_MEMALLOC-without-PF_KSWAPD variant): the recursion happened and the filesystem refused it.
PF_MEMALLOC_GUARDS = {"ext4_write_inode", "iomap_do_writepage", "iomap_writepage_map", "xfs_vm_writepage",
                      "xfs_do_writepage", "xfs_vm_writepages", "btrfs_writepage", "f2fs_write_data_page"}


def _int(s: str | None) -> int | None:
    try:
        return int(s, 0) if s is not None else None
    except ValueError:
        return None


def _errno(code: int | None) -> dict:
    if code is None:
        return {"error": None, "errno": None, "corruption": False}
    return {"error": code, "errno": ERRNO.get(abs(code)), "corruption": abs(code) in CORRUPTION_ERRNOS}


def _window(lines: list[Line], i: int, before: int, after: int) -> str:
    """Lines around i joined with spaces (mail clients wrap long kernel lines)."""
    return " ".join(ln.text.strip() for ln in lines[max(0, i - before):i + after + 1])


# --- kind-specific field extractors: (match, lines, index, ctx) -> fields --------------------------------

_NAME = re.compile(r"^\s*name (?P<name>[\w-]+), interval (?P<interval>\d+), probability (?P<prob>\d+), "
                   r"space (?P<space>\d+), times (?P<times>-?\d+)")
_CPU = re.compile(r"CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>\S.*?)(?: (?:Not tainted|Tainted:)|$)")


def _fault(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    out: dict = {"fault": None}
    for ln in lines[i + 1:i + 8]:
        n = _NAME.match(ln.text)
        if n and out["fault"] is None:
            out.update(fault=n.group("name"), interval=int(n.group("interval")),
                       probability=int(n.group("prob")), times=int(n.group("times")))
            continue
        c = _CPU.search(ln.text)
        if c:
            out["task"] = {"comm": c.group("comm").strip(), "pid": int(c.group("pid"))}
            break
        if "FAULT_INJECTION" in ln.text:
            break
    return out


_DELALLOC = re.compile(r"Delayed block allocation failed for inode\s+(?P<ino>\d+).*?with error (?P<err>-?\d+)")


def _data_will_be_lost(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    d = _DELALLOC.search(_window(lines, i, 5, 0))
    out = {"inode": _int(d.group("ino")) if d else None}
    out.update(_errno(_int(d.group("err")) if d else None))
    return out


def _potential_loss(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    d = re.search(r"\(inode (?P<ino>\d+), error (?P<err>-?\d+)\)", _window(lines, i, 0, 1))
    out = {"inode": _int(d.group("ino")) if d else None}
    out.update(_errno(_int(d.group("err")) if d else None))
    return out


_MF = re.compile(r"Memory failure: (?P<pfn>0x[0-9a-f]+|\d+): (?:recovery action for (?P<type>[\w /-]+?)"
                 r"(?::\s*(?P<result>\w+))?\s*$|(?P<other>.*))")


def _memory_failure(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    mm = _MF.search(_window(lines, i, 0, 1) if not m.group(0).rstrip().endswith(("Recovered", "Ignored", "Failed",
                                                                                     "Delayed")) else lines[i].text)
    page_type = result = None
    if mm and mm.group("type"):
        page_type, result = mm.group("type").strip(), mm.group("result")
    elif mm and mm.group("other"):
        t = re.search(r"recovery action for (?P<type>[\w /-]+?):\s*(?P<result>\w+)", mm.group("other"))
        if t:
            page_type, result = t.group("type").strip(), t.group("result")
    pt = (page_type or "").lower()
    return {"pfn": mm.group("pfn") if mm else None, "page_type": page_type, "result": result,
            "dirty": pt.startswith("dirty"), "lru": "lru" in pt, "swapcache": "swapcache" in pt,
            "shmem": "shmem" in pt or "tmpfs" in pt, "huge": "huge" in pt}


def _alloc_failure(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    gfp = find_gfp(lines[i].text, ctx["kernel"])
    g = gfp[0] if gfp else None
    return {"order": _int(m.group("order")), "comm_from_line": m.group("comm"),
            "task": {"comm": m.group("comm"), "pid": ctx["tag_pid"]},
            "mode": g["raw"] if g else None, "flags": g["flags"] if g else [],
            "nofail": bool(g and has_flag(g, "__GFP_NOFAIL"))}


def _blocked(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    return {"seconds": _int(m.group("secs")), "task": {"comm": m.group("comm"), "pid": int(m.group("pid"))}}


def _buffer_io(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    rest = m.group("rest") or ""
    return {"device": m.group("dev"), "block": _int(m.group("block")), "lost": "lost" in rest,
            "write": "write" in rest}


def _lost_page_write(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    e = re.search(r"\((-\d+)\)\s*$", lines[i].text)
    return {"device": m.group("dev"), **_errno(_int(e.group(1)) if e else None)}


def _fs_error(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    comm = re.search(r"\bcomm (\S.{0,63}?): ", lines[i].text)
    out: dict = {"fs": m.group("fs"), "device": m.group("dev"), "function": m.group("func")}
    if comm:
        out["task"] = {"comm": comm.group(1), "pid": ctx["tag_pid"]}
    return out


def _corruption(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    out = {"fs": m.group("fs"), "device": m.group("dev") or m.group("dev2")}
    comm = re.search(r"\bcomm (\S.{0,63}?): ", lines[i].text)
    if comm:
        out["task"] = {"comm": comm.group(1), "pid": ctx["tag_pid"]}
    return out


def _io_error(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    op = re.search(r"op 0x\w+:\((?P<op>\w+)\)", _window(lines, i, 0, 1))
    return {"device": m.group("dev"), "sector": _int(m.group("sector")), "op": op.group("op") if op else None}


def _page_discard(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    return {"fs": m.group("fs"), "device": m.group("dev")}


def _guard(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    func = m.group("func").split("+")[0].split(".")[0]
    if func not in PF_MEMALLOC_GUARDS:
        return {"skip": True}
    return {"function": func, "file": m.group("file"), "task": {"comm": None, "pid": int(m.group("pid"))}}


def _page_alloc_warning(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    return {"function": m.group("func").split("+")[0], "file": m.group("file"), "file_line": _int(m.group("ln")),
            "task": {"comm": None, "pid": int(m.group("pid"))}}


def _usage(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    frm, to = m.group("from"), m.group("to")
    return {"from": frm, "to": to, "reclaim": "RECLAIM_FS" in frm or "RECLAIM_FS" in to}


def _panic_on_warn(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    return {"source": "cmdline" if "=" in m.group(0) else "panic"}


def _oom(m: re.Match, lines: list[Line], i: int, ctx: dict) -> dict:
    gfp = find_gfp(lines[i].text, ctx["kernel"])
    g = gfp[0] if gfp else None
    return {"task": {"comm": m.group("comm"), "pid": ctx["tag_pid"]}, "gfp_mask": g["raw"] if g else None,
            "flags": g["flags"] if g else [], "order": _int(m.group("order"))}


Extractor = Callable[[re.Match, list[Line], int, dict], dict]

# (kind, regexp searched in each cleaned line, extractor or None). Order only matters for the output order
# of markers found on the same line.
MARKERS: list[tuple[str, re.Pattern[str], Extractor | None]] = [
    ("fault_injection", re.compile(r"FAULT_INJECTION: forcing a failure"), _fault),
    ("buffer_io_error", re.compile(r"Buffer I/O error on dev(?:ice)? (?P<dev>[\w./-]+), logical block "
                                   r"(?P<block>\d+)(?P<rest>.*)"), _buffer_io),
    ("lost_async_page_write", re.compile(r"lost async page write"), None),
    ("lost_page_write", re.compile(r"lost page write due to I/?O error on (?P<dev>[\w./-]+)"), _lost_page_write),
    ("page_discard", re.compile(r"^(?P<fs>\w+)(?: \((?P<dev>[\w./-]+)\))?: page discard on page"), _page_discard),
    ("data_will_be_lost", re.compile(r"This should not happen!! Data will be lost|Data will be lost"),
     _data_will_be_lost),
    ("potential_data_loss", re.compile(r"potential data loss"), _potential_loss),
    ("memory_failure", re.compile(r"Memory failure: (?:0x[0-9a-f]+|\d+): "), _memory_failure),
    ("hwpoison_inject", re.compile(r"Injecting memory failure (?:for|at) pfn"), None),
    ("page_allocation_failure", re.compile(r"(?P<comm>\S+): page allocation failure: order:(?P<order>\d+)"),
     _alloc_failure),
    ("oom_killer", re.compile(r"(?P<comm>\S+) invoked oom-killer: .*?order=(?P<order>-?\d+)"), _oom),
    ("slab_alloc_failure", re.compile(r"SLUB: Unable to allocate memory on node"), None),
    ("hung_task", re.compile(r"INFO: task (?P<comm>.+):(?P<pid>\d+) blocked for more than (?P<secs>\d+) seconds"),
     _blocked),
    ("pf_memalloc_guard", re.compile(r"WARNING: CPU: \d+ PID: (?P<pid>\d+) at (?P<file>\S+):\d+ (?P<func>\S+)"),
     _guard),
    ("page_alloc_warning", re.compile(r"WARNING: CPU: \d+ PID: (?P<pid>\d+) at (?P<file>mm/page_alloc\.c):(?P<ln>\d+)"
                                      r" (?P<func>\S+)"), _page_alloc_warning),
    ("lockdep_usage", re.compile(r"inconsistent \{(?P<from>[A-Z_-]+)\} -> \{(?P<to>[A-Z_-]+)\} usage"), _usage),
    ("fs_error", re.compile(r"^(?P<fs>" + _FS_PREFIX + r") error \(device (?P<dev>[^)\s]+)\)"
                            r"(?:(?::| in) (?P<func>\w+):\d+)?"), _fs_error),
    ("fs_corruption", re.compile(r"^(?P<fs>" + _FS_PREFIX + r")(?:[ -]\w+)?(?: \(device (?P<dev>[^)\s]+)\)| \("
                                 r"(?P<dev2>[^)\s]+)\))?.{0,300}?(?i:\bcorrupt(?:ed|ion)?\b(?! \d)|bad header/extent|"
                                 r"bad block bitmap|checksum (?:error|mismatch|invalid)|Structure needs cleaning|"
                                 r"run fsck|invalid magic|bad superblock)"), _corruption),
    ("io_error", re.compile(r"I/O error, dev (?P<dev>[\w./-]+), sector (?P<sector>\d+)"), _io_error),
    ("panic_on_warn", re.compile(r"panic_on_warn set|\bpanic_on_warn=1\b"), _panic_on_warn),
]
# Literal substrings a line must contain for each marker's regexp to be tried (cheap "in" tests first).
KEYS: dict[str, tuple[str, ...]] = {
    "fault_injection": ("FAULT_INJECTION",),
    "buffer_io_error": ("Buffer I/O error",),
    "lost_async_page_write": ("lost async page write",),
    "lost_page_write": ("lost page write",),
    "page_discard": ("page discard on page",),
    "data_will_be_lost": ("Data will be lost",),
    "potential_data_loss": ("potential data loss",),
    "memory_failure": ("Memory failure: ",),
    "hwpoison_inject": ("Injecting memory failure",),
    "page_allocation_failure": ("page allocation failure",),
    "oom_killer": ("invoked oom-killer",),
    "slab_alloc_failure": ("SLUB: Unable",),
    "hung_task": ("blocked for more than",),
    "pf_memalloc_guard": ("WARNING: CPU:",),
    "page_alloc_warning": ("mm/page_alloc.c",),
    "lockdep_usage": ("inconsistent {",),
    "fs_error": (" error (device ",),
    "fs_corruption": ("orrupt", "bad header", "bad block bitmap", "hecksum", "Structure needs", "fsck",
                      "invalid magic", "bad superblock"),
    "io_error": ("I/O error, dev",),
    "panic_on_warn": ("panic_on_warn",),
}
_TAG_PID = re.compile(r"^T(\d+)$")


def find_markers(text: str) -> list[dict]:
    """All marker lines of ``text`` in order (see module doc); never raises on a str."""
    if not isinstance(text, str):
        return []
    rows = [(kind, rx, extract, KEYS[kind]) for kind, rx, extract in MARKERS
            if any(k in text for k in KEYS[kind])]
    out: list[dict] = []
    if rows:
        _scan(text, rows, out)
    if "fs_reclaim" in text:
        out += _fs_reclaim_markers(text)
        out.sort(key=lambda d: d["lineno"])
    return out


def _hit_lines(text: str, rows: list) -> dict[int, list[int]]:
    """Line index -> indexes of the rows whose keys occur in that line (str.find over the whole text)."""
    starts: list[int] | None = None
    hits: dict[int, list[int]] = {}
    for r, (_, _, _, keys) in enumerate(rows):
        for key in keys:
            pos = text.find(key)
            while pos != -1:
                if starts is None:
                    starts = [0]
                    for m in re.finditer("\n", text):
                        starts.append(m.end())
                line = bisect_right(starts, pos) - 1
                rows_here = hits.setdefault(line, [])
                if not rows_here or rows_here[-1] != r:
                    rows_here.append(r)
                nxt = starts[line + 1] if line + 1 < len(starts) else len(text)
                pos = text.find(key, nxt)
    return hits


def _scan(text: str, rows: list, out: list[dict]) -> None:
    hits = _hit_lines(text, rows)
    if not hits:
        return
    lines = cleaned(text)
    ctx: dict = {"kernel": None, "tag_pid": None}
    kernel_known = False
    for i in sorted(hits):
        ln = lines[i]
        line = ln.text
        for r in sorted(set(hits[i])):
            kind, rx, extract, _keys = rows[r]
            m = rx.search(line)
            if not m:
                continue
            tag = _TAG_PID.match(ln.tag) if ln.tag else None
            ctx["tag_pid"] = int(tag.group(1)) if tag else None
            if not kernel_known and kind in ("page_allocation_failure", "oom_killer"):
                ctx["kernel"], kernel_known = kernel_version(text), True
            fields = extract(m, lines, i, ctx) if extract else {}
            if fields.pop("skip", False):
                continue
            task = fields.pop("task", None)
            if task is None and ctx["tag_pid"] is not None:
                task = {"comm": None, "pid": ctx["tag_pid"]}
            fields.pop("comm_from_line", None)
            out.append({"kind": kind, "line": line.strip(), "lineno": ln.lineno, "task": task, **fields})


def _fs_reclaim_markers(text: str) -> list[dict]:
    """The fs_reclaim pseudo-lock in a lockdep report: one marker per role it appears in."""
    lines = text.split("\n")
    out = []
    for d in lockdep_locks(text):
        name = d.get("lock") or ""
        if name.strip("()") not in ("fs_reclaim", "__fs_reclaim_map") and not (
                d["role"] == "chain-exists" and "fs_reclaim" in d.get("locks", [])):
            continue
        raw = lines[d["lineno"] - 1] if 0 < d["lineno"] <= len(lines) else ""
        out.append({"kind": "fs_reclaim_lock", "line": raw.strip()[:2000], "lineno": d["lineno"],
                    "task": d.get("task"), "role": d["role"], "link": d.get("link")})
    return out
