"""Detectors: decide a run's outcome from what the run recorded, never from the scenario.

Each detector reads the kernel's records (tasks and what they wait on, lockdep's cycles, WARNs, acked
writes vs the final page cache and storage, errors returned to programs, oopses) and returns its finding
or None. The outcome is the most severe finding, in the order of ``SEVERITY``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

SEVERITY = ["crash", "deadlock", "livelock", "data-loss", "error-reported", "warning", "leak"]
LIVELOCK_QUIET = 60.0     # seconds without progress while a task keeps retrying


def crash(k: Kernel) -> dict | None:
    if not k.crashes:
        return None
    return {"uses_of_failed_result": k.crashes, "injected_failures": k.injections}


def _wait_graph(k: Kernel) -> dict[Task, list[Task]]:
    return {t: t.waiting_on.owners() for t in k.tasks if t.state == "D" and t.waiting_on is not None}


def deadlock(k: Kernel) -> dict | None:
    graph = _wait_graph(k)
    for start in sorted(graph, key=lambda t: t.pid):
        path, seen = [start], {start}
        node = start
        while graph.get(node):
            node = graph[node][0]
            if node == start or node in seen:
                cyc = path[path.index(node):]
                return {"kind": "wait-for cycle",
                        "cycle": [{"task": t.name, "waits_on": t.waiting_on.describe(),
                                   "which_needs": graph[t][0].name,
                                   "blocked_since": round(t.blocked_since or 0, 3)} for t in cyc],
                        "blocked_tasks": sorted(t.name for t in graph)}
            path.append(node)
            seen.add(node)
    if k.lockdep.cycles:
        return {"kind": "lock-order cycle (lockdep)", "cycle": k.lockdep.cycles[0], "actual_hang": False}
    return None


def livelock(k: Kernel) -> dict | None:
    """A program never finished, and some task (any, kthreads too) kept retrying without progress."""
    unfinished = [t for t in k.tasks if not t.daemon and t.state != "X"]
    quiet = k.now() - k.last_progress
    spinning = [t for t in k.tasks if t.state in ("R", "S") and t.retries > 0 and t.proc is not None and
                t.proc.is_alive and t.stack and t.stack[-1] != "kswapd"]
    if not unfinished or quiet < LIVELOCK_QUIET or not spinning:
        return None
    return {"no_progress_for_s": round(quiet, 3),
            "retrying": [{"task": t.name, "retries": t.retries, "in": _innermost(t)} for t in spinning],
            "unfinished": sorted(t.name for t in unfinished)}


def _innermost(t: Task) -> str:
    from simulator.mm import _caller

    return _caller(t)


def data_loss(k: Kernel) -> dict | None:
    """Acked writes that are neither in the page cache nor in storage; split by whether the writer was told."""
    latest: dict[tuple, dict[str, Any]] = {}
    for ack in k.acks:
        latest[ack["key"]] = ack
    if not latest:
        return None
    fs_by_name = k.subsystems["fs_by_name"]
    by_ino = {(fs.name, i.ino): i for fs in fs_by_name.values() for i in fs.inodes.values()}
    lost, told = [], []
    for key, ack in latest.items():
        fs = fs_by_name[key[0]]
        inode = by_ino.get((key[0], key[1]))
        folio = inode.mapping.pages.get(key[2]) if inode is not None else None
        cached = folio is not None and not folio.hwpoison and folio.version >= ack["version"]
        stored = (fs.stored(key) or 0) >= ack["version"]
        if cached or stored:
            continue
        reported = [r for r in k.reports if r["task"] == ack["task"] and r["file"] == ack["file"] and
                    r["t"] >= ack["t"]]
        (told if reported else lost).append({"file": ack["file"], "page": key[2], "writer": ack["task"],
                                             "reported": reported[0]["op"] + f" {reported[0]['err']}"
                                             if reported else None})
    if not lost and not told:
        return None
    files = sorted({x["file"] for x in lost + told})
    return {"acked_pages": len(latest), "lost_pages": len(lost) + len(told), "silent": len(lost),
            "reported": len(told), "loss_fraction": round((len(lost) + len(told)) / len(latest), 6),
            "files": files, "examples": (lost or told)[:4], "_silent": bool(lost)}


def warning(k: Kernel) -> dict | None:
    if not k.warns:
        return None
    done = [w.get("completed") for w in k.warns]
    return {"warnings": [{key: w[key] for key in ("task", "cond", "reason", "gfp", "order", "site")} |
                         {"completed": w.get("completed")} for w in k.warns[:4]],
            "count": len(k.warns),
            "allocation_completed": all(d is True for d in done)}


def leak(k: Kernel) -> dict | None:
    if not k.leaks:
        return None
    return {"leaked": k.leaks, "injected_failures": k.injections}


DETECTORS: list[tuple[str, Callable[[Kernel], dict | None]]] = [
    ("crash", crash), ("deadlock", deadlock), ("livelock", livelock), ("data-loss", data_loss),
    ("warning", warning), ("leak", leak),
]


def decide(k: Kernel) -> tuple[str, dict[str, Any]]:
    findings: dict[str, dict] = {}
    for name, det in DETECTORS:
        found = det(k)
        if found is None:
            continue
        if name == "data-loss":
            name = "data-loss" if found.pop("_silent") else "error-reported"
        findings[name] = found
    for name in SEVERITY:
        if name in findings:
            return name, {"detector": name, **findings[name], "also": sorted(set(findings) - {name})}
    return "ok", {"detector": None, "also": [], "injected_failures": k.injections[:4],
                  "errors_returned": k.reports[:4]}
