"""Rebuild a parsed ``Report`` from a stored ``reports`` row (its ``parsed`` JSON), tolerating older parsers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any


def report_from_row(parsed: str | None, text: str | None) -> Any:
    """The stored parse as a ``Report``; re-parse the text when the JSON is missing or unreadable."""
    from triage.report import Frame, Report, parse

    try:
        data = json.loads(parsed) if parsed else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return parse(text or "")
    names = {f.name for f in dataclasses.fields(Report)}
    fnames = {f.name for f in dataclasses.fields(Frame)}
    kwargs = {k: v for k, v in data.items() if k in names}
    kwargs["frames"] = [Frame(**{k: v for k, v in f.items() if k in fnames}) for f in data.get("frames") or []
                        if isinstance(f, dict) and "function" in f and "norm_function" in f]
    try:
        return Report(**kwargs)
    except TypeError:
        return parse(text or "")
