"""A small lockdep: lock classes, the dependency graph recorded as locks nest, and the circular-dependency
splat when an acquisition closes a cycle (``fs_reclaim`` is a pseudo-lock like in the kernel, 4.14+)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator import symbols

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

# class -> (usage bits, wait type) as lockdep prints them
USAGE = {
    "fs_reclaim": ("{+.+.}", "{0:0}"),
    "jbd2_handle": ("{++++}", "{0:0}"),
    "sb_internal": ("{.+.+}", "{0:0}"),
    "&ei->xattr_sem": ("{++++}", "{4:4}"),
    "&ei->i_data_sem": ("{++++}", "{4:4}"),
    "sb_writers#4": ("{.+.+}", "{0:0}"),
    "&sb->s_type->i_mutex_key#13": ("{+.+.}", "{4:4}"),
    "&type->s_umount_key#31": ("{++++}", "{4:4}"),
}
_ACQUIRE_FRAMES = ["lock_acquire", "__lock_acquire", "validate_chain", "check_prevs_add", "check_prev_add"]


def _addr(cls: str) -> str:
    h = symbols._h("lock:" + cls)
    return f"ffff8880{h:08x}" if cls != "fs_reclaim" else "ffffffff8e8ceda0"


class Lockdep:
    def __init__(self, k: Kernel):
        self.k = k
        self.edges: dict[str, dict[str, list[str]]] = {}    # prev -> {next: stack at record time}
        self.held: dict[int, list[tuple[str, str]]] = {}     # pid -> [(class, at-frame)]
        self.reported = False
        self.cycles: list[list[str]] = []

    def enabled(self) -> bool:
        return bool(self.k.params.get("lockdep", True))

    def _path(self, src: str, dst: str) -> list[str] | None:
        """A path src -> ... -> dst in the dependency graph (BFS, deterministic order)."""
        prev: dict[str, str | None] = {src: None}
        queue = [src]
        for node in queue:
            if node == dst:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for nxt in self.edges.get(node, {}):
                if nxt not in prev:
                    prev[nxt] = node
                    queue.append(nxt)
        return None

    def acquire(self, task: Task, cls: str) -> None:
        if not self.enabled():
            return
        held = self.held.setdefault(task.pid, [])
        if cls != "fs_reclaim" and not self.reported and any(h == cls for h, _ in held):
            self._recursive(task, cls)
        for h, _ in held:
            if h == cls:
                continue
            if not self.reported:
                path = self._path(cls, h)
                if path:
                    self._splat(task, cls, h, path)
            self.edges.setdefault(h, {}).setdefault(cls, list(task.stack))
        held.append((cls, task.stack[-1] if task.stack else "?"))

    def release(self, task: Task, cls: str) -> None:
        if not self.enabled():
            return
        held = self.held.get(task.pid, [])
        for i in range(len(held) - 1, -1, -1):
            if held[i][0] == cls:
                del held[i]
                return

    def acquire_release(self, task: Task, cls: str) -> None:
        self.acquire(task, cls)
        self.release(task, cls)

    # -- the report ------------------------------------------------------------------------------
    def _name(self, cls: str) -> str:
        usage, wait = USAGE.get(cls, ("{+.+.}", "{0:0}"))
        if self.k.version.at_least("5.8"):
            return f"({cls}){usage}-{wait}"
        return f"({cls}){usage}"

    def _recursive(self, task: Task, cls: str) -> None:
        """A task takes a lock class it already holds: lockdep's recursive-locking report."""
        self.reported = True
        self.cycles.append([cls, cls])
        k, v = self.k, self.k.version
        held_at = next(a for c, a in self.held[task.pid] if c == cls)
        lines = ["", "============================================", "WARNING: possible recursive locking detected",
                 f"{k.console.uname()} {k.console.taint_word()}", "--------------------------------------------",
                 f"{task.comm}/{task.pid} is trying to acquire lock:",
                 f"{_addr(cls)} {self._name(cls)}, at: {symbols.ip_of(task.stack[-1], v) if task.stack else '?'}", "",
                 "but task is already holding lock:",
                 f"{_addr(cls)} {self._name(cls)}, at: {symbols.ip_of(held_at, v)}",
                 "", "other info that might help us debug this:", " Possible unsafe locking scenario:", "",
                 "       CPU0", "       ----", f"  lock({cls});", f"  lock({cls});", "", " *** DEADLOCK ***", "",
                 " May be due to missing lock nesting notation", ""]
        held_list = self.held[task.pid]
        lines.append(f"{len(held_list)} lock{'s' if len(held_list) != 1 else ''} held by {task.comm}/{task.pid}:")
        for i, (c, at) in enumerate(held_list):
            lines.append(f" #{i}: {_addr(c)} {self._name(c)}, at: {symbols.ip_of(at, v)}")
        lines += ["", "stack backtrace:"]
        lines += k.console.cpu_lines(task)
        lines += k.console.call_trace(task.stack + _ACQUIRE_FRAMES[:2] + ["validate_chain", "check_deadlock",
                                                                       "print_deadlock_bug", "dump_stack_lvl",
                                                                       "__dump_stack"])
        k.console.emit(lines)
        k.log(task, "lockdep", recursive=cls)

    def _splat(self, task: Task, new: str, held: str, path: list[str]) -> None:
        """``new`` is being taken while ``held`` is held, and ``path`` = new -> ... -> held exists."""
        self.reported = True
        self.cycles.append(path + [new])
        k, v = self.k, self.k.version
        at_new = symbols.ip_of(task.stack[-1], v) if task.stack else "?"
        held_at = next(a for c, a in self.held[task.pid] if c == held)
        lines = [
            "",
            "======================================================",
            "WARNING: possible circular locking dependency detected",
            f"{k.console.uname()} {k.console.taint_word()}",
            "------------------------------------------------------",
            f"{task.comm}/{task.pid} is trying to acquire lock:",
            f"{_addr(new)} {self._name(new)}, at: {at_new}",
            "",
            "but task is already holding lock:",
            f"{_addr(held)} {self._name(held)}, at: {symbols.ip_of(held_at, v)}",
            "",
            "which lock already depends on the new lock.",
            "",
            "",
            "the existing dependency chain (in reverse order) is:",
        ]
        n = len(path)
        # entries #n-1 .. #1: each lock of the path (from the held end) with the stack where it was taken
        for i in range(n - 1, 0, -1):
            cls, before = path[i], path[i - 1]
            lines += ["", f"-> #{i} {self._name(cls)}:"]
            lines += ["      " + ln for ln in symbols.print_stack(self.edges[before][cls], v)]
        lines += ["", f"-> #0 {self._name(new)}:"]
        lines += ["      " + ln for ln in symbols.print_stack(task.stack + _ACQUIRE_FRAMES, v)]
        lines += ["", "other info that might help us debug this:", ""]
        parent = path[-2] if n >= 2 else new
        if n > 2:
            lines += ["Chain exists of:", "  " + " --> ".join(path), ""]
        lines += [
            " Possible unsafe locking scenario:", "",
            "       CPU0                    CPU1",
            "       ----                    ----",
            f"  lock({held});",
            f"                               lock({parent});",
            f"                               lock({held});",
            f"  lock({new});",
            "",
            " *** DEADLOCK ***",
            "",
        ]
        held_list = self.held[task.pid]
        lines.append(f"{len(held_list)} lock{'s' if len(held_list) != 1 else ''} held by {task.comm}/{task.pid}:")
        for i, (cls, at) in enumerate(held_list):
            lines.append(f" #{i}: {_addr(cls)} {self._name(cls)}, at: {symbols.ip_of(at, v)}")
        lines += ["", "stack backtrace:"]
        lines += k.console.cpu_lines(task)
        lines += k.console.call_trace(task.stack + _ACQUIRE_FRAMES + ["check_noncircular", "dump_stack_lvl",
                                                                      "__dump_stack"])
        k.console.emit(lines)
        k.log(task, "lockdep", cycle=path + [new])
