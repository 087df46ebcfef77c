"""The rules engine: the condition language, rules-file validation, and verdicts on small synthetic reports."""

from __future__ import annotations

import pytest

from classifiers.classifier import Classifier
from classifiers.rules import RuleError, RuleSet
from classifiers.view import ReportView
from triage.report import parse

LOCKDEP_FS_RECLAIM = """\
======================================================
WARNING: possible circular locking dependency detected
6.9.0 #1 Not tainted
------------------------------------------------------
kswapd0/91 is trying to acquire lock:
ffff8880 (&foo_inode_lock){++++}-{3:3}, at: foo_evict_inode+0x40/0x200 fs/foo/inode.c:120

but task is already holding lock:
ffffffff (fs_reclaim){+.+.}-{0:0}, at: balance_pgdat+0x1a0/0x1000 mm/vmscan.c:6900

-> #1 (fs_reclaim){+.+.}-{0:0}:
       fs_reclaim_acquire+0x10/0x20 mm/page_alloc.c:3800
       kmalloc_trace+0x30/0x100 mm/slub.c:4000
       foo_setattr+0x50/0x300 fs/foo/inode.c:400

-> #0 (&foo_inode_lock){++++}-{3:3}:
       down_write+0x20/0x60 kernel/locking/rwsem.c:1500
       foo_evict_inode+0x40/0x200 fs/foo/inode.c:120

stack backtrace:
CPU: 1 PID: 91 Comm: kswapd0 Not tainted 6.9.0 #1
Call Trace:
 <TASK>
 down_write+0x20/0x60 kernel/locking/rwsem.c:1500
 foo_evict_inode+0x40/0x200 fs/foo/inode.c:120
 evict+0x100/0x300 fs/inode.c:700
 prune_icache_sb+0x80/0x100 fs/inode.c:1000
 super_cache_scan+0x100/0x200 fs/super.c:220
 do_shrink_slab+0x100/0x300 mm/shrinker.c:430
 shrink_slab+0x100/0x300 mm/shrinker.c:600
 balance_pgdat+0x1a0/0x1000 mm/vmscan.c:6900
 kswapd+0x100/0x300 mm/vmscan.c:7100
 </TASK>
"""

LOCKDEP_PLAIN = LOCKDEP_FS_RECLAIM.replace("fs_reclaim", "&bar_mutex").replace(
    "balance_pgdat", "bar_ioctl").replace("prune_icache_sb", "bar_work").replace("super_cache_scan", "bar_fn").replace(
    "do_shrink_slab", "bar_call").replace("shrink_slab", "bar_do").replace("kswapd+", "bar_thread+")

IRQ_FS_RECLAIM = """\
================================
WARNING: inconsistent lock state
6.1.0 #1 Not tainted
--------------------------------
inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.
ksoftirqd/1/20 [HC0[0]:SC1[1]:HE1:SE0] takes:
ffff (fs_reclaim){+.?.}-{0:0}, at: fs_reclaim_acquire+0x10/0x20 mm/page_alloc.c:3800
{SOFTIRQ-ON-W} state was registered at:
  fs_reclaim_acquire+0x10/0x20 mm/page_alloc.c:3800
"""

NOFAIL_FROM_KSWAPD = """\
------------[ cut here ]------------
WARNING: CPU: 2 PID: 88 at mm/page_alloc.c:4400 __alloc_pages_slowpath+0x900/0xa00 mm/page_alloc.c:4400
CPU: 2 PID: 88 Comm: kswapd0 Not tainted 6.10.0 #1
RIP: 0010:__alloc_pages_slowpath+0x900/0xa00 mm/page_alloc.c:4400
Call Trace:
 <TASK>
 __alloc_pages_noprof+0x300/0x400 mm/page_alloc.c:4700
 folio_alloc_noprof+0x20/0x40 mm/mempolicy.c:2300
 __filemap_get_folio+0x200/0x400 mm/filemap.c:1900
 quux_read_meta+0x60/0x200 fs/quux/meta.c:88
 quux_evict_inode+0x40/0x200 fs/quux/inode.c:120
 evict+0x100/0x300 fs/inode.c:700
 prune_icache_sb+0x80/0x100 fs/inode.c:1000
 super_cache_scan+0x100/0x200 fs/super.c:220
 shrink_slab+0x100/0x300 mm/shrinker.c:600
 balance_pgdat+0x1a0/0x1000 mm/vmscan.c:6900
 kswapd+0x100/0x300 mm/vmscan.c:7100
 </TASK>
"""

INJECTED = """\
FAULT_INJECTION: forcing a failure.
name failslab, interval 1, probability 0, space 0, times 0
CPU: 0 PID: 4242 Comm: syz.1.2 Not tainted 6.8.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x100/0x200 lib/dump_stack.c:100
 should_fail_ex+0x300/0x400 lib/fault-inject.c:150
 should_failslab+0x10/0x20 mm/failslab.c:40
 kmem_cache_alloc_noprof+0x60/0x300 mm/slub.c:4000
 zork_alloc_ctx+0x30/0x100 fs/zork/ctx.c:50
 zork_fill_super+0x300/0x800 fs/zork/super.c:900
 </TASK>
BUG: kernel NULL pointer dereference, address: 0000000000000008
CPU: 0 PID: 4242 Comm: syz.1.2 Not tainted 6.8.0 #1
RIP: 0010:zork_put_ctx+0x10/0x50 fs/zork/ctx.c:80
Call Trace:
 <TASK>
 zork_put_ctx+0x10/0x50 fs/zork/ctx.c:80
 zork_fill_super+0x400/0x800 fs/zork/super.c:950
 </TASK>
"""

LOST_WRITE = """\
[  100.000000] blk_update_request: I/O error, dev sdb, sector 2048 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0
[  100.000100] Buffer I/O error on dev sdb1, logical block 256, lost async page write
"""


def verdict(text: str, classifier: Classifier | None = None):
    clf = classifier or Classifier(use_model=False)
    return clf.classify(parse(text))


@pytest.mark.parametrize("text,label", [
    (LOCKDEP_FS_RECLAIM, "reclaim-deadlock"),
    (LOCKDEP_PLAIN, "other"),
    (IRQ_FS_RECLAIM, "other"),
    (NOFAIL_FROM_KSWAPD, "nofail-warning"),
    (INJECTED, "fault-injection"),
    (LOST_WRITE, "data-loss"),
])
def test_rules_decide_synthetic_reports(text, label):
    v = verdict(text)
    assert v.label == label, v.evidence
    assert v.evidence["decided_by"] == "rule"


def test_injection_in_another_task_does_not_count():
    text = INJECTED.replace("CPU: 0 PID: 4242 Comm: syz.1.2 Not tainted 6.8.0 #1\nRIP", "CPU: 1 PID: 777 Comm: "
                            "syz.3.4 Not tainted 6.8.0 #1\nRIP").replace("zork_fill_super+0x400", "other_path+0x400")
    v = verdict(text)
    assert v.label == "other"
    assert [h["rule"] for h in v.evidence["rules"]] == ["ot-unrelated-injection"]


def test_evidence_names_the_matching_lines():
    v = verdict(LOCKDEP_FS_RECLAIM)
    hit = next(h for h in v.evidence["rules"] if h["rule"] == "rd-lockdep-fs-reclaim")
    texts = [m["text"] for m in hit["matches"]]
    assert "WARNING: possible circular locking dependency detected" in texts
    assert any("(fs_reclaim)" in t for t in texts)
    for m in hit["matches"]:
        assert LOCKDEP_FS_RECLAIM.splitlines()[m["line"] - 1].strip() == m["text"]


def test_precedence_when_two_labels_fire():
    # a lost write (data-loss) in a log whose only crash is a hang with reclaim frames (reclaim-deadlock)
    hang = ("INFO: task kworker/1:1:55 blocked for more than 143 seconds.\nCall Trace:\n"
            " schedule+0x10/0x20 kernel/sched/core.c:6000\n io_schedule+0x10/0x20 kernel/sched/core.c:8000\n"
            " folio_wait_bit+0x10/0x20 mm/filemap.c:1300\n shrink_folio_list+0x10/0x20 mm/vmscan.c:1200\n"
            " shrink_node+0x10/0x20 mm/vmscan.c:5900\n try_to_free_pages+0x10/0x20 mm/vmscan.c:6600\n")
    v = verdict(hang + LOST_WRITE)
    fired = {h["label"] for h in v.evidence["rules"]}
    assert {"data-loss", "reclaim-deadlock"} <= fired
    assert v.label == "data-loss"


def test_view_reads_mail_quoted_and_wrapped_text():
    quoted = "\n".join("> " + line for line in NOFAIL_FROM_KSWAPD.splitlines())
    view = ReportView.build(parse(quoted))
    assert view.crash_kind == "warning"
    assert view.crash_function == "__alloc_pages_slowpath"
    assert view.crash_comm == "kswapd0"
    wrapped = "EXT4-fs (sda1): failed to convert unwritten extents to written extents --\npotential data loss!  " \
              "(inode 12, error -5)\n"
    assert verdict(wrapped).label == "data-loss"


@pytest.mark.parametrize("bad,message", [
    ({"rules": [{"id": "x", "label": "other", "confidence": 0.9, "why": "w", "when": {"nonsense": 1}}]},
     "unknown condition"),
    ({"rules": [{"id": "x", "label": "other", "confidence": 0.9, "why": "w", "when": {"lock": "("}}]}, "bad regex"),
    ({"rules": [{"id": "x", "label": "other", "confidence": 0.9, "why": "w",
                 "when": {"crash_function": ["@nosuchset"]}}]}, "unknown set"),
    ({"rules": [{"id": "x", "label": "sad", "confidence": 0.9, "why": "w", "when": {}}]}, "unknown label"),
    ({"rules": [{"id": "x", "label": "other", "when": {}}]}, "lacks"),
    # one vocabulary: a marker kind, crash kind or stack the parser does not produce is an error, not a no-op
    ({"rules": [{"id": "x", "label": "other", "confidence": 0.9, "why": "w",
                 "when": {"marker": {"kind": "lost_async_page_write"}}}]}, "unknown marker kind"),
    ({"rules": [{"id": "x", "label": "other", "confidence": 0.9, "why": "w", "when": {"crash": ["WARNING"]}}]},
     "unknown crash kind"),
    ({"rules": [{"id": "x", "label": "other", "confidence": 0.9, "why": "w",
                 "when": {"frames": {"stack": "task", "any": ["f"]}}}]}, "unknown stack"),
])
def test_rules_file_is_validated(bad, message):
    with pytest.raises(RuleError, match=message):
        RuleSet(bad)


def test_shipped_rules_are_general():
    rules = RuleSet.load()
    assert len(rules.rules) >= 20
    # every rule explains itself, and no rule is keyed to a report (syzbot ids, hashes, file names)
    import re

    for rule in rules.rules:
        assert len(rule.why) > 30
        assert not re.search(r"[0-9a-f]{12,}|reports/|\.txt", repr(rule.when)), rule.id


def _rule(rid: str, when: dict) -> dict:
    return {"id": rid, "label": "other", "confidence": 0.5, "why": "w", "when": when}


def test_compiled_tables_keep_their_evidence_order():
    # the engine tests a table's cheap primitives first (lock before frames); the evidence stays in table order
    view = ReportView.build(parse(LOCKDEP_FS_RECLAIM))
    frames = {"stack": "any", "any": ["prune_icache_sb"]}
    rules = RuleSet({"rules": [_rule("frames-first", {"frames": frames, "lock": "fs_reclaim"}),
                               _rule("lock-first", {"lock": "fs_reclaim", "frames": frames}),
                               _rule("fails-late", {"lock": "fs_reclaim", "frames": {"any": ["nowhere"]}})]})
    hits = {h.rule.id: [e["kind"] for e in h.evidence] for h in rules.evaluate(view)}
    assert set(hits) == {"frames-first", "lock-first"}
    assert hits["frames-first"][0] == "frame" and hits["frames-first"][1:] == ["line"] * (len(hits["frames-first"]) - 1)
    assert hits["lock-first"][-1] == "frame" and set(hits["lock-first"][:-1]) == {"line"}


def test_named_condition_evidence_belongs_to_each_hit():
    view = ReportView.build(parse(LOCKDEP_FS_RECLAIM))
    rules = RuleSet({"conditions": {"reclaim_lock": {"lock": "fs_reclaim"}},
                     "rules": [_rule("a", {"cond": "reclaim_lock"}), _rule("b", {"cond": "reclaim_lock"})]})
    a, b = rules.evaluate(view)
    assert a.evidence == b.evidence and a.evidence
    a.evidence[0]["text"] = "changed"
    assert b.evidence[0]["text"] != "changed"


def test_rules_are_chosen_by_crash_kind():
    view = ReportView.build(parse(LOCKDEP_FS_RECLAIM))
    rules = RuleSet({"rules": [_rule("lockdep", {"crash": ["lockdep-circular"], "lock": "fs_reclaim"}),
                               _rule("hang", {"crash": ["hang"], "lock": "fs_reclaim"}),
                               _rule("any", {"lock": "fs_reclaim"})]})
    assert [h.rule.id for h in rules.evaluate(view)] == ["lockdep", "any"]
    view.crash_kind = "a-kind-no-rule-names"
    assert [h.rule.id for h in rules.evaluate(view)] == ["any"]


def test_a_pickled_classifier_gives_the_same_verdicts():
    """A worker pool receives the classifier pickled: the compiled rules (closures) are rebuilt from their
    table where it lands, and classify exactly as the original."""
    import json
    import pickle
    from dataclasses import asdict

    from classifiers.classifier import default_classifier
    from tests.conftest import shared_data
    from triage.report.golden import golden_files, read_golden

    original = default_classifier()
    copy = pickle.loads(pickle.dumps(original))
    reports = [parse(read_golden(p).log) for p in golden_files(shared_data("syzkaller-reports", "report"))[:60]]
    reports = [r for r in reports if r.title]
    assert reports

    def dump(clf):
        return [json.dumps(asdict(v), sort_keys=True, default=str) for v in clf.classify_many(reports)]

    assert dump(copy) == dump(original)


def test_a_name_sets_first_is_the_first_name_in_it_from_a_start():
    """``NameSet.first`` (the frames primitive's search): the index of the first name of ``names[start:]`` the
    set holds by name or glob, -1 when none; names seen before and new ones, empty names in no set; the same
    answers after its memory was cleared."""
    from classifiers.rules import NameSet

    ns = NameSet(["schedule", "wait_for_completion*", "*_iowait"])
    names = ["", "foo", "bar_iowait", "schedule", None, "wait_for_completion_timeout", "baz"]
    want = [2, 2, 2, 3, 5, 5, -1, -1]
    assert [ns.first(names, s) for s in range(len(names) + 1)] == want
    assert [ns.first(names, s) for s in range(len(names) + 1)] == want     # from what it remembers
    assert "foo" not in ns and "bar_iowait" in ns and "" not in ns
    ns._clear()
    assert [ns.first(names, s) for s in reversed(range(len(names) + 1))] == want[::-1]
    assert ns.first([]) == -1 and ns.first(["x"] * 3) == -1
