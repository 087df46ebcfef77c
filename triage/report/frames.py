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
from functools import lru_cache

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

_SUFFIX = re.compile(r"(\.(?:constprop|isra|part|cold|lto_priv|llvm|specialized)(?:\.\d+)*)+$")


@lru_cache(maxsize=65536)
def strip_suffix(func: str) -> str:
    """``foo.constprop.0`` -> ``foo``; ``bar.cold`` -> ``bar``."""
    return _SUFFIX.sub("", func)


def parse_frame_line(line: str, stack: str = "crash") -> Frame | None:
    """One frame, or None if the line is not a frame (an offset or a file is required)."""
    m = FRAME_RE.match(line[PREFIX.match(line).end():])
    if not m or not (m.group("off") or m.group("file")):
        return None
    func = m.group("func")
    return Frame(
        function=func,
        norm_function=strip_suffix(func),
        stack=stack,
        offset=m.group("off"),
        size=m.group("size"),
        file=m.group("file"),
        line=int(m.group("line")) if m.group("line") else None,
        inline=bool(m.group("inline")),
        module=m.group("module"),
    )
