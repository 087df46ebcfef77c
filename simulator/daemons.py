"""Long-running actors: khungtaskd, the NFS client's rpciod, the OOM reaper and the single-threaded TCMU
userspace daemon (tcmu-runner) that turns ring commands into pwrite() calls on its backing file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from simulator import gfp as G
from simulator import mm
from simulator.console import KTHREAD_BOTTOM, SYSCALL_BOTTOM
from simulator.engine import Completion
from simulator.versions import resolve, switch

if TYPE_CHECKING:
    from simulator.block import TcmuDevice
    from simulator.engine import Kernel, Task
    from simulator.fs import Filesystem
    from simulator.pagecache import Inode

MAX_HUNG_REPORTS = 10      # sysctl_hung_task_warnings

# Kernel threads that run with scoped allocation flags, by name prefix.
KTHREAD_FLAGS: dict[str, frozenset[str]] = {
    "kswapd": frozenset({"PF_MEMALLOC", "PF_KSWAPD"}),   # [KSWPF]
    "xfsaild": frozenset({"PF_MEMALLOC"}),               # fs/xfs/xfs_trans_ail.c xfsaild(): memalloc_noreclaim_save()
}


def kthread_flags(comm: str) -> frozenset[str]:
    """The PF_* flags a kernel thread named ``comm`` sets for itself."""
    for prefix, flags in KTHREAD_FLAGS.items():
        if comm.startswith(prefix):
            return flags
    return frozenset()


def khungtaskd(k: Kernel, timeout: int):
    """Wakes every ``timeout`` seconds; reports each task in D state blocked for at least that long."""

    def body(task: Task):
        reported = 0
        while True:
            task.state = "S"
            yield k.env.timeout(timeout)
            task.state = "R"
            for t in k.tasks:
                if t.state == "D" and t.blocked_since is not None and k.now() - t.blocked_since >= timeout \
                        and not t.hung_reported and reported < MAX_HUNG_REPORTS:
                    t.hung_reported = True
                    reported += 1
                    k.log(t, "hung-task", blocked_for=round(k.now() - t.blocked_since, 3),
                          on=t.waiting_on.describe() if t.waiting_on else None)
                    k.console.hung_task(t, timeout)

    return body


def oom_reaper(k: Kernel):
    """The OOM victim's memory is freed when it exits or, if it is stuck, by the oom_reaper (4.6+)."""

    def reap(victim: Task) -> None:
        def body():
            yield k.env.timeout(0.1)
            if victim.rss and (victim.state != "D" or k.params.get("oom_reaper", True)):
                k.log(None, "oom-reap", victim=victim.name, pages=victim.rss)
                k.subsystems["zone"].release(victim.rss)
                victim.rss = 0
            if victim.state != "D" and victim.proc and victim.proc.is_alive and victim.state != "X":
                victim.proc.interrupt("SIGKILL")

        k.env.process(body())

    return reap


class Rpciod:
    """The rpciod workqueue: sends WRITE and COMMIT RPCs; each transmission allocates socket buffers."""

    def __init__(self, k: Kernel, latency: float = 0.005, *, nofs_scope: bool = False,
                 path: list[str] | None = None):
        self.k, self.latency, self.nofs_scope, self.path = k, latency, nofs_scope, path
        self.queue: simpy.Store = simpy.Store(k.env)
        self.task = k.spawn("kworker/u8:1", self._body, kthread=True, daemon=True)
        self.task.workqueue = "rpciod rpc_async_schedule"
        self.server: dict[tuple, int] = {}

    def owner_task(self) -> Task:
        return self.task

    def queue_commit(self, inode: Inode) -> Completion:
        done = Completion(self.k, f"NFS COMMIT of inode {inode.ino} (rpc queued to rpciod)")
        done.holder = self
        self.queue.put(("COMMIT", inode, done))
        return done

    def queue_write(self, inode: Inode, folios, bio) -> None:
        bio.done.holder = self
        self.queue.put(("WRITE", inode, bio, folios))

    def _body(self, task: Task):
        k = self.k
        task.follow(self.path)
        with task.call(*KTHREAD_BOTTOM, "worker_thread", "process_one_work", "rpc_async_schedule", "__rpc_execute"):
            while True:
                task.state = "S"
                item = yield self.queue.get()
                task.state = "R"
                if self.nofs_scope:
                    task.flags.add("PF_MEMALLOC_NOFS")
                with task.call("call_transmit", "xprt_transmit", "xs_tcp_send_request", "sock_alloc_send_pskb",
                               "alloc_skb_with_frags", "alloc_pages_noprof"):
                    ok = yield from mm.alloc_pages(k, task, G.GFP_KERNEL)
                task.flags.discard("PF_MEMALLOC_NOFS")
                if ok:
                    k.subsystems["zone"].release(1)     # the skb is freed once sent
                yield k.env.timeout(self.latency)
                kind, inode = item[0], item[1]
                if kind == "WRITE":
                    bio, folios = item[2], item[3]
                    for key, version in bio.blocks:
                        self.server[key] = version
                    bio.finish(0)
                    for f in folios:
                        f.private = True                 # UNSTABLE write: needs a COMMIT before release
                else:
                    for f in inode.mapping.pages.values():
                        f.private = False
                    item[2].complete(0)
                k.progress()


SERVER_FRAMES = {
    "tcmu-runner": (*SYSCALL_BOTTOM, "__x64_sys_pwrite64", "ksys_pwrite64", "vfs_write", "new_sync_write"),
    "nbd-client": (*SYSCALL_BOTTOM, "__x64_sys_pwrite64", "ksys_pwrite64", "vfs_write", "new_sync_write"),
    "fuse-daemon": (*SYSCALL_BOTTOM, "__x64_sys_pwrite64", "ksys_pwrite64", "vfs_write", "new_sync_write"),
    "loop": (*KTHREAD_BOTTOM, "worker_thread", "process_one_work", "loop_workfn", "loop_process_work",
             "do_req_filebacked", "lo_write_bvec", "vfs_iter_write", "do_iter_write"),
}


def tcmu_runner(k: Kernel, dev: TcmuDevice, backing_fs: Filesystem, backing_path: str, *, io_flusher: bool,
                kind: str = "tcmu-runner", path: list[str] | None = None, noio: Any = "auto"):
    """The single server of an emulated device: take one command, write it to the backing file, complete it.
    A userspace daemon (tcmu-runner, nbd, a FUSE server) is NOIO only if it calls PR_SET_IO_FLUSHER (5.6+);
    the loop driver's worker is NOIO by itself from the version that added it (``noio`` auto)."""

    def body(task: Task):
        task.follow(path)
        if kind == "loop":
            task.kthread = True
            task.workqueue = "loop0 loop_workfn"
            if resolve(k.version, "loop_worker_noio", noio):
                task.flags.update({"PF_MEMALLOC_NOIO", "PF_LOCAL_THROTTLE"})
        if io_flusher:
            if switch(k.version, "io_flusher"):
                task.flags.update({"PF_MEMALLOC_NOIO", "PF_LOCAL_THROTTLE"})
                k.log(task, "prctl", op="PR_SET_IO_FLUSHER", result=0)
            else:
                k.log(task, "prctl", op="PR_SET_IO_FLUSHER", result="-EINVAL (before 5.6)")
        inode = backing_fs.lookup(backing_path)
        inode.i_count += 1
        while True:
            task.state = "S"
            bio = yield dev.ring.get()
            task.state = "R"
            bio.done.holder = task
            with task.call(*SERVER_FRAMES.get(kind, SERVER_FRAMES["tcmu-runner"]), *backing_fs.write_frames):
                for key, version in bio.blocks:
                    idx = _block_index(key)
                    err = yield from backing_fs.write_page(task, inode, idx, version)
                    if err:
                        bio.finish(err)
                        break
                    dev.blocks[key] = version
                else:
                    k.progress()
                    bio.finish(0)

    return body


def _block_index(key: tuple) -> int:
    """Deterministic backing-file offset of a block of the emulated disk."""
    h = 0
    for part in key:
        for ch in str(part):
            h = (h * 131 + ord(ch)) % 1_000_003
    return h % 4096
