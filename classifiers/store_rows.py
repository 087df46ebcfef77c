"""Rebuild a parsed ``Report`` from a stored ``reports`` row (its ``parsed`` JSON), tolerating older parsers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

# Fields a parse must hold for the classifier to read it: the console reading of PARSER_VERSION 1.3. A row
# stored by an older parser lacks them and is parsed again from its text, as is one whose markers do not say
# which crash they belong to (``event``, the console's attribution).
CONSOLE_FIELDS = ("crash", "events", "trace", "locks")


def report_from_row(parsed: str | None, text: str | None) -> Any:
    """The stored parse as a ``Report``; re-parse the text when the JSON is missing, unreadable or older
    than the console reading."""
    from triage.report import Frame, Report, parse

    try:
        data = json.loads(parsed) if parsed else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or any(k not in data for k in CONSOLE_FIELDS) or \
            any(isinstance(m, dict) and "event" not in m for m in data.get("markers") or []):
        return parse(text or "")          # older than the console reading, or than marker attribution
    names = {f.name for f in dataclasses.fields(Report)}
    fnames = {f.name for f in dataclasses.fields(Frame)}
    kwargs = {k: v for k, v in data.items() if k in names}
    kwargs["frames"] = [Frame(**{k: v for k, v in f.items() if k in fnames}) for f in data.get("frames") or []
                        if isinstance(f, dict) and "function" in f and "norm_function" in f]
    try:
        return Report(**kwargs)
    except TypeError:
        return parse(text or "")
