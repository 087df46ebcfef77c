"""Stacks and lockdep locks over real reports (../shared/data), plus the wrappers real input comes in."""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from tests import work
from tests.conftest import shared_data
from triage.report.stacks import extract_frames, lockdep_locks


def _read(*parts: str) -> str:
    return shared_data(*parts).read_text(errors="replace")


def _stacks(frames) -> OrderedDict[str, list[str]]:
    out: OrderedDict[str, list[str]] = OrderedDict()
    for f in frames:
        out.setdefault(f.stack, []).append(f.function)
    return out


def test_lockdep_circular_chain_links_and_crash():
    text = _read("labelled", "reports", "013.txt")
    st_ = _stacks(extract_frames(text))
    assert list(st_) == ["lockdep-chain-2", "lockdep-chain-1", "lockdep-chain-0", "crash"]
    assert st_["lockdep-chain-2"][:2] == ["__fs_reclaim_acquire", "fs_reclaim_acquire"]
    assert st_["lockdep-chain-1"][0] == "down_write"
    assert "super_cache_scan" in st_["lockdep-chain-0"]
    assert st_["crash"][0] == "__dump_stack"
    # lock lines (" #0: ... at: ksys_write+0x12b/0x250") are not frames
    assert "ksys_write" not in st_["crash"] or st_["crash"].count("ksys_write") == 1


def test_lockdep_locks_circular():
    locks = lockdep_locks(_read("labelled", "reports", "013.txt"))
    by_role: dict[str, list[dict]] = {}
    for d in locks:
        by_role.setdefault(d["role"], []).append(d)
    assert by_role["acquiring"][0]["lock"] == "jbd2_handle"
    assert by_role["acquiring"][0]["at"] == "start_this_handle"
    assert by_role["holding"][0]["lock"] == "fs_reclaim"
    assert by_role["holding"][0]["state"] == "+.+."
    assert by_role["holding"][0]["wait"] == "0:0"
    assert [(d["link"], d["lock"]) for d in by_role["chain"]] == [
        (2, "fs_reclaim"), (1, "&ei->xattr_sem"), (0, "jbd2_handle")]
    assert by_role["chain-exists"][0]["locks"] == ["jbd2_handle", "&ei->xattr_sem", "fs_reclaim"]
    scen = [(d["cpu"], d["lock"]) for d in by_role["scenario"]]
    assert scen == [(0, "fs_reclaim"), (1, "&ei->xattr_sem"), (1, "fs_reclaim"), (0, "jbd2_handle")]
    held = by_role["held"]
    assert [d["index"] for d in held] == [0, 1, 2, 3, 4]          # inline repeats of #1/#2/#4 folded
    assert held[2]["lock"] == "fs_reclaim" and held[2]["task"] == {"comm": "syz-executor.2", "pid": 11953}


def test_inconsistent_lock_state_usage():
    text = _read("labelled", "reports", "063.txt")
    locks = lockdep_locks(text)
    usage = [d for d in locks if d["role"] == "usage"]
    assert usage == [{"lineno": 5, "line": "inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.", "role": "usage",
                      "from": "SOFTIRQ-ON-W", "to": "IN-SOFTIRQ-W"}]
    inc = [d for d in locks if d["role"] == "inconsistent"]
    assert len(inc) == 1 and inc[0]["lock"] == "fs_reclaim" and inc[0]["state"] == "+.?."
    assert {"lineno": 12, "line": "{SOFTIRQ-ON-W} state was registered at:", "role": "registered",
            "state": "SOFTIRQ-ON-W"} in locks
    assert "lockdep-usage:SOFTIRQ-ON-W" in _stacks(extract_frames(text))


def test_reclaim_fs_usage_states_synthetic_old_format():
    # the pre-4.14 form (no fs_reclaim pseudo-lock): lock names and usage states still come out
    text = (
        "=================================\n"
        "[ INFO: inconsistent lock state ]\n"
        "inconsistent {IN-RECLAIM_FS-W} -> {RECLAIM_FS-ON-W} usage.\n"
        "kswapd0/711 [HC0[0]:SC0[0]:HE1:SE1] takes:\n"
        " (&xfs_dir_ilock_class){++++-+}, at: [<ffffffff81361a2d>] xfs_ilock+0x16d/0x1c0\n"
        "{IN-RECLAIM_FS-W} state was registered at:\n"
        "  [<ffffffff810a1b7c>] lock_acquire+0xdc/0x1d0\n"
        "  [<ffffffff81361a2d>] xfs_ilock+0x16d/0x1c0\n"
        "  [<ffffffff8134f8a3>] xfs_reclaim_inode+0x33/0x330\n"
    )
    locks = lockdep_locks(text)
    assert locks[0] == {"lineno": 3, "line": text.splitlines()[2], "role": "usage", "from": "IN-RECLAIM_FS-W",
                        "to": "RECLAIM_FS-ON-W"}
    assert locks[1]["lock"] == "&xfs_dir_ilock_class" and locks[1]["at"] == "xfs_ilock"
    st_ = _stacks(extract_frames(text))
    assert st_["lockdep-usage:IN-RECLAIM_FS-W"] == ["lock_acquire", "xfs_ilock", "xfs_reclaim_inode"]


def test_hung_task_old_format_other_task():
    st_ = _stacks(extract_frames(_read("labelled", "reports", "070.txt")))
    assert list(st_) == ["crash", "other-task:khungtaskd/878"]
    assert st_["crash"][:2] == ["context_switch", "__schedule"]
    assert "lo_ioctl" in st_["crash"]


def test_hung_task_new_format():
    text = _read("syzbot-sample", "00cee9ae088f8356a3843756847468a8784b41f3.txt")
    st_ = _stacks(extract_frames(text))
    assert next(iter(st_)) == "crash"
    assert st_["crash"][0] in ("context_switch", "__schedule")


def test_kasan_alloc_free_and_aux_stacks():
    text = _read("syzbot-sample", "0c56d77d49ac8cccfe675fdf0f9e264bc73c1d4b.txt")
    st_ = _stacks(extract_frames(text))
    assert list(st_) == ["crash", "allocated", "freed", "last-potentially-related",
                         "second-last-potentially-related", "page-alloc", "page-free"]
    assert "ip_mc_sf_allow" in st_["crash"]
    assert st_["allocated"][0] == "kasan_save_stack"
    assert "call_rcu" in st_["second-last-potentially-related"]


def test_arm64_pc_frame_not_duplicated_and_second_oops():
    text = _read("syzbot-sample", "01a2642b4d9c2daab578c7a99aea1c940c60be37.txt")
    st_ = _stacks(extract_frames(text))
    assert list(st_) == ["crash", "crash-2"]
    assert st_["crash"][0] == "dump_backtrace"
    assert st_["crash-2"][:2] == ["__list_add_valid", "__list_add"]


def test_rip_frame_first_then_irq_section():
    frames = extract_frames(_read("labelled", "reports", "009.txt"))
    assert frames[0].stack == "crash" and frames[0].function.startswith("__alloc_pages_slowpath")
    assert frames[0].norm_function == "__alloc_pages"      # the canonical name (normalize.RENAMES)
    labels = [f.stack for f in frames]
    assert labels.index("irq") == 1
    assert labels[-1] == "crash"            # the interrupted task's part after </IRQ>


def test_interleaved_console_lines_do_not_split_trace():
    # raw 4.16 console log: other CPUs' messages land between the <IRQ> frames
    st_ = _stacks(extract_frames(_read("syzkaller-reports", "report", "321")))
    assert list(st_)[0] == "irq"
    assert st_["irq"][:3] == ["dump_stack", "panic", "__stack_chk_fail"]
    assert not any(k.startswith("crash-") for k in st_)


def test_arm32_and_ppc64_frame_forms():
    arm = _stacks(extract_frames(_read("syzkaller-reports", "report", "714")))
    assert arm["crash"][:3] == ["dump_backtrace", "show_stack", "dump_stack_lvl"]
    assert "__ext4_ioctl" in arm["crash"]
    ppc = _stacks(extract_frames(_read("syzkaller-reports", "report", "379")))
    assert ppc["crash"][:3] == ["__switch_to", "__schedule", "schedule"]


def test_call_trace_glued_to_previous_message():
    st_ = _stacks(extract_frames(_read("syzkaller-reports", "report", "134")))
    assert st_["crash"][0] == "dump_stack"


def test_unreliable_frames_are_left_out():
    text = "Call Trace:\n ? foo+0x1/0x2\n bar+0x10/0x20 a/b.c:1\n ? baz+0x1/0x2\n qux+0x3/0x4\n"
    assert [f.function for f in extract_frames(text)] == ["bar", "qux"]


def test_same_frames_through_mail_quoting_crlf_and_console_prefixes():
    text = _read("labelled", "reports", "013.txt")
    want = [(f.stack, f.function, f.offset, f.file, f.line, f.inline) for f in extract_frames(text)]
    quoted = "\r\n".join("> " + ln for ln in text.split("\n"))
    doubly = "\n".join("> > " + ln for ln in text.split("\n"))
    console = "\n".join(f"[  {12 + i / 1000:.6f}][ T11953] {ln}" for i, ln in enumerate(text.split("\n")))
    for variant in (quoted, doubly, console):
        got = [(f.stack, f.function, f.offset, f.file, f.line, f.inline) for f in extract_frames(variant)]
        assert got == want


def test_tagged_interleaving_is_skipped():
    text = _read("labelled", "reports", "070.txt")
    lines = text.split("\n")
    mixed = []
    for i, ln in enumerate(lines):
        mixed.append(f"[  100.{i:06d}][ T4522] {ln}")
        if ln.startswith(" __mutex_lock"):
            mixed.append(f"[  100.{i:06d}][    C1] audit: type=1400 audit(1.2:3): avc:  denied  {{ read }}")
            mixed.append(f"[  100.{i:06d}][    C1] sd 0:0:1:0: [sg0] tag#0 CDB: opcode=0x12")
            mixed.append(f"[  100.{i:06d}][    C1] random: crng init done")
            mixed.append(f"[  100.{i:06d}][    C1] kworker/0:1: some other message")
    plain = [(f.stack, f.function) for f in extract_frames(text)]
    assert [(f.stack, f.function) for f in extract_frames("\n".join(mixed))] == plain


def test_real_corpus_every_report_with_a_trace_has_frames():
    root = shared_data("labelled", "reports")
    missing = []
    for path in sorted(root.glob("*.txt")):
        text = path.read_text(errors="replace")
        if "Call Trace:" in text or "Call trace:" in text:
            if not extract_frames(text):
                missing.append(path.name)
    assert missing == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
       | st.lists(st.sampled_from([
           "Call Trace:", " <IRQ>", " </IRQ>", "-> #1 (fs_reclaim){+.+.}-{0:0}:", " foo+0x1/0x2 a.c:3",
           "RIP: 0010:bar+0x1/0x2", "CPU: 0 PID: 1 Comm: x Not tainted", "> ", "\r", "Allocated by task 1:",
           " ? q+0x1/0x2", "task:x state:D stack:0 pid:1 ppid:0 flags:0x0", "lock(a);", " Possible unsafe locking "
           "scenario:", "       CPU0    CPU1", "Chain exists of:", "", "[  1.0][ T1] x", "((", "){", " #0: (a){+.+.}"]),
           max_size=40).map("\n".join))
def test_never_raises(text):
    frames = extract_frames(text)
    assert all(f.function for f in frames)
    lockdep_locks(text)


def test_linear_work_on_hostile_input():
    """5,000 open parentheses before a lock brace, 400 times; one 6 MB line: the work (regexp calls and the
    characters they read, tests/work.py) grows with the input."""
    def traces(k: int) -> str:
        return ("(" * 5000 + "){" + " foo+0x1/0x2\n" + "Call Trace:\n" + " a+0x1/0x2 b.c:1\n" * 50) * 40 * k

    def one_line(k: int) -> str:
        return "x" * 500_000 * k + "(" * 100_000 * k

    for make in (traces, one_line):
        small, big = (work.count(lambda t=make(k): (extract_frames(t), lockdep_locks(t)), "triage.report")
                      for k in (1, 10))
        assert len(big.result[0]) == 10 * len(small.result[0])
        assert work.linear(small, big, 10), (make.__name__, small, big)


def test_trace_pasted_without_header():
    # a maintainer's reply quoting only part of a trace
    text = ("On Tue, someone wrote:\n> the warning fires here:\n>\n"
            ">  ext4_mb_load_buddy_gfp+0x5a/0xb60 fs/ext4/mballoc.c:1640\n"
            ">  ext4_discard_preallocations+0x49c/0x1040 fs/ext4/mballoc.c:5462\n"
            ">  ext4_clear_inode+0x31/0x1b0 fs/ext4/super.c:1524\n>\n> and then\n")
    frames = extract_frames(text)
    assert [(f.stack, f.function) for f in frames] == [
        ("crash", "ext4_mb_load_buddy_gfp"), ("crash", "ext4_discard_preallocations"), ("crash", "ext4_clear_inode")]


def test_repeated_frames_kept_except_the_ip_twin():
    text = ("RIP: 0010:f+0x1/0x10 a.c:1\nCall Trace:\n f+0x1/0x10 a.c:1\n g+0x2/0x10 a.c:2\n g+0x2/0x10 a.c:2\n")
    assert [f.function for f in extract_frames(text)] == ["f", "g", "g"]


def test_opener_first_characters_admit_every_opener_line():
    """``_OPENER_FIRST`` (the gate before ``_OPENER_ANY``) is written by hand: every line of the real reports that
    an opener of ``_OPENERS`` matches starts with one of its characters (six openers at least have such lines)."""
    from triage.report import stacks

    seen: set[str] = set()
    for sub in ("syzbot-sample", "labelled/reports"):
        for path in sorted(shared_data(*sub.split("/")).glob("*.txt")):
            for line in path.read_text(errors="replace").splitlines():
                for rx, label in stacks._OPENERS:
                    if rx.match(line):
                        assert line[:1] in stacks._OPENER_FIRST, (label, line)
                        assert stacks._OPENER_ANY.match(line)
                        seen.add(label)
    assert len(seen) >= 6, seen


def test_hand_written_short_cuts_agree_with_the_regexps():
    """The tests written by hand before a regexp, over every line of the real reports: a line ``_NOT_FRAME`` turns
    away is no frame to ``read_frame_fields`` nor arm32's; every ``_IP`` line starts with one of ``_IP_STARTS``;
    every ``_TASK_OLD`` line ends "0x<hex>"; ``_TRACE_MARKS`` holds the stripped lines of the anchored marker
    expressions it stands for. And ``memo.clear`` empties the per-line tables (``memo.Table``)."""
    import re

    from triage.report import memo, stacks
    from triage.report.frames import read_frame_fields

    irq_start = re.compile(r"^\s*<(?P<kind>IRQ|NMI|SOFTIRQ)>\s*$")
    irq_end_or_task = re.compile(r"^\s*(?:</(?:IRQ|NMI|SOFTIRQ)>|<EOI>|<TASK>)\s*$")
    turned_away = 0
    for sub in ("syzbot-sample", "labelled/reports"):
        for path in sorted(shared_data(*sub.split("/")).glob("*.txt")):
            for line in path.read_text(errors="replace").splitlines():
                if stacks._NOT_FRAME.match(line):
                    turned_away += 1
                    assert read_frame_fields(line) is None, line
                    assert not stacks.ARM32_FRAME.match(line), line
                if stacks._IP.match(line):
                    assert line.strip().startswith(stacks._IP_STARTS), line
                if stacks._TASK_OLD.match(line):
                    assert line.rstrip().rstrip(stacks._HEX).endswith("0x"), line
                stripped = line.strip()
                m = irq_start.match(stripped)
                kind = m.group("kind") if m else "" if irq_end_or_task.match(stripped) else \
                    None if stripped == "</TASK>" else "-"
                assert stacks._TRACE_MARKS.get(stripped, "-") == kind, line
    assert turned_away > 1000
    stacks._frame_fields(" f+0x1/0x2 a.c:1")
    stacks._acts_outside(" f+0x1/0x2 a.c:1")
    memo.clear()
    assert not stacks._frame_fields.__self__ and not stacks._acts_outside.__self__
