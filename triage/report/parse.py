"""Placeholder parser: finds the first oops header and the frames after it."""

from __future__ import annotations

import re

from triage.report.model import Frame, Report

_HEADERS = [
    (re.compile(r"^(?:\[[ \d.]+\] )?(WARNING: .*)$", re.M), "WARNING"),
    (re.compile(r"^(?:\[[ \d.]+\] )?(BUG: .*)$", re.M), "BUG"),
    (re.compile(r"^(?:\[[ \d.]+\] )?(INFO: task .* blocked for more than .*)$", re.M), "HANG"),
    (re.compile(r"^(?:\[[ \d.]+\] )?(WARNING: possible circular locking dependency detected)$", re.M), "LOCKDEP"),
]
_FRAME = re.compile(r"^(?:\[[ \d.]+\] )?\s+(?:\? )?([A-Za-z_][\w.]*)\+(0x[0-9a-f]+)/(0x[0-9a-f]+)", re.M)


def parse(text: str | bytes) -> Report:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for rx, kind in _HEADERS:
        m = rx.search(text)
        if m:
            frames = [
                Frame(function=f.group(1), norm_function=f.group(1).split(".")[0], offset=f.group(2), size=f.group(3))
                for f in _FRAME.finditer(text, m.end())
            ]
            return Report(title=m.group(1).strip(), type=kind, frames=frames, report=text[m.start():],
                          signature=[f.norm_function for f in frames[:5]])
    return Report()
