"""The human view of a parsed report (``triage parse`` without ``--json``)."""

from __future__ import annotations

from triage.report.model import Report


def render_text(name: str, rep: Report) -> str:
    if rep.title is None:
        return f"{name}: no crash found"
    lines = [f"{name}: {rep.title}", f"  type: {rep.type or '-'}   kernel: {rep.kernel or '-'}"]
    if rep.corrupted:
        lines.append(f"  corrupted: {rep.corrupted_reason or 'yes'}")
    if rep.guilty_frame:
        lines.append(f"  guilty: {rep.guilty_frame} ({rep.guilty_file or '?'})")
    stack = None
    for f in rep.frames:
        if f.stack != stack:
            stack = f.stack
            lines.append(f"  [{stack}]")
        mark = "*" if f.function == rep.guilty_frame else " "
        loc = f" {f.file}:{f.line}" if f.file else ""
        lines.append(f"   {mark} {f.function}{loc}")
    return "\n".join(lines)
