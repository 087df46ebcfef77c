"""The discrete-event core: the kernel object, tasks with call stacks, and the things tasks wait on.

SimPy gives time, processes and events. On top: ``Task`` (comm, pid, PF_* flags, a call stack of kernel
function names pushed as the model runs, the locks it holds, what it is blocked on), ``Completion`` and
``Mutex`` (each knows which task must act to release its waiters, which is what the deadlock detector
follows), and ``Kernel`` (the clock, the seeded RNG, the trace, the console, the records detectors read).
"""

from __future__ import annotations

import random
from collections import deque
from typing import TYPE_CHECKING, Any

import simpy

from simulator.callpath import END, PathPlan, Stage
from simulator.versions import KernelVersion

if TYPE_CHECKING:
    from simulator.console import Console

_SLEEP_LEAF = Stage("schedule", "__schedule", "context_switch", "__schedule_loop", "io_schedule",
                    "schedule_timeout", "schedule_preempt_disabled")
# lock classes that are rw-semaphores (sb_writers / sb_internal are percpu rw-semaphores)
RWSEM_WORDS = ("sem", "sb_internal", "sb_writers", "sb_pagefaults", "ilock", "i_mutex_key", "mmap_lock",
               "s_umount", "root_lock", "_rwlock", "q_usage_counter", "cpu_hotplug_lock")
HZ = 1000
JIFFY = 1.0 / HZ


class Frames:
    """``with task.call("a", "b"):`` pushes frames (outermost first) for the duration of the block; with a
    call path being followed (``Task.via``), the path's cursor moves to ``pos`` and comes back after."""

    __slots__ = ("task", "names", "pos", "saved")

    def __init__(self, task: Task, names: tuple[str, ...], pos: int | None = None):
        self.task, self.names, self.pos, self.saved = task, names, pos, None

    def __enter__(self) -> Task:
        self.task.stack.extend(self.names)
        if self.pos is not None and self.task.plan is not None:
            self.saved, self.task.plan.pos = self.task.plan.pos, self.pos
        return self.task

    def __exit__(self, *exc: object) -> None:
        del self.task.stack[len(self.task.stack) - len(self.names):]
        if self.saved is not None and self.task.plan is not None:
            self.task.plan.pos = self.saved


class Task:
    """A kernel task (kthread or user process). ``stack`` is outermost-first."""

    def __init__(self, k: Kernel, comm: str, pid: int, *, kthread: bool, daemon: bool = False, ppid: int = 1):
        self.k, self.comm, self.pid, self.ppid = k, comm, pid, ppid
        self.kthread, self.daemon = kthread, daemon
        self.atomic = False                # softirq / irq context: may not sleep
        self.flags: set[str] = set()
        self.stack: list[str] = []
        self.held: list[Any] = []          # lock objects, acquisition order
        self.state = "R"                   # R running/runnable, D uninterruptible, X exited
        self.waiting_on: Any = None
        self.blocked_since: float | None = None
        self.wait_stack: list[str] = []
        self.hung_reported = False
        self.cpu = pid % 2
        self.oom_victim = False
        self.journal_handle: Any = None
        self.proc: simpy.Process | None = None
        self.retries = 0                   # allocation retry loops (livelock evidence)
        self.workqueue: str | None = None  # "rpciod rpc_async_schedule" for kworkers
        self.plan: PathPlan | None = None  # a report's call path this task follows (simulator.callpath)

    @property
    def name(self) -> str:
        return f"{self.comm}:{self.pid}"

    def call(self, *names: str) -> Frames:
        """Push ``names``; when following a report's path that has one of them ahead, push the path's frames
        up to that point instead (the stage is anchored on its own function names)."""
        plan = self.plan
        if plan is not None and names:
            frames = plan.through_any(names)
            if frames is not None:
                return Frames(self, frames, plan.pos + len(frames))
        return Frames(self, names)

    def follow(self, path: list[str] | tuple[str, ...] | None) -> None:
        """Print a report's call path (outermost first) where the mechanics pass the same stages."""
        self.plan = PathPlan(path) if path else None

    def via(self, next_stage: Stage, *default: str, stop: Stage | None = None) -> Frames:
        """The frames up to where ``next_stage`` begins: the followed path's (unless ``stop`` comes first),
        else ``default``."""
        plan = self.plan
        if plan is not None:
            frames = plan.upto(next_stage, stop)
            if frames is not None:
                return Frames(self, frames, plan.pos + len(frames))
        return Frames(self, default)

    def thru(self, stage: Stage, *default: str) -> Frames:
        """The followed path's frames up to and including the first frame of ``stage``, else ``default``."""
        plan = self.plan
        if plan is not None:
            frames = plan.upto(stage, inclusive=True)
            if frames is not None:
                return Frames(self, frames, plan.pos + len(frames))
        return Frames(self, default)

    def __repr__(self) -> str:
        return f"<Task {self.name}>"


class Completion:
    """A one-shot completion; ``owner`` says who must act for it to complete (None: time alone)."""

    def __init__(self, k: Kernel, what: str):
        self.k, self.what = k, what
        self.event = k.env.event()
        self.holder: Any = None             # Task, or an object with .owner_task(), or None

    def owners(self) -> list[Task]:
        h = self.holder
        if h is None:
            return []
        if isinstance(h, Task):
            return [h]
        if isinstance(h, Completion):
            return h.owners()
        t = h.owner_task()
        return [t] if t else []

    def complete(self, value: Any = 0) -> None:
        if not self.event.triggered:
            self.event.succeed(value)

    def describe(self) -> str:
        return self.what


class Mutex:
    """A sleeping lock with lockdep class ``cls``: a mutex, or an rwsem (``kind="rwsem"``) that readers may
    share (``lock(task, shared=True)``). Waiters are served in order; ``owners()`` is who must unlock."""

    def __init__(self, k: Kernel, cls: str, kind: str = "mutex"):
        self.k, self.cls, self.kind = k, cls, kind
        self.owner: Task | None = None
        self.readers: list[Task] = []
        self.waiters: deque[tuple[Task, simpy.Event, bool]] = deque()

    def owners(self) -> list[Task]:
        return [self.owner] if self.owner else list(self.readers)

    def describe(self) -> str:
        return f"{self.kind} {self.cls}"

    def _free_for(self, shared: bool) -> bool:
        if self.owner is not None or self.waiters:
            return False
        return shared or not self.readers

    def lock(self, task: Task, shared: bool = False):
        self.k.lockdep.acquire(task, self.cls)
        if self._free_for(shared):
            self._grant(task, shared)
        else:
            ev = self.k.env.event()
            self.waiters.append((task, ev, shared))
            if self.kind == "rwsem":
                sched = ("down_read", "rwsem_down_read_slowpath") if shared else \
                    ("down_write", "rwsem_down_write_slowpath")
            else:
                sched = ("mutex_lock_nested", "__mutex_lock", "__mutex_lock_common")
            with task.via(END, *sched, "schedule"):
                yield from self.k.block(task, ev, self, ())   # unlock() hands it over
        task.held.append(self)

    def _grant(self, task: Task, shared: bool) -> None:
        if shared:
            self.readers.append(task)
        else:
            self.owner = task

    def unlock(self, task: Task) -> None:
        task.held.remove(self)
        self.k.lockdep.release(task, self.cls)
        if self.owner is task:
            self.owner = None
        elif task in self.readers:
            self.readers.remove(task)
        while self.waiters and self.owner is None:
            waiter, ev, shared = self.waiters[0]
            if not shared and self.readers:
                break
            self.waiters.popleft()
            self._grant(waiter, shared)
            ev.succeed()
            if not shared:
                break


class Kernel:
    """One simulated machine: clock, RNG, tasks, console, trace and the records the detectors read."""

    def __init__(self, version: KernelVersion, seed: int, params: dict[str, Any]):
        from simulator.console import Console
        from simulator.lockdep import Lockdep

        self.env = simpy.Environment()
        self.version = version
        self.seed = seed
        self.rng = random.Random(seed)
        self.params = params
        self.tasks: list[Task] = []
        self._next_pid = 2
        self.trace: list[dict[str, Any]] = []
        self.console: Console = Console(self)
        self.lockdep = Lockdep(self)
        # records for the detectors
        self.acks: list[dict[str, Any]] = []          # writes acknowledged to programs
        self.reports: list[dict[str, Any]] = []       # errors returned to programs (fsync/read/write)
        self.warns: list[dict[str, Any]] = []         # WARN conditions met
        self.crashes: list[dict[str, Any]] = []       # uses of failed results (oops)
        self.leaks: list[dict[str, Any]] = []         # objects an error path never freed (kmemleak)
        self.injections: list[dict[str, Any]] = []    # injected failures
        self.last_progress = 0.0
        self.alloc_seq = 0
        self.tainted_warn = False
        self.stopped = False
        self.subsystems: dict[str, Any] = {}
        self.locks: dict[str, Mutex] = {}

    def lock_class(self, cls: str) -> Mutex:
        """The one lock of lockdep class ``cls`` (created on first use; rw-semaphores by their name)."""
        lock = self.locks.get(cls)
        if lock is None:
            kind = "rwsem" if any(w in cls for w in RWSEM_WORDS) else "mutex"
            lock = self.locks[cls] = Mutex(self, cls, kind)
        return lock

    # -- tasks -------------------------------------------------------------------------------------
    def spawn(self, comm: str, body, *, kthread: bool, daemon: bool = False, pid: int | None = None,
              ppid: int = 1, flags: tuple[str, ...] = ()) -> Task:
        if pid is None:
            pid = self._next_pid
        self._next_pid = max(self._next_pid, pid) + 1
        task = Task(self, comm, pid, kthread=kthread, daemon=daemon, ppid=ppid)
        task.flags.update(flags)
        self.tasks.append(task)
        task.proc = self.env.process(self._run(task, body))
        return task

    def _run(self, task: Task, body):
        try:
            yield from body(task)
        except (TaskKilled, simpy.Interrupt):
            pass
        task.state = "X"
        task.waiting_on = None
        rss = getattr(task, "rss", 0)
        if rss:
            task.rss = 0
            self.subsystems["zone"].release(rss)
        self.log(task, "exit")

    def block(self, task: Task, event: simpy.Event, on: Any, frames: tuple[str, ...]):
        """Sleep in D state on ``event``; ``on`` is the Completion/Mutex the deadlock detector follows."""
        task.state, task.waiting_on, task.blocked_since = "D", on, self.env.now
        tail = [] if task.plan is not None and task.stack and task.stack[-1] in _SLEEP_LEAF else \
            ["__schedule_loop", "__schedule", "context_switch"]
        task.wait_stack = list(task.stack) + list(frames) + tail
        self.log(task, "block", on=on.describe())
        value = yield event
        task.state, task.waiting_on, task.blocked_since = "R", None, None
        self.log(task, "wake", on=on.describe())
        return value

    def sleep(self, task: Task, seconds: float, frames: tuple[str, ...] = ()):
        """An interruptible timed sleep (throttling, congestion_wait): the task is not hung."""
        task.state = "S"
        yield self.env.timeout(seconds)
        task.state = "R"

    # -- records -----------------------------------------------------------------------------------
    def now(self) -> float:
        return self.env.now

    def log(self, task: Task | None, ev: str, **kw: Any) -> None:
        rec = {"t": round(self.env.now, 6), "task": task.name if task else None, "ev": ev}
        rec.update(kw)
        self.trace.append(rec)

    def progress(self) -> None:
        self.last_progress = self.env.now


class TaskKilled(Exception):
    """Raised inside a task's body to unwind it (oops in process context kills the task)."""
