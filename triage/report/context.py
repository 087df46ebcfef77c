"""Where a report comes from: the kernel release that printed it and the task that crashed.

    kernel_version(text) -> "6.17.0-rc5-syzkaller-00123-gabc" | None
    kernel_tuple(release) -> (6, 17) | None
    crash_task(text) -> {"comm": "syz-executor.2", "pid": 11953} | None

Pass the report itself (from the crash header on): in a whole console log the first task line may belong to
an earlier message (a fault-injection stack, a previous WARN).
"""

from __future__ import annotations

import re

from triage.report.lines import lines_with, message
from triage.report.wordset import gate_text

_REL = r"(?P<rel>\d+\.\d+(?:\.\d+|)[\w.+~-]*)"
# First match wins, in this order of trust.
_VERSION_RES: list[re.Pattern[str]] = [
    re.compile(r"\bNot tainted " + _REL),                                   # CPU: / hung-task lines
    re.compile(r"\bTainted: (?:[A-Z ]{1,40}?) +" + _REL),                   # "Tainted: G        W   6.1.0 #1"
    re.compile(r"^" + _REL + r" #\S+ (?:Not tainted|Tainted)"),             # lockdep header
    re.compile(r"\bLinux version " + _REL),                                 # boot banner
]
_VERSION_WORDS = ("ainted", "Linux version")          # a line none of the expressions can match lacks both

_TASK_RES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^INFO: task (?P<comm>.+):(?P<pid>\d+) (?:blocked for more than|can't die)"), "hung"),
    (re.compile(r"CPU: \d+ (?:UID: \d+ |)PID: (?P<pid>\d+) Comm: (?P<comm>\S.*?)(?: (?:Not tainted|Tainted:)|$)"),
     "cpu"),
    (re.compile(r"^(?:Read|Write) of size \d+ at addr \S+ by task (?P<comm>.+)/(?P<pid>\d+)\s*$"), "kasan"),
    (re.compile(r"^(?P<comm>\S+)/(?P<pid>\d+) (?:\[\S*\] |)is trying to acquire lock:"), "lockdep"),
    (re.compile(r"^(?P<comm>\S+)/(?P<pid>\d+) \[\S*\] (?:takes|has):"), "lockdep"),
    (re.compile(r"^(?P<comm>\S+)/(?P<pid>\d+) is trying to (?:lock|release lock)"), "lockdep"),
]
_TASK_HINT = ("PID:", "INFO: task", " by task ", "is trying to", "takes:", "has:")


# Each expression with a text every match of it holds: a line without that text is not searched (a regexp call each).
_TASK_GATED = [(rx, gate_text(rx)) for rx, _kind in _TASK_RES]
_VERSION_GATED = [(rx, gate_text(rx)) for rx in _VERSION_RES]


def _message(raw: str) -> str:
    """``message(raw, " kernel: " in text)`` of a line ``raw`` of ``text`` (its message: its console prefix stripped),
    without reading the whole text: the flag changes the message of a line only when the line itself holds
    " kernel: " (any other line is cleaned alike either way: only a line ``lines._PREFIXED`` matches has a prefix)."""
    return message(raw, " kernel: " in raw)


def kernel_version(text: str) -> str | None:
    """The kernel release the report was printed by, or None if the text does not say."""
    if not isinstance(text, str):       # (a text without the hints has no line with the words either)
        return None
    for start, end in lines_with(text, _VERSION_WORDS):
        line = _message(text[start:end])
        if not any(map(line.__contains__, _VERSION_WORDS)):
            continue
        for rx, need in _VERSION_GATED:
            m = rx.search(line) if need in line else None
            if m:
                return m.group("rel")
    return None


_TUPLE = re.compile(r"^(\d{1,2})\.(\d{1,3})")


def kernel_tuple(release: str | None) -> tuple[int, int] | None:
    """(major, minor) of a release string: ``"6.17.0-rc5-syzkaller"`` -> ``(6, 17)``."""
    if not isinstance(release, str):
        return None
    m = _TUPLE.match(release.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def crash_task(text: str) -> dict | None:
    """``{"comm", "pid"}`` of the task the report is about (hung task, oopsing task, lockdep task)."""
    if not isinstance(text, str):
        return None
    for start, end in lines_with(text, _TASK_HINT):
        line = _message(text[start:end])
        if not any(map(line.__contains__, _TASK_HINT)):
            continue
        for rx, need in _TASK_GATED:
            m = rx.search(line) if need in line else None
            if m:
                return {"comm": m.group("comm").strip(), "pid": int(m.group("pid"))}
    return None
