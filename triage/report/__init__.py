"""Kernel report parsing: titles, stacks, gfp masks, markers, signatures.

Public API (stable; the rest of syz-triage uses only this):

    parse(text: str | bytes) -> Report      first crash in the text (Report.title is None if none)
    Report.to_dict() -> dict                JSON-able, the object ``triage parse --json`` prints (minus ``file``)
    PARSER_VERSION                           bump when results change (a stored parse without the console
                                             fields is parsed again before it is classified)

The parser is the one reader of kernel text in syz-triage: the classifier and the repro linker read its
``Report``, never the text. A Report holds two views of one input: the *report* syzkaller would extract (title,
type, stacks, guilty frame, signature) and the *console*, the whole input read line by line (``console``: the
primary crash and every crash header with its kind and task, every frame with its line and stack, evidence
markers with their task, lockdep locks, gfp masks), which is what a consequence label is decided from.

How it works: ``textin`` cleans the input (bytes, CRLF, ``> `` quoting, mail-client wrapping; console prefixes
are ``vocab.console``'s grammar); ``parse`` follows syzkaller's pkg/report/linux.go over the tables in
``formats`` (oops headers and suppressions, title formats, frame-skip lists, stall/hang frame extractors, title
replacements) to find the first crash, its syzbot title, crash type, alternative titles and corruption;
``guilty`` picks the guilty source file; ``stacks`` / ``context`` / ``normalize`` describe the extracted
report (attributed frames, kernel release, task, signature); ``console`` reads the whole input, with
``markers`` (one row per kind of ``vocab.markers``), ``stacks.lockdep_locks`` and ``gfp`` (layouts of
``vocab.gfp``). ``era`` dates the report by its kernel release, and the dated rows, skip patterns and
replacements of ``formats`` give ``Report.era_title``: the title syzkaller's rules of that day gave (what
syzbot named bugs then); ``Report.title`` is always today's. ``golden`` measures agreement with syzkaller's
golden files and syzbot's titles; tests/golden/parser holds the parser's own output for the labelled reports.
"""

from triage.report.model import PARSER_VERSION, Frame, Report
from triage.report.parse import parse

__all__ = ["PARSER_VERSION", "Frame", "Report", "parse"]
