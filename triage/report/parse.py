"""Find the first crash in a text and describe it: syzbot title, type, alternative titles, corruption.

The mechanism is syzkaller's (pkg/report/linux.go), driven by the tables in ``formats.py``:

1. ``find_first_oops``: the first console line carrying an oops header that no suppression excludes;
2. ``find_report``: the report text from there on, console prefixes stripped, keeping only lines of the same
   printk context (``[T123]`` / ``[C1]``) when the log has them, noting where a second report begins;
3. ``extract_description``: the earliest matching title format gives the title; its stack format picks the
   guilty frame (skip lists, stall / hang extractors);
4. ``is_corrupted``: a report whose stack trace is missing or mixed with another is marked corrupted.

Everything is line-oriented and bounded (``MAX_REPORT``), so a 50 MB log parses in linear time.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from triage.report import formats as fm
from triage.report.console import TEXT_WORDS as CONSOLE_WORDS
from triage.report.console import read_console
from triage.report.context import crash_task, kernel_version
from triage.report.corroborate import corroborated
from triage.report.era import active, kernel_date
from triage.report.events import bare_trace_event, find_event, leak_report
from triage.report.guilty import UNNORMAL, guilty_file
from triage.report.memo import by_name
from triage.report.model import Report
from triage.report.normalize import signature
from triage.report.stacks import extract_frames
from triage.report.textin import clean_text, mask_code, to_text, undecode, unescape_html
from triage.report.wordset import RegexpSet, WordSet, literal_search, required_literals
from vocab.console import SYZKALLER_CONSOLE
from vocab.titles import UNREAD_FRAME

MAX_REPORT = 512 * 1024           # bytes of report text looked at after the oops line
MAX_REPORT_LINES = 6000
MAX_PREFIX_SCAN = 4000            # lines before the oops scanned for context prefix lines
MAX_LINE = 4096                   # longer console lines are cut: bounds every per-line regexp

CONSOLE_RE = SYZKALLER_CONSOLE


def console_match(line: str) -> re.Match[str] | None:
    """``CONSOLE_RE.match(line)``, without the regexp for a line that cannot match: the expression ends with
    ``]`` and a space (of the timestamp or of the caller tag), so every line it matches holds "] "."""
    return CONSOLE_RE.match(line) if "] " in line else None

TASK_CONTEXT = re.compile(r"\[ *T[0-9]+\]")
CONTEXT_CONSOLE = "console"

_HEADER_RE = re.compile("|".join(re.escape(o.header) for o in fm.OOPSES))
_SKIP_RES: dict[tuple[str, ...], Callable[[str], bool] | None] = {}
_NMI_BACKTRACE = "NMI backtrace for cpu"
_CORRUPTED_NO_FRAMES = "extracted no stack frame"


@dataclass
class Extracted:
    """What ``extract_description`` found."""

    title: str = ""
    corrupted: str = ""
    alt: list[str] = field(default_factory=list)
    fmt: fm.OopsFormat | None = None
    frame: str = ""
    skipped: list[str] = field(default_factory=list)    # frames the skip lists passed over


def match_oops(line: str, oops: fm.Oops) -> bool:
    return oops.header in line and oops.suppressed(line) is None


_BY_HEADER: dict[str, list[int]] = {}
for _i, _o in enumerate(fm.OOPSES):
    _BY_HEADER.setdefault(_o.header, []).append(_i)
# Headers that contain another header (or are contained in one): regexp matches do not overlap, so a line
# holding one of these is checked against every header it contains.
_OVERLAPPING = {h for h in _BY_HEADER for o in _BY_HEADER if o != h and o in h}


def line_oops(line: str, era: str | None = None, headers: frozenset[str] | None = None) -> fm.Oops | None:
    """The first oops (table order) this line announces, if any (of those syzkaller knew in ``era``). ``headers``:
    a set holding every oops header the line holds (those of the text it is a line of), if known."""
    # The headers the line holds, from one RE2 pass (``_HEADER_RE`` tries its 70 headers at every character), or
    # from a substring test for each of the text's (a few: cheaper than the pass): none (most lines asked), or one,
    # which is then all ``findall`` would find; only for more is ``findall`` asked.
    if headers is None:
        found = _HEADER_WORDS.present(line)
    elif headers:
        found = {h for h in headers if h in line}
    else:
        return None
    if not found:
        return None
    if len(found) > 1:
        found = set(_HEADER_RE.findall(line))
    if len(found) > 1 or found & _OVERLAPPING:
        idx = sorted(i for h in _BY_HEADER if h in line for i in _BY_HEADER[h])
    else:
        idx = _BY_HEADER[found.pop()]
    for i in idx:
        o = fm.OOPSES[i]
        if match_oops(line, o) and (o.since is None or active(era, o.since, None)):
            return o
    return None


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b``: for ASCII texts, where the two as big-endian
    numbers first differ (the highest bit of their XOR, a few C-level calls); else compared 64 characters at a
    time, then by halves of the last 64 (a few slice comparisons, no step per character)."""
    k, limit = 0, min(len(a), len(b))
    if a.isascii() and b.isascii():
        x = int.from_bytes(a[:limit].encode(), "big") ^ int.from_bytes(b[:limit].encode(), "big")
        return limit - (x.bit_length() + 7) // 8
    while k + 64 <= limit and a[k:k + 64] == b[k:k + 64]:
        k += 64
    hi = min(k + 64, limit)         # a[:k] == b[:k]; the first difference is at k..hi (or none: hi)
    while k < hi:
        mid = (k + hi + 1) // 2
        if a[k:mid] == b[k:mid]:
            k = mid
        else:
            hi = mid - 1
    return k


_INLINE_MARK = "[inline]"
_IDENT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."
_IDENT = frozenset(_IDENT_CHARS)
_IDENT_RUN = re.compile(r"[a-zA-Z0-9_.]*")
# The head test of ``drop_inline_headers`` in one match at a line's start: the line's blanks (those of str.strip but
# the line break) and first word, taken whole (atomic: as a match of those alone ends), and the character after them
# start the next line too.
_REPEATED_HEAD = re.compile(r"((?>[^\S\n]*[a-zA-Z0-9_.]*)[^\n])[^\n]*\n\1")


def drop_inline_headers(text: str) -> str:
    """Undo symbolizer repetition: when a line naming an inlined function (``... [inline]``) is followed by the
    same line naming the next function (same oops header, same ``RIP:``, same lock ``at:``), the repeated head
    is cut from the inlined line, which becomes a plain inline-frame line. A symbolized excerpt then reads
    like the raw log it came from (one header), and no file name is lost."""
    return _dropped(text, _inline_header_cuts(text))


def _dropped(text: str, cuts: list[tuple[int, int]]) -> str:
    """``text`` with each ``(a, b)`` of ``cuts`` (in order) replaced by a blank."""
    if not cuts:
        return text
    parts, pos = [], 0
    for a, b in cuts:
        parts.append(text[pos:a])
        parts.append(" ")
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


def _cut_lines(text: str, cuts: list[tuple[int, int]]) -> str:
    """The lines of ``text`` that ``cuts`` cut, joined by line breaks."""
    lines = []
    for a, _ in cuts:
        end = text.find("\n", a)
        lines.append(text[text.rfind("\n", 0, a) + 1:end if end >= 0 else len(text)])
    return "\n".join(lines)


def _inline_header_cuts(text: str) -> list[tuple[int, int]]:
    """The repeated heads ``drop_inline_headers`` cuts: (start, end) in ``text``, in order."""
    if "[inline]" not in text:
        return []
    edits: list[tuple[int, int]] = []
    n = len(text)
    any_prefix = "] " in text           # (without, no line has a console prefix: not looked for line by line)
    pos = text.find(_INLINE_MARK)
    while pos >= 0:                     # each line holding the mark
        line_start = text.rfind("\n", 0, pos) + 1
        line_end = text.find("\n", pos)
        line_end = n if line_end < 0 else line_end
        pos = text.find(_INLINE_MARK, line_end)
        if not any_prefix:
            # no console prefix on either line: the head test below, on the text itself (most lines end here)
            if _REPEATED_HEAD.match(text, line_start) is None:
                continue
            nxt_end = text.find("\n", line_end + 1)
            nxt_end = n if nxt_end < 0 else nxt_end
            prefixed = False
        else:
            nxt_end = text.find("\n", line_end + 1)
            nxt_end = n if nxt_end < 0 else nxt_end
            # a console prefix on either line (``console_match`` is None for a line without "] ")
            prefixed = text.find("] ", line_start, nxt_end) >= 0
            if not prefixed and _REPEATED_HEAD.match(text, line_start) is None:
                continue
        line = text[line_start:line_end]
        nxt = text[line_end + 1:nxt_end]
        # A head ends past a character that is neither blank nor of a name: the lines must share the text up to
        # the first such character past the first word (not so in the usual frame pair: only blanks, a name's start).
        if prefixed:
            cm, cn = console_match(line), console_match(nxt)
            if (cm is None) != (cn is None) or (cm is not None and cm.group(1) != cn.group(1)):
                continue                # not the same printk context: two lines, not one repeated
            console = cm.group(0) if cm is not None else ""
            body, nbody = line[len(console):], nxt[cn.end():] if cn is not None else nxt
            lead = len(body) - len(body.lstrip())
            word_end = _IDENT_RUN.match(body, lead).end()
            if word_end == len(body) or not nbody.startswith(body[:word_end + 1]):
                continue
        else:
            console, body, nbody = "", line, nxt        # (``_REPEATED_HEAD`` made that test above)
        k = len(body[:_common_prefix(body, nbody)].rstrip(_IDENT_CHARS))     # (back to the start of a name)
        head = body[:k]
        if head.strip() and not head.strip().startswith("?") and k < len(body) and body[k] in _IDENT:
            edits.append((line_start + len(console), line_start + len(console) + k))
    return edits


def _starts_report(line: str, headers: frozenset[str] | None = None) -> bool:
    """A line with a header of its own (not one that follows a report's header, like ``invalid opcode:``).
    ``headers``: as ``line_oops``'."""
    return line_oops(line, None, headers) is not None and not any(r.search(line) for r in fm.REPORT_START_IGNORES)


def find_first_oops(text: str, era: str | None = None, words: set[str] | None = None) -> tuple[fm.Oops | None, int]:
    """The first oops line (its start offset) that is kernel output (``corroborate``: not a crash named in
    prose); searching the whole text with one regexp keeps it fast. ``words``: the ``_TEXT_WORDS`` the text holds
    (a set holding each), if read: then the headers are looked for only where those occur."""
    pos = 0
    nexts: dict[str, int] | None = None
    headers = None
    starts_report = _starts_report
    if words is not None:       # (the text's headers known: each one's next occurrence, without a regexp search)
        headers = _HEADER_SET.intersection(words)
        nexts = {h: text.find(h) for h in headers}
        starts_report = functools.partial(_starts_report, headers=headers)
    while True:
        at = _next_header(text, pos, nexts)
        if at is None:
            if nexts is None:        # none near: where each header the text holds next occurs (one RE2 pass)
                nexts = {h: text.find(h, pos) for h in _HEADER_WORDS.present(text)}
                at = _next_header(text, pos, nexts)
            if at is None:
                return None, -1
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        oops = line_oops(text[start:min(end, start + MAX_LINE)], era, headers)
        if oops is not None and corroborated(text, start, at, starts_report):
            return oops, start
        pos = end + 1


_HEADER_WORDS = WordSet(tuple(_BY_HEADER))
_HEADER_SET = frozenset(_BY_HEADER)
_NEAR = 2048                # characters ``_next_header`` searches with ``_HEADER_RE`` before asking the word set
_LONGEST_HEADER = max(map(len, _BY_HEADER))


def _next_header(text: str, pos: int, nexts: dict[str, int] | None) -> int | None:
    """Where the first oops header at or after ``pos`` starts (``_HEADER_RE.search(text, pos).start()``), None if
    there is none, or (``nexts`` None) if there is none within ``_NEAR`` characters. ``_HEADER_RE`` costs ~18 ns a
    character: a text without a crash (most mails) is read by one RE2 pass instead (``nexts``: each header's
    next occurrence, updated here, so each header's occurrences are each found once)."""
    if nexts is None:
        m = _HEADER_RE.search(text, pos, pos + _NEAR + _LONGEST_HEADER)
        # (a header starting before pos + _NEAR ends before the search's end: none before it was cut off)
        return m.start() if m is not None and m.start() < pos + _NEAR else None
    first = None
    for header, at in nexts.items():
        if 0 <= at < pos:
            nexts[header] = at = text.find(header, pos)
        if at >= 0 and (first is None or at < first):
            first = at
    return first


def extract_context(line: str) -> str:
    return _context_of(console_match(line))


def _context_of(m: re.Match[str] | None) -> str:
    """``extract_context`` of a line whose ``console_match`` is ``m``."""
    if m is None:
        return ""
    return m.group(1).replace(" ", "") if m.group(1) else CONTEXT_CONSOLE


def strip_prefix(line: str, context: str, m: re.Match[str] | None | bool = False) -> tuple[str | None, bool]:
    """The line without its console prefix; None if it must be left out. Second value: a questionable frame line
    (``_questionable``), left out."""
    if m is False:
        m = console_match(line)
    if m is None:
        return (None if context else line.rstrip("\r")), False     # timestamps: a line without one is other output
    line = line[m.end():]
    if _questionable(line):
        return None, True
    return line.rstrip("\r"), False


def _questionable(line: str) -> bool:
    """Whether a line past its console prefix is a frame the unwinder was unsure of, which syzkaller leaves out of
    the report (``stripLinePrefix``; a line without a console prefix never is). Its expression, an optional
    "[<address>]" then " ? ", is searched for, so it holds wherever " ? " does: "? func+0x1/0x2", and the older
    "[<ffffffff81429500>] ? func+0x90/0x90". Also a line ending in " (unreliable)" (powerpc); never an "<EOI>" line."""
    return (" ? " in line or line.endswith(" (unreliable)")) and "<EOI>" not in line


@dataclass
class Found:
    report: str                 # the report text, prefix lines excluded
    report_end: int             # length of ``report`` before a second report starts
    prefix: list[str]
    end_pos: int                # offset in the input where the report ends
    # ``_TEXT_WORDS`` held by the input from the oops line on (a report line is part of one such line, so the words
    # the report holds are among them); None: not read (a huge input), ``holds`` reads the report instead.
    words: set[str] | None = None

    def holds(self) -> set[str]:
        """The ``_TEXT_WORDS`` the report may hold: a set holding every one it does hold (one pass, per report)."""
        if self.words is None:
            self.words = _TEXT_WORDS.present(self.report)
        return self.words


def find_report(text: str, start: int, context: str, words: set[str] | None = None) -> Found:
    """Collect the report lines that follow the oops line at ``start``. ``words``: as ``find_first_oops``'."""
    ctx_kind = context if context not in ("", CONTEXT_CONSOLE) else ""
    max_prefix = 50 if TASK_CONTEXT.match(context or "") else 5
    # Prefix: a few preceding lines of the same context (they often say what the crash was doing).
    prefix: list[str] = []
    window = text[max(0, start - MAX_PREFIX_SCAN * 200):start]
    before = [ln[:MAX_LINE] for ln in window.split("\n")[-MAX_PREFIX_SCAN - 1:-1]] if start else []
    for line in before:
        cm = console_match(line)            # (``extract_context``, its match given to ``strip_prefix``)
        c1 = _context_of(cm)
        if c1 != context:
            continue
        stripped, q = strip_prefix(line, c1, cm)
        if stripped and not q:
            prefix.append(stripped)
    prefix = prefix[-max_prefix:]

    out: list[str] = []             # the report's pieces: a line or a run of lines, each ending in a line break
    lines_out = 0                   # the lines they hold
    size = 0
    report_end = 0
    second = False
    text_lines = 0
    skip_text = False
    contexts = {context}
    end_pos = len(text)
    # Where the next oops header starts at or after the current line: one search ahead of the walk (instead of
    # one search per line), so each part of the text is searched once.
    next_header = -1
    pos, n = start, len(text)
    # The words of the tables (the walk's, the title formats', the stack starts') the text holds from the oops line
    # on: one pass, which the skip rules below, ``_plain_runs`` and the title and corruption tests share.
    # (the caller's, of the whole text, hold those: a word only before ``start`` is then looked for in vain)
    if words is None and n - start <= _RUN_CHUNK:
        words = _TEXT_WORDS.present(text[start:])
    headers = None if words is None else _HEADER_SET.intersection(words)
    # the words of the skip rules below, looked for once in the text instead of in every line
    if words is None:
        may_skip = "FAULT_" in text or "vmalloc" in text
        may_taint = "Disabling lock debugging due to kernel taint" in text
        may_panic = "Kernel panic - not syncing" in text or _CIRCULAR in text
    else:
        may_skip = "FAULT_" in words or "vmalloc" in words
        may_taint = "Disabling lock debugging due to kernel taint" in words
        may_panic = "Kernel panic - not syncing" in words or _CIRCULAR in words
    # A report without console prefixes (``context`` ""): the runs of lines that hold none of the texts the walk
    # reacts to (``_plain_runs``) are taken whole; only the other lines are walked one by one.
    runs = _plain_runs(text, start, words) if context == "" else None
    # the report's own lines before a panic or deadlock report cuts it (syzkaller's ``reportMinLines``: a KMSAN report
    # has no "Call Trace:" and fewer other lines)
    eol = text.find("\n", start)
    min_lines = 16 if "BUG: KMSAN:" in text[start:eol if eol >= 0 else n] else 22
    mark = slow_until = start           # the next line the walk reads itself; below slow_until: every line
    while pos < n:                      # the lines from ``start``, each cut to MAX_LINE
        if runs is not None and pos > start and pos >= slow_until:
            while mark < pos:
                mark = next(runs, n)
            if mark > pos:              # plain lines up to ``mark``: taken whole
                run = text[pos:mark]
                if run[-1] != "\n":
                    run += "\n"
                grow, taken = len(run), run.count("\n")
                # (a line longer than MAX_LINE makes the run longer than MAX_LINE + 1: only then is it looked for,
                # from the line break before the run, ``pos`` a line's start past the oops line)
                if grow > MAX_LINE + 1 and _long_line(text, pos, mark) or not skip_text and \
                        (size + grow > MAX_REPORT or lines_out + taken > MAX_REPORT_LINES):
                    slow_until = mark   # a line to cut, or the limit is reached inside: line by line
                else:
                    text_lines += taken
                    if not skip_text:
                        out.append(run)     # (whole: not split into lines and joined again)
                        lines_out += taken
                        size += grow
                        if not second:
                            report_end = size
                    pos = mark
                    continue
        nl = text.find("\n", pos)
        if nl < 0:
            nl = n
        line = text[pos:min(nl, pos + MAX_LINE)]
        line_pos, pos = pos, nl + 1
        cm = CONSOLE_RE.match(line) if "] " in line else None        # ``console_match``
        c1 = "" if cm is None else (cm.group(1).replace(" ", "") if cm.group(1) else CONTEXT_CONSOLE)
        if line_pos != start and not second and c1 in contexts:
            if runs is None and next_header < line_pos:       # (with runs, a line with a header is walked)
                m = _HEADER_RE.search(text, line_pos)
                next_header = m.start() if m is not None else n
            if (runs is not None or next_header < line_pos + len(line)) and _starts_report(line, headers):
                second = True
                end_pos = line_pos
        if ctx_kind:
            if _NMI_BACKTRACE in line and "skipped" not in line:
                contexts.add(c1)        # a stalled CPU's backtrace, printed from its own context
            if c1 not in contexts:
                continue
        elif context == CONTEXT_CONSOLE and c1 == "":
            continue
        # ``strip_prefix``, inlined: a line of a timestamped report without a console prefix is other output
        if cm is not None:
            stripped = line[cm.end():]
            if _questionable(stripped):
                continue
        elif context:
            continue
        else:
            stripped = line
        if "\r" in stripped:
            stripped = stripped.rstrip("\r")
        text_lines += 1
        skip_line = skip_text
        if may_skip and line_pos != start and ("FAULT_" in stripped or "vmalloc" in stripped) \
                and any(m in stripped for m in fm.INFO_MESSAGES_WITH_STACK):
            skip_text = True        # an unrelated stack (fault injection, vmalloc failure) follows
        if may_taint and "Disabling lock debugging due to kernel taint" in stripped:
            skip_line = True
        elif may_panic and text_lines > min_lines and ("Kernel panic - not syncing" in stripped
                                                       or _CIRCULAR in stripped):
            # panic_on_warn's own panic stack repeats the report, and a deadlock report the oops's locking set off
            # is another report: once the report has enough lines of its own, they and all after are left out
            skip_text = skip_line = True
        if not skip_line:
            out.append(stripped + "\n")
            lines_out += 1
            size += len(stripped) + 1
            if not second or ctx_kind:
                report_end = size
        if size > MAX_REPORT or lines_out > MAX_REPORT_LINES:
            break
    report = "".join(out)
    return Found(report=report, report_end=min(report_end, len(report)), prefix=prefix, end_pos=end_pos, words=words)


# A deadlock report an oops's own locking often sets off: past the report's first lines, cut as the panic is
_CIRCULAR = "WARNING: possible circular locking dependency detected"
# What makes ``find_report`` look at a line of a report without console prefixes: a console prefix or caller tag
# ("] "), a CR, the skip rules' words; or an oops header.
_WALK_WORDS = ("] ", "\r", "FAULT_", "vmalloc", "Disabling lock debugging due to kernel taint",
               "Kernel panic - not syncing", _CIRCULAR)
_RUN_WORDS = _WALK_WORDS + tuple(sorted({o.header for o in fm.OOPSES}))
_RUN_WORD_SET = frozenset(_RUN_WORDS)
_RUN_CHUNK = 1 << 20
_LONG_LINE = re.compile(rf"\n[^\n]{{{MAX_LINE + 1}}}")      # a line longer than MAX_LINE (not the first)
_HALF_LINE = MAX_LINE // 2


def _long_line(text: str, lo: int, hi: int) -> bool:
    """Whether ``text[lo:hi]`` (``lo`` a line's start past the first) holds a line longer than ``MAX_LINE``
    (``_LONG_LINE.search(text, lo - 1, hi)``). Such a line holds one of the blocks of ``MAX_LINE // 2`` characters
    from ``lo`` on whole: only when one of them holds no line break is the text searched (the search tries every
    line; a block is one substring search, most ending within a line's length)."""
    for at in range(lo, hi - _HALF_LINE + 1, _HALF_LINE):
        if text.find("\n", at, at + _HALF_LINE) < 0:
            return _LONG_LINE.search(text, lo - 1, hi) is not None
    return False


def _plain_runs(text: str, start: int, words: set[str] | None = None):
    """For ``find_report`` with context "", in order: the start of each line after the one at ``start`` that is
    not plain (the walk reads it itself), and the end of each chunk searched. A plain line holds no
    ``_WALK_WORDS`` and no oops header: the walk would take it as it is. The text is searched a chunk
    (``_RUN_CHUNK``, whole lines) at a time, so a walk that stops early reads little. ``words``: the
    ``_TEXT_WORDS`` the text holds from ``start`` on (read by the caller), if it is one chunk."""
    n = len(text)
    lo = text.find("\n", start) + 1 or n
    while lo < n:
        hi = text.find("\n", lo + _RUN_CHUNK) + 1 or n
        marks = set()
        # those the chunk holds (one pass for all; the caller's words hold them too when it is the whole text: a
        # word there only in the line at ``start`` is looked for below in vain)
        present = _TEXT_WORDS.present(text[lo:hi]) if words is None or hi < n else words
        words = None
        for word in _RUN_WORD_SET.intersection(present):
            pos = text.find(word, lo, hi)
            while pos >= 0:
                marks.add(text.rfind("\n", 0, pos) + 1)
                end = text.find("\n", pos, hi)
                if end < 0:
                    break
                pos = text.find(word, end, hi)
        yield from sorted(marks)
        yield hi
        lo = hi


# ---------------------------------------------------------------------------------------------------------
# Title extraction.

def _go_format(fmt: str, args: list[str]) -> str:
    """Go's ``%[N]v`` with N counted from 1; a missing argument reads like Go's ``%!v(BADINDEX)``."""
    if "%[" not in fmt:
        return fmt
    fill, most, texts, numbers = _go_pieces(fmt)
    if fill is not None and most <= len(args):
        return fill(*args)              # (every argument there: one C-level ``str.format``)
    out = [texts[0]]
    for n, text in zip(numbers, texts[1:], strict=True):
        out.append(args[n - 1] if n <= len(args) else "%!v(BADINDEX)")
        out.append(text)
    return "".join(out)


_GO_ARG = re.compile(r"%\[(\d+)\]v")


@functools.cache
def _go_pieces(fmt: str) -> tuple[Callable[..., str] | None, int, list[str], list[int]]:
    """A format's texts around its ``%[N]v`` and their Ns, split once per format (the tables' formats: a few
    hundred), not searched again for every title; first the ``str.format`` of the same text and the highest N
    (None for an N below 1, which ``str.format`` cannot say, or none)."""
    parts = _GO_ARG.split(fmt)
    texts, numbers = parts[0::2], [int(n) for n in parts[1::2]]
    if not numbers or min(numbers) < 1:
        return None, 0, texts, numbers
    template = "".join(t.replace("{", "{{").replace("}", "}}") + (f"{{{n - 1}}}" if k < len(numbers) else "")
                       for k, (t, n) in enumerate(zip(texts, [*numbers, 0], strict=True)))
    return template.format, max(numbers), texts, numbers


def _skip_re(skip: tuple[str, ...]) -> Callable[[str], bool] | None:
    """Whether a frame name is on the skip list ``skip``, None for an empty list. The patterns of every list a
    name matches are found once per name (``_skip_hits``: one RE2 pass for all of the tables' patterns), so the
    lists of every format and era share that pass; ``re`` answers for a name RE2 cannot take (remembered per name)."""
    if skip not in _SKIP_RES:
        _SKIP_RES[skip] = _skip_test(skip) if skip else None
    return _SKIP_RES[skip]


# Every frame-skip pattern of the tables, once each (their position: what ``_skip_hits`` answers with).
_ALL_SKIPS = tuple(dict.fromkeys([*fm.SKIP_PATTERNS, *fm.STALL_SKIP, *(
    p for o in fm.OOPSES for f in o.formats if f.stack is not None for p in f.stack.skip)]))
_SKIP_POS = {p: i for i, p in enumerate(_ALL_SKIPS)}
_SKIP_SET = RegexpSet(_ALL_SKIPS)
_skip_hits = by_name(_SKIP_SET.matching)


def _skip_test(skip: tuple[str, ...]) -> Callable[[str], bool]:
    rx: list[re.Pattern[str]] = []            # (compiled when first needed: most lists never need it)

    def search(name: str) -> bool:
        if not rx:
            rx.append(re.compile("|".join(skip)))
        return rx[0].search(name) is not None
    slow = by_name(search)
    pos = [_SKIP_POS.get(p) for p in skip]
    if None in pos or not all(map(_SKIP_SET.usable, pos)):
        return slow             # (a pattern not in the tables, or one RE2 reads otherwise)
    ids = frozenset(pos)

    def test(name: str) -> bool:
        hits = _skip_hits(name)
        return slow(name) if hits is None else not ids.isdisjoint(hits)
    return test


@functools.lru_cache(maxsize=512)
def global_skip(era: str | None) -> tuple[str, ...]:
    """The frame-skip patterns syzkaller had in ``era`` (all of today's for an undated report)."""
    return tuple(p for p in fm.SKIP_PATTERNS if active(era, fm.SKIP_SINCE.get(p), None))


def strip_variants(frame: str) -> list[str]:
    """Syscall-prefix stripping, step by step: ``__se_sys_foo`` -> [``__se_sys_foo``, ``sys_foo``, ``foo``]."""
    return list(_variants(frame))


_ANY_STRIP_PREFIX = tuple(fm.STRIP_FRAME_PREFIXES)


@by_name
def _variants(frame: str) -> tuple[str, ...]:
    if not frame.startswith(_ANY_STRIP_PREFIX):
        return (frame,)         # (no step below applies: each tests the frame as it is, unchanged)
    out = [frame]
    for prefix in fm.STRIP_FRAME_PREFIXES:
        if frame.startswith(prefix) and len(frame) > len(prefix):
            frame = frame[len(prefix):]
            out.append(frame)
    return tuple(out)


def _append_frames(frames: list[tuple[str, str]], m: re.Match[str], skip: Callable[[str], bool] | None,
                   skipped: list[str]) -> None:
    for raw in m.groups():
        if raw is None:
            continue
        name = _variants(raw)[-1]
        if skip is None or not skip(name):
            frames.append((name, raw))
        else:
            skipped.append(name)


_PC_OR_FRAME = re.compile(r"^ *(?:\[<[0-9a-f]+>\] +)?[a-zA-Z0-9_.]+(?:\+0x| [^ ]+:[0-9]+)")


def _corrupted_line(line: str) -> bool:
    """``formats.CORRUPTED_LINES``: a fault-injection frame (``should_fail``) inside the stack."""
    return "should_fail" in line and fm.CORRUPTED_LINE_ANY.search(line) is not None


def _stack_start(line: str) -> bool:
    """``formats.STACK_START``: ``Call Trace``, ``Allocated``, ``Freed``, ``backtrace:``, ``Uninit was stored``."""
    return ("race" in line or "Allocated" in line or "Freed" in line or "Uninit" in line) \
        and fm.STACK_START_ANY.search(line) is not None


@by_name
def _frame_re(line: str) -> re.Match[str] | None:
    """The first of ``formats.FRAME_RES`` that matches (the arm form holds ") from "); remembered per line (a
    report's lines are walked once per title format and era, and reports repeat frame lines)."""
    m = fm.FRAME_RES[0].search(line)
    if m is None and ") from " in line:
        m = fm.FRAME_RES[1].search(line)
    return m


@by_name
def _frame_line_follows(line: str) -> bool:
    return _PC_OR_FRAME.match(line) is not None


def _stack_frames(text: str, parts: list[re.Pattern[str]], skip: Callable[[str], bool] | None,
                  skipped: list[str], first_only: bool = False, may_fail: bool = True
                  ) -> tuple[list[tuple[str, str]], bool]:
    """Walk ``parts`` over the lines; returns the non-skipped (name, raw) frames and whether it went clean.
    ``first_only``: the caller takes the first frame, so the walk may stop there when it cannot go unclean (no
    ``should_fail`` in the text); ``skipped`` then holds the frames passed over before it, the only ones an
    older era's skip lists (a subset of today's) could have taken instead."""
    # The lines, split as the walk reaches them (it mostly stops within a few dozen): the last element holds the
    # rest of the text while ``more``; before a line is read, it and the next one are split off, with as many more
    # lines as are split already (each split copies the rest: doubling, a character is copied a few times at most).
    lines = text.split("\n", _SPLIT_LINES)
    more = len(lines) > _SPLIT_LINES
    i, n = 0, len(lines)
    frames: list[tuple[str, str]] = []
    ok = True
    idx = 0
    may_fail = may_fail and "should_fail" in text       # (``_corrupted_line`` needs it)
    first_only = first_only and not may_fail
    while idx < len(parts):
        part = parts[idx]
        if part is fm.PARSE_STACK:
            next_gate = _gate(parts[idx + 1]) if idx != len(parts) - 1 else None
            while i < n:
                if more and i + 2 >= n:
                    more, n = _split_further(lines), len(lines)
                ln = lines[i]
                i += 1
                if may_fail and _corrupted_line(ln):
                    ok = False
                    break
                # ``_stack_start``, inlined: another stack starts, this part ends (syzkaller's ``continue nextPart``)
                if ("race" in ln or "Allocated" in ln or "Freed" in ln or "Uninit" in ln) \
                        and fm.STACK_START_ANY.search(ln) is not None:
                    break
                if idx != len(parts) - 1 and (next_gate is None or any(map(ln.__contains__, next_gate))):
                    m = parts[idx + 1].search(ln)
                    if m:
                        _append_frames(frames, m, skip, skipped)
                        if first_only and frames:
                            return frames, ok
                        idx += 1
                        break
                m = _frame_re(ln)
                if m:
                    _append_frames(frames, m, skip, skipped)
                    if first_only and frames:
                        return frames, ok
        else:
            gate = _gate(part)
            while i < n:
                if more and i + 2 >= n:
                    more, n = _split_further(lines), len(lines)
                ln = lines[i]
                i += 1
                if may_fail and _corrupted_line(ln):
                    ok = False
                    break
                if gate is not None and not any(map(ln.__contains__, gate)):
                    continue        # (the part cannot match a line without one of its texts)
                if ln.endswith(_INLINE_MARK) and i < n and _frame_line_follows(lines[i]):
                    continue        # the symbolizer's inline frame: the raw log had only the next line
                m = part.search(ln)
                if m:
                    _append_frames(frames, m, skip, skipped)
                    if first_only and frames:
                        return frames, ok
                    break
        idx += 1            # (a fault injection's line ends a part too, and the walk goes on: syzkaller's)
    return frames, ok


_SPLIT_LINES = 32            # lines ``_stack_frames`` splits off the text first


def _split_further(lines: list[str]) -> bool:
    """Split as many lines off ``lines``' last element (the rest of the text) as ``lines`` holds; whether a rest
    is left to split."""
    n = len(lines)
    lines[-1:] = rest = lines[-1].split("\n", n)
    return len(rest) > n


_GATES: dict[int, tuple[re.Pattern[str], tuple[str, ...] | None]] = {}


def _gate(part: re.Pattern[str]) -> tuple[str, ...] | None:
    """Texts one of which every match of a stack part holds (one per alternative; None: not known), remembered per
    part: a line without any is not searched (an alternation such as the stall anchors is tried at every character)."""
    known = _GATES.get(id(part))
    if known is None or known[0] is not part:
        found = required_literals(part) if isinstance(part, re.Pattern) else None
        gate = tuple(found) if found is not None and all(t.strip() for t in found) else None
        known = _GATES[id(part)] = (part, gate)
    return known[1]


_STACK_SKIPS: dict[tuple[int, str | None], tuple[fm.StackFmt, Callable[[str], bool] | None]] = {}


def _stack_skip(stack: fm.StackFmt, era: str | None) -> Callable[[str], bool] | None:
    """The skip test of a stack format in ``era`` (the global list of the era and the format's own), remembered
    per format and era: the key of ``_skip_re`` is a tuple of some 200 patterns, costly to build and hash."""
    key = (id(stack), era)
    known = _STACK_SKIPS.get(key)
    if known is not None and known[0] is stack:
        return known[1]
    own = tuple(stack.skip) if era is None else tuple(p for p in stack.skip if active(era, fm.SKIP_SINCE.get(p), None))
    skip = _skip_re((global_skip(era) if stack.global_skip else ()) + own)
    if len(_STACK_SKIPS) >= 4096:
        _STACK_SKIPS.clear()
    _STACK_SKIPS[key] = (stack, skip)          # (the format kept: its id is not reused while it is remembered)
    return skip


def extract_stack_frame(stack: fm.StackFmt, text: str, era: str | None = None,
                        skipped: list[str] | None = None, may_fail: bool = True) -> tuple[str, str, str]:
    """(guilty frame name, its raw form, corruption reason) for one stack format; the names of the frames
    the skip lists passed over are added to ``skipped``. ``may_fail`` False: ``text`` holds no ``should_fail``."""
    skipped = [] if skipped is None else skipped
    skip = _stack_skip(stack, era)
    extractor = fm.EXTRACTORS.get(stack.extractor or "")
    result = ("", "", _CORRUPTED_NO_FRAMES)
    for parts in (stack.parts, stack.parts2):
        if not parts:
            continue
        frames, ok = _stack_frames(text, parts, skip, skipped, first_only=extractor is None, may_fail=may_fail)
        if frames:
            if extractor is None:
                name, raw = frames[0]
            else:
                frame, i = extractor([f[0] for f in frames])
                name, raw = (frames[i][0], frames[i][1]) if i >= 0 else ("", "")
                if name and frame != name:
                    name = frame
            if name:
                return name, raw, "" if ok else "stack is mixed with a fault injection stack"
        if result[2] == _CORRUPTED_NO_FRAMES and not ok:
            result = ("", "", "stack is mixed with a fault injection stack")
    return result


def _canon(frame: str) -> str:
    for rx, repl in fm.FRAME_CANON:
        if rx.match(frame):
            return repl
    return frame


def _required_text(pattern: re.Pattern[str] | fm.LinesPattern) -> str | None:
    """A literal text every match of a title regexp holds; None if there is none (or the regexp has
    alternatives at the top, or ignores case)."""
    found = required_literals(pattern.full if isinstance(pattern, fm.LinesPattern) else pattern)
    return found[0] if found is not None and len(found) == 1 else None


# Each title regexp's required text: a report without it is not searched; which of an oops' texts a report
# holds is one pass of a word set over it (a substring test per format read the report up to 30 times).
_TITLE_TEXT = {id(f): _required_text(f.title) for o in fm.OOPSES for f in o.formats}
_TITLE_TEXTS = {id(o): WordSet(tuple({t for f in o.formats if (t := _TITLE_TEXT[id(f)]) is not None}))
                for o in fm.OOPSES}


# Each oops' rows in force today, with their required texts.
_ROWS_NOW = {id(o): [(f, _TITLE_TEXT[id(f)]) for f in o.formats if active(None, f.since, f.until)] for o in fm.OOPSES}
# Each oops' rows, with their required texts and the eras they are in use (for an era's rows).
_ROWS_ALL = {id(o): [(f, _TITLE_TEXT[id(f)], f.since, f.until) for f in o.formats] for o in fm.OOPSES}


def extract_description(report: str, oops: fm.Oops, era: str | None = None,
                        words: set[str] | None = None) -> Extracted:
    """Earliest-matching title format wins; ties go to the earlier row of the table. ``era``: the rows and
    skip lists in force then (None: today's). ``words``: a set of ``_TEXT_WORDS`` holding every one ``report``
    holds (``Found.holds``), if known."""
    best = Extracted()
    start_pos = len(report) + 1
    matched_title = False
    texts = _TITLE_TEXTS.get(id(oops))
    if texts is None:
        present = None
    elif words is None:
        present = texts.present(report)
    else:
        present = {w for w in words.intersection(texts.words) if w in report}
    may_fail = "should_fail" in report if words is None or "should_fail" in words else False
    rows = _ROWS_NOW.get(id(oops)) if era is None else None
    if rows is None:
        dated = _ROWS_ALL.get(id(oops)) if era is not None else None
        if dated is not None:           # (``active``, inlined: a call per row cost more than the rest of the test)
            rows = [(f, need) for f, need, since, until in dated
                    if (since is None or era >= since) and (until is None or era < until)]
        else:
            rows = [(f, _TITLE_TEXT.get(id(f))) for f in oops.formats if active(era, f.since, f.until)]
    # First the rows matching at the report's start (its header line, most reports: an anchored match fails at once
    # where a search reads the whole report): the earliest row among them wins, whatever the others match. Only
    # when none does are the rows searched (nothing was changed by the first pass then).
    for anchored in (True, False):
        for f, need in rows:
            if start_pos == 0 and best.title:
                break               # (no later row can match before it, and a tie goes to the earlier row)
            if need is not None and (need not in present if present is not None else need not in report):
                continue
            m = f.title.match(report) if anchored else f.title.search(report)
            if m is None or m.start() > start_pos:
                continue
            if m.start() == start_pos and best.title:
                continue
            if m.start() < start_pos:
                best = Extracted()
                start_pos = m.start()
            matched_title = True
            if f.report is not None:
                m = f.report.search(report)
                if m is None:
                    continue
            args = [g or "" for g in m.groups()]
            corrupted = ""
            variants: list[str] = []
            frame = ""
            skipped: list[str] = []
            if f.stack is not None:
                name, raw, corrupted = extract_stack_frame(f.stack, report[m.start():], era, skipped, may_fail)
                if not name:
                    name = UNREAD_FRAME
                    corrupted = corrupted or _CORRUPTED_NO_FRAMES
                    variants = [name]
                else:
                    variants = strip_variants(raw)
                    if f.stack.extractor:
                        canon = _canon(name)
                        if canon not in variants:
                            variants.append(canon)
                        name = canon
                frame = raw or name
                args.append(name)
            title = _go_format(f.fmt, args)
            alts = [_go_format(a, args) for a in f.alt]
            for v in variants:
                va = args[:-1] + [v]
                alts.append(_go_format(f.fmt, va))
                alts.extend(_go_format(a, va) for a in f.alt)
            best = Extracted(title=title, corrupted=corrupted, alt=alts, fmt=f, frame=frame, skipped=skipped)
        if start_pos == 0:
            break
    if not best.title:
        best = Extracted()
        if matched_title:
            best.corrupted = "matched title but not report regexp"
        pos = report.find(oops.header)
        if pos < 0:
            return best
        end = report.find("\n", pos)
        best.title = report[pos:] if end < 0 else report[pos:end]
    if not best.corrupted and best.fmt is not None and best.fmt.corrupted:
        best.corrupted = "report format is marked as corrupted"
    return best


# Any replacement's expression: a title none of them matches is left as it is (each replacement sees the title
# the previous ones left, which is then the title itself), so most titles are searched once instead of once a row.
_ANY_REPLACEMENT = re.compile("|".join(f"(?:{r.rx.pattern})" for r in fm.TITLE_REPLACEMENTS))


# Every replacement's match holds a digit (``\d``; ``[0-9]`` is part of it) or six hex letters in a row (the address
# row's ``[0-9a-f]{6,}`` without a digit): a title with neither (most) is not searched by ``_ANY_REPLACEMENT``.
_MAY_REPLACE = re.compile(r"\d|[a-f]{6}")
# The same for an ASCII title (``\d`` is then [0-9]), in two searches: one of a class (which ``re`` scans for fast) and
# one for the letters, each cheaper than the alternation's attempt at every digit or letter a-f.
_DIGIT = re.compile(r"[0-9]")
_HEX_LETTERS = re.compile(r"[a-f]{6}")


# Which replacements match a title (one RE2 pass for all): only those are applied, and the title is searched again
# only after one changed it (a replacement then may match where it did not).
_REPLACEMENT_SET = RegexpSet(tuple(r.rx.pattern for r in fm.TITLE_REPLACEMENTS))
_REPLACEMENTS = tuple(enumerate(fm.TITLE_REPLACEMENTS))


def replace_dynamic(title: str, era: str | None = None) -> str:
    if title.isascii():
        may = _DIGIT.search(title) is not None or _HEX_LETTERS.search(title) is not None
    else:
        may = _MAY_REPLACE.search(title) is not None
    if not may:
        return title
    found = _REPLACEMENT_SET.matching(title) if _REPLACEMENT_SET.usable_all() else None
    if found is not None:
        for i, r in _REPLACEMENTS:
            if i not in found or (r.since or r.until) and not active(era, r.since, r.until):
                continue
            new = r.rx.sub(r.repl, title)
            if new != title:
                title = new
                found = _REPLACEMENT_SET.matching(title)
                if found is None:           # (RE2 cannot read the new title)
                    return _replace_from(title, era, i + 1)
        return title
    if _ANY_REPLACEMENT.search(title) is None:
        return title
    return _replace_from(title, era, 0)


def _replace_from(title: str, era: str | None, first: int) -> str:
    """The replacements from the ``first`` on, each applied to what the one before left."""
    for r in fm.TITLE_REPLACEMENTS[first:]:
        if (r.since or r.until) and not active(era, r.since, r.until):
            continue
        title = r.rx.sub(r.repl, title)
    return title


def sanitize_title(title: str) -> str:
    """Printable ASCII, tabs as spaces, no double spaces, at most 120 characters (syzbot's limit)."""
    if title.isascii() and title.isprintable() and "  " not in title:     # already so (most titles)
        return (title[1:] if title[:1] == " " else title)[:120].strip()
    out: list[str] = []
    prev = " "
    for ch in title:
        if ch == "\t":
            ch = " "
        elif ch < " " or ch >= "\x7f":
            continue
        if ch == " " and prev == " ":
            continue
        out.append(ch)
        prev = ch
        if len(out) >= 120:
            break
    return "".join(out).strip()


def clean_title(title: str, era: str | None = None) -> str:
    return sanitize_title(replace_dynamic(title, era))


_STACK_START_TEXTS = [(literal_search(rx), _required_text(rx)) for rx in fm.STACK_START]
_STACK_START_WORDS = WordSet(tuple({t for _, t in _STACK_START_TEXTS if t is not None}))   # (one pass for all)


def is_corrupted(title: str, report: str, f: fm.OopsFormat | None, words: set[str] | None = None) -> str:
    """Reason the report is damaged, or ''. ``words``: as ``extract_description``'s."""
    if any(rx.search(title) for rx in fm.CORRUPTED_TITLES):
        return "title contains a timestamp"
    if f is None:
        return ""
    if (words is None or "should_fail" in words) and "should_fail" in report and fm.CORRUPTED_LINE_ANY.search(report):
        return "report mixed with a fault injection stack"
    if f.no_stack:
        return ""
    has_stack = False
    present = _STACK_START_WORDS.present(report) if words is None else \
        {w for w in words.intersection(_STACK_START_WORDS.words) if w in report}
    for key, need in _STACK_START_TEXTS:
        m = key(report) if need is None or need in present else None
        if m is None:
            continue
        rest = report[m.start():].split("\n", 16)
        if len(rest) < 4:
            return "call trace is missed"
        found = False
        for ln in rest[1:16]:
            if _stack_start(ln):
                break
            if "(stack is not available)" in ln or _frame_re(ln):
                found = has_stack = True
                break
        if not found:
            return "no frames in a stack trace"
    # (without a stack's header: two frame lines are a stack; a release line "4.10.0+ #179" is none, its "4." read
    # as a frame by the expression)
    if not has_stack and sum(1 for ln in report.split("\n", 40)[:40] if _named_frame(ln)) < 2:
        return "no stack trace in report"
    return ""


# Every word of the tables a report is tested for (``Found.words``): one RE2 pass reads a text for all of them;
# with the console reading's words, which it answers too when the cleaned text is the input (no second pass)
_TEXT_WORDS = WordSet(tuple(sorted({*_RUN_WORDS, *_STACK_START_WORDS.words, "should_fail", *UNNORMAL,
                                    *(w for o in fm.OOPSES for w in _TITLE_TEXTS[id(o)].words), *CONSOLE_WORDS})))


_TEXT_WORD_SET = frozenset(_TEXT_WORDS.words)


def _named_frame(line: str) -> bool:
    """A frame line whose function name starts as a C identifier does (not a digit)."""
    m = _frame_re(line)
    return m is not None and not m.group(1)[:1].isdigit()


def report_type(oops: fm.Oops, f: fm.OopsFormat | None, title: str) -> str:
    """The crash type: the format's, else the oops's ("": none); a sanitizer's read off the title's words."""
    t = f.type if f is not None and f.type is not None else oops.type
    if t in ("KASAN", "KFENCE", "KMSAN"):
        return _sanitizer_type(t, title)
    return t


def _sanitizer_type(tool: str, title: str) -> str:
    """KASAN-USE-AFTER-FREE-READ etc. from the title's words."""
    low = title.lower()
    if tool == "KMSAN":
        return "KMSAN-INFO-LEAK" if "infoleak" in low else \
            "KMSAN-USE-AFTER-FREE" if "use-after-free" in low else "KMSAN-UNINIT-VALUE"
    if "invalid-free" in low or "invalid free" in low or "double-free" in low:
        return f"{tool}-INVALID-FREE"
    if "memory corruption" in low:
        return f"{tool}-MEMORY-CORRUPTION"
    kind = "NULL-POINTER-DEREFERENCE-" if "null-ptr-deref" in low else \
        "USE-AFTER-FREE-" if "use-after-free" in low else ""
    rw = "WRITE" if re.search(r"\bwrite\b", low) else "READ"
    return f"{tool}-{kind}{rw}"


# ---------------------------------------------------------------------------------------------------------

def _describe(found: Found, oops: fm.Oops, era: str | None = None) -> Extracted:
    ex = extract_description(found.report[:found.report_end], oops, era, found.holds())
    if not ex.title:
        return extract_description(found.report, oops, era, found.holds())
    if ex.corrupted == _CORRUPTED_NO_FRAMES and found.report_end < len(found.report) \
            and active(era, *fm.ERA_READ_PAST_SECOND_REPORT):
        # A second report cut this one before its stack (interleaved output): its frames may follow.
        full = extract_description(found.report, oops, era, found.holds())
        if full.fmt is ex.fmt and full.title and full.corrupted != _CORRUPTED_NO_FRAMES:
            return full
    return ex


# Each oops' rows that are in use only in some eras, with their eras and whether they are in use today.
_DATED_ROWS = {id(o): [(f, f.since, f.until, active(None, f.since, f.until)) for f in o.formats if f.since or f.until]
               for o in fm.OOPSES}


def _rules_differ(oops: fm.Oops, era: str, report: str, ex: Extracted, words: set[str] | None = None) -> bool:
    """Whether the era's rows or skip lists could give this report another title than today's: an era row
    of this oops matching the report, or a frame today's skip lists passed over that the era's did not.
    ``words``: as ``extract_description``'s (a row whose required text the report lacks is not searched)."""
    if ex.corrupted == _CORRUPTED_NO_FRAMES and active(era, *fm.ERA_READ_PAST_SECOND_REPORT):
        return True
    for f, since, until, now in _DATED_ROWS[id(oops)]:
        # (``active(era, since, until)``, inlined: two calls a row cost more than the rest of the test)
        if ((since is None or era >= since) and (until is None or era < until)) != now:
            need = _TITLE_TEXT.get(id(f))
            if words is not None and need is not None and need in _TEXT_WORD_SET and need not in words:
                continue
            if f.title.search(report):
                return True
    skip = _era_skip(era)
    return skip is not None and any(map(skip, ex.skipped))


@by_name
def _era_skip(era: str) -> Callable[[str], bool] | None:
    """Whether a frame is on a skip list today's syzkaller has and that of ``era`` had not (None: no such list),
    remembered per era."""
    return _skip_re(_NEWER_SKIPS[bisect.bisect_right(_SKIP_DAYS, era)])


# The skip patterns added after an era (``era < since``): the same list for every era between two of the days
# they were added, built once per such span instead of read from the table for each era.
_SKIP_DAYS = sorted(set(fm.SKIP_SINCE.values()))
_NEWER_SKIPS = [tuple(p for p, since in fm.SKIP_SINCE.items() if since > day) for day in ["", *_SKIP_DAYS]]


def _era_title_from(text: str, era: str, words: set[str] | None = None) -> str | None:
    """The era title when the era's syzkaller would have started from another oops line. ``words``: as
    ``find_first_oops``'."""
    oops, start = find_first_oops(text, era, words)
    if oops is None:
        return None
    line_end = text.find("\n", start)
    context = extract_context(text[start:min(line_end if line_end >= 0 else len(text), start + MAX_LINE)])
    found = find_report(text, start, context, words=words)
    return _title(_describe(found, oops, era), text, start, line_end, oops, era)


def _title(ex: Extracted, text: str, start: int, line_end: int, oops: fm.Oops, era: str | None) -> str:
    if not ex.title:  # the header was in a line we dropped (other context): read the raw line
        ex.title = text[start:min(line_end if line_end >= 0 else len(text), start + MAX_LINE)]
        ex.title = ex.title[text[start:].find(oops.header):] if oops.header in ex.title else ex.title
    return clean_title(ex.title, era)


_release_date = by_name(kernel_date)     # a release's day (a pure function of the release): once per release


def parse(text: str | bytes) -> Report:
    """The first crash in ``text`` (a console log, a report excerpt or a mail body); title None if none."""
    masked = mask_code(unescape_html(to_text(text)))
    raw = undecode(masked)          # diff hunks and quoted source blanked; decoded frames re-encoded
    cleaned = clean_text(raw, mask=False, decoded=raw is masked)
    cuts = _inline_header_cuts(cleaned)
    text = _dropped(cleaned, cuts)
    # The tables' words the text holds (one RE2 pass, which the oops search, the report's walk and the title,
    # corruption and guilty-file tests share); a huge text is read in parts as the walk needs them instead.
    words = _TEXT_WORDS.present(text) if len(text) <= _RUN_CHUNK else None
    # and those the input holds, for the console reading (None: it reads them itself). When cleaning changed nothing
    # but the inline headers, a word of the input is on a line the cuts left as it was (a line of ``text``) or on
    # one they cut (read here): ``words`` and those, a superset the console's readers take (none spans a line break)
    raw_words = None
    if text == raw or words is None:
        raw_words = words
    elif cuts and cleaned == raw:
        raw_words = words | _TEXT_WORDS.present(_cut_lines(raw, cuts))
    oops, start = find_first_oops(text, None, words)
    if oops is None:
        # No crash, but the text may still carry evidence (I/O errors, lost writes, gfp masks, stacks),
        # and a data-loss event syzkaller does not title (triage.report.events).
        rep = add_structure(Report(), text[-MAX_REPORT:], whole=raw, words=raw_words)
        rep.event = find_event(text) or _leak_event(text) or bare_trace_event(rep.frames, rep.signature, rep.trace,
                                                                              text)
        return rep
    line_end = text.find("\n", start)
    context = extract_context(text[start:min(line_end if line_end >= 0 else len(text), start + MAX_LINE)])
    found = find_report(text, start, context, words=words)
    ex = _describe(found, oops)
    report = found.report
    title = _title(ex, text, start, line_end, oops, None)
    full = "".join(line + "\n" for line in found.prefix) + report    # syzkaller's Report: prefix + report
    # (``full``'s lines are the prefix lines, then the report's: when none of the report's names a release, only the
    # prefix lines are read again)
    kernel = kernel_version(report) or (kernel_version(full[:len(full) - len(report)]) if full is not report else None)
    era = _release_date(kernel) if kernel is not None else None
    era_title = title
    if era is not None and era < fm.LAST_RULE_CHANGE:     # syzkaller's rules differed then: title by those
        if oops.since and not active(era, oops.since, None):   # a header syzkaller did not know then
            era_title = _era_title_from(text, era, words)
        elif _rules_differ(oops, era, report, ex, found.holds()):
            era_title = _title(_describe(found, oops, era), text, start, line_end, oops, era)
        else:                                               # same rows and frames: only the replacements
            era_title = clean_title(ex.title, era)
    corrupted = ex.corrupted or is_corrupted(title, report, ex.fmt, found.holds())
    if fm.CONSOLE_HANGUP in text:
        corrupted = corrupted or "console hang-up (VM disconnected)"
    # (each alternative once; the raw title's is the title, left out below anyway)
    alts = sorted({clean_title(a) for a in set(ex.alt) if a != ex.title} - {title, ""})
    rep = Report(
        title=title,
        era=era,
        era_title=era_title,
        type=report_type(oops, ex.fmt, title) or None,
        alt_titles=alts,
        corrupted=bool(corrupted),
        corrupted_reason=corrupted or None,
        guilty_frame=ex.frame or None,
        report=full,
    )
    rep.guilty_file = guilty_file(title, report, found.holds())
    add_structure(rep, full, crash_text=report, kernel=kernel, whole=raw, kernel_read=True, words=raw_words)
    return rep


def _leak_event(text: str) -> dict | None:
    """A kmemleak record without its ``BUG: memory leak`` line, titled by syzkaller's leak format."""
    leak = leak_report(text)
    if leak is None:
        return None
    oops = line_oops("BUG: memory leak")
    found = find_report(leak, 0, "")
    ex = _describe(found, oops)
    if not ex.title or ex.corrupted:
        return None
    first = leak.split("\n", 2)[1]
    return {"kind": "memory-leak", "type": "LEAK", "title": clean_title(ex.title), "lineno": None, "line": first,
            "text": found.report}


MAX_CONSOLE = 4 * 1024 * 1024     # characters of the input the console reading covers (around the first crash)


def add_structure(rep: Report, text: str, crash_text: str | None = None, kernel: str | None = None,
                  whole: str | None = None, kernel_read: bool = False, words: set[str] | None = None) -> Report:
    """Stacks with attribution, kernel, task and signature of the report ``text``; the console structure
    (crash, events, trace, markers, locks, gfp masks) of the ``whole`` input (default: ``text``). ``kernel_read``:
    ``kernel`` is what ``crash_text`` and ``text`` say (None: neither names one), not to be read again.
    ``words``: the ``_TEXT_WORDS`` ``whole`` holds (or a superset: the console's readers look for each where the
    text holds it), when the caller read them (the console's need no second pass)."""
    crash_text = text if crash_text is None else crash_text
    rep.kernel = kernel if kernel_read else kernel or kernel_version(crash_text) or \
        (kernel_version(text) if text is not crash_text else None)       # (one text: read once)
    rep.task = crash_task(crash_text) or (crash_task(text) if text is not crash_text else None)
    # Stacks from the oops line on: the prefix lines before it differ between a console log (50 lines of
    # the same task) and an excerpt, and may hold another stack (a fault-injection dump) cut anywhere.
    # (each frame's norm_function the canonical name: renamed functions unified, so SQL over frames finds every
    # version's report)
    rep.frames = extract_frames(crash_text)
    rep.signature = signature(rep.frames, rep.title)
    whole = text if whole is None else whole
    part, first_lineno = _console_part(whole)
    con = read_console(part, rep.kernel, first_lineno, words if part is whole else None)
    rep.crash, rep.events, rep.trace = con.crash, con.events, con.frames
    rep.markers, rep.locks, rep.gfp = con.markers, con.locks, con.gfp
    return rep


def _console_part(whole: str) -> tuple[str, int]:
    """The input the console reading covers and the line number of its first line: all of it, or for a huge
    log the ``MAX_CONSOLE`` characters around its first crash."""
    if len(whole) <= MAX_CONSOLE:
        return whole, 1
    oops, start = find_first_oops(whole)
    center = start if oops is not None else len(whole)
    lo = max(0, min(center - MAX_CONSOLE // 2, len(whole) - MAX_CONSOLE))
    lo = whole.rfind("\n", 0, lo) + 1 if lo else 0
    hi = whole.rfind("\n", lo, lo + MAX_CONSOLE)
    return whole[lo:hi if hi > lo else lo + MAX_CONSOLE], whole.count("\n", 0, lo) + 1
