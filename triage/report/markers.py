"""Evidence markers: which console line is which marker kind (``vocab.markers``), and what it says.

``MARKERS`` is the table: one row per kind, in precedence order. A line is one message, so it is one marker at
most: the first row whose regexp matches it names it. The regexp is searched in the line joined with the next
one (mail clients wrap long kernel lines) but must start in the line itself. A row's ``fields`` reads the
kind's details (device, errno, inode, gfp mask, fault type, ...); ``on`` says whether the row reads ordinary
message lines, crash header lines (``INFO: task ... blocked``, a ``WARNING`` in the page allocator) or both.

``triage.report.console`` walks the input and calls ``matches`` on each message / header line; ``find_markers``
is that walk's marker list. Each marker is a dict:

    {"kind", "line": the cleaned line, "lineno": 1-based line of the input, "task": {"comm", "pid"} | None,
     "task_lineno", "task_line": the line that names the task (None: the console caller tag ``[ T1234]``
     says it, or nothing does),
     "continued": the next line when the message was wrapped onto it, ...kind fields}

Adding a marker is adding a kind to ``vocab.markers`` and a row here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from triage.report.gfp import find_gfp, has_flag
from triage.report.lines import Line, word_lines
from triage.report.wordset import WordSet, match_texts
from vocab.markers import BY_KIND

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


# A marker line that is source or quotation, not kernel output: a diff line, a printf conversion (``%s``,
# ``%pd``), a literal ``\n``, a call of a printing function, or the message quoted in prose (a quote mark just
# before it). Evidence never comes from such a line (a patch quoting ``"lost page write due to I/O error on %s"``).
_DIFF_LINE = re.compile(r"^[+-](?![->+\[])[\s\"'\w#{}()]")
_FORMAT = re.compile(r"(?<![\w%])%(?:[-+#0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z|t|L)?[diouxXsc](?![a-z])|p[A-Za-z]\w*)")
_PRINT_CALL = re.compile(
    r"\b(?:printk\w*|pr_[a-z]+|dev_(?:err|warn|info|notice|crit|alert|emerg|dbg)\w*|WARN\w*|BUG_ON|panic|"
    r"\w+_(?:msg|err|error|warn|warning|info|notice|crit|alert)(?:_ratelimited|_once)?|\w*printf)\s*\(")
_QUOTES = "\"'`\u201c\u2018\u00ab"


def looks_like_source(line: str, start: int = 0) -> bool:
    """Whether ``line`` (cleaned, stripped) is source code, a diff line or a quotation rather than kernel output;
    ``start``: where the marker's match begins in it (a quote mark just before it is a quotation)."""
    if line[:1] in "+-" and _DIFF_LINE.match(line):
        return True
    if "\\n" in line or ("%" in line and _FORMAT.search(line)):
        return True
    if "(" in line and _PRINT_CALL.search(line):
        return True
    return 0 < start <= len(line) and line[start - 1] in _QUOTES


def _int(s: str | None) -> int | None:
    try:
        return int(s, 0) if s is not None else None
    except ValueError:
        return None


def _errno(code: int | None) -> dict:
    if code is None:
        return {"error": None, "errno": None, "corruption": False}
    return {"error": code, "errno": ERRNO.get(abs(code)), "corruption": abs(code) in CORRUPTION_ERRNOS}


def _window(lines: Sequence[Line], i: int, before: int, after: int) -> str:
    """Lines around i joined with spaces (mail clients wrap long kernel lines)."""
    return " ".join(ln.text.strip() for ln in lines[max(0, i - before):i + after + 1])


# --- kind-specific field readers: (match, lines, index, ctx) -> fields ----------------------------------------
# ``ctx``: "kernel" (for gfp masks), "tag_pid" (the console caller tag's pid), "delalloc" (the errno and inode
# of the last 'Delayed block allocation failed' line before this one).

_NAME = re.compile(r"^\s*name (?P<name>[\w-]+), interval (?P<interval>\d+), probability (?P<prob>\d+), "
                   r"space (?P<space>\d+), times (?P<times>-?\d+)")


def _fault(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    out: dict = {"fault": None}
    for ln in lines[i + 1:i + 8]:
        n = _NAME.match(ln.text)
        if n:
            out.update(fault=n.group("name"), interval=int(n.group("interval")),
                       probability=int(n.group("prob")), times=int(n.group("times")))
            break
        if "FAULT_INJECTION" in ln.text or "PID:" in ln.text:
            break
    return out


_BUFFER = re.compile(r"Buffer I/O error on dev(?:ice)? (?P<dev>[\w./-]+), logical block (?P<block>\d+)(?P<rest>.*)")
_LOST_PAGE = re.compile(r"lost page write due to I/?O\s+error(?: on (?P<dev>[\w./-]+))?")
_EXT4_WB = re.compile(r"(?:\(device (?P<dev>[^)\s]+)\).*?)?I/O error (?P<err>-?\d+) writing to inode (?P<ino>\d+)")
# iomap (XFS, gfs2, zonefs, ...): the folios of a failed writeback end clean; the error waits for an fsync
_IOMAP_WB = re.compile(r"(?:^|\s)(?P<dev>[\w./-]+): writeback error on inode (?P<ino>\d+), offset")


_PAGE_WRITE = re.compile(r"lost (async|sync) page write")


def _lost_write(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    line = lines[i].text.strip()
    # the next line only when this one was wrapped (it may be the next message, with its own page write)
    whole = _PAGE_WRITE.search(line) or _LOST_PAGE.search(line) or _EXT4_WB.search(line) or _IOMAP_WB.search(line)
    text = line if whole else _window(lines, i, 0, 1)
    pw = _PAGE_WRITE.search(text)
    # "lost async page write": writeback dropped the page; "lost sync page write": the writer got the error
    out: dict = {"device": None, "errno": None, "page_write": pw.group(1) if pw else None}
    b = _BUFFER.search(text)
    if b:
        out.update(device=b.group("dev"), block=_int(b.group("block")), lost=True, write="write" in b.group("rest"))
        return out
    p = _LOST_PAGE.search(text)
    if p:
        e = re.search(r"\((-\d+)\)\s*$", lines[i].text)
        fs = re.match(r"\s*(BTRFS|XFS|EXT\d-fs|F2FS)\b", lines[i].text)
        out.update(device=p.group("dev"), fs=fs.group(1) if fs else None,
                   **_errno(_int(e.group(1)) if e else None))
        return out
    w = _EXT4_WB.search(text)
    if w:
        out.update(device=w.group("dev"), inode=_int(w.group("ino")), **_errno(_int(w.group("err"))))
        return out
    w = _IOMAP_WB.search(text)
    if w:
        out.update(device=w.group("dev"), inode=_int(w.group("ino")))
    return out


_DELALLOC = re.compile(r"Delayed block allocation failed for inode\s+(?P<ino>\d+).*?with error (?P<err>-?\d+)")


def _delalloc(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    d = _DELALLOC.search(_window(lines, i, 0, 4))
    e = d or re.search(r"\berror (?P<err>-?\d+)", _window(lines, i, 0, 1))
    out = {"inode": _int(d.group("ino")) if d else None}
    out.update(_errno(_int(e.group("err")) if e else None))
    ctx["delalloc"] = out
    return out


_EXT4_DEV = re.compile(r"EXT4-fs(?: \w+)? \((?:device )?(?P<dev>[^)\s]+)\)")


def _device(line: str) -> str | None:
    d = _EXT4_DEV.search(line)
    return d.group("dev") if d else None


def _data_will_be_lost(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    d = _DELALLOC.search(_window(lines, i, 5, 0))
    if d:
        out = {"inode": _int(d.group("ino"))}
        out.update(_errno(_int(d.group("err"))))
    else:
        out = dict(ctx.get("delalloc") or {"inode": None, **_errno(None)})
    out["device"] = _device(lines[i].text)
    return out


def _potential_loss(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    text = _window(lines, i, 0, 1)
    d = re.search(r"\(inode (?P<ino>\d+), error (?P<err>-?\d+)\)", text)
    e = d or re.search(r"\berror (?P<err>-?\d+)", text)
    out = {"inode": _int(d.group("ino")) if d else None, "device": _device(lines[i].text)}
    out.update(_errno(_int(e.group("err")) if e else None))
    return out


_MF = re.compile(r"Memory failure: (?P<pfn>0x[0-9a-f]+|\d+): (?:recovery action for (?P<type>[\w /-]+?)"
                 r"(?::\s*(?P<result>\w+))?\s*$|(?P<other>.*))")


def _memory_failure(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    line = lines[i].text.rstrip()
    mm = _MF.search(line if line.endswith(("Recovered", "Ignored", "Failed", "Delayed"))
                    else _window(lines, i, 0, 1))
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


def _alloc_failure(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    gfp = find_gfp(lines[i].text, ctx["kernel"])
    g = gfp[0] if gfp else None
    return {"order": _int(m.group("order")), "task": {"comm": m.group("comm"), "pid": ctx["tag_pid"]},
            "mode": g["raw"] if g else None, "flags": g["flags"] if g else [],
            "nofail": bool(g and has_flag(g, "__GFP_NOFAIL"))}


def _blocked(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    return {"seconds": _int(m.group("secs")), "task": {"comm": m.group("comm"), "pid": int(m.group("pid"))}}


def _buffer_io(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    rest = m.group("rest") or ""
    return {"device": m.group("dev"), "block": _int(m.group("block")), "lost": "lost" in rest,
            "write": "write" in rest}


_FS_ERROR = re.compile(r"^(?P<fs>" + _FS_PREFIX + r") error \(device (?P<dev>[^)\s]+)\)"
                       r"(?:(?::| in) (?P<func>\w+):\d+)?")
_FS_CORRUPTION = re.compile(
    r"^(?P<fs>" + _FS_PREFIX + r")(?:[ -]\w+)?(?: \(device (?P<dev>[^)\s]+)\)| \((?P<dev2>[^)\s]+)\))?.{0,300}?"
    r"(?i:\bcorrupt(?:ed|ion)?\b(?! \d)|bad header/extent|bad block bitmap|checksum (?:error|mismatch|invalid)|"
    r"Structure needs cleaning|run fsck|invalid magic|bad superblock)")
_COMM = re.compile(r"\bcomm (\S.{0,63}?): ")


def _fs_error(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    line = lines[i].text
    out: dict = {"fs": None, "device": None, "function": None, "corruption": False}
    e = _FS_ERROR.search(line)
    c = _FS_CORRUPTION.search(line)
    if e:
        out.update(fs=e.group("fs"), device=e.group("dev"), function=e.group("func"))
    if c:
        out.update(corruption=True, fs=out["fs"] or c.group("fs"), device=out["device"] or c.group("dev")
                   or c.group("dev2"))
    comm = _COMM.search(line)
    if comm:
        out["task"] = {"comm": comm.group(1), "pid": ctx["tag_pid"]}
    return out


_SHUTDOWN = re.compile(
    r"Transaction aborted \(error -?\d+\)|\berrno=-?\d+ |forced readonly|Aborting journal on device|"
    r"Remounting filesystem read-only|Detected aborted journal|Journal has aborted|shut down requested|"
    r"Filesystem has been shut down|xfs_do_force_shutdown\(|Shutting down filesystem|Stopped filesystem due to|"
    r"remounting read-only|remounting filesystem read-only")
_SHUTDOWN_FS = re.compile(r"(?P<fs>" + _FS_PREFIX + r")(?::? \w+|-\w+)?(?: \((?:device )?(?P<dev>[^)\s]+)"
                          r"(?: state \w+)?\))?")


def _fs_shutdown(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    line = lines[i].text
    f = _SHUTDOWN_FS.search(line)
    e = re.search(r"(?:errno=|error )(-?\d+)", line)
    out = {"fs": f.group("fs") if f else None, "device": f.group("dev") if f else None}
    out.update(_errno(_int(e.group(1)) if e else None))
    return out


def _beyond_eod(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    d = re.search(r"(?:^|\s)(?P<dev>[\w./-]+): rw=\d+", _window(lines, i, 0, 1))
    return {"device": d.group("dev") if d else None}


_IO_ERROR = re.compile(r"I/O error, dev (?P<dev>[\w./-]+), sector (?P<sector>\d+)")


def _io_error(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    text = _window(lines, i, 0, 1)
    d = _IO_ERROR.search(text)
    op = re.search(r"op 0x\w+:\((?P<op>\w+)\)", text)
    return {"device": d.group("dev") if d else None, "sector": _int(d.group("sector")) if d else None,
            "op": op.group("op") if op else None}


_PAGE_DISCARD = re.compile(r"^(?P<fs>\w+)(?: \((?P<dev>[\w./-]+)\))?: page discard on page")


def _page_discard(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    d = _PAGE_DISCARD.search(lines[i].text.strip())
    return {"fs": d.group("fs") if d else None, "device": d.group("dev") if d else None}


# The WARNING header of 6.18+ ("WARNING: FILE:LINE at FUNC+0x1/0x2 FILE:LINE, CPU#0: COMM/PID"), as the second
# alternative of a header row (``{file}``: the file expression); its groups end in 2.
_WARN_NEW = r"|(?P<file2>{file}):(?P<ln2>\d+) at (?P<func2>[^\s,]+)[^,]*, CPU#\d+: \S*?/(?P<pid2>\d+))"


def _warn_groups(m: re.Match) -> tuple[str, str, str | None, int]:
    """(function, file, line, pid) of a WARNING header row match, old or new format."""
    if m.group("func") is not None:
        return m.group("func"), m.group("file"), m.groupdict().get("ln"), int(m.group("pid"))
    return m.group("func2"), m.group("file2"), m.group("ln2"), int(m.group("pid2"))


def _guard(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    func, file, _, pid = _warn_groups(m)
    func = func.split("+")[0].split(".")[0]
    if func not in PF_MEMALLOC_GUARDS:
        return {"skip": True}
    return {"function": func, "file": file, "task": {"comm": None, "pid": pid}}


def _page_alloc_warning(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    func, file, ln, pid = _warn_groups(m)
    return {"function": func.split("+")[0], "file": file, "file_line": _int(ln), "task": {"comm": None, "pid": pid}}


def _usage(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    frm, to = m.group("from"), m.group("to")
    return {"from": frm, "to": to, "reclaim": "RECLAIM_FS" in frm or "RECLAIM_FS" in to}


def _panic_on_warn(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    return {"source": "cmdline" if "=" in m.group(0) else "panic"}


def _oom(m: re.Match, lines: Sequence[Line], i: int, ctx: dict) -> dict:
    gfp = find_gfp(lines[i].text, ctx["kernel"])
    g = gfp[0] if gfp else None
    return {"task": {"comm": m.group("comm"), "pid": ctx["tag_pid"]}, "gfp_mask": g["raw"] if g else None,
            "flags": g["flags"] if g else [], "order": _int(m.group("order"))}


Fields = Callable[[re.Match, Sequence[Line], int, dict], dict]


@dataclass(frozen=True)
class Row:
    kind: str                      # a kind of vocab.markers
    pattern: re.Pattern[str]       # searched in the line and the next one; the match must start in the line
    keys: tuple[str, ...]          # the line holds one of these when the row can match (cheap "in" tests)
    fields: Fields | None = None
    on: str = "message"            # message | header | any: the lines the row reads


def _unnamed(rx: re.Pattern[str]) -> str:
    """``rx``'s pattern with its named groups made plain (to join it into an alternation)."""
    return re.sub(r"\(\?P<\w+>", "(?:", rx.pattern)


def _row(kind: str, pattern: str, keys: tuple[str, ...], fields: Fields | None = None, on: str = "message",
         flags: int = 0) -> Row:
    if kind not in BY_KIND:
        raise ValueError(f"marker kind {kind!r} is not in vocab.markers")
    return Row(kind, re.compile(pattern, flags), keys, fields, on)


# Precedence order: the first row that matches names the line.
MARKERS: list[Row] = [
    _row("fault-injection", r"FAULT_INJECTION: forcing a failure", ("FAULT_INJ",), _fault),
    _row("lost-write", r"lost (?:async|sync) page write|lost page write due to I/?O\s+error|"
         r"Buffer I/O error on dev(?:ice)? \S+, logical block \d+, lost|I/O error -?\d+ writing to inode|"
         r"writeback error on inode \d+, offset", ("lost", "I/O error", "writeback error"), _lost_write),
    _row("data-will-be-lost", r"This should not happen!! Data will be lost", ("should not",), _data_will_be_lost),
    _row("unwritten-extents", r"failed to convert unwritten extents to written extents -- potential data loss",
         ("unwritten",), _potential_loss),
    _row("page-discard", r"page discard on page", ("discard",), _page_discard),
    _row("hwpoison-dirty", r"Memory failure: .*dirty (?:LRU |page.cache |pagecache |shmem )?page", ("Memory failure",),
         _memory_failure, flags=re.I),
    _row("write-io-error", r"I/O error,? .*\b(?:op 0x1:\(WRITE\)|WRITE)\b", ("I/O error",), _io_error),
    _row("delalloc-failed", r"Delayed block allocation failed", ("Delayed",), _delalloc),
    _row("fs-shutdown", _SHUTDOWN.pattern, ("aborted", "errno=", "forced readonly", "Aborting journal", "read-only",
                                            "shut down", "xfs_do_force_shutdown", "Shutting down", "Stopped"),
         _fs_shutdown),
    _row("fs-error", r"(?:EXT[234]-fs|XFS|BTRFS|F2FS|NILFS|ntfs3?)[^:]*\berror\b|[Cc]orrupt|bad block bitmap|"
         r"Structure needs cleaning|" + _unnamed(_FS_ERROR) + "|" + _unnamed(_FS_CORRUPTION),
         ("error", "orrupt", "bad block bitmap", "Structure needs", "bad header", "hecksum", "fsck", "invalid magic",
          "bad superblock"), _fs_error),
    _row("alloc-failure", r"can't allocate|cannot allocate|failed to allocate|-ENOMEM\b|\berror -12\b",
         ("allocate", "ENOMEM", "error"), flags=re.I),
    _row("loop-write-error", r"loop\d*: Write error at byte offset", ("Write error",)),
    _row("buffer-io-error", _BUFFER.pattern, ("Buffer I/O error",), _buffer_io),
    _row("memory-failure", r"Memory failure: (?:0x[0-9a-f]+|\d+): ", ("Memory failure: ",), _memory_failure),
    _row("io-error", _IO_ERROR.pattern, ("I/O error, dev",), _io_error),
    _row("beyond-eod", r"attempt to access beyond end of device", ("beyond end of device",), _beyond_eod),
    _row("hwpoison-inject", r"Injecting memory failure (?:for|at) pfn", ("Injecting memory failure",)),
    _row("page-allocation-failure", r"(?P<comm>\S+): page allocation failure: order:(?P<order>\d+)",
         ("page allocation failure",), _alloc_failure),
    _row("oom-killer", r"(?P<comm>\S+) invoked oom-killer: .*?order=(?P<order>-?\d+)", ("invoked oom-killer",), _oom),
    _row("slab-alloc-failure", r"SLUB: Unable to allocate memory on node", ("SLUB: Unable",)),
    _row("lockdep-usage", r"inconsistent \{(?P<from>[A-Z_-]+)\} -> \{(?P<to>[A-Z_-]+)\} usage", ("inconsistent {",),
         _usage),
    _row("hung-task", r"INFO: task (?P<comm>.+):(?P<pid>\d+) blocked for more than (?P<secs>\d+) seconds",
         ("blocked for more than",), _blocked, on="header"),
    _row("pf-memalloc-guard", r"WARNING: (?:CPU: \d+ PID: (?P<pid>\d+) at (?P<file>\S+):\d+ (?P<func>\S+)" + _WARN_NEW
         .format(file=r"[^\s:]+"), ("WARNING: CPU:", "CPU#"), _guard, on="header"),
    _row("page-alloc-warning", r"WARNING: (?:CPU: \d+ PID: (?P<pid>\d+) at (?P<file>mm/page_alloc\.c):(?P<ln>\d+)"
         r" (?P<func>\S+)" + _WARN_NEW.format(file=r"mm/page_alloc\.c"), ("mm/page_alloc.c",), _page_alloc_warning,
         on="header"),
    # "panic_on_warn set|\bpanic_on_warn=1\b" with its common start first (``re`` then finds it by a literal scan)
    _row("panic-on-warn", r"panic_on_warn(?: set|(?<=\bpanic_on_warn)=1\b)", ("panic_on_warn",), _panic_on_warn,
         on="any"),
]


def _needed(row: Row) -> tuple[tuple[str, ...] | None, bool]:
    """(texts, False) when every match of the row holds one of the texts (``wordset.match_texts`` of its pattern: each
    alternative's longest literal run, or one text of each alternative of a group it must pass): a window without
    them is no match, without a search. For a row with a case-insensitive part (``re.I``, ``(?i:...)``),
    (the texts lower-cased, True): an ASCII window lower-cased holds one when the row matches it (in an ASCII text
    a case-insensitive ASCII literal matches its ASCII case variants only, and ``str.lower`` keeps every position);
    a window with another character is searched. (None, False) when the pattern holds no such texts."""
    pattern = row.pattern
    folded = bool(pattern.flags & re.IGNORECASE) or "(?i" in pattern.pattern
    found = match_texts(pattern.pattern, pattern.flags & ~re.IGNORECASE)
    if found is None or (folded and not all(t.isascii() for t in found)):
        return None, False
    texts = tuple(dict.fromkeys(t.lower() if folded else t for t in found))
    return texts, folded


# (row, the words one of which a window must hold for the row to match it, whether in the window lower-cased:
# ``_needed``)
_MESSAGE_ROWS = [(r, *_needed(r)) for r in MARKERS if r.on != "header"]
_HEADER_ROWS = [(r, *_needed(r)) for r in MARKERS if r.on != "message"]
# Words one of which a line holds when a row may match it.
GATE_WORDS = tuple(sorted({k for r in MARKERS for k in r.keys} | {
    "FAULT_INJ", "lost", "Data will", "unwritten", "discard", "Memory failure", "I/O error", "Delayed", "error",
    "Corrupt", "corrupt", "allocate", "ENOMEM", "should not", "Structure needs"}, key=len, reverse=True))
_HEADER_WORDS = tuple({k for r, _, _ in _HEADER_ROWS for k in r.keys})


@dataclass(frozen=True)
class Hints:
    """The gate of one text: one search tells whether a line may be a marker (None: no line can be)."""

    message: re.Pattern[str] | None
    header: re.Pattern[str] | None
    words: tuple[str, ...] = ()         # the message gate's words

    def message_lines(self, text: str) -> set[int]:
        """The index of each line of ``text`` holding a word of the message gate (a line's message is a part of
        it: a superset of the lines the gate passes), from one substring search per word."""
        return word_lines(text, self.words)


@lru_cache(maxsize=256)
def _gate(words: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(map(re.escape, words))) if words else None


_WORD_SET = WordSet(GATE_WORDS)
_NO_HINTS = Hints(None, None, ())       # a text without any word of the table


def hints(text: str, found: set[str] | None = None) -> Hints:
    """The words of the table ``text`` holds, as gates (one pass of a word set over the whole text, then one
    small alternation per line instead of the whole table's). ``found``: the words of ``text`` a caller's own pass
    found, when it searched all of ``GATE_WORDS`` (it may hold other words too): no second pass."""
    if found is None:
        found = _WORD_SET.present(text)
    if found.isdisjoint(GATE_WORDS):
        return _NO_HINTS
    return _hints_of(tuple(filter(found.__contains__, GATE_WORDS)), tuple(filter(found.__contains__, _HEADER_WORDS)))


@lru_cache(maxsize=256)
def _hints_of(words: tuple[str, ...], header_words: tuple[str, ...]) -> Hints:
    return Hints(_gate(words), _gate(header_words), words)


_ALL = hints(" ".join(GATE_WORDS))


def matches(line: str, window: str, header: bool = False, gate: Hints = _ALL) -> Iterator[tuple[Row, re.Match[str]]]:
    """The rows matching ``line`` in precedence order (``window``: the line and the next one, joined by a
    space); the first whose reader accepts the line names it (``marker``)."""
    rx = gate.header if header else gate.message
    if rx is None or not rx.search(line):
        return
    n = len(line)
    low = None
    for row, needed, folded in _HEADER_ROWS if header else _MESSAGE_ROWS:
        if needed is not None:
            if folded:
                if low is None:
                    low = window.lower() if window.isascii() else ""
                if low and not any(map(low.__contains__, needed)):
                    continue
            elif not any(map(window.__contains__, needed)):
                continue
        m = row.pattern.search(window)
        if m is not None and m.start() < n:
            yield row, m


_TAG_PID = re.compile(r"^T(\d+)$")


def marker(row: Row, m: re.Match[str], lines: Sequence[Line], i: int, ctx: dict) -> dict | None:
    """The marker dict of a matched line (None when the row's reader rejects it)."""
    ln = lines[i]
    line = ln.text.strip()
    if looks_like_source(line, m.start()):
        return None
    tag = _TAG_PID.match(ln.tag) if ln.tag else None
    ctx["tag_pid"] = int(tag.group(1)) if tag else None
    fields = row.fields(m, lines, i, ctx) if row.fields else {}
    if fields.pop("skip", False):
        return None
    task = fields.pop("task", None)
    named = task is not None
    if task is None and ctx["tag_pid"] is not None:
        task = {"comm": None, "pid": ctx["tag_pid"]}
    return {"kind": row.kind, "line": line, "lineno": ln.lineno, "task": task,
            "task_lineno": ln.lineno if named else None, "task_line": line if named else None, **fields}


def fs_reclaim_markers(locks: list[dict], lines: Sequence[Line]) -> list[dict]:
    """The fs_reclaim pseudo-lock in a lockdep report (``stacks.lockdep_locks``): one marker per role."""
    out = []
    for d in locks:
        name = d.get("lock") or ""
        if name.strip("()") not in ("fs_reclaim", "__fs_reclaim_map") and not (
                d["role"] == "chain-exists" and "fs_reclaim" in d.get("locks", [])):
            continue
        n = d["lineno"]
        line = lines[n - 1].text.strip() if 0 < n <= len(lines) else ""
        task = d.get("task")
        out.append({"kind": BY_KIND["fs-reclaim-lock"].kind, "line": line, "lineno": n, "task": task,
                    "task_lineno": None, "task_line": None, "role": d["role"], "link": d.get("link")})
    return out


def find_markers(text: str) -> list[dict]:
    """Every marker of ``text`` in line order (the console walk's, see module doc); never raises on a str."""
    from triage.report.console import read_console
    from triage.report.context import kernel_version

    if not isinstance(text, str):
        return []
    return read_console(text, kernel_version(text)).markers
