"""Benchmark: the "1 in 16 ENOMEM" experiment of seed 000 over 1000 seeds, and one run of each scenario.

    PYTHONPATH=. python bench/bench_sim.py [RUNS]
"""

from __future__ import annotations

import sys
import time

from simulator import fuzz, list_scenarios, run


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    t0 = time.perf_counter()
    res = fuzz("writepages-enomem", runs, overrides={"fail_rate": "0.0625"})
    dt = time.perf_counter() - t0
    print(f"writepages-enomem fail_rate=0.0625: {runs} runs in {dt:.2f} s ({1000 * dt / runs:.2f} ms/run)")
    print(f"  outcomes {res['outcomes']}  pages lost {res['lost_pages']}/{res['acked_pages']} "
          f"({100 * res['loss_fraction']:.2f}%)")
    for sc in list_scenarios():
        t0 = time.perf_counter()
        r = run(sc["scenario"])
        print(f"{sc['scenario']:<26} {r.outcome:<15} {1000 * (time.perf_counter() - t0):7.1f} ms  "
              f"{r.stats['events']:>5} events, {r.sim_time:g} simulated s")


if __name__ == "__main__":
    main()
