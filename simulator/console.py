"""The console log the modelled kernel prints: WARN, hung task, oops, fault injection, plain printk.

Shapes are copied from real reports (syzbot mails and distro logs). Register values and code bytes are
filler derived from the run's seed and the line number, so a run prints the same bytes every time.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from simulator import symbols, versions

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task

HARDWARE = "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-debian-1.16.3-2 04/01/2014"
SYSCALL_BOTTOM = ("entry_SYSCALL_64_after_hwframe", "do_syscall_64", "do_syscall_x64")
KTHREAD_BOTTOM = ("ret_from_fork_asm", "ret_from_fork", "kthread")
SYSCALLS = {"__x64_sys_read": 0, "__x64_sys_write": 1, "__x64_sys_pwrite64": 18, "__x64_sys_madvise": 28,
            "__x64_sys_fsync": 74, "__x64_sys_prctl": 157, "__x64_sys_umount": 166, "__x64_sys_setxattr": 188,
            "__x64_sys_process_vm_writev": 311, "__x64_sys_openat": 257,
            "__x64_sys_creat": 85}


class Console:
    def __init__(self, k: Kernel):
        self.k = k
        self.lines: list[str] = []

    # -- pieces --------------------------------------------------------------------------------------
    def _rand(self) -> random.Random:
        return random.Random(f"{self.k.seed}:{len(self.lines)}")

    def uname(self) -> str:
        return f"{self.k.version}.0-sim #1"

    def taint_word(self) -> str:
        return "Tainted: G        W         " if self.k.tainted_warn else "Not tainted"

    def cpu_lines(self, task: Task) -> list[str]:
        v = self.k.version
        uid = " UID: 0" if versions.switch(v, "uid_in_header") else ""
        preempt = " PREEMPT(full)" if v.at_least("6.13") else ""
        return [f"CPU: {task.cpu}{uid} PID: {task.pid} Comm: {task.comm} {self.taint_word()} {self.uname()}{preempt}",
                HARDWARE] + ([f"Workqueue: {task.workqueue}"] if task.workqueue else [])

    def call_trace(self, frames: list[str], task: Task | None = None) -> list[str]:
        markers = versions.switch(self.k.version, "task_markers")
        out = ["Call Trace:"] + ([" <TASK>"] if markers else [])
        out += symbols.print_stack(frames, self.k.version)
        if task is not None and not task.kthread:
            sysno = next((n for fn, n in SYSCALLS.items() if fn in frames), 0)
            out += self._user_regs(sysno)
        if markers:
            out.append(" </TASK>")
        return out

    def _regs(self, cs: str, ip: str, trap: str = "<0f> 0b") -> list[str]:
        r = self._rand()
        q = [f"{r.getrandbits(64):016x}" for _ in range(16)]
        code = " ".join(f"{r.getrandbits(8):02x}" for _ in range(42)) + f" {trap} " + \
            " ".join(f"{r.getrandbits(8):02x}" for _ in range(19))
        return [
            f"RIP: {cs}:{ip}",
            f"Code: {code}",
            f"RSP: 0018:ffffc900{r.getrandbits(28) << 4:08x} EFLAGS: 00010246",
            f"RAX: {q[0]} RBX: {q[1]} RCX: {q[2]}",
            f"RDX: {q[3]} RSI: {q[4]} RDI: {q[5]}",
            f"RBP: {q[6]} R08: {q[7]} R09: {q[8]}",
            f"R10: {q[9]} R11: {q[10]} R12: {q[11]}",
            f"R13: {q[12]} R14: {q[13]} R15: {q[14]}",
            "FS:  00007f7ccbb366c0(0000) GS:ffff88808d20a000(0000) knlGS:0000000000000000",
            "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033",
            "CR2: 00007f94b93a8638 CR3: 0000000042c26000 CR4: 0000000000352ef0",
        ]

    def _user_regs(self, sysno: int) -> list[str]:
        r = self._rand()
        return [
            f"RIP: 0033:0x7f7cca{r.getrandbits(16):04x}a9",
            "Code: ff ff c3 66 2e 0f 1f 84 00 00 00 00 00 0f 1f 40 00 48 89 f8 48 89 f7 48 89 d6 48 89 ca 4d 89 "
            "c2 4d 89 c8 4c 8b 4c 24 08 0f 05 <48> 3d 01 f0 ff ff 73 01 c3 48 c7 c1 a8 ff ff ff f7 d8 64 89 01 48",
            f"RSP: 002b:00007f7ccbb36038 EFLAGS: 00000246 ORIG_RAX: {sysno:016x}",
            "RAX: ffffffffffffffda RBX: 00007f7ccafd5fa0 RCX: 00007f7ccad8eba9",
            "RDX: 0000000000001000 RSI: 0000200000000000 RDI: 0000000000000003",
            "RBP: 00007f7ccae11e19 R08: 0000000000000000 R09: 0000000000000000",
            "R10: 0000000000000000 R11: 0000000000000246 R12: 0000000000000000",
            "R13: 00007f7ccafd6038 R14: 00007f7ccafd5fa0 R15: 00007ffd394e0938",
        ]

    # -- output ----------------------------------------------------------------------------------
    def emit(self, lines: list[str]) -> None:
        self.lines.extend(lines)

    def printk(self, line: str) -> None:
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")

    # -- report kinds ----------------------------------------------------------------------------
    def warn(self, task: Task, fn: str, file: str, line: int, frames: list[str], message: str = "") -> None:
        """``__warn()``: cut here, the WARN's message, WARNING line, CPU, RIP + registers, call trace."""
        v = self.k.version
        ip = symbols.ip_of(fn, v).split(" ")[0]
        lines = ["------------[ cut here ]------------", *([message] if message else []),
                 f"WARNING: CPU: {task.cpu} PID: {task.pid} at {file}:{line} {ip} {file}:{line}",
                 "Modules linked in:"]
        lines += self.cpu_lines(task)
        lines += self._regs("0010", f"{ip} {file}:{line}")
        lines += self.call_trace(frames, task)
        lines.append("---[ end trace 0000000000000000 ]---")
        self.emit(lines)
        self.k.tainted_warn = True
        if self.k.params.get("panic_on_warn"):
            self.emit(["Kernel panic - not syncing: kernel: panic_on_warn set ...",
                       *self.cpu_lines(task), *self.call_trace(frames + ["panic", "check_panic_on_warn"], task),
                       "Kernel Offset: disabled", "Rebooting in 86400 seconds.."])

    def hung_task(self, task: Task, timeout: int) -> None:
        v = self.k.version
        lines = [f"INFO: task {task.comm}:{task.pid} blocked for more than {timeout} seconds.",
                 f"      {self.taint_word()} {self.uname()}",
                 '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.']
        if versions.switch(v, "hung_task_new_format"):
            tgid = f" tgid:{task.pid:<5}" if v.at_least("6.5") else ""
            lines.append(f"task:{task.comm:<15} state:D stack:{24000 + task.pid % 4000:<5} pid:{task.pid:<5}"
                         f"{tgid} ppid:{task.ppid:<6} flags:0x{0x4000 if task.kthread else 0x4002:08x}")
        else:
            lines.append(f"{task.comm:<15} D{23000 + task.pid % 4000:>5} {task.pid:>5} {task.ppid:>6} 0x00004000")
        if task.workqueue:
            lines.append(f"Workqueue: {task.workqueue}")
        lines += self.call_trace(task.wait_stack, task)
        self.emit(lines)

    def fault_injection(self, name: str, attr: dict, task: Task, frames: list[str]) -> None:
        lines = ["FAULT_INJECTION: forcing a failure.",
                 f"name {name}, interval {attr['interval']}, probability {attr['probability']}, "
                 f"space {attr['space']}, times {attr['times']}"]
        if attr.get("verbose", 2) > 1:
            lines += self.cpu_lines(task)
            lines += self.call_trace(frames + ["should_fail_ex", "fail_dump", "dump_stack_lvl", "__dump_stack"],
                                     task)
        self.emit(lines)

    def oops_null_deref(self, task: Task, frames: list[str], offset: int = 0x18) -> None:
        """A NULL (+offset) dereference in the innermost frame, as KASAN kernels (syzbot) print it."""
        v = self.k.version
        fn = frames[-1]
        kasan = bool(self.k.params.get("kasan", True))
        oops = "Oops: " if v.at_least("6.9") else ""
        if kasan:
            shadow = 0xdffffc0000000000 + (offset >> 3)
            lines = [f"{oops}general protection fault, probably for non-canonical address {shadow:#x}: 0000 [#1] "
                     "PREEMPT SMP KASAN NOPTI",
                     f"KASAN: null-ptr-deref in range [{offset & ~7:#018x}-{(offset & ~7) + 7:#018x}]"]
        else:
            lines = [f"BUG: kernel NULL pointer dereference, address: {offset:016x}",
                     "#PF: supervisor read access in kernel mode",
                     "#PF: error_code(0x0000) - not-present page",
                     "PGD 0 P4D 0 ",
                     f"{oops or 'Oops: '}0000 [#1] PREEMPT SMP NOPTI"]
        lines += self.cpu_lines(task)
        lines += self._regs("0010", symbols.ip_of(fn, v), "<80> 3c 02 00" if kasan else "<48> 8b 40 18")
        lines += self.call_trace(frames[:-1], task)
        lines += ["Modules linked in:", "---[ end trace 0000000000000000 ]---"]
        self.emit(lines)

    def kernel_bug(self, task: Task, frames: list[str], file: str, line: int) -> None:
        """``BUG()`` / ``BUG_ON()``: kernel BUG at FILE:LINE! and an invalid-opcode oops in the innermost frame."""
        v = self.k.version
        fn = frames[-1]
        oops = "Oops: invalid opcode: 0000" if v.at_least("6.9") else "invalid opcode: 0000"
        lines = ["------------[ cut here ]------------", f"kernel BUG at {file}:{line}!",
                 f"{oops} [#1] PREEMPT SMP KASAN NOPTI"]
        lines += self.cpu_lines(task)
        lines += self._regs("0010", f"{symbols.ip_of(fn, v).split(' ')[0]} {file}:{line}")
        lines += self.call_trace(frames[:-1], task)
        lines += ["Modules linked in:", "---[ end trace 0000000000000000 ]---"]
        self.emit(lines)

    def page_fault(self, task: Task, frames: list[str], address: int) -> None:
        """A dereference of a stale pointer: BUG: unable to handle page fault for address."""
        v = self.k.version
        fn = frames[-1]
        head = "BUG: unable to handle page fault for address" if v.at_least("5.0") else \
            "BUG: unable to handle kernel paging request at"
        oops = "Oops: " if v.at_least("6.9") else ""
        lines = [f"{head}: {address:016x}" if v.at_least("5.0") else f"{head} {address:016x}",
                 "#PF: supervisor read access in kernel mode", "#PF: error_code(0x0000) - not-present page",
                 "PGD 0 P4D 0 ", f"{oops or 'Oops: '}0000 [#1] PREEMPT SMP KASAN NOPTI"]
        lines += self.cpu_lines(task)
        lines += self._regs("0010", symbols.ip_of(fn, v))
        lines += self.call_trace(frames[:-1], task)
        lines += ["Modules linked in:", "---[ end trace 0000000000000000 ]---"]
        self.emit(lines)

    def kasan_uaf(self, task: Task, frames: list[str], alloc_frames: list[str], free_frames: list[str],
                  cache: str = "kmalloc-64") -> None:
        """KASAN's report of a read of a freed slab object, with where it was allocated and freed."""
        v = self.k.version
        fn = frames[-1]
        kind = "slab-use-after-free" if v.at_least("6.5") else "use-after-free"
        addr = 0xffff888012345600 + (self.k.seed % 64) * 8
        lines = ["==================================================================",
                 f"BUG: KASAN: {kind} in {symbols.ip_of(fn, v)}",
                 f"Read of size 8 at addr {addr:016x} by task {task.comm}/{task.pid}", ""]
        lines += self.cpu_lines(task)
        lines += self.call_trace(frames + ["kasan_report", "print_report", "print_address_description",
                                           "dump_stack_lvl", "__dump_stack"], task)
        lines += ["", f"Allocated by task {task.pid}:"]
        lines += ["  " + ln.strip() for ln in symbols.print_stack(alloc_frames + ["__kasan_slab_alloc",
                                                                                 "kasan_save_stack"], v)]
        lines += ["", f"Freed by task {task.pid}:"]
        lines += ["  " + ln.strip() for ln in symbols.print_stack(free_frames + ["kmem_cache_free",
                                                                                "__kasan_slab_free",
                                                                                "kasan_save_stack"], v)]
        lines += ["", f"The buggy address belongs to the object at {addr & ~0x3f:016x}",
                  f" which belongs to the cache {cache} of size 64",
                  "=================================================================="]
        self.emit(lines)

    def refcount_underflow(self, task: Task, frames: list[str]) -> None:
        """refcount_t: underflow; use-after-free (a reference dropped twice)."""
        self.warn(task, "refcount_warn_saturate", "lib/refcount.c", 28, frames,
                  message="refcount_t: underflow; use-after-free.")

    def lock_held_return(self, task: Task, held: list[tuple[str, str]]) -> None:
        """lockdep: a system call returns to user space holding a lock (an error path forgot to unlock)."""
        lines = ["", "================================================",
                 "WARNING: lock held when returning to user space!", f"{self.uname()} {self.taint_word()}",
                 "------------------------------------------------",
                 f"{task.comm}/{task.pid} is leaving the kernel with locks still held!",
                 f"{len(held)} lock{'s' if len(held) != 1 else ''} held by {task.comm}/{task.pid}:"]
        for i, (cls, at) in enumerate(held):
            lines.append(f" #{i}: ffff8880{symbols._h('lock:' + cls):08x} ({cls}){{+.+.}}-{{4:4}}, at: "
                         f"{symbols.ip_of(at, self.k.version)}")
        self.emit(lines)

    def memory_leak(self, task: Task, frames: list[str], size: int = 64) -> None:
        """kmemleak's report of an object nothing points to."""
        lines = ["BUG: memory leak", f"unreferenced object 0xffff888012340000 (size {size}):",
                 f'  comm "{task.comm}", pid {task.pid}, jiffies 4294942190',
                 "  backtrace (crc 0):"]
        lines += ["    [<ffffffff81234567>] " + ln.strip() for ln in symbols.print_stack(
            frames + ["kmemleak_alloc_recursive", "kmemleak_alloc"], self.k.version)]
        self.emit(lines)
