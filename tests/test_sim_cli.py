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
    ("sim", "run", "nofail-reclaim", "--set", "kernel=2.6"),              # a kernel the model does not know
    ("sim", "run", "nofail-reclaim", "--set", "kernel=7.3"),
    ("sim", "run", "nofail-reclaim", "--set", "order=11"),                # out of range
    ("sim", "run", "nofail-reclaim", "--set", "order=two"),               # ill-typed
    ("sim", "run", "nofail-reclaim", "--set", "gfp=GFP_BOGUS"),
    ("sim", "run", "nofail-reclaim", "--set", "path=evict,ext4 evict_inode"),   # not a function name
    ("sim", "run", "nofail-reclaim", "--set", "fs=zfs"),
    ("sim", "run", "fs-reclaim-lockdep", "--set", "locks=" + ",".join(f"l{i}" for i in range(17))),
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


def test_unknown_kernel_message_names_the_range(cli):
    err = cli("sim", "run", "nofail-reclaim", "--set", "kernel=2.6").stderr.strip()
    assert err == "triage: bad value for kernel: '2.6' (unknown kernel '2.6': the model knows 4.4 to 6.19)"


def test_sim_run_with_a_call_path_prints_it(cli):
    path = ("entry_SYSCALL_64_after_hwframe,do_syscall_64,__x64_sys_madvise,do_madvise,handle_mm_fault,"
            "alloc_pages_mpol,__alloc_frozen_pages_noprof,__alloc_pages_slowpath,__alloc_pages_direct_reclaim,"
            "try_to_free_pages,shrink_node,shrink_slab,do_shrink_slab,super_cache_scan,prune_icache_sb,evict,"
            "my_fs_evict_inode,my_fs_free_blocks,my_fs_read_bitmap,__filemap_get_folio,alloc_pages_mpol,"
            "__alloc_frozen_pages_noprof,__alloc_pages_slowpath")
    res = cli("sim", "run", "nofail-reclaim", "--set", f"path={path}", "--set", "fs=btrfs")
    assert res.exit_code == 0 and "outcome: warning" in res.stdout
    trace = res.stdout[res.stdout.index("Call Trace:"):]
    order = [" my_fs_read_bitmap+", " my_fs_free_blocks+", " my_fs_evict_inode+", " evict+", " super_cache_scan+",
             " try_to_free_pages+", " __x64_sys_madvise+"]
    positions = [trace.index(fn) for fn in order]
    assert positions == sorted(positions)


def test_sim_list_shows_facts_and_fixes(cli):
    rows = {r["scenario"]: r for r in _lines(cli("sim", "list", "--json"))}
    assert all(r["facts"] for r in rows.values())          # each mechanism cites its kernel facts
    assert "healthy-device" not in rows["device-write-errors"]["fixes"]         # a configuration, not a fix
    assert "fsync-and-check" in rows["device-write-errors"]["fixes"]
