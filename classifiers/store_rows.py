"""A stored ``reports`` row (its ``parsed`` JSON) as the classifier reads it, tolerating older parsers.

- ``view_from_row`` builds the classifier's ``ReportView`` straight from the stored dict (the store's path:
  import and ``triage reclassify``): the view reads the console fields (crash, events, trace, markers, gfp,
  locks), so the ``Frame`` objects of the frames table are never rebuilt;
- ``report_from_row`` rebuilds the whole parsed ``Report`` (``triage train`` reads the maintainers' labels so).

The JSON is read with orjson (a third of ``json``'s time on these 15-25 KB documents); what it refuses (the
``NaN`` or lone surrogates ``json.dumps`` can write) is read by ``json``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson

from classifiers.view import ReportView

# Fields a parse must hold for the classifier to read it: the console reading of PARSER_VERSION 1.3. A row
# stored by an older parser lacks them and is parsed again from its text, as is one whose markers do not say
# which crash they belong to (``event``, the console's attribution).
CONSOLE_FIELDS = ("crash", "events", "trace", "locks")


def _current(parsed: str | None) -> dict[str, Any] | None:
    """The stored parse as a dict, None when it is missing, unreadable or older than the console reading."""
    if not parsed:
        return None
    try:
        data = orjson.loads(parsed)
    except orjson.JSONDecodeError:
        try:
            data = json.loads(parsed)
        except json.JSONDecodeError:
            return None
    if not isinstance(data, dict) or any(k not in data for k in CONSOLE_FIELDS) or \
            any(isinstance(m, dict) and "event" not in m for m in data.get("markers") or []):
        return None          # older than the console reading, or than marker attribution
    return data


def view_from_row(parsed: str | None, text: str | None) -> ReportView:
    """The classifier's view of a stored parse; of a fresh parse of the text when the JSON is missing,
    unreadable or older than the console reading (as ``report_from_row``)."""
    data = _current(parsed)
    if data is None:
        from triage.report import parse

        return ReportView.build(parse(text or ""))
    return ReportView.build(data)


def report_from_row(parsed: str | None, text: str | None) -> Any:
    """The stored parse as a ``Report``; re-parse the text when the JSON is missing, unreadable or older
    than the console reading."""
    from triage.report import Frame, Report, parse

    data = _current(parsed)
    if data is None:
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
