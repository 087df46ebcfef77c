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

from simulator.versions import KernelVersion

if TYPE_CHECKING:
    from simulator.console import Console

HZ = 1000
JIFFY = 1.0 / HZ


class Frames:
    """``with task.call("a", "b"):`` pushes frames (outermost first) for the duration of the block."""

    __slots__ = ("task", "names")

    def __init__(self, task: Task, names: tuple[str, ...]):
        self.task, self.names = task, names

    def __enter__(self) -> Task:
        self.task.stack.extend(self.names)
        return self.task

    def __exit__(self, *exc: object) -> None:
        del self.task.stack[len(self.task.stack) - len(self.names):]


class Task:
    """A kernel task (kthread or user process). ``stack`` is outermost-first."""

    def __init__(self, k: Kernel, comm: str, pid: int, *, kthread: bool, daemon: bool = False, ppid: int = 1):
        self.k, self.comm, self.pid, self.ppid = k, comm, pid, ppid
        self.kthread, self.daemon = kthread, daemon
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

    @property
    def name(self) -> str:
        return f"{self.comm}:{self.pid}"

    def call(self, *names: str) -> Frames:
        return Frames(self, names)

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
    """A sleeping lock (mutex / rwsem held for write) with lockdep class ``cls``."""

    def __init__(self, k: Kernel, cls: str, kind: str = "mutex"):
        self.k, self.cls, self.kind = k, cls, kind
        self.owner: Task | None = None
        self.waiters: deque[tuple[Task, simpy.Event]] = deque()

    def owners(self) -> list[Task]:
        return [self.owner] if self.owner else []

    def describe(self) -> str:
        return f"{self.kind} {self.cls}"

    def lock(self, task: Task):
        self.k.lockdep.acquire(task, self.cls)
        if self.owner is None:
            self.owner = task
        else:
            ev = self.k.env.event()
            self.waiters.append((task, ev))
            sched = ("down_write", "rwsem_down_write_slowpath") if self.kind == "rwsem" else \
                ("mutex_lock_nested", "__mutex_lock", "__mutex_lock_common")
            yield from self.k.block(task, ev, self, sched + ("schedule",))   # unlock() hands it over
        task.held.append(self)

    def unlock(self, task: Task) -> None:
        task.held.remove(self)
        self.k.lockdep.release(task, self.cls)
        if self.waiters:
            self.owner, ev = self.waiters.popleft()
            ev.succeed()
        else:
            self.owner = None


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
        self.injections: list[dict[str, Any]] = []    # injected failures
        self.last_progress = 0.0
        self.alloc_seq = 0
        self.tainted_warn = False
        self.stopped = False
        self.subsystems: dict[str, Any] = {}

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
        task.wait_stack = list(task.stack) + list(frames) + ["__schedule_loop", "__schedule", "context_switch"]
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
