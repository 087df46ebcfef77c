"""The human view of a parsed report (``triage parse`` without ``--json``): the same Report the JSON shows."""

from __future__ import annotations

from triage.report.model import Report

MAX_FRAMES_PER_STACK = 12


def render_text(name: str, rep: Report) -> str:
    lines = [f"{name}: {rep.title}" if rep.title else f"{name}: no crash found"]
    if rep.title:
        lines.append(f"  type: {rep.type or '-'}   kernel: {rep.kernel or '-'}   "
                     f"task: {_task(rep.task)}")
        if rep.corrupted:
            lines.append(f"  corrupted: {rep.corrupted_reason or 'yes'}")
        for alt in rep.alt_titles:
            lines.append(f"  also known as: {alt}")
        if rep.guilty_frame or rep.guilty_file:
            lines.append(f"  guilty: {rep.guilty_frame or '?'} ({rep.guilty_file or 'file unknown'})")
        if rep.signature:
            lines.append(f"  signature: {' <- '.join(rep.signature)}")
    if rep.crash:
        c = rep.crash
        more = f", {len(rep.events) - 1} more crash header(s)" if len(rep.events) > 1 else ""
        at = f" in {c['function']}" if c.get("function") else ""
        lines.append(f"  console: {c['kind']}{at} at line {c['lineno']}, task {_task(c.get('task'))}{more}")
    for g in rep.gfp:
        lines.append(f"  gfp line {g.get('lineno')}: {g.get('raw', '')}  {'|'.join(g.get('flags') or [])}".rstrip())
    for m in rep.markers:
        lines.append(f"  marker {m.get('kind')} line {m.get('lineno')}: {str(m.get('line', ''))[:100]}")
    stack, shown = None, 0
    for f in rep.frames:
        if f.stack != stack:
            stack, shown = f.stack, 0
            lines.append(f"  [{stack}]")
        shown += 1
        if shown > MAX_FRAMES_PER_STACK:
            if shown == MAX_FRAMES_PER_STACK + 1:
                lines.append("     ...")
            continue
        mark = "*" if f.function == rep.guilty_frame else " "
        loc = f" {f.file}:{f.line}" if f.file else ""
        lines.append(f"   {mark} {f.function}{loc}{' [inline]' if f.inline else ''}")
    return "\n".join(lines)


def _task(task: dict | None) -> str:
    if not task:
        return "-"
    return f"{task.get('comm') or '?'}/{task.get('pid') if task.get('pid') is not None else '?'}"
