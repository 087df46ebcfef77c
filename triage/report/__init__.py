"""Kernel report parsing: titles, stacks, gfp masks, markers, signatures.

Public API (stable; the rest of syz-triage uses only this):

    parse(text: str | bytes) -> Report      first crash in the text (Report.title is None if none)
    Report.to_dict() -> dict                JSON-able, the object ``triage parse --json`` prints (minus ``file``)
    PARSER_VERSION                           bump when results change, so stored reports re-parse

How it works: ``textin`` cleans the input (bytes, CRLF, ``> `` quoting, mail-client wrapping); ``parse``
follows syzkaller's pkg/report/linux.go over the tables in ``formats`` (oops headers and suppressions, title
formats, frame-skip lists, stall/hang frame extractors, title replacements) to find the first crash, its
syzbot title, crash type, alternative titles and corruption; ``guilty`` picks the guilty source file; then
``stacks`` / ``gfp`` / ``markers`` / ``context`` / ``normalize`` add the structure (attributed frames, gfp
masks, evidence markers, kernel release, task, signature). ``era`` dates the report by its kernel release,
and the dated rows, skip patterns and replacements of ``formats`` give ``Report.era_title``: the title
syzkaller's rules of that day gave (what syzbot named bugs then); ``Report.title`` is always today's.
``golden`` measures agreement with syzkaller's golden files and syzbot's titles.
"""

from triage.report.model import PARSER_VERSION, Frame, Report
from triage.report.parse import parse

__all__ = ["PARSER_VERSION", "Frame", "Report", "parse"]
