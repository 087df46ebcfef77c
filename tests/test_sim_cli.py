"""The ``triage sim`` commands: listing, runs (JSON byte for byte the same for the same seed), fuzzing,
and one-line usage errors with exit code 2."""

from __future__ import annotations

import json

import pytest


def _lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_sim_list_json_has_every_scenario(cli):
    res = cli("sim", "list", "--json")
    assert res.exit_code == 0
    rows = _lines(res)
    names = {r["scenario"] for r in rows}
    assert {"nofail-reclaim", "stacked-reclaim-deadlock", "writepages-enomem", "hwpoison-dirty-shmem",
            "unchecked-alloc-failure"} <= names and len(names) >= 8
    nofail = next(r for r in rows if r["scenario"] == "nofail-reclaim")
    assert {"retry-loop", "skip-evict-in-reclaim"} <= set(nofail["variants"])
    assert nofail["params"]["kernel"]["default"] == "6.12"


def test_sim_run_json_fields_and_determinism(cli):
    args = ("sim", "run", "writepages-enomem", "--seed", "7", "--set", "fail_rate=0.25", "--json")
    a, b = cli(*args), cli(*args)
    assert a.exit_code == 0 and a.stdout == b.stdout          # byte for byte
    obj = json.loads(a.stdout)
    assert set(obj) >= {"scenario", "variant", "params", "seed", "outcome", "evidence", "console", "trace"}
    assert obj["params"]["fail_rate"] == 0.25 and obj["seed"] == 7
    other = json.loads(cli("sim", "run", "writepages-enomem", "--seed", "8", "--set", "fail_rate=0.25",
                           "--json").stdout)
    assert other["trace"] != obj["trace"]                    # the seed matters


@pytest.mark.parametrize("scenario", ["nofail-reclaim", "stacked-reclaim-deadlock", "writepages-enomem",
                                      "hwpoison-dirty-shmem", "unchecked-alloc-failure", "writeback-eio",
                                      "fs-reclaim-lockdep", "nfs-rpciod-releasepage"])
def test_same_seed_same_json(scenario):
    from simulator import run

    one = json.dumps(run(scenario, seed=3).to_dict(), sort_keys=True)
    two = json.dumps(run(scenario, seed=3).to_dict(), sort_keys=True)
    assert one == two


def test_sim_run_human_output(cli):
    res = cli("sim", "run", "nofail-reclaim")
    assert res.exit_code == 0
    assert "outcome: warning" in res.stdout and "WARNING: CPU: 0 PID: 5744" in res.stdout


def test_sim_fuzz_json(cli):
    res = cli("sim", "fuzz", "writepages-enomem", "--runs", "30", "--set", "fail_rate=0.0625", "--json")
    assert res.exit_code == 0
    obj = json.loads(res.stdout)
    assert sum(obj["outcomes"].values()) == 30 and obj["acked_pages"] == 30 * 64
    assert set(obj["outcomes"]) <= {"ok", "data-loss"}


@pytest.mark.parametrize("args", [
    ("sim", "run", "no-such-scenario"),
    ("sim", "run", "nofail-reclaim", "--variant", "nope"),
    ("sim", "run", "nofail-reclaim", "--set", "nope=1"),
    ("sim", "run", "nofail-reclaim", "--set", "kernel=banana"),
    ("sim", "run", "writepages-enomem", "--set", "fail_rate=1.5"),
    ("sim", "run", "writepages-enomem", "--set", "fail_rate"),
    ("sim", "run", "unchecked-alloc-failure", "--set", "ignore_gfp_wait=maybe"),
    ("sim", "fuzz", "writepages-enomem", "--runs", "0"),
])
def test_bad_input_is_one_line_exit_2(cli, args):
    res = cli(*args)
    assert res.exit_code == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("triage: ")


def test_fuzz_is_cheap_enough_for_1000_runs_in_10_seconds():
    import time

    from simulator import fuzz

    t0 = time.perf_counter()
    fuzz("writepages-enomem", 100, overrides={"fail_rate": "0.0625"})
    per_run = (time.perf_counter() - t0) / 100
    assert per_run < 0.02, f"{1000 * per_run:.1f} ms per run (bench/bench_sim.py measures 1000 runs)"
