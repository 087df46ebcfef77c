"""From a parsed report to a run of its mechanism: which mechanism and parameters the report's fields choose,
what the run prints (the report's call path), the fixes that flip it, what is stored and shown, and the
reports no mechanism covers (with why). Also: the classifier, given a run's console log, names the label
that matches the run's outcome."""

from __future__ import annotations

import json
import re

import pytest

from simulator import run
from tests.conftest import shared_data
from triage.report import parse
from triage.repro import NotCovered, fix_runs, link, run_all_for_demo, run_link

LABELLED = ("labelled", "reports")


def _report(name: str) -> tuple[object, str]:
    text = shared_data(*LABELLED, name).read_text(errors="replace")
    return parse(text), text


def _link(name: str):
    rep, _ = _report(name)
    return link(rep)


def _names(console: str) -> set[str]:
    from triage.report.normalize import canonical
    from triage.report.stacks import extract_frames

    return {canonical(f.function) for f in extract_frames(console)}


# -- which mechanism a report's fields choose ----------------------------------------------------------------
@pytest.mark.parametrize(("name", "scenario", "params"), [
    ("001.txt", "nofail-reclaim", {"reclaimer": "direct", "fs": "ext4"}),          # direct reclaim -> ext4 evict
    ("003.txt", "nofail-reclaim", {"reclaimer": "kswapd", "via_dcache": True, "kernel": "6.18"}),
    ("004.txt", "nofail-caller", {"context": "kthread", "comm": "xfsaild/sda3", "order": 0}),   # PF_MEMALLOC kthread
    ("008.txt", "nofail-caller", {"context": "softirq", "gfp": "GFP_ATOMIC|__GFP_NOFAIL"}),
    ("010.txt", "nofail-caller", {"order": 2, "kernel": "6.1"}),                   # rmqueue's order > 1 check
    ("013.txt", "fs-reclaim-lockdep", {"locks": ["jbd2_handle", "&ei->xattr_sem", "fs_reclaim"]}),
    ("022.txt", "fs-reclaim-lockdep", {"fs": "btrfs"}),
    ("025.txt", "memcg-writeback-wait", {"fs": "xfs"}),
    ("026.txt", "shrinker-lock-inversion", {"kernel": "6.1"}),
    ("028.txt", "reclaim-guard", {"reclaimer": "kswapd", "fs": "ext4"}),
    ("029.txt", "device-write-errors", {"fs": "ext4", "devname": "vda"}),
    ("030.txt", "device-write-errors", {"alloc_error": 74, "fail_at": 0.0}),      # a bitmap failing its checksum
    ("037.txt", "hwpoison-dirty-shmem", {"fs": "ext4"}),
    ("038.txt", "device-write-errors", {"fs": "btrfs"}),
    ("043.txt", "unchecked-alloc-failure", {"error_path": "bad-pointer"}),            # the dump itself crashed
    ("045.txt", "unchecked-alloc-failure", {"error_path": "bug", "pid": 6107}),       # tied by d_make_root
    # another task's injection, tied by the failing path's own message printed just before the crash
    ("046.txt", "unchecked-alloc-failure", {"error_path": "null-deref", "crash_comm": "kworker/0:1",
                                            "message": "Bluetooth: Can't allocate HCI device"}),
    ("047.txt", "unchecked-alloc-failure", {"error_path": "null-deref", "cap": "failslab"}),
    ("048.txt", "fs-shutdown", {"after": "bug", "fs": "btrfs"}),                   # forced readonly, then a BUG
    ("050.txt", "unchecked-alloc-failure", {"error_path": "warn"}),
    ("056.txt", "unchecked-alloc-failure", {"error_path": "use-after-free"}),
])
def test_reports_choose_their_mechanism_and_parameters(name, scenario, params):
    lk = _link(name)
    assert not isinstance(lk, NotCovered), lk
    assert lk.scenario == scenario
    assert {k: lk.params.get(k) for k in params} == params
    assert lk.evidence and lk.why


@pytest.mark.parametrize(("name", "why"), [
    ("057.txt", "without __GFP_NOFAIL evidence"),       # order >= MAX_ORDER in a 4.15 slowpath
    ("058.txt", "without __GFP_NOFAIL evidence"),
    ("062.txt", "interrupt context"),                    # fs_reclaim inconsistent state from an IRQ
    ("076.txt", "no fs_reclaim"),                        # an ext4 lock cycle outside reclaim
    ("069.txt", "different tasks"),                      # an injection in another task than the oops
    ("075.txt", "no reclaim frame"),                     # hung on an inode lock
    ("077.txt", "RCU stall"),
    ("042.txt", "primary crash"),                        # a BUG on a corrupted image next to "Data will be lost"
    ("085.txt", "primary crash"),
    ("072.txt", "no mechanism fits"),
])
def test_reports_no_mechanism_covers_say_why(name, why):
    lk = _link(name)
    assert isinstance(lk, NotCovered)
    assert str(lk).startswith("no mechanism in the simulator covers this report: ")
    assert why in str(lk)


def test_an_error_message_ties_an_injection_only_when_it_names_what_failed():
    rep, text = _report("046.txt")
    assert link(rep).scenario == "unchecked-alloc-failure"
    other = parse(text.replace("Can't allocate HCI device", "Can't allocate widget"))
    lk = link(other)
    assert isinstance(lk, NotCovered) and "no error message of the failing path" in str(lk)


def test_the_linker_reads_the_parsed_report_only():
    """No regular expression of its own over report text and no parser helper called on text: the rules read
    the Report's fields (its stacks and trace, markers, locks, gfp masks, crash), and link takes nothing else."""
    import inspect

    import triage.repro as R

    source = inspect.getsource(R)
    assert "import re\n" not in source and "re.compile" not in source and "re.search" not in source
    for helper in ("find_markers", "extract_frames", "lockdep_locks", "read_console"):
        assert helper not in source
    assert list(inspect.signature(R.link).parameters) == ["report"]


# -- the run reads like the report --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["001.txt", "003.txt", "013.txt", "017.txt", "025.txt", "047.txt"])
def test_the_run_prints_the_reports_call_path_in_order(name):
    rep, _ = _report(name)
    lk = link(rep)
    r = run_link(lk)
    crash = {f.norm_function for f in rep.frames if f.stack == "crash"}
    assert len(crash & _names(r.console)) / len(crash) >= 0.9
    # in the report's order: walking the console from a first match, each next frame of the report's crash
    # stack (as printed, innermost first) is found further down
    own = [f.function for f in rep.frames if f.stack == "crash"][:20]
    lines = r.console.splitlines()
    starts = [i for i, ln in enumerate(lines) if re.search(rf"\b{re.escape(own[0])}\b", ln)]
    best = 0
    for start in starts:
        pos, in_order = start, 1
        for fn in own[1:]:
            nxt = next((i for i in range(pos + 1, min(len(lines), pos + 40))
                        if re.search(rf"\b{re.escape(fn)}\b", lines[i])), None)
            if nxt is not None:
                pos, in_order = nxt, in_order + 1
        best = max(best, in_order)
    assert best / len(own) >= 0.8


def test_a_report_with_an_unknown_old_kernel_runs_on_the_nearest_known_one():
    rep, _ = _report("089.txt")                         # 4.19: known
    assert link(rep).params["kernel"] == "4.19"
    from simulator.versions import KernelVersion

    v, note = KernelVersion.nearest("3.10.0-514.el7.x86_64")
    assert str(v) == "4.4" and "outside what the model knows" in note


# -- outcomes come from the mechanics -----------------------------------------------------------------------
def test_the_same_report_on_another_kernel_changes_the_outcome_by_mechanics():
    lk = _link("026.txt")                               # shrinker ABBA on 6.1
    assert run_link(lk).outcome == "deadlock"
    lk.params["kernel"] = "6.7"                          # lockless shrinkers
    assert run_link(lk).outcome == "ok"
    lk = _link("004.txt")                               # xfsaild PF_MEMALLOC NOFAIL on 6.12
    assert run_link(lk).outcome == "warning"
    lk.params["kernel"] = "6.6"                          # before 6.12: only once even the reserves failed
    assert run_link(lk).outcome == "ok"


@pytest.mark.parametrize(("name", "flipping"), [
    ("001.txt", {"retry-loop", "skip-evict-in-reclaim", "pin-buddy"}),
    ("013.txt", {"nofs-scope", "skip-lock-in-reclaim"}),
    ("025.txt", {"nofs-scope"}),
    ("047.txt", {"checked"}),
    ("032.txt", {"fsync-and-check"}),
    ("008.txt", {"check-allocation", "defer-to-task"}),
])
def test_fixes_that_flip_the_outcome(name, flipping):
    lk = _link(name)
    r = run_link(lk)
    fixes = fix_runs(lk, r)
    assert {fx["variant"] for fx in fixes if fx["flips"]} == flipping
    assert all(fx["outcome"] == "deadlock" for fx in fixes if fx["variant"] == "nofs-in-dm-worker")


def test_other_reports_rarely_link_to_a_failing_run():
    import json as _json

    labels = [_json.loads(line) for line in shared_data("labelled", "labels.jsonl").read_text().splitlines()]
    others = [row["file"].split("/")[-1] for row in labels if row["label"] == "other"]
    failing = 0
    for name in others:
        lk = _link(name)
        if not isinstance(lk, NotCovered) and run_link(lk, with_trace=False).outcome not in ("ok", "error-reported"):
            failing += 1
    assert failing / len(others) <= 0.05


# -- the command, the store, show and inbox -----------------------------------------------------------------
def _import(cli, db_path, *names):
    for name in names:
        assert cli("import", str(shared_data(*LABELLED, name))).exit_code == 0
    from triage.store import open_db

    return open_db(db_path)


def test_repro_command_runs_stores_and_shows(cli, db_path):
    db = _import(cli, db_path, "001.txt")
    rid = db.execute("SELECT id FROM reports").fetchone()[0]
    res = cli("repro", str(rid), "--json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["scenario"] == "nofail-reclaim" and out["outcome"] == "warning" and out["covered"]
    assert {fx["variant"] for fx in out["fixes"] if fx["flips"]} == {"retry-loop", "skip-evict-in-reclaim",
                                                                       "pin-buddy"}
    rows = list(db.query("SELECT * FROM repro_runs WHERE report_id = ?", [rid]))
    assert len(rows) == 1 and rows[0]["outcome"] == "warning" and rows[0]["scenario"] == "nofail-reclaim"
    assert json.loads(rows[0]["evidence"])["detector"] == "warning"
    assert "ext4_mb_load_buddy_gfp+" in rows[0]["console"] and json.loads(rows[0]["trace"])
    assert json.loads(rows[0]["link"])["why"] and len(json.loads(rows[0]["fixes"])) == 3
    shown = cli("show", str(rid)).stdout
    assert "why this mechanism:" in shown and "fix retry-loop: ok  <- flips the outcome" in shown
    inbox = cli("inbox", "--all", "--json").stdout
    assert any(json.loads(line).get("repro_run", "").startswith("warning") for line in inbox.splitlines())


def test_repro_batch_all_and_not_covered(cli, db_path):
    db = _import(cli, db_path, "013.txt", "047.txt", "072.txt")
    ids = [r[0] for r in db.execute("SELECT id FROM reports ORDER BY id")]
    res = cli("repro", *map(str, ids), "99999")
    assert res.exit_code == 1
    assert res.stderr.strip() == "triage: no report with id 99999"
    assert "no mechanism in the simulator covers this report" in res.stdout
    assert "3 reports" not in res.stdout and "4 reports: 2 reproduced (2 failing), 1 not covered" in res.stdout
    every = cli("repro", "--all", "--json", "--no-fixes")
    assert every.exit_code == 0
    got = [json.loads(line) for line in every.stdout.splitlines()]
    # --all takes the reports labelled with a consequence: not the networking GPF labelled other
    assert len(got) == 2 and all(g["covered"] and not g["fixes"] for g in got)


def test_hostile_report_text_reaches_no_terminal_raw(cli, db_path, tmp_path):
    text = shared_data(*LABELLED, "013.txt").read_text().replace("syz-executor.2", "syz\x1b[31mexec[bold]x")
    path = tmp_path / "comm.txt"
    path.write_text(text)
    db = _import(cli, db_path)
    assert cli("import", str(path)).exit_code == 0
    rid = db.execute("SELECT id FROM reports").fetchone()[0]
    res = cli("repro", str(rid))                          # the task name is dropped, the run goes on
    assert res.exit_code == 0 and "outcome: deadlock" in res.stdout and "\x1b" not in res.stdout
    text = text.replace("&ei->xattr_sem", "&ei->x\x1b]0;pwned\x07attr_sem")
    path = tmp_path / "hostile.txt"
    path.write_text(text)
    assert cli("import", str(path)).exit_code == 0
    rid = db.execute("SELECT max(id) FROM reports").fetchone()[0]
    res = cli("repro", str(rid))
    # a lock name carrying control characters is refused by the model's typed parameters, in one line
    assert res.exit_code == 0 and "cannot run with what the report gives" in res.stdout
    assert len(res.stdout.strip().splitlines()) == 1
    shown = cli("show", str(rid)).stdout
    for out in (res.stdout, shown):
        assert "\x1b" not in out and "\x07" not in out


@pytest.mark.parametrize("args", [("repro",), ("repro", "1", "--all")])
def test_repro_usage_errors(cli, db, args):
    res = cli(*args)
    assert res.exit_code == 2 and res.stderr.strip().startswith("triage: give REPORT_ID")


def test_repro_unknown_report_is_one_line_error(cli, db):
    res = cli("repro", "12345")
    assert res.exit_code == 1
    assert res.stderr.strip() == "triage: no report with id 12345"


def test_run_all_for_demo_has_every_applicable_variant():
    runs = run_all_for_demo()
    pairs = {(r["scenario"], r["variant"]) for r in runs}
    assert ("nofail-reclaim", "retry-loop") in pairs and ("stacked-reclaim-deadlock", "io-flusher") in pairs
    assert ("stacked-reclaim-deadlock", "loop-noio") not in pairs          # applies to a loop server only
    assert all(set(r) >= {"scenario", "variant", "params", "seed", "outcome", "evidence", "console", "trace"}
               for r in runs)


# -- the classifier reads a run's console as the outcome says -----------------------------------------------
EXPECTED_LABEL = {"warning": "nofail-warning", "deadlock": "reclaim-deadlock", "crash": "fault-injection"}
DATA_LOSS_LINES = ("Buffer I/O error", "lost async page write", "Data will be lost", "Memory failure:")


@pytest.mark.parametrize(("scenario", "variant", "expected"), [
    ("nofail-reclaim", None, "nofail-warning"), ("nofail-caller", None, "nofail-warning"),
    ("stacked-reclaim-deadlock", None, "reclaim-deadlock"), ("unchecked-alloc-failure", None, "fault-injection"),
    ("fs-reclaim-lockdep", None, "reclaim-deadlock"), ("nfs-rpciod-releasepage", None, "reclaim-deadlock"),
    ("memcg-writeback-wait", None, "reclaim-deadlock"), ("shrinker-lock-inversion", None, "reclaim-deadlock"),
    ("reclaim-guard", None, "reclaim-deadlock"), ("hwpoison-dirty-shmem", None, "data-loss"),
    ("writeback-eio", "as-eio", "data-loss"), ("device-write-errors", None, "data-loss"),
])
def test_classifier_labels_the_console_like_the_outcome(scenario, variant, expected):
    from classifiers import classify

    r = run(scenario, variant)
    assert r.outcome not in ("ok", "error-reported")
    verdict = classify(parse(r.console))
    assert verdict.label == expected, verdict.evidence
