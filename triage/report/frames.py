"""Stack-frame lines: the one regexp every part of the parser uses to read a frame.

Forms seen in real reports (x86-64, arm64, syzbot-symbolized and raw):

    ` ext4_mb_load_buddy_gfp+0x5a/0xb60 fs/ext4/mballoc.c:1640`
    ` __dump_stack lib/dump_stack.c:94 [inline]`                 (inlined: no offset)
    ` ? kthread+0x2f0/0x390`                                    (unreliable frame)
    ` [<ffffffff8123abcd>] do_syscall_64+0x1a/0x2b`             (old kernels)
    ` nbd_handle_cmd+0x12/0x90 [nbd]`                          (module)
    `RIP: 0010:__alloc_pages_slowpath+0xca5/0xce0 mm/page_alloc.c:4630`
"""

from __future__ import annotations

import re

from triage.report.memo import by_name
from triage.report.model import Frame
from vocab.console import PREFIX

FRAME_RE = re.compile(
    r"""^\s*
    (?:\[<[0-9a-fA-Fx]+>\]\s*)?            # [<ffffffff81234567>]
    (?:(?P<unreliable>\?)\s+)?
    (?P<func>[A-Za-z_.$][\w.$]*)
    (?:\+(?P<off>0x[0-9a-fA-F]+)/(?P<size>0x[0-9a-fA-F]+))?
    (?:\s+\[(?P<module>[\w-]+)\])?
    (?:\s+(?P<file>[\w./+-]+\.[chS]|[\w./+-]+\.rs):(?P<line>\d+)(?::\d+)?)?
    (?:\s+(?P<inline>\[inline\]))?
    \s*$""",
    re.X,
)

# FRAME_RE for an ASCII line: ``\s``, ``\w`` and ``\d`` spelled as the ASCII characters they match there (a
# Unicode category is tested per character by a table lookup; a class of characters by a bitmap: a fifth fewer
# instructions a frame line), and each optional line of it, ``(?:X)?``, as ``(?:X|)`` (the same matches and groups:
# ``re`` runs a greedy ``?`` of a group as its general repeat, a branch with an empty alternative costs less: 9.1 ->
# 6.5 k instructions a frame line)
_SPACE = r"[ \t\n\r\f\v\x1c-\x1f]"         # str.isspace() of an ASCII character
_FRAME_ASCII = re.compile(re.sub(r"\)\?(?=\s*(?:#.*)?\n)", "|)", FRAME_RE.pattern.replace(r"\s", _SPACE)
                                 .replace(r"\w", "A-Za-z0-9_").replace(r"\d", "[0-9]")), re.X)

# Compiler suffixes: ".constprop", ".isra", ... each optionally numbered (".constprop.0").
COMPILER_SUFFIXES = frozenset(("constprop", "isra", "part", "cold", "lto_priv", "llvm", "specialized"))


def strip_tokens(name: str, words: frozenset[str], numbers_lead: bool) -> str:
    r"""``name`` without the trailing run of ``.WORD`` (in ``words``) and ``.N`` (decimal) tokens; unless
    ``numbers_lead``, the run starts at a word (``foo.1.isra.0`` -> ``foo.1``). What ``re.sub`` of
    ``(\.(?:WORDS)(?:\.\d+)*)+$`` (or ``(?:\.(?:WORDS)|\.\d+)+$``) does, in one pass from the end: the regexp
    retries from every dot and backtracks over every split of the numbers (cubic in a name of 4,000 characters)."""
    if "." not in name:
        return name
    if name.endswith("\n"):                 # "$" matches before a final newline
        return _strip_tokens(name[:-1], words, numbers_lead) + "\n"
    return _strip_tokens(name, words, numbers_lead)


def _strip_tokens(name: str, words: frozenset[str], numbers_lead: bool) -> str:
    parts = name.split(".")
    cut = len(name)
    end = len(name)
    for tok in reversed(parts[1:]):
        start = end - len(tok) - 1
        if tok in words:
            cut = start
        elif tok.isdecimal():
            if numbers_lead:
                cut = start
        else:
            break
        end = start
    return name[:cut]


@by_name
def strip_suffix(func: str) -> str:
    """``foo.constprop.0`` -> ``foo``; ``bar.cold`` -> ``bar``."""
    return strip_tokens(func, COMPILER_SUFFIXES, False)


_PREFIX_CHARS = frozenset("[<>")


def parse_frame_line(line: str, stack: str = "crash") -> Frame | None:
    """One frame, or None if the line is not a frame (an offset or a file is required)."""
    fields = frame_fields(line)
    if fields is None:
        return None
    func, norm, off, size, file, lineno, inline, module = fields
    return Frame(func, norm, stack, off, size, file, lineno, inline, module)


def read_frame_fields(line: str) -> tuple | None:
    """``Frame``'s fields but the stack, read from a frame line (``frame_fields`` without its table: for a caller
    that remembers its own result per line)."""
    # where ``vocab.console.PREFIX`` ends (0 without a match): every prefix starts, past blanks, with "[", "<" or
    # ">", or at the line's start with a syslog date (a capital or a digit)
    c = line[:1]
    if c in _PREFIX_CHARS or c.isupper() or c.isdecimal() or line.lstrip(" \t\u00a0")[:1] in _PREFIX_CHARS:
        end = PREFIX.match(line).end()     # (a slice: ``^`` matches at the string's start only)
        m = (_FRAME_ASCII if line.isascii() else FRAME_RE).match(line[end:] if end else line)
    else:
        m = (_FRAME_ASCII if line.isascii() else FRAME_RE).match(line)
    if m is None:
        return None
    _unreliable, func, off, size, module, file, lineno, inline = m.groups()
    if not (off or file):
        return None
    # (``strip_suffix`` of a name without a dot is the name: most are, and are not looked up)
    return func, strip_suffix(func) if "." in func else func, off, size, file, int(lineno) if lineno else None, \
        bool(inline), module


# ``Frame``'s fields but the stack, read from a frame line (remembered per line: reports of one kernel build print the
# same frame lines, ``do_syscall_64+0x3d/0xb0 ...``, again and again).
frame_fields = by_name(read_frame_fields)
