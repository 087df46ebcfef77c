"""The console-prefix grammar: what wraps a kernel message on its way to us, defined once.

A kernel line reaches us as ``[  12.345678][ T1234] msg`` (a console log: timestamp, then the caller tag of
the task ``T1234`` or CPU ``C0`` that printed it), ``<4>msg`` (printk level), ``Feb 24 20:39:18 host kernel: msg``
or ``2024-02-24T20:39:18+01:00 host kernel: msg`` (syslog / journal; the host may be missing),
``[2023-10-13 02:51:09] msg`` (a logger's date), and in mail replies as ``> msg`` / ``> > msg``, possibly
indented after the quote (``QUOTE_MARK``: a ">" that quotes; KASAN's buggy-row ">ffff...: " does not).
Everything that reads kernel text strips these with the expressions below:

    PREFIX.match(line)       every prefix one line may carry, in the order they nest; group ``tag`` = T1234 / C0
    STAMP                    the console timestamp and caller tag at the start of a line (``re.M``: over a text)
    SYZKALLER_CONSOLE        syzkaller's own console expression (pkg/report): which lines a report is made of,
                             and (group 1) their printk context; kept exactly as syzkaller has it, because
                             titles must come out as syzbot's

The parts are plain strings so the three are built from the same pieces.
"""

from __future__ import annotations

import re

# A ">" that quotes: not KASAN's mark of the buggy address's row in its shadow dump, printed in the quote's place
# (">ffff888012345600: fb fb ...", mm/kasan/report.c print_memory_metadata: ">%px: " for that row, " %px: " for the
# others): a ">" right before a hex address and ": " is kernel output, kept as the kernel printed it.
QUOTE_MARK = r">(?![0-9a-f]{8,16}: )"
QUOTE = rf"(?:[ \t\u00a0]*{QUOTE_MARK}[ \t]?)*"                              # "> ", "> > ", ">> "
SYSLOG = (r"(?:(?:[A-Z][a-z]{2}[ ][ \d]\d[ ]\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.,+-]{8,40})"
          r"(?:[ ]\S{1,64}|)[ ]kernel:[ ]|)")                           # "Feb 24 20:39:18 host kernel: "
LOGGER_DATE = r"(?:\[\d{4}-\d\d-\d\d[ T][\d:.,]{5,20}\][ \t]*|)"       # "[2023-10-13 02:51:09] "
LEVEL = r"(?:<\d{1,2}>|)"                                               # "<4>"
TIME = r"\[[ \t\u00a0]*\d+\.\d+\]"                                      # "[  12.345678]"
CALLER = r"\[[ \t\u00a0]*(?P<tag>[TC]\d+)\]"                            # "[ T1234]" / "[    C0]"

# A quoted console line may be indented after its "> " (mail clients re-indent pasted logs).
# (an optional part is written "(?:X|)": X, else nothing - the same matches and groups as "(?:X)?", which ``re`` runs
# as its general repeat, in cheap steps)
PREFIX = re.compile("^" + QUOTE + SYSLOG + LOGGER_DATE + LEVEL + f"(?:[ \t\u00a0]*{TIME}|)(?:{CALLER}|)")
STAMP = re.compile("^" + TIME + "(?:" + CALLER.replace("?P<tag>", "") + ")? ?", re.M)
SYZKALLER_CONSOLE = re.compile(
    r"^(?:\*\* [0-9]+ printk messages dropped \*\* )?(?:.* login: )?(?:<[0-9]+>)?"
    r"\[ *[0-9]+\.[0-9]+\](\[ *(?:C|T)[0-9]+\])? ")
