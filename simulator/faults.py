"""Fault injection: ``should_fail_ex`` with the kernel's knobs and defaults (kernel-semantics.md section (g)).

Decision order (lib/fault-inject.c): per-task fail-nth first (bypasses the rest), probability 0 -> no,
task-filter, times 0 -> no, space, interval, random draw, then fail_dump and times--.
``failslab`` and ``fail_page_alloc`` first skip __GFP_NOFAIL and, with ``ignore-gfp-wait`` (default Y),
every request that may sleep in direct reclaim; ``fail_page_alloc`` also skips orders below ``min-order``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simulator import gfp as G
from simulator.callpath import FAULT_DUMP

if TYPE_CHECKING:
    from simulator.engine import Kernel, Task


@dataclass
class FaultAttr:
    name: str
    probability: int = 0          # percent
    interval: int = 1
    times: int = 1                # FAULT_ATTR_INITIALIZER: times=1 (-1 = unlimited)
    space: int = 0
    verbose: int = 2
    task_filter: bool = False
    ignore_gfp_wait: bool = True  # debugfs default Y for both failslab and fail_page_alloc
    min_order: int = 1            # fail_page_alloc/min-order: order-0 pages are not failed by default
    count: int = field(default=0)

    def knobs(self) -> dict:
        return {"interval": self.interval, "probability": self.probability, "space": self.space,
                "times": self.times, "verbose": self.verbose}

    def should_fail_ex(self, k: Kernel, task: Task, size: int, nowarn: bool = False) -> bool:
        nth = getattr(task, "fail_nth", 0)
        if nth:
            task.fail_nth = nth - 1
            if nth - 1 == 0:
                return self._fail(k, task, nowarn)
            return False
        if self.probability == 0:
            return False
        if self.task_filter and not getattr(task, "make_it_fail", False):
            return False
        if self.times == 0:
            return False
        if self.space > size:
            self.space -= size
            return False
        if self.interval > 1:
            self.count += 1
            if self.count % self.interval:
                return False
        if self.probability <= k.rng.randrange(100):
            return False
        return self._fail(k, task, nowarn)

    def _fail(self, k: Kernel, task: Task, nowarn: bool) -> bool:
        if not nowarn:
            k.console.fault_injection(self.name, self.knobs(), task, list(task.stack))
        if self.times != -1 and self.times > 0:
            self.times -= 1
        k.injections.append({"t": k.now(), "task": task.name, "cap": self.name, "site": _site(task)})
        k.log(task, "fault-injection", cap=self.name, site=_site(task))
        return True


def _site(task: Task) -> str:
    from simulator.mm import _caller

    return _caller(task)


def should_failslab(k: Kernel, task: Task, attr: FaultAttr | None, gfp: int, size: int) -> bool:
    if attr is None or gfp & G.NOFAIL:
        return False
    if attr.ignore_gfp_wait and gfp & G.DIRECT_RECLAIM:
        return False
    with task.via(FAULT_DUMP, "should_failslab"):
        return attr.should_fail_ex(k, task, size, nowarn=bool(gfp & G.NOWARN))


def should_fail_alloc_page(k: Kernel, task: Task, attr: FaultAttr | None, gfp: int, order: int) -> bool:
    if attr is None or gfp & G.NOFAIL or order < attr.min_order:
        return False
    if attr.ignore_gfp_wait and gfp & G.DIRECT_RECLAIM:
        return False
    with task.via(FAULT_DUMP, "should_fail_alloc_page"):
        return attr.should_fail_ex(k, task, 1 << order, nowarn=bool(gfp & G.NOWARN))
