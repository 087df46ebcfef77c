"""Block devices: a disk with latency (and optional write errors), a device-mapper target whose bios a
kworker forwards to the device below, and a TCMU device served by a single-threaded userspace daemon that
writes each command into a backing file on another filesystem (the stacked setup of seed 003)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

from simulator import gfp as G
from simulator import mm
from simulator.console import KTHREAD_BOTTOM
from simulator.engine import Completion
from simulator.pagecache import EIO

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task


class Bio:
    def __init__(self, k: Kernel, op: str, blocks: list[tuple[Any, int]], end_io: Callable[[Bio], None] | None,
                 what: str):
        self.k, self.op, self.blocks, self.end_io = k, op, blocks, end_io
        self.status = 0
        self.done = Completion(k, what)
        self.sector = 0

    def finish(self, status: int) -> None:
        self.status = status
        if self.end_io:
            self.end_io(self)
        self.done.complete(status)


def io_error_line(k: Kernel, dev: str, bio: Bio) -> str:
    """The block layer's report of a failed request, in the chosen kernel's words."""
    v = k.version
    ops = f" op 0x1:(WRITE) flags 0x4000 phys_seg {len(bio.blocks)} prio class {2 if v.at_least('6.5') else 0}"
    if v.at_least("5.18"):
        return f"I/O error, dev {dev}, sector {bio.sector}{ops}"
    if v.at_least("5.0"):
        return f"blk_update_request: I/O error, dev {dev}, sector {bio.sector}{ops}"
    if v.at_least("4.17"):
        return f"print_req_error: I/O error, dev {dev}, sector {bio.sector}"
    return f"blk_update_request: I/O error, dev {dev}, sector {bio.sector}"


class BlockDevice:
    name = "?"

    def submit_bio(self, task: Task, bio: Bio) -> None:   # pragma: no cover - interface
        raise NotImplementedError


class Disk(BlockDevice):
    """A disk: completes bios after ``latency``; from ``fail_writes_at`` on, writes fail with EIO."""

    def __init__(self, k: Kernel, name: str, latency: float = 0.002, fail_writes_at: float | None = None):
        self.k, self.name, self.latency, self.fail_writes_at = k, name, latency, fail_writes_at
        self.blocks: dict[Any, int] = {}
        self._next_sector = 2048

    def submit_bio(self, task: Task, bio: Bio) -> None:
        with task.call("submit_bio_noacct", "submit_bio_noacct_nocheck", "blk_mq_submit_bio"):
            bio.sector = self._next_sector
            self._next_sector += 8 * max(1, len(bio.blocks))
            bio.done.holder = None
            self.k.env.process(self._complete(bio))

    def _complete(self, bio: Bio):
        yield self.k.env.timeout(self.latency)
        failing = bio.op == "WRITE" and self.fail_writes_at is not None and self.k.now() >= self.fail_writes_at
        if failing:
            self.k.console.printk(io_error_line(self.k, self.name, bio))
            bio.finish(-EIO)
            return
        for key, version in bio.blocks:
            self.blocks[key] = version
        self.k.progress()
        bio.finish(0)


class DmTarget(BlockDevice):
    """A device-mapper target (dm-zoned): bios are queued to a kworker that remaps them to ``lower``."""

    def __init__(self, k: Kernel, name: str, lower: BlockDevice, *, worker_nofs: bool = False,
                 map_lock: str | None = None):
        self.k, self.name, self.lower = k, name, lower
        self.map_lock = map_lock           # dm-thin: the pool metadata lock its map function takes (shared)
        self.queue: simpy.Store = simpy.Store(k.env)
        self.worker_nofs = worker_nofs
        self.worker = k.spawn("kworker/u8:5", self._worker, kthread=True, daemon=True)
        self.worker.workqueue = f"dmz_cwq_{name} dmz_chunk_work [dm_zoned]"

    @property
    def blocks(self) -> dict[Any, int]:
        return self.lower.blocks

    def owner_task(self) -> Task:
        return self.worker

    def submit_bio(self, task: Task, bio: Bio) -> None:
        with task.call("submit_bio_noacct", "submit_bio_noacct_nocheck"):
            bio.done.holder = self
            self.queue.put(bio)

    def map(self, task: Task):
        """The target's map function in the submitter's context: dm-thin looks the block up under the pool
        metadata lock (dm_thin_find_block: down_read(&pmd->root_lock))."""
        if not self.map_lock:
            return
        from simulator.callpath import LOCK_STAGE

        lock = self.k.lock_class(self.map_lock)
        with task.via(LOCK_STAGE, "submit_bio_noacct", "dm_submit_bio", "__map_bio", "thin_map",
                      "dm_thin_find_block"):
            yield from lock.lock(task, shared=True)
        lock.unlock(task)

    def _worker(self, task: Task):
        with task.call(*KTHREAD_BOTTOM, "worker_thread", "process_one_work", "dmz_chunk_work"):
            while True:
                task.state = "S"
                bio = yield self.queue.get()
                task.state = "R"
                if self.worker_nofs:
                    task.flags.add("PF_MEMALLOC_NOFS")          # memalloc_nofs_save() in the dm worker
                with task.call("dmz_map", "bio_alloc_clone", "mempool_alloc"):
                    # mempool_alloc: a first try without reclaim, then the pool's reserved element
                    clone = yield from mm.kmem_cache_alloc(self.k, task, "bio-0", G.GFP_NOIO & ~G.DIRECT_RECLAIM |
                                                           G.NORETRY | G.NOWARN | G.NOMEMALLOC)
                    if clone is None:
                        self.k.log(task, "mempool-reserve", pool="bio-0")
                with task.call("dmz_map"):
                    lower = Bio(self.k, bio.op, bio.blocks, lambda lb, up=bio: up.finish(lb.status),
                                f"bio to {self.lower.name} for {self.name}")
                    bio.done.holder = lower.done
                    self.lower.submit_bio(task, lower)
                task.flags.discard("PF_MEMALLOC_NOFS")


class TcmuDevice(BlockDevice):
    """A TCMU (target_core_user) device: commands go to a ring that one userspace daemon serves, QD=1."""

    def __init__(self, k: Kernel, name: str):
        self.k, self.name = k, name
        self.ring: simpy.Store = simpy.Store(k.env)
        self.daemon: Task | None = None
        self.blocks: dict[Any, int] = {}

    def owner_task(self) -> Task | None:
        return self.daemon

    def submit_bio(self, task: Task, bio: Bio) -> None:
        with task.call("submit_bio_noacct", "blk_mq_submit_bio", "tcmu_queue_cmd"):
            bio.done.holder = self
            self.ring.put(bio)
