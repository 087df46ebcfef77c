"""Where the report a maintainer reads begins and ends: what syzkaller's ``findReport`` leaves out of the report it
extracts (``Report.report``), checked on built console logs at each rule's edges and on syzkaller's own files."""

from __future__ import annotations

from conftest import shared_data

from triage.report import parse
from triage.report.golden import golden_files, read_golden

TS = "[  100.000000] "


def _log(lines: list[str], prefix: str = TS) -> str:
    return "".join(f"{prefix}{line}\n" for line in lines)


def _warning(body_lines: int, then: list[str], oops: str = "WARNING: CPU: 0 PID: 1 at fs/foo.c:10 foo+0x1/0x2"
             ) -> list[str]:
    """An oops line, ``body_lines`` lines of its report (a call trace), then ``then``."""
    body = ["Call Trace:"] + [f" frame{k}+0x{k + 1:x}/0x100" for k in range(body_lines - 1)]
    return [oops, *body, *then]


PANIC = ["Kernel panic - not syncing: panic_on_warn set ...", "Call Trace:", " panic+0x1/0x2", " __warn+0x3/0x4"]
CIRCULAR = ["WARNING: possible circular locking dependency detected", "6.1.0 #1 Not tainted",
            "syz/1 is trying to acquire lock:"]


def test_a_panic_past_the_reports_first_22_lines_is_left_out_with_all_after_it():
    # the panic line is the report's 23rd line (the oops line the first): cut, and the panic's stack with it
    rep = parse(_log(_warning(21, PANIC)))
    assert "Kernel panic" not in rep.report and "panic+0x1" not in rep.report
    assert rep.report.rstrip("\n").endswith("frame19+0x14/0x100")
    # the 22nd: kept (a WARNING line without its own stack, then the panic's, is all the report there is)
    rep = parse(_log(_warning(20, PANIC)))
    assert "Kernel panic - not syncing" in rep.report and "panic+0x1/0x2" in rep.report


def test_a_deadlock_report_set_off_by_the_oops_is_cut_as_the_panic_is():
    assert "circular locking" not in parse(_log(_warning(21, CIRCULAR))).report
    assert "circular locking" in parse(_log(_warning(20, CIRCULAR))).report


def test_a_kmsan_report_is_cut_after_16_lines():
    oops = "BUG: KMSAN: uninit-value in foo+0x1/0x2"
    assert "Kernel panic" not in parse(_log(_warning(15, PANIC, oops))).report     # the panic its 17th line
    assert "Kernel panic" in parse(_log(_warning(14, PANIC, oops))).report         # its 16th
    assert "Kernel panic" in parse(_log(_warning(15, PANIC))).report      # (not a KMSAN report: 22)


def test_the_cut_holds_without_console_prefixes():
    assert "Kernel panic" not in parse(_log(_warning(21, PANIC), prefix="")).report
    assert "Kernel panic" in parse(_log(_warning(20, PANIC), prefix="")).report


QUESTIONABLE = [
    " [<ffffffff81429500>] ? rcu_barrier_func+0x90/0x90",      # the older x86 form: past the address
    " ? cpu_stop_create+0x90/0x90",
    "[c000000002b0fa10] [c00000000001d3a8] show_stack+0x58/0x190 (unreliable)",    # powerpc
]


def test_questionable_frames_are_left_out_of_a_timestamped_report_in_every_form():
    rep = parse(_log(_warning(3, [*QUESTIONABLE, " kthread+0x231/0x2c0"])))
    for line in QUESTIONABLE:
        assert line.strip() not in rep.report
    assert "kthread+0x231/0x2c0" in rep.report


def test_a_report_without_console_prefixes_keeps_its_questionable_frames():
    # syzkaller judges a line questionable only past a console prefix: a pasted excerpt is kept as it was printed
    rep = parse(_log(_warning(3, [*QUESTIONABLE[:2], " kthread+0x231/0x2c0"]), prefix=""))
    for line in QUESTIONABLE[:2]:
        assert line in rep.report


def test_an_eoi_line_is_never_questionable():
    rep = parse(_log(_warning(3, [" <EOI>  ? do_softirq+0x1/0x2", " kthread+0x231/0x2c0"])))
    assert "<EOI>  ? do_softirq+0x1/0x2" in rep.report


def test_a_syzkaller_program_line_between_console_lines_is_not_a_wrapped_rest():
    # the executor prints the program's calls between console lines: not the rest of a line a mail client cut
    lines = [f"[  10.{k:06d}] netlink: {k} bytes leftover after parsing attributes" for k in range(6)]
    oops = "[  20.000000] NMI watchdog: BUG: soft lockup - CPU#1 stuck for 11s! [syz-executor7:16813]"
    text = "\n".join([*lines, oops, "mmap(&(0x7f0000557000/0x2000)=nil, (0x2000), 0x1, 0x11, r2, 0x1b)",
                      "[  20.100000] Modules linked in:", "[  20.200000] CPU: 1 PID: 16813 Comm: syz-executor7"]) + "\n"
    rep = parse(text)
    assert "BUG: soft lockup - CPU#1 stuck for 11s! [syz-executor7:16813]\n" in rep.report
    assert "mmap(" not in rep.report
    # a cut console line's rest is still joined
    cut = "\n".join([*lines, "[  20.000000] BUG: KASAN: use-after-free in ext4_fill_super+0x1/0x2",
                     "[  20.000001] Read of size 8 at addr ffff888012345678 by task",
                     "syz-executor.0/1234", "[  20.100000] Call Trace:", "[  20.100001]  dump_stack+0x1/0x2"]) + "\n"
    assert "by task syz-executor.0/1234\n" in parse(cut).report


def test_syzkallers_extracted_reports_match_ours():
    """Every golden file that gives the report syzkaller extracts: ours is the same, line for line."""
    files = [g for g in map(read_golden, golden_files(shared_data("syzkaller-reports", "report")))
             if g.report is not None]
    assert len(files) >= 10
    differ = [g.name for g in files if parse(g.log).report.rstrip("\n") != g.report.rstrip("\n")]
    assert differ == [], differ
