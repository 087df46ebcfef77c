"""Companion simulator of the kernel allocator, reclaim and writeback.

A deterministic discrete-event model (SimPy underneath) of the paths the triaged bugs live in. Scenarios
are TOML data in ``simulator/scenarios``; outcomes are decided by detectors from what happened in a run.
Imports nothing from triage/, scrapers/ or classifiers/.

    from simulator import run, fuzz, list_scenarios
    r = run("nofail-reclaim", variant=None, overrides={"kernel": "6.6"}, seed=1)
    r.outcome, r.evidence, r.console, r.trace
"""

from simulator.api import fuzz, list_scenarios, run, run_all
from simulator.scenario import SIM_VERSION, RunResult, SimError

__all__ = ["SIM_VERSION", "RunResult", "SimError", "fuzz", "list_scenarios", "run", "run_all"]
