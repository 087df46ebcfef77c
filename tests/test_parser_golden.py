"""Golden files of the parser's own output, as syzkaller's pkg/report/testdata keeps them.

For every labelled report (../shared/data/labelled/reports/NNN.txt) ``tests/golden/parser/NNN.txt`` holds what
``triage.report.parse`` makes of it: title, type, crash kind, events, frames by stack (the extracted report's and
the whole console's, with line numbers), markers, gfp masks, lockdep locks, kernel, signature. Only the parser's
output: the input stays in ../shared, named by each file's ``INPUT:`` header. One test loops over them; a change
of the parser's output shows as a diff of these files.

    python -m pytest tests/test_parser_golden.py --update      # rewrite them after an intended change
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT, shared_data
from triage.report import parse
from triage.report.model import Report

GOLDEN = ROOT / "tests" / "golden" / "parser"
INPUTS = ("labelled", "reports")
HEADER = ("# triage.report.parse output for the INPUT below (a file under ../shared/data); the input is not copied.\n"
          "# Rewrite after an intended parser change: python -m pytest tests/test_parser_golden.py --update\n")
# Marker fields that are the report's own text (kept out: the golden file holds only what the parser derived).
_TEXT_FIELDS = {"kind", "line", "lineno", "task", "task_lineno", "task_line", "continued", "event"}


def _task(task: dict | None, lineno: int | None = None) -> str:
    if not task:
        return "-"
    where = f"@{lineno}" if lineno else ""
    return f"{task.get('comm') or '?'}/{task.get('pid') if task.get('pid') is not None else '?'}{where}"


def _fields(d: dict, skip: set[str]) -> str:
    return " ".join(f"{k}={d[k]}" for k in sorted(d) if k not in skip and d[k] not in (None, [], False, ""))


def render(rep: Report) -> list[str]:
    """The parser's output as stable lines (no line of the report text)."""
    out = [f"TITLE: {rep.title or '-'}", f"TYPE: {rep.type or '-'}"]
    if rep.era_title != rep.title:
        out.append(f"ERA: {rep.era} {rep.era_title}")
    out += [f"ALT: {alt}" for alt in rep.alt_titles]
    out.append(f"CORRUPTED: {rep.corrupted_reason or '-'}")
    out.append(f"GUILTY: {rep.guilty_frame or '-'} {rep.guilty_file or '-'}")
    out.append(f"KERNEL: {rep.kernel or '-'}   TASK: {_task(rep.task)}")
    out.append(f"SIGNATURE: {' <- '.join(rep.signature) or '-'}")
    if rep.event:
        out.append(f"EVENT: {rep.event['kind']} @{rep.event.get('lineno')} {rep.event['title']}")
    c = rep.crash
    if c:
        fn = f"{c['function']}@{c['function_lineno']}" if c["function"] else "-"
        out.append(f"CRASH: {c['kind']} @{c['lineno']} in {fn} file {c['file'] or '-'} task "
                   f"{_task(c['task'], c['task_lineno'])}{' in-irq' if c['in_irq'] else ''}")
    else:
        out.append("CRASH: none")
    out += [f"EVENT @{e['lineno']}: {e['kind']} task {_task(e['task'], e['task_lineno'])}" for e in rep.events]
    stack = None
    for f in rep.frames:
        if f.stack != stack:
            stack = f.stack
            out.append(f"STACK {stack}:")
        loc = f" {f.file}:{f.line}" if f.file else ""
        out.append(f"  {f.function}{loc}{' [inline]' if f.inline else ''}{f' [{f.module}]' if f.module else ''}")
    stack = None
    for f in rep.trace:
        if f["stack"] != stack:
            stack = f["stack"]
            out.append(f"TRACE {stack}:")
        out.append(f"  @{f['lineno']} {f['function']}{' ?' if f.get('unreliable') else ''}")
    for m in rep.markers:
        rest = _fields(m, _TEXT_FIELDS)
        event = m.get("event")
        out.append(f"MARKER @{m['lineno']}: {m['kind']} task {_task(m['task'], m['task_lineno'])} "
                   f"event {'-' if event is None else event}" + (f" {rest}" if rest else ""))
    for g in rep.gfp:
        out.append(f"GFP @{g['lineno']}: {g['context']} {g['raw']} {'|'.join(g['flags'])} ({g['names_from']}, "
                   f"{g['kernel_layout'].split()[0]}{', guessed' if g['layout_guessed'] else ''})")
    for lk in rep.locks:
        what = lk.get("lock") or " --> ".join(lk.get("locks", [])) or \
            (f"{lk['from']} -> {lk['to']}" if "from" in lk else lk.get("state") or lk.get("op", ""))
        out.append(f"LOCK @{lk['lineno']}: {lk['role']} {what}")
    return out


def golden_text(input_name: str, rep: Report) -> str:
    return HEADER + f"INPUT: {input_name}\n\n" + "\n".join(render(rep)) + "\n"


def _inputs() -> list[Path]:
    return sorted(DATA.joinpath(*INPUTS).glob("*.txt"))


@pytest.mark.parametrize("path", _inputs() or [None], ids=lambda p: p.name if p else "no-data")
def test_parser_output_matches_golden_file(path, request):
    if path is None:
        shared_data(*INPUTS)                        # skips with the reason
    name = str(path.relative_to(DATA))
    got = golden_text(name, parse(path.read_bytes()))
    golden = GOLDEN / path.name
    if request.config.getoption("--update"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
        return
    assert golden.exists(), f"{golden} missing: python -m pytest tests/test_parser_golden.py --update"
    want = golden.read_text()
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), str(golden), "parse()"))
        pytest.fail(f"parser output for {name} differs from its golden file:\n{diff[:6000]}")


def test_golden_files_name_their_inputs():
    """Every golden file has its header and names an input that exists; nothing is left over."""
    shared_data(*INPUTS)
    files = sorted(GOLDEN.glob("*.txt"))
    assert [p.name for p in files] == [p.name for p in _inputs()]
    for g in files:
        text = g.read_text()
        assert text.startswith(HEADER), g
        name = text[len(HEADER):].split("\n", 1)[0].removeprefix("INPUT: ")
        assert (DATA / name).is_file() and Path(name).name == g.name, g
