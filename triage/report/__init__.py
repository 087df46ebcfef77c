"""Kernel report parsing: titles, stacks, gfp masks, markers, signatures.

Public API (stable; the rest of syz-triage uses only this):

    parse(text: str | bytes) -> Report      first crash in the text (Report.title is None if none)
    Report.to_dict() -> dict                JSON-able, the object ``triage parse --json`` prints (minus ``file``)
    PARSER_VERSION                           bump when results change, so stored reports re-parse

This first version only recognises a few oops headers; the full table-driven parser replaces it.
"""

from triage.report.model import PARSER_VERSION, Frame, Report
from triage.report.parse import parse

__all__ = ["PARSER_VERSION", "Frame", "Report", "parse"]
