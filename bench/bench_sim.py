"""Benchmark: the "1 in 16 ENOMEM" experiment of seed 000 over 1000 seeds (issue 14's budget: 1,000 runs of
``triage sim fuzz`` in 10 s), and one run of each mechanism with its fixes.

    PYTHONPATH=. python bench/bench_sim.py [RUNS]

The fuzz figure is reported as a share of the budget measured in the same run, not asserted anywhere.
"""

from __future__ import annotations

import sys
import time

from simulator import fuzz, list_scenarios, run
from simulator.scenario import get

BUDGET_RUNS, BUDGET_SECONDS = 1000, 10.0


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else BUDGET_RUNS
    t0 = time.perf_counter()
    res = fuzz("writepages-enomem", runs, overrides={"fail_rate": "0.0625"})
    dt = time.perf_counter() - t0
    per_budget = dt / runs * BUDGET_RUNS
    print(f"writepages-enomem fail_rate=0.0625: {runs} runs in {dt:.2f} s ({1000 * dt / runs:.2f} ms/run); "
          f"{BUDGET_RUNS} runs take {100 * per_budget / BUDGET_SECONDS:.0f}% of the {BUDGET_SECONDS:g} s budget")
    print(f"  outcomes {res['outcomes']}  pages lost {res['lost_pages']}/{res['acked_pages']} "
          f"({100 * res['loss_fraction']:.2f}%)")
    for sc in list_scenarios():
        t0 = time.perf_counter()
        r = run(sc["scenario"])
        ms = 1000 * (time.perf_counter() - t0)
        fixes = ", ".join(f"{v}: {run(sc['scenario'], v).outcome}" for v in get(sc["scenario"]).fixes(r.params))
        print(f"{sc['scenario']:<26} {r.outcome:<15} {ms:7.1f} ms  {r.stats['events']:>5} events  fixes: {fixes}")


if __name__ == "__main__":
    main()
