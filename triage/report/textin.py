"""Input clean-up before parsing: bytes to text, line ends, mail quoting, text that is not kernel output.

Real input is pasted from consoles, syzbot mails and replies: invalid UTF-8, CRLF line ends, and reports
quoted with ``> `` (possibly nested). The result is plain console text in which quoting is undone, so the
same crash reads the same whichever way it came in.

Reports decoded by ``scripts/decode_stacktrace.sh`` (``func (file.c:LINE)`` instead of ``func+0x1/0x2``) or
printed by ``dmesg --decode`` (``kern  :warn  : ``) are put back in console form (``undecode``).

Mails also quote the kernel's *source*: diff hunks of a patch (``+  pr_err("lost page write due to I/O error on
%s\n", ...)``), format strings and ``printk(...)`` calls quoted in prose. Those lines name crash headers and
data-loss messages without being kernel output; ``mask_code`` blanks them (the line count stays, so line
numbers still point into the input) before anything looks for a crash.
"""

from __future__ import annotations

import re

from vocab.console import QUOTE_MARK as _MARK
from vocab.console import STAMP as _TS


def to_text(data: str | bytes) -> str:
    if isinstance(data, bytes | bytearray):
        return bytes(data).decode("utf-8", "replace")
    if not data.isascii():
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:        # lone surrogates (e.g. from surrogateescape): not printable anywhere
            data = data.encode("utf-8", "replace").decode("utf-8")
    return data


# The character references a web mailer (qq.com's, 163.com's) leaves in the "plain" part it writes from HTML: a
# lockdep report then reads "-&gt; #1 (&amp;ei-&gt;i_lock)", the kernel's "-> #1 (&ei->i_lock)". The kernel prints
# none of "&gt;", "&lt;" and "&nbsp;"; a text holding one is read with these five decoded, in one pass (so
# "&amp;gt;" is "&gt;"), each to one character: no line break is made or lost, so line numbers stay the input's.
_HTML_REFS = {"&gt;": ">", "&lt;": "<", "&amp;": "&", "&quot;": '"', "&nbsp;": "\xa0"}
_HTML_REF = re.compile("|".join(_HTML_REFS))
_HTML_TELL = re.compile("&(?:gt|lt|nbsp);")


def unescape_html(text: str) -> str:
    """``text`` with a web mailer's character references decoded (``_HTML_REFS``) when it holds one that kernel
    output never does; else as it is."""
    if "&" not in text or _HTML_TELL.search(text) is None:     # ("&": a character, found at memchr speed)
        return text
    return _HTML_REF.sub(lambda m: _HTML_REFS[m[0]], text)


def unquote(text: str) -> str:
    """Remove mail quote markers (``> ``, ``>> ``, ``> > ``) from quoted lines; other lines stay."""
    if ">" not in text or not _has_quoted_line(text):     # (one character: found at memchr speed)
        return text
    # every line's quote prefix (blanks, then quoting ">"s, each maybe with a blank) removed, the search skipping
    # from line break to line break (see ``_has_quoted_line``)
    m = _QUOTE_FIRST.match(text)
    return _QUOTE_NEXT.sub("\n", text[m.end():] if m is not None else text)


_QUOTE_FIRST = re.compile(rf"[ \t]*+(?:{_MARK}[ \t]?+)++")         # a quote prefix on the first line
_QUOTE_NEXT = re.compile(rf"\n[ \t]*+(?:{_MARK}[ \t]?+)++")       # on any other, with the line break before it


def _has_quoted_line(text: str) -> bool:
    """Whether a line's first character past blanks is a quoting ">" (``QUOTE_MARK``). The first few ">" are
    looked at where they are (most texts hold a few: "<IRQ>", "->"); past those, searched from each line break
    (``_QUOTED_NEXT``: a literal start the search skips to; ``re.M``'s "^" is tried at every character of the text:
    10 times slower; and the search reads every line, where ">" is found at memchr speed)."""
    at = text.find(">")
    for _ in range(_QUOTE_LOOKS):
        if at < 0:
            return False
        # (the character before it first: most are "<IRQ>"'s or "->"'s, after a name)
        if (at == 0 or text[at - 1] in " \t\n" and not text[text.rfind("\n", 0, at) + 1:at].strip(" \t")) \
                and _IS_MARK(text, at) is not None:
            return True
        at = text.find(">", at + 1)
    if at < 0:
        return False
    start = text.rfind("\n", 0, at)        # (no ">" before ``at`` starts a quoted line: searched from its line on)
    if start < 0:
        return _QUOTED_FIRST.match(text) is not None or _QUOTED_NEXT.search(text) is not None
    return _QUOTED_NEXT.search(text, start) is not None


_QUOTE_LOOKS = 16
_IS_MARK = re.compile(_MARK).match              # (the ">" at a position quotes)
_QUOTED_FIRST = re.compile(rf"[ \t]*+{_MARK}")           # the first line
_QUOTED_NEXT = re.compile(rf"\n[ \t]*+{_MARK}")          # any other


# A line of a program's own (never the rest of a wrapped kernel line): syz-fuzzer's log, a console timestamp, a call
# of the syzkaller program being run ("mmap(&(0x7f0000557000/0x2000)=nil, 0x2000, ...)", "r2 = socket$inet(...)"),
# which the executor prints between console lines
_PROGRAM_OUTPUT = re.compile(r"^(?:\d{4}/\d\d/\d\d |\[[ \d*]|executing program|syzkaller login"
                             r"|(?:r\d+ = )?[a-z_][a-z0-9_]*+(?:\$[A-Za-z0-9_]+)?\(.*\)\s*$)")
_MIN_WRAP = 60             # a break is a wrap only if the next word would not have fit in this many columns
_WRAP_WIDTH = 100          # mail clients wrap at 72-80 columns; kernel consoles print RIP/Code lines far longer
_FUNC_REST = r"^[A-Za-z_][\w.]*(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?(?: \S+:\d+)?(?: \[inline\])?\s*$"
# Header lines a wrap can cut before their end: (the last occurrence of what the cut line ends with, the end
# itself, the whole header, what the rest must look like: a function, a number). The end is tested first, from its
# last occurrence: the header's search (".*" before a fixed end) is then linear in the line, whatever the line.
_CUT_HEADERS = [
    (":", re.compile(r":\d+\s*$"), re.compile(r"WARNING: CPU: \d+ PID: \d+ at \S+:\d+\s*$"), re.compile(_FUNC_REST)),
    (" blocked for more than", re.compile(r" blocked for more than(?: \d+)?\s*$"),
     re.compile(r"INFO: task .* blocked for more than(?: \d+)?\s*$"), re.compile(r"^(?:\d+ )?seconds\.?\s*$")),
    ("general protection fault, probably for non-canonical address",
     re.compile(r"general protection fault, probably for non-canonical address\s*$"),
     re.compile(r"general protection fault, probably for non-canonical address\s*$"),
     re.compile(r"^0x[0-9a-f]+: [0-9a-f]{4} \[#\d+\]")),
    (" in", re.compile(r" in\s*$"), re.compile(r"(?:BUG|WARNING|INFO|KASAN|KMSAN|KCSAN|UBSAN): .* in\s*$"),
     re.compile(_FUNC_REST)),
]


# What every rest of ``_CUT_HEADERS`` starts with (a function, "seconds", a number, "0x..."): a line starting
# otherwise (a frame line's blank) is no rest, without trying the four.
_REST_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")


def _cut_header(line: str, rest: str) -> bool:
    """``line`` is an oops header cut by a wrap and ``rest`` the rest of it."""
    if rest[:1] not in _REST_START:
        return False
    for anchor, end, header, after in _CUT_HEADERS:
        j = line.rfind(anchor)
        if j >= 0 and end.match(line, j) and after.match(rest) and header.search(line):
            return True
    return False


_GPF_CUT = re.compile(r"(general protection fault, probably for non-canonical address)[ \t]*\n[ \t]*"
                      r"(0x[0-9a-f]+: [0-9a-f]{4} \[#\d+\])")
# An ARM backtrace line (``[<pc>] (func) from [<lr>] (caller+0x34/0x70)``) cut after "from" or after its second
# address: no kernel line starts with the caller's "(name...)" or ends in "from", wherever the cut falls.
# (") from" ahead of both alternatives: a literal start the search skips to, where a group first is tried at every
# character.)
_ARM_CUT = re.compile(r"\) from(?:( \[<[0-9a-f]+>\])[ \t]*\n[ \t]*(\([^()\n]*\))"
                      r"|[ \t]*\n[ \t]*(\[<[0-9a-f]+>\] \([^()\n]*\)))")


def _joined(m: re.Match[str]) -> str:
    """An ``_ARM_CUT`` match as the one line the kernel printed."""
    return f") from{m[1]} {m[2]}" if m[1] is not None else f") from {m[3]}"


_LONG_NEXT = re.compile(rf"\n[^\n]{{{_WRAP_WIDTH + 1}}}")     # a line longer than the wrap width, but the first


def _looks_wrapped(text: str) -> bool:
    """A text whose lines were re-wrapped by a mail client: at least 5 lines, and fewer than one in 50 longer than
    the wrap width (found by a search that skips from line break to line break, counted only until too many)."""
    n = text.count("\n") + 1
    if n < 5:
        return False
    first = text.find("\n")
    long = first > _WRAP_WIDTH
    if long * 50 >= n:
        return False
    for _ in _LONG_NEXT.finditer(text, first):
        long += 1
        if long * 50 >= n:
            return False
    return True


# The words one of ``_CUT_HEADERS``' headers holds: only a line holding one can be a cut header. ("SAN: " stands for
# the sanitizers' four, each a search of the whole text, mostly in vain: the two letters before it are tested.)
_CUT_WORDS = ("BUG: ", "WARNING: ", "INFO: ", "SAN: ", "general protection fault, probably for non-canonical address")
_SANITIZERS = ("KA", "KM", "KC", "UB")        # KASAN, KMSAN, KCSAN, UBSAN


def _join_cut_headers(text: str, lines: list[str] | None, ask_wrapped: bool = False) -> str:
    """``unwrap`` of a text without timestamps: each cut header line (``_cut_header``) joined with its rest, the
    next line (once: the joined line is complete). Only the lines holding one of ``_CUT_WORDS`` are looked at.
    ``lines``: ``text.split("\\n")``, or None (then split only if a header is joined). ``ask_wrapped``: whether the
    text looks wrapped (``_looks_wrapped``) is not known yet: asked only when a header would be joined."""
    heads: set[int] = set()
    for word in _CUT_WORDS:
        pos = text.find(word)
        while pos >= 0:
            if word == "SAN: " and (pos < 2 or text[pos - 2:pos] not in _SANITIZERS):
                pos = text.find(word, pos + 1)
                continue
            heads.add(text.rfind("\n", 0, pos) + 1)
            end = text.find("\n", pos)
            if end < 0:
                break
            pos = text.find(word, end)
    joined: list[int] = []
    last, i = 0, 0
    for start in sorted(heads):
        i += text.count("\n", last, start)        # the line number of ``start``
        last = start
        end = text.find("\n", start)
        if end < 0 or joined and joined[-1] == i - 1:
            continue                    # (the last line: no rest follows it)
        after = text.find("\n", end + 1)
        line, rest = text[start:end], text[end + 1:after if after >= 0 else len(text)]
        if _cut_header(line, rest) and not _PROGRAM_OUTPUT.match(rest.lstrip()):
            joined.append(i)
    if not joined or ask_wrapped and not _looks_wrapped(text):
        return text
    out = text.split("\n") if lines is None else lines[:]
    for i in reversed(joined):
        out[i:i + 2] = [out[i].rstrip() + " " + out[i + 1].strip()]
    return "\n".join(out)


def unwrap(text: str) -> str:
    """Join lines a mail client broke. Only in texts that look wrapped (no long lines at all), and only
    continuations that cannot be lines of their own: a line without a console timestamp after a timestamped
    one (timestamped logs, as many as follow), or the rest of an oops header line (plain excerpts: one rest)."""
    # a cut no kernel prints, whatever the rest of the text looks like (the header's text looked for first: a
    # substring search skips through the text, the regexp's search steps through every character)
    if "general protection fault, probably for non-canonical address" in text and _GPF_CUT.search(text):
        text = _GPF_CUT.sub(r"\1 \2", text)
    if ") from" in text and _ARM_CUT.search(text):
        text = _ARM_CUT.sub(_joined, text)
    if text[:1] != "[" and "\n[" not in text and text.strip():
        # no line starts with "[" (so none with a timestamp) and one is not blank: not timestamped (below); whether
        # it looks wrapped (a pass over its lines) asked only when it holds a cut header (most texts hold none)
        return _join_cut_headers(text, None, ask_wrapped=True)
    if not _looks_wrapped(text):
        return text
    lines = text.split("\n")
    filled = len(lines) - lines.count("") - sum(map(str.isspace, lines))     # lines that are not blank
    # (a timestamp starts with "[": with too few lines starting so, no need to match them)
    timestamped = ((text[:1] == "[") + text.count("\n[")) * 3 >= filled and \
        sum(1 for ln in lines if ln[:1] == "[" and _TS.match(ln)) * 3 >= filled
    if not timestamped:
        return _join_cut_headers(text, lines)
    out: list[str] = []
    # The line being rebuilt, as its pieces (joined once it is complete: joining piece by piece would copy it
    # once per piece), its length without trailing blanks, whether it has a timestamp (then whether its message
    # is still blank), and whether it may be a cut header (plain excerpts: it ends as one of ``_CUT_HEADERS``
    # does, in a digit, "n" or "s", and no rest was joined to it yet).
    cur: list[str] = []
    cur_len = 0
    stamp = blank = cut = False
    for ln in lines:
        m = _TS.match(ln) if ln[:1] == "[" else None
        if cur and m is None and (stamp or cut) and ln.strip():
            piece = None
            if timestamped and stamp:
                if blank:
                    piece = ln.lstrip()
                elif cur_len + 1 + len(ln.split(None, 1)[0]) > _MIN_WRAP:
                    piece = ln.strip()
            elif not timestamped and cut and _cut_header(cur[0], ln):
                piece = ln.strip()
            if piece is not None and not _PROGRAM_OUTPUT.match(ln.lstrip()):    # (a program's line is its own)
                cur[-1] = cur[-1].rstrip()
                cur.append(" " + piece)
                cur_len += 1 + len(piece.rstrip())
                blank = cut = False
                continue
        if cur:
            out.append("".join(cur))
        cur = [ln]
        end = ln.rstrip()
        cur_len = len(end)
        stamp = m is not None
        blank = stamp and not ln[m.end():].strip()
        cut = not timestamped and (end[-1:] in ("n", "s") or end[-1:].isdecimal())
    if cur:
        out.append("".join(cur))
    return "\n".join(out)


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_DIFF_HEAD = re.compile(r"^(?:diff --git |--- |\+\+\+ |index [0-9a-f]+\.\.)")
_QUOTE_PREFIX = re.compile(rf"^(?:[ \t\u00a0]*+{_MARK}[ \t]?+)*+")
# a printf conversion (kernel output never carries one): %s, %d, %lu, %llx, %pd, %*ph, %-8s ...
_PRINTF = re.compile(r"%[-+#0]*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|z|j|t)?[sdiuxXpc]")
_MAX_HUNK = 100_000        # lines one hunk header can claim


def _kernel_words() -> re.Pattern[str]:
    """Every crash header (the oops table) and data-loss message (the event table): the words a quoted source
    line would have to carry to be taken for kernel output."""
    from triage.report import formats as fm
    from triage.report.events import HINTS

    words = sorted({o.header for o in fm.OOPSES} | {h for h in HINTS if len(h) > 5}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words))


_WORDS: list[re.Pattern[str]] = []


def is_source_line(line: str) -> bool:
    """A line (quote marks removed) that names a crash header or data-loss message inside a C string literal
    (a ``"`` before the words) or as a printf format (``%s`` beside them): source quoted, not kernel output."""
    if '"' not in line and "%" not in line:
        return False
    if not _WORDS:
        _WORDS.append(_kernel_words())
    m = _WORDS[0].search(line)
    if m is None:
        return False
    return '"' in line[:m.start()] or _PRINTF.search(line) is not None


def mask_code(text: str) -> str:
    """``text`` with the lines that quote kernel source blanked: diff hunks (the lines an ``@@ -a,b +c,d @@``
    header counts, and the file headers before it) and source lines naming crash headers (``is_source_line``).
    Mail quoting is looked through; the number of lines stays the same."""
    # (a hunk header's "@" looked for first: one character is found at memchr speed, "@@ -" read at every blank)
    hunk = "@" in text and "@@ -" in text
    if not hunk:
        return _mask_source_lines(text) if '"' in text or "%" in text else text
    lines = text.split("\n")
    changed = False
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if "@@ -" not in line and '"' not in line and "%" not in line:
            i += 1                 # neither a hunk header nor a source line, whatever its quoting
            continue
        body = _QUOTE_PREFIX.sub("", line, count=1).rstrip("\r")
        m = _HUNK.match(body) if body[:4] == "@@ -" else None
        if m is None:
            if is_source_line(body):
                lines[i] = ""
                changed = True
            i += 1
            continue
        k = i - 1                  # the file headers just above the hunk
        while k >= 0 and i - k <= 4 and _DIFF_HEAD.match(_QUOTE_PREFIX.sub("", lines[k], count=1)):
            lines[k] = ""
            k -= 1
        old = int(m.group(1)) if m.group(1) is not None else 1
        new = int(m.group(2)) if m.group(2) is not None else 1
        depth = _QUOTE_PREFIX.match(lines[i]).group(0).count(">")
        lines[i] = ""
        changed = True
        i += 1
        budget = _MAX_HUNK
        while i < n and (old > 0 or new > 0) and budget:
            body = lines[i]
            if ">" in body:        # (a quote prefix holds one)
                q = _QUOTE_PREFIX.match(body)
                if q.group(0).count(">") != depth:
                    break          # the quoted hunk was cut ("[..]"): the replier's own lines follow
                body = body[q.end():]
            elif depth:
                break
            if body.startswith(("@@ -", "diff --git ")):
                break
            first = body[:1]
            if first == "+":
                new -= 1
            elif first == "-":
                old -= 1
            elif first != "\\":
                old, new = old - 1, new - 1
            lines[i] = ""
            i += 1
            budget -= 1
    return "\n".join(lines) if changed else text




def _mask_source_lines(text: str) -> str:
    """``mask_code`` of a text without a hunk: only a line holding '"' or '%' can be a source line, and only
    those are looked at."""
    parts: list[str] = []
    done = 0
    quote, percent = text.find('"'), text.find("%")     # the next of each (two substring searches: faster than
    while quote >= 0 or percent >= 0:                   # one search of the class ["%])
        at = percent if quote < 0 or 0 <= percent < quote else quote
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at + 1)
        end = len(text) if end < 0 else end
        if is_source_line(_QUOTE_PREFIX.sub("", text[start:end], count=1).rstrip("\r")):
            parts.append(text[done:start])          # the line blanked, its line break kept
            done = end
        if quote >= 0 and quote <= end:
            quote = text.find('"', end + 1)
        if percent >= 0 and percent <= end:
            percent = text.find("%", end + 1)
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


# scripts/decode_stacktrace.sh replaces "func+0x12/0x34" by "func (file.c:LINE[ (discriminator N)] ...)"
_DECODED = re.compile(r"(?:^|(?<=[\s:]))(?P<func>[A-Za-z_][\w.]*) \((?P<src>[\w./+-]+\.(?:[chS]|rs):\d+)"
                      r"(?: \(discriminator \d+\))?(?: [\w./+-]+\.(?:[chS]|rs):\d+(?: \(discriminator \d+\))?)*\)"
                      r"[ \t]*$", re.M)
# How every decoded line ends (the last file:line and the closing parenthesis): a search that starts at a literal
# "." and so skips most of the text, where ``_DECODED`` is tried at every word.
_DECODED_END = re.compile(r"\.(?:[chS]|rs):\d+(?: \(discriminator \d+\))?\)[ \t]*$", re.M)


# ``dmesg --decode`` (the kernel test robot's logs): "kern  :warn  : [  407.44] msg"
_DMESG_LEVEL = re.compile(rf"^((?:[ \t]*{_MARK})*[ \t]*)(?:(kern)|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|"
                          r"authpriv|ftp|local[0-7]) *:(?:emerg|alert|crit|err|warn|notice|info|debug) *: (.*)$", re.M)


# What a ``_DMESG_LEVEL`` line holds: a level right after a colon (one search for all: a substring test per word
# read the text eight times).
_DMESG_WORDS = (":emerg", ":alert", ":crit", ":err", ":warn", ":notice", ":info", ":debug")
_DMESG_WORD = re.compile("|".join(map(re.escape, _DMESG_WORDS)))
# A line ending in ")": the end of every decoded line (a ")" is rarer than the "." ``_DECODED_END`` starts with).
_PAREN_END = re.compile(r"\)[ \t]*$", re.M)


def _recode(text: str) -> str:
    """``_DECODED.sub`` (decoded frames in symbolized form) of ``text``, read only in the lines ending in ")" (the
    end of every decoded line), those whose end is a decoded one's (``_DECODED_END``); ``text`` itself if none is.
    (A match lies within one line and ends at its end: searched in that line alone, the search's "^" and look-behind
    still see the text before it.)"""
    parts: list[str] = []
    done = 0
    for m in _PAREN_END.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        if _DECODED_END.search(text, start, m.end()) is None:
            continue
        d = _DECODED.search(text, start, m.end())
        if d is not None:
            parts += text[done:d.start()], f"{d.group('func')}+0x0/0x0 {d.group('src')}"
            done = d.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def undecode(text: str) -> str:
    """Kernel lines as the kernel test robot mails them, put back in console form: ``dmesg --decode``'s level
    prefix (``kern  :warn  : ``) dropped (lines of other facilities blanked), and frames and headers as
    ``scripts/decode_stacktrace.sh`` prints them (``umount_check (fs/dcache.c:1590 (discriminator 1))``) in the
    symbolized form the report formats read: ``umount_check+0x0/0x0 fs/dcache.c:1590`` (the offset is lost: 0x0).
    Line count unchanged."""
    if ":" not in text:
        return text
    if " :" in text and _DMESG_WORD.search(text) is not None and _DMESG_LEVEL.search(text):
        # a line of another facility (a test suite writing to /dev/kmsg: "user  :notice: ... TINFO: ...") is not
        # the kernel's: blanked
        text = _DMESG_LEVEL.sub(lambda m: m.group(1) + m.group(3) if m.group(2) else "", text)
    return _recode(text) if " (" in text else text


def clean_text(data: str | bytes, mask: bool = True, decoded: bool = False) -> str:
    """Decoded, LF-only, unquoted and unwrapped text with plain blanks, the lines quoting kernel source blanked
    (unless ``mask`` is False: the caller masked them already). ``decoded``: ``data`` is a str ``undecode`` leaves
    as it is (the caller's ``undecode`` returned it unchanged), so a text nothing here changes is not decoded
    again."""
    text = to_text(data)
    if not text.isascii() and "\xa0" in text:      # (``isascii``: a flag of the string, no scan)
        # The kernel prints no no-break space (U+00A0); mail clients (Evolution, Apple Mail) send a pasted trace's
        # indentation as no-break and plain spaces by turns, and syzkaller's frame expressions take blanks only
        # (" *"): read as sent, a quoted trace has no frame and the title's frame comes from the prose after it.
        # (The console reading keeps the input's lines as they are: its evidence quotes them.)
        text = text.replace("\xa0", " ")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    text = unquote(text)
    text = unwrap(undecode(mask_code(text)) if mask else text)
    if decoded and not mask and text is data:
        return text
    return undecode(text)    # again: a wrap may cut a decoded frame
