"""The mechanisms of issue 11, each a rule of classifiers/rules.toml, and the rules of a verdict
(classifiers/VERDICTS.md): a consequence label rests on a decisive line of this crash, never on its header.

Real text from ../shared/data where it holds the mechanism (the labelled reports, syzkaller's golden reports);
a minimal console of our own where it holds none (GUP re-dirtying, __alloc_pages_may_oom, the 6.18 WARNING
header, a pasted IO-server stack, injections followed by lockdep or an fs shutdown): each such test says so.
"""

from __future__ import annotations

import pytest

from classifiers.classifier import Classifier
from tests.conftest import shared_data
from triage.report import parse
from vocab.labels import CONSEQUENCE_LABELS

RULES_ONLY = Classifier(use_model=False)


def classify(text: str, clf: Classifier | None = None):
    return (clf or RULES_ONLY).classify(parse(text))


def real(*parts: str) -> str:
    return shared_data(*parts).read_bytes().decode("utf-8", "replace")


def check_evidence(text: str, v) -> None:
    """A consequence verdict names its decisive line: a line of this text, matched as evidence (not the crash
    header), shown first."""
    if v.label not in CONSEQUENCE_LABELS:
        return
    d = v.evidence["decisive"]
    assert d["role"] != "context", d
    assert d["text"] and d["text"] in text, d
    hit = next(h for h in v.evidence["rules"] if h["rule"] == d["rule"])
    assert hit["decisive"] and hit["matches"][0]["text"] == d["text"]


# (input under ../shared/data, label, deciding rule or None when the label is all that matters)
REAL = [
    # corrupted / crafted images refused by the kernel are not data loss; a real disk dropping writes is
    (("labelled", "reports", "042.txt"), "other", None),                  # Data will be lost, error -117
    (("labelled", "reports", "030.txt"), "data-loss", "dl-ext4-data-will-be-lost"),   # -74 on a real disk
    (("labelled", "reports", "032.txt"), "data-loss", "dl-lost-write"),   # loop's backing file failing writes
    (("labelled", "reports", "041.txt"), "data-loss", "dl-lost-write"),   # an eMMC card gone under writes
    (("labelled", "reports", "040.txt"), "data-loss", "dl-lost-write"),   # ext4_end_bio, not the sync writes
    (("labelled", "reports", "038.txt"), "data-loss", "dl-btrfs-lost-write-abort"),
    (("labelled", "reports", "085.txt"), "other", None),                  # a lost write beside an unrelated oops
    # NOFAIL warnings from the allocator sites
    (("labelled", "reports", "001.txt"), "nofail-warning", None),         # PF_MEMALLOC (shrinker) slow path
    (("labelled", "reports", "003.txt"), "nofail-warning", None),         # kswapd, 6.18
    (("labelled", "reports", "005.txt"), "nofail-warning", "nf-rmqueue-order"),   # order > 1 in rmqueue
    (("labelled", "reports", "012.txt"), "nofail-warning", "nf-rmqueue-order"),   # 5.12, rmqueue inlined
    (("labelled", "reports", "008.txt"), "nofail-warning", None),         # no direct reclaim (softirq)
    (("labelled", "reports", "057.txt"), "other", None),                  # 4.15 slow path: order >= MAX_ORDER
    (("labelled", "reports", "058.txt"), "other", None),                  # entry point: order > MAX_PAGE_ORDER
    # fault injection tied to the crash, or not
    (("labelled", "reports", "052.txt"), "fault-injection", "fi-same-task"),
    (("labelled", "reports", "045.txt"), "fault-injection", None),        # a sibling thread, same program
    (("labelled", "reports", "067.txt"), "other", None),                  # injections in other tasks + lockdep
    (("labelled", "reports", "068.txt"), "other", "ot-injection-printing-lockdep"),   # console_owner cycle
    (("labelled", "reports", "069.txt"), "other", None),                  # another PID, after the crash
    (("syzkaller-reports", "report", "200"), "other", None),             # another program's dump interleaved
    (("syzkaller-reports", "report", "229"), "other", None),
    (("syzkaller-reports", "report", "335"), "other", None),
    (("syzkaller-reports", "report", "393"), "other", None),
    # hung tasks and lockdep cycles
    (("labelled", "reports", "025.txt"), "reclaim-deadlock", "rd-hung-in-reclaim"),   # memcg reclaim
    (("labelled", "reports", "026.txt"), "reclaim-deadlock", "rd-hung-in-reclaim"),
    (("labelled", "reports", "075.txt"), "other", "ot-hang-no-reclaim"),
    (("labelled", "reports", "081.txt"), "other", "ot-hang-no-reclaim"),
    (("labelled", "reports", "076.txt"), "other", "ot-lockdep-no-reclaim"),
    (("labelled", "reports", "083.txt"), "other", "ot-lockdep-no-reclaim"),
    (("labelled", "reports", "013.txt"), "reclaim-deadlock", "rd-lockdep-fs-reclaim"),
]


@pytest.mark.parametrize("parts,label,rule", REAL, ids=lambda x: "/".join(x) if isinstance(x, tuple) else None)
def test_mechanism_on_real_text(parts, label, rule):
    text = real(*parts)
    v = classify(text)
    assert v.label == label, (v.label, [h["rule"] for h in v.evidence["rules"]])
    if rule is not None:
        assert rule in {h["rule"] for h in v.evidence["rules"]}
        if label in CONSEQUENCE_LABELS:
            assert v.evidence["decisive"]["rule"] == rule or v.evidence["decided_by"] == "rule"
    check_evidence(text, v)


def test_the_decisive_line_is_not_the_crash_header():
    """040: hung tasks first, then the writes ext4 lost: the verdict is about the lost write, and says so."""
    text = real("labelled", "reports", "040.txt")
    v = classify(text)
    d = v.evidence["decisive"]
    assert "writing to inode" in d["text"] and "blocked for more than" not in d["text"]
    event = v.evidence["event"]
    assert event["kind"] == "log-line" and event["line"] == d["line"] and not event["primary"]
    assert event["primary_crash"]["kind"] == "hang" and event["crashes"] == 5


# -- minimal consoles of our own: shared holds no real text of these mechanisms ----------------------------
GUP_REDIRTY = """\
------------[ cut here ]------------
WARNING: CPU: 1 PID: 8497 at fs/ext4/inode.c:3616 ext4_dirty_folio+0xf4/0x110 fs/ext4/inode.c:3616
Modules linked in:
CPU: 1 PID: 8497 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0
RIP: 0010:ext4_dirty_folio+0xf4/0x110 fs/ext4/inode.c:3616
Call Trace:
 <TASK>
 folio_mark_dirty+0x133/0x150 mm/page-writeback.c:2751
 set_page_dirty_lock+0x8c/0x110 mm/page-writeback.c:2791
 unpin_user_pages_dirty_lock+0x1c8/0x390 mm/gup.c:343
 process_vm_rw_single_vec mm/process_vm_access.c:126 [inline]
 process_vm_rw_core.constprop.0+0x7a2/0xa10 mm/process_vm_access.c:215
 process_vm_rw+0x2e0/0x360 mm/process_vm_access.c:283
 __do_sys_process_vm_writev mm/process_vm_access.c:303 [inline]
 __x64_sys_process_vm_writev+0xe4/0x1c0 mm/process_vm_access.c:298
 do_syscall_64+0x39/0xb0 arch/x86/entry/common.c:80
 entry_SYSCALL_64_after_hwframe+0x63/0xcd
 </TASK>
"""


def test_gup_redirtied_page_is_data_loss():
    """(our own text: shared holds no GUP re-dirtying report) WARNING in ext4_dirty_folio reached from
    unpin_user_pages_dirty_lock: data-loss; the same WARNING from a page fault is not."""
    v = classify(GUP_REDIRTY)
    assert v.label == "data-loss" and v.evidence["decisive"]["rule"] == "dl-gup-redirty"
    assert v.evidence["decisive"]["text"].startswith("set_page_dirty_lock") or \
        "unpin_user_pages_dirty_lock" in v.evidence["decisive"]["text"]
    check_evidence(GUP_REDIRTY, v)
    fault = GUP_REDIRTY.replace("set_page_dirty_lock+0x8c/0x110 mm/page-writeback.c:2791\n unpin_user_pages_dirty_lock"
                                "+0x1c8/0x390 mm/gup.c:343\n", "fault_dirty_shared_page+0x103/0x570 mm/memory.c:3519\n")
    fault = fault.replace("process_vm_rw", "do_wp_page")
    assert classify(fault).label == "other"


MAY_OOM = """\
------------[ cut here ]------------
WARNING: CPU: 0 PID: 5111 at mm/page_alloc.c:3980 __alloc_pages_may_oom mm/page_alloc.c:3980 [inline]
WARNING: CPU: 0 PID: 5111 at mm/page_alloc.c:3980 __alloc_pages_slowpath+0x1d8a/0x2040 mm/page_alloc.c:4432
Modules linked in:
CPU: 0 PID: 5111 Comm: syz-executor.3 Not tainted 6.1.0-syzkaller #0
RIP: 0010:__alloc_pages_may_oom mm/page_alloc.c:3980 [inline]
RIP: 0010:__alloc_pages_slowpath+0x1d8a/0x2040 mm/page_alloc.c:4432
Call Trace:
 <TASK>
 __alloc_pages+0x3d5/0x550 mm/page_alloc.c:5560
 __folio_alloc+0x12/0x40 mm/page_alloc.c:5592
 __page_cache_alloc+0x9f/0x1b0 mm/filemap.c:977
 __filemap_get_folio+0x2c4/0x630 mm/filemap.c:1976
 pagecache_get_page+0x2c/0x280 mm/folio-compat.c:110
 </TASK>
"""


def test_nofail_when_the_oom_killer_made_no_progress():
    """(our own text) WARNING in __page_cache_alloc: the WARN of __alloc_pages_may_oom is the NOFAIL one."""
    v = classify(MAY_OOM)
    assert v.label == "nofail-warning" and "nf-may-oom" in {h["rule"] for h in v.evidence["rules"]}
    check_evidence(MAY_OOM, v)


NEW_FORMAT = """\
------------[ cut here ]------------
WARNING: mm/page_alloc.c:4637 at __alloc_pages_slowpath+0xca5/0xce0 mm/page_alloc.c:4637, CPU#1: kswapd0/88
Modules linked in:
CPU: 1 UID: 0 PID: 88 Comm: kswapd0 Not tainted 6.18.0-syzkaller #0 PREEMPT(full)
RIP: 0010:__alloc_pages_slowpath+0xca5/0xce0 mm/page_alloc.c:4637
Call Trace:
 <TASK>
 __alloc_frozen_pages_noprof+0x319/0x370 mm/page_alloc.c:5161
 alloc_pages_mpol+0x232/0x4a0 mm/mempolicy.c:2416
 folio_alloc_noprof+0x1e/0x30 mm/mempolicy.c:2517
 __filemap_get_folio+0x399/0x830 mm/filemap.c:1981
 ext4_mb_load_buddy_gfp+0x2c8/0xbf0 fs/ext4/mballoc.c:1709
 ext4_discard_preallocations+0x45c/0x1030 fs/ext4/mballoc.c:5660
 ext4_clear_inode+0x31/0x1b0 fs/ext4/super.c:1503
 ext4_evict_inode+0x78e/0xe60 fs/ext4/inode.c:321
 evict+0x4e5/0x920 fs/inode.c:810
 prune_icache_sb+0x21b/0x2c0 fs/inode.c:1000
 super_cache_scan+0x39b/0x4b0 fs/super.c:224
 do_shrink_slab+0x6df/0x10d0 mm/shrinker.c:437
 shrink_slab+0xd74/0x10d0 mm/shrinker.c:664
 balance_pgdat mm/vmscan.c:7034 [inline]
 kswapd+0x1532/0x2c50 mm/vmscan.c:7310
 kthread+0x711/0x8a0 kernel/kthread.c:463
 </TASK>
"""


def test_nofail_in_the_6_18_warning_format():
    """(our own text, the header of 6.18+ kernels: "WARNING: FILE:LINE at FUNC, CPU#N: COMM/PID")"""
    rep = parse(NEW_FORMAT)
    assert rep.crash["kind"] == "warning" and rep.crash["task"] == {"comm": "kswapd0", "pid": 88}
    v = classify(NEW_FORMAT)
    assert v.label == "nofail-warning"
    assert v.evidence["decisive"]["role"] == "evidence"      # a reclaim / NOFAIL-caller frame, not the header
    check_evidence(NEW_FORMAT, v)


def test_nofail_in_a_corrupted_report_with_readable_frames():
    """(our own text) another CPU's lines interleave (syzbot would title it 'WARNING in corrupted'): the
    allocator site and its callers are still readable, so the label stands, with a review flag."""
    lines = NEW_FORMAT.splitlines()
    lines.insert(9, "[  212.584909] loop3: detected capacity change from 0 to 4096")
    lines.insert(12, "BUG: workqueue leaked lock or atomic: kworker/1:2/0x00000000/5120")
    rep = parse("\n".join(lines) + "\n")
    rep.corrupted = True
    v = RULES_ONLY.classify(rep)
    assert v.label == "nofail-warning"


INJECTED_LOCKDEP = """\
[  101.000001][ T4242] FAULT_INJECTION: forcing a failure.
[  101.000001][ T4242] name failslab, interval 1, probability 0, space 0, times 0
[  101.000002][ T4242] CPU: 0 PID: 4242 Comm: syz.1.2 Not tainted 6.8.0-syzkaller #0
[  101.000003][ T4242] Call Trace:
[  101.000003][ T4242]  <TASK>
[  101.000004][ T4242]  dump_stack_lvl+0x100/0x200 lib/dump_stack.c:100
[  101.000005][ T4242]  should_fail_ex+0x300/0x400 lib/fault-inject.c:150
[  101.000006][ T4242]  should_failslab+0x10/0x20 mm/failslab.c:40
[  101.000007][ T4242]  kmem_cache_alloc_noprof+0x60/0x300 mm/slub.c:4000
[  101.000008][ T4242]  zork_alloc_ctx+0x30/0x100 fs/zork/ctx.c:50
[  101.000009][ T4242]  zork_ioctl+0x300/0x800 fs/zork/ioctl.c:900
[  101.000010][ T4242]  </TASK>
[  101.000020][ T4242] ================================================
[  101.000021][ T4242] WARNING: lock held when returning to user space!
[  101.000022][ T4242] 6.8.0-syzkaller #0 Not tainted
[  101.000023][ T4242] ------------------------------------------------
[  101.000024][ T4242] syz.1.2/4242 is leaving the kernel with locks still held!
[  101.000025][ T4242] 1 lock held by syz.1.2/4242:
[  101.000026][ T4242]  #0: ffff8880 (&zi->ctx_lock){+.+.}-{3:3}, at: zork_ioctl+0x120/0x800 fs/zork/ioctl.c:870
"""


def test_injection_then_lockdep_in_the_same_task():
    """(our own text) an injected failure, then lockdep in the same PID: the error path kept a lock."""
    v = classify(INJECTED_LOCKDEP)
    assert v.label == "fault-injection" and v.evidence["decisive"]["rule"] == "fi-lockdep-same-task"
    assert v.evidence["decisive"]["text"].startswith("FAULT_INJECTION")
    check_evidence(INJECTED_LOCKDEP, v)
    other = INJECTED_LOCKDEP.replace("T4242] FAULT_INJ", "T777] FAULT_INJ").replace("T4242] name", "T777] name")
    other = other.replace("T4242] CPU: 0 PID: 4242 Comm: syz.1.2", "T777] CPU: 0 PID: 777 Comm: syz.3.4")
    assert classify(other).label == "other"


INJECTED_SHUTDOWN = """\
[   63.733438][ T5321] FAULT_INJECTION: forcing a failure.
[   63.733438][ T5321] name failslab, interval 1, probability 0, space 0, times 0
[   63.733440][ T5321] CPU: 1 PID: 5321 Comm: syz.0.0 Not tainted 6.11.0-syzkaller #0
[   63.733441][ T5321] Call Trace:
[   63.733442][ T5321]  <TASK>
[   63.733443][ T5321]  should_fail_ex+0x300/0x400 lib/fault-inject.c:150
[   63.733444][ T5321]  should_failslab+0x10/0x20 mm/failslab.c:40
[   63.733445][ T5321]  kmem_cache_alloc_noprof+0x60/0x300 mm/slub.c:4000
[   63.733446][ T5321]  xfs_trans_alloc+0x30/0x100 fs/xfs/xfs_trans.c:250
[   63.733447][ T5321]  </TASK>
[   63.733500][ T5321] XFS (loop0): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x4e0/0x5f0 \
fs/xfs/xfs_trans.c:1097.  Shutting down filesystem.
[   63.733501][ T5321] XFS (loop0): Please unmount the filesystem and rectify the problem(s)
"""


def test_injection_then_fs_shutdown_on_the_error_path():
    """(our own text) no crash header: the injected failure, then the same task's filesystem shuts down."""
    v = classify(INJECTED_SHUTDOWN)
    assert v.label == "fault-injection" and v.evidence["decisive"]["rule"] == "fi-fs-shutdown"
    check_evidence(INJECTED_SHUTDOWN, v)
    assert classify(INJECTED_SHUTDOWN.replace("[ T5321] XFS", "[ T6000] XFS")).label == "other"


HUNG = """\
INFO: task kworker/u4:3:123 blocked for more than 143 seconds.
      Not tainted 6.6.0-syzkaller #0
"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
task:kworker/u4:3     state:D stack:25000 pid:123   ppid:2      flags:0x00004000
Workqueue: writeback wb_workfn (flush-7:0)
Call Trace:
 <TASK>
 context_switch kernel/sched/core.c:5376 [inline]
 __schedule+0x1961/0x4ab0 kernel/sched/core.c:6688
 schedule+0x149/0x260 kernel/sched/core.c:6764
 io_schedule+0x8c/0x100 kernel/sched/core.c:8998
 folio_wait_bit_common+0x86d/0x12c0 mm/filemap.c:1301
 {WAIT}
 </TASK>

Showing all locks held in the system:
1 lock held by kswapd0/89:
 #0: ffffffff8d6d7e00 (fs_reclaim){+.+.}-{0:0}, at: balance_pgdat+0x1a0/0x1000 mm/vmscan.c:6900
1 lock held by kworker/u4:3/123:
 #0: ffff888012e8e938 (&sbi->s_writepages_rwsem){++++}-{0:0}, at: ext4_writepages+0x1ab/0x3e0 fs/ext4/inode.c:2780
"""


def test_hung_task_is_reclaim_deadlock_only_when_its_own_stack_reclaims():
    """(our own text) reclaim frames only in the 'locks held' list do not count; in the stack they do."""
    ordinary = HUNG.replace(" {WAIT}\n", " mpage_prepare_extent_to_map+0x1a0/0x900 fs/ext4/inode.c:2600\n"
                                       " ext4_writepages+0x1ab/0x3e0 fs/ext4/inode.c:2780\n")
    v = classify(ordinary)
    assert v.label == "other" and "ot-hang-no-reclaim" in {h["rule"] for h in v.evidence["rules"]}
    in_reclaim = HUNG.replace(" {WAIT}\n", " shrink_folio_list+0x1f5/0x3a50 mm/vmscan.c:1402\n"
                                         " shrink_node+0x9a1/0x1e90 mm/vmscan.c:6425\n"
                                         " try_to_free_pages+0x36a/0x8b0 mm/vmscan.c:6853\n"
                                         " __alloc_pages_slowpath+0x8ee/0x1fd0 mm/page_alloc.c:4120\n")
    v = classify(in_reclaim)
    assert v.label == "reclaim-deadlock" and v.evidence["decisive"]["rule"] == "rd-hung-in-reclaim"
    check_evidence(in_reclaim, v)


PASTED_IO_SERVER = """\
tcmu-runner     D    0  4242      1 0x00000000
Call Trace:
 __schedule+0x2a0/0x860
 schedule+0x32/0x80
 schedule_timeout+0x1d8/0x300
 wait_for_completion+0x11f/0x190
 xfs_buf_iowait+0x2f/0xe0 [xfs]
 __xfs_buf_submit+0x11a/0x240 [xfs]
 xfs_bwrite+0x25/0x60 [xfs]
 xfs_reclaim_inode+0x309/0x330 [xfs]
 xfs_reclaim_inodes_ag+0x1b1/0x300 [xfs]
 xfs_reclaim_inodes_nr+0x31/0x40 [xfs]
 super_cache_scan+0x156/0x1a0
 do_shrink_slab+0x128/0x290
 shrink_slab+0x233/0x2b0
 shrink_node+0xe6/0x460
 do_try_to_free_pages+0xc6/0x370
 try_to_free_pages+0xf5/0x1c0
 __alloc_pages_slowpath+0x3aa/0xdc0
 __alloc_pages_nodemask+0x297/0x2c0
 pagecache_get_page+0xbc/0x2b0
 grab_cache_page_write_begin+0x1f/0x40
 ext4_da_write_begin+0xd0/0x450 [ext4]
 generic_perform_write+0xb6/0x1b0
 __generic_file_write_iter+0x170/0x1b0
 ext4_file_write_iter+0x1f7/0x3f0 [ext4]
 new_sync_write+0x125/0x1c0
 vfs_write+0xc2/0x1b0
 ksys_pwrite64+0x6d/0xa0
 do_syscall_64+0x55/0x1a0
"""


def test_pasted_io_server_stack_waiting_in_reclaim():
    """(our own text, the shape of kernel-semantics.md S2) a userspace IO server's stack pasted without a
    header, waiting for IO from inside reclaim: reclaim-deadlock."""
    v = classify(PASTED_IO_SERVER)
    assert v.label == "reclaim-deadlock" and v.evidence["decisive"]["rule"] == "rd-pasted-reclaim-io-wait"
    check_evidence(PASTED_IO_SERVER, v)


def test_lost_write_after_a_panic_is_about_the_lost_write():
    """(our own text) the panic header is not evidence: the lost write is, and the verdict says the panic is
    the primary crash it is not about."""
    text = ("Buffer I/O error on dev sdb1, logical block 256, lost async page write\n"
            "EXT4-fs error (device sdb1): ext4_journal_check_start:84: Detected aborted journal\n"
            "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n")
    v = classify(text)
    assert v.label == "data-loss"
    assert v.evidence["decisive"]["text"].startswith("Buffer I/O error") and v.evidence["decisive"]["line"] == 1
    assert v.evidence["event"]["kind"] == "log-line" and v.evidence["event"]["primary_crash"]["kind"] == "panic"


@pytest.mark.parametrize("line", [
    '+\t\t\t"lost page write due to IO error on %s (%d)",',
    '\tprintk(KERN_WARNING "Buffer I/O error on dev %pg, logical block %llu, lost async page write\\n",',
    '-\tbuffer_io_error(bh, ", lost async page write");',
    'We keep seeing "Buffer I/O error on dev sda1, logical block 0, lost async page write" on this box.',
    '+		ext4_msg(sb, KERN_CRIT, "This should not happen!! Data will be lost");',
])
def test_source_and_quotations_are_never_evidence(line):
    """A diff hunk, quoted source, a format string or a quotation in prose gives no marker and no label."""
    rep = parse(line + "\n")
    assert not [m for m in rep.markers if m["kind"] in ("lost-write", "data-will-be-lost")], rep.markers
    assert classify(line + "\n").label == "other"


class _Model:
    """A model that always ranks data-loss first (the combiner's rules do not depend on what it learned)."""

    version = "test"
    classes = ["data-loss", "fault-injection", "nofail-warning", "other", "reclaim-deadlock"]

    def predict_proba(self, feats):
        return [[0.9, 0.02, 0.02, 0.04, 0.02] for _ in feats]


def test_a_model_alone_suggests_and_flags_but_never_labels():
    clf = Classifier(model=_Model())
    text = ("INFO: task syz:1 blocked for more than 143 seconds.\nCall Trace:\n"
            " schedule+0x1/0x2 kernel/sched/core.c:1\n p9_fd_close+0x1/0x2 net/9p/trans_fd.c:1\n")
    v = clf.classify(parse(text))
    assert (v.label, v.needs_review, v.evidence["decided_by"]) == ("other", True, "rule")
    bare = "some text a maintainer pasted\nwith no kernel line at all\n"
    v = clf.classify(parse(bare))
    assert v.label == "other" and v.needs_review
    nothing = " zork_thing+0x1/0x2 fs/zork/a.c:1\n zork_other+0x1/0x2 fs/zork/b.c:2\n"
    v = clf.classify(parse(nothing))
    assert v.label == "other" and v.needs_review
    assert v.evidence["decided_by"] == "suggestion" and v.evidence["suggestion"]["label"] == "data-loss"


class _Prefers(_Model):
    """A model that ranks ``label`` first."""

    def __init__(self, label: str):
        self.label = label

    def predict_proba(self, feats):
        return [[0.9 if c == self.label else 0.025 for c in self.classes] for _ in feats]


# (our own text) a lock-order cycle between two filesystem locks, no fs_reclaim, no reclaim frame
ABBA = """WARNING: possible circular locking dependency detected
syz-executor.0/5000 is trying to acquire lock:
ffff888012345678 (&sb->s_type->i_mutex_key#10){+.+.}-{3:3}, at: zork_setattr+0x1/0x2 fs/zork/inode.c:10

but task is already holding lock:
ffff888087654321 (&zi->lock){+.+.}-{3:3}, at: zork_write+0x1/0x2 fs/zork/file.c:20

the existing dependency chain (in reverse order) is:

-> #1 (&zi->lock){+.+.}-{3:3}:
       __mutex_lock+0x1/0x2 kernel/locking/mutex.c:603
       zork_write+0x1/0x2 fs/zork/file.c:20

-> #0 (&sb->s_type->i_mutex_key#10){+.+.}-{3:3}:
       down_write+0x1/0x2 kernel/locking/rwsem.c:1573
       zork_setattr+0x1/0x2 fs/zork/inode.c:10

stack backtrace:
CPU: 0 PID: 5000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0
Call Trace:
 zork_setattr+0x1/0x2 fs/zork/inode.c:10
 notify_change+0x1/0x2 fs/attr.c:482
"""


def test_a_rule_that_rules_a_label_out_is_not_doubted_by_a_model_preferring_it():
    """LABELS.md: a lockdep cycle with no reclaim edge is no reclaim-deadlock. When the rule that establishes that
    decides, a model ranking reclaim-deadlock first does not flag the verdict nor lower its confidence (the
    preference is kept, ruled out); a model ranking a label the rule does not rule out still flags it."""
    rep = parse(ABBA)
    v = Classifier(model=_Prefers("reclaim-deadlock")).classify(rep)
    assert (v.label, v.confidence, v.needs_review) == ("other", 0.85, False)
    assert v.evidence["excluded"]["label"] == "reclaim-deadlock"
    assert v.evidence["excluded"]["rule"] == "ot-lockdep-no-reclaim"
    v = Classifier(model=_Prefers("data-loss")).classify(rep)
    assert v.label == "other" and v.needs_review and "excluded" not in v.evidence and v.confidence < 0.85


def test_a_lost_sync_page_write_alone_is_a_returned_error_not_data_loss():
    """(our own text, the shape of a journal replay that failed on a dying device) Only a synchronous write was
    lost: the writer got the error and refused the mount. A model that ranks data-loss first is ruled out; the same
    log with an asynchronous lost write is data-loss."""
    log = ("REISERFS (device dm-1): checking transaction log (dm-1)\n"
           "blk_update_request: I/O error, dev loop5, sector 65936 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0\n"
           "Buffer I/O error on dev dm-1, logical block 8210, lost sync page write\n"
           "REISERFS warning (device dm-1): journal-837 _update_journal_header_block: IO error during journal replay\n"
           "REISERFS warning (device dm-1): reiserfs-2006 journal_init: Replay Failure, unable to mount\n")
    v = Classifier(model=_Prefers("data-loss")).classify(parse(log))
    assert (v.label, v.needs_review, v.evidence["excluded"]["rule"]) == ("other", False, "ot-sync-write-error")
    assert "lost sync page write" in v.evidence["decisive"]["text"]
    assert classify(log.replace("lost sync page write", "lost async page write")).label == "data-loss"


def test_a_divide_error_is_a_crash_of_the_console_reading():
    """(our own text, the shape of syzbot's reiserfs reports) A "divide error:" trap names its crash as the title does
    ("divide error in f"): the console reading has it as the primary crash (an oops) with its function and task, and
    the rule for an ordinary crash decides it, not the model alone."""
    text = ("divide error: 0000 [#1] PREEMPT SMP KASAN\n"
            "CPU: 1 PID: 6731 Comm: syz-executor.2 Not tainted 6.5.0-syzkaller #0\n"
            "RIP: 0010:flush_journal_list+0x1/0x2 fs/reiserfs/journal.c:1592\n"
            "Call Trace:\n <TASK>\n flush_used_journal_lists+0x1/0x2 fs/reiserfs/journal.c:1728\n"
            " do_journal_end+0x1/0x2 fs/reiserfs/journal.c:4023\n </TASK>\n")
    rep = parse(text)
    assert rep.title == "divide error in flush_journal_list"
    crash = rep.to_dict()["crash"]
    assert (crash["kind"], crash["function"], crash["task"]["pid"]) == ("oops", "flush_journal_list", 6731)
    v = classify(text)
    assert (v.label, v.evidence["decided_by"]) == ("other", "rule")
    assert any(h["rule"] == "ot-crash-without-markers" for h in v.evidence["rules"])


def test_iomap_writeback_error_is_a_lost_write():
    """(our own text) iomap ends the folios of a failed writeback clean: the data waits only for an fsync."""
    text = ("blk_update_request: I/O error, dev sdc, sector 1024 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0\n"
            "sdc1: writeback error on inode 131, offset 0, sector 1024\n")
    v = classify(text)
    assert v.label == "data-loss" and "writeback error on inode 131" in v.evidence["decisive"]["text"]
    assert classify(text.replace("sdc1:", "loop0:").replace("dev sdc", "dev loop0").replace(
        "blk_update_request", "XFS (loop0): Metadata corruption detected at xfs_agf_verify+0x1/0x2\n"
        "blk_update_request")).label == "other"          # a crafted image's corruption came first
