"""Evidence markers over the real labelled reports (../shared/data/labelled) and real console lines."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import work
from tests.conftest import SHARED, shared_data
from triage.report.context import crash_task
from triage.report.markers import MARKERS, find_markers
from vocab.markers import BY_KIND, EVIDENCE, KINDS


def _read(*parts: str) -> str:
    return shared_data(*parts).read_text(errors="replace")


def _kinds(text: str) -> Counter:
    return Counter(m["kind"] for m in find_markers(text))


def _labelled() -> list[tuple[dict, str]]:
    root = shared_data("labelled")
    rows = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines() if line.strip()]
    return [(r, (root / r["file"]).read_text(errors="replace")) for r in rows]


def test_one_vocabulary():
    """Every kind the parser finds is a kind of vocab.markers, and every vocabulary kind has a reader."""
    assert len(KINDS) == len(set(KINDS))
    rows = [row.kind for row in MARKERS]
    assert len(rows) == len(set(rows))
    assert set(rows) | {"fs-reclaim-lock"} == set(KINDS)           # fs_reclaim comes from lockdep_locks
    assert all(BY_KIND[k].evidence in EVIDENCE and len(BY_KIND[k].description) > 20 for k in KINDS)
    for row in MARKERS:
        assert row.on in ("message", "header", "any") and row.keys, row.kind


def test_every_fault_injection_report_has_its_marker():
    for row, text in _labelled():
        if row["label"] == "fault-injection":
            assert _kinds(text)["fault-injection"] >= 1, row["file"]


def test_every_lockdep_reclaim_deadlock_names_fs_reclaim():
    for row, text in _labelled():
        if row["label"] == "reclaim-deadlock" and "circular locking" in text:
            assert _kinds(text)["fs-reclaim-lock"] >= 1, row["file"]


def test_data_loss_reports_carry_loss_markers():
    loss = {kind for kind in KINDS if BY_KIND[kind].evidence == "data-loss"} | {"memory-failure", "buffer-io-error"}
    missing = [row["file"] for row, text in _labelled()
               if row["label"] == "data-loss" and not loss & set(_kinds(text))]
    # the labelled set has two loss reports that are prose (a forum post, a bug summary) with no kernel line
    assert len(missing) <= 2, missing


def test_fault_injection_task_and_type():
    ms = [m for m in find_markers(_read("labelled", "reports", "067.txt")) if m["kind"] == "fault-injection"]
    assert len(ms) == 7
    assert ms[0]["task"] == {"comm": "syz-executor4", "pid": 6274} and ms[0]["fault"] == "failslab"
    assert ms[0]["times"] == 1
    assert any(m["fault"] == "fail_page_alloc" for m in ms)
    # the injection tied to the crash: same task as the crash
    text = _read("labelled", "reports", "052.txt")
    (fi,) = [m for m in find_markers(text) if m["kind"] == "fault-injection"]
    assert fi["task"]["pid"] == 16429
    assert "PID: 16429" in fi["task_line"] and text.splitlines()[fi["task_lineno"] - 1].endswith(fi["task_line"])


def test_fault_injection_task_from_console_tag():
    text = ("[   63.733438][ T5321] FAULT_INJECTION: forcing a failure.\n"
            "[   63.733438][ T5321] name fail_usercopy, interval 1, probability 0, space 0, times 0\n")
    (m,) = find_markers(text)
    assert m["task"] == {"comm": None, "pid": 5321} and m["fault"] == "fail_usercopy"
    assert m["task_lineno"] is None                 # no line names the task: the console tag does


def test_data_will_be_lost_error_codes_tell_corruption_apart():
    by_file = {}
    for name in ("030", "031", "034", "042"):
        ms = [m for m in find_markers(_read("labelled", "reports", f"{name}.txt")) if m["kind"] == "data-will-be-lost"]
        by_file[name] = ms[0]
    assert (by_file["031"]["error"], by_file["031"]["errno"], by_file["031"]["corruption"]) == (5, "EIO", False)
    assert (by_file["042"]["error"], by_file["042"]["errno"], by_file["042"]["corruption"]) == (
        117, "EFSCORRUPTED", True)
    assert by_file["034"]["error"] == 30 and by_file["034"]["inode"] == 155757   # wrapped over 5 lines
    assert by_file["030"]["corruption"] is True                                   # 74: EFSBADCRC


def test_memory_failure_dirty_page():
    ms = [m for m in find_markers(_read("labelled", "reports", "037.txt")) if m["kind"] == "hwpoison-dirty"]
    assert len(ms) == 3
    assert ms[0]["page_type"] == "dirty LRU page" and ms[0]["dirty"] and ms[0]["result"] == "Recovered"


def test_potential_data_loss_and_io_errors():
    ms = find_markers(_read("labelled", "reports", "029.txt"))
    pdl = [m for m in ms if m["kind"] == "unwritten-extents"]
    assert pdl[0]["error"] == -5 and pdl[0]["errno"] == "EIO" and pdl[0]["inode"] == 16
    io = [m for m in ms if m["kind"] == "write-io-error"]
    assert io[0]["op"] == "WRITE" and io[0]["device"] == "vda"


def test_lost_writes():
    ms = find_markers(_read("labelled", "reports", "032.txt"))
    assert any(m["kind"] == "lost-write" for m in ms)
    ms = find_markers(_read("labelled", "reports", "036.txt"))
    assert [m["device"] for m in ms if m["kind"] == "lost-write"][0]
    (bio,) = find_markers("[   22.885415] 000: Buffer I/O error on dev mmcblk1p3, logical block 0, "
                          "lost async page write")
    assert bio["kind"] == "lost-write" and bio["device"] == "mmcblk1p3" and bio["lost"] and bio["write"]
    (read,) = find_markers("Buffer I/O error on dev loop0, logical block 0, async page read")
    assert read["kind"] == "buffer-io-error" and read["lost"] is False
    (ext4,) = find_markers("EXT4-fs warning (device sda1): ext4_end_bio:343: I/O error 10 writing to inode 12 "
                           "starting block 8)")
    assert (ext4["kind"], ext4["device"], ext4["inode"], ext4["error"]) == ("lost-write", "sda1", 12, 10)


def test_reclaim_guard_hung_task_and_allocator_warning():
    (g,) = [m for m in find_markers(_read("labelled", "reports", "028.txt")) if m["kind"] == "pf-memalloc-guard"]
    assert g["function"] == "ext4_write_inode" and g["task"]["pid"] == 78
    ms = find_markers(_read("labelled", "reports", "070.txt"))
    (h,) = [m for m in ms if m["kind"] == "hung-task"]
    assert h["task"] == {"comm": "syz-executor6", "pid": 4522} and h["seconds"] == 120
    assert h["task"] == crash_task(_read("labelled", "reports", "070.txt"))
    (w,) = [m for m in find_markers(_read("labelled", "reports", "001.txt")) if m["kind"] == "page-alloc-warning"]
    assert w["function"] == "__alloc_pages_slowpath" and w["file_line"] == 4630


def test_fs_reclaim_roles_and_usage_states():
    ms = find_markers(_read("labelled", "reports", "013.txt"))
    roles = {m["role"] for m in ms if m["kind"] == "fs-reclaim-lock"}
    assert {"holding", "chain", "chain-exists", "scenario", "held"} <= roles
    ms = find_markers(_read("labelled", "reports", "063.txt"))
    (u,) = [m for m in ms if m["kind"] == "lockdep-usage"]
    assert (u["from"], u["to"], u["reclaim"]) == ("SOFTIRQ-ON-W", "IN-SOFTIRQ-W", False)
    old = find_markers("inconsistent {IN-RECLAIM_FS-W} -> {RECLAIM_FS-ON-W} usage.\n")
    assert old[0]["reclaim"] is True


def test_page_allocation_failure_with_mode():
    line = ("[ 3239.898444][    C1] kworker/u4:4: page allocation failure: order:0, mode:0x40a20(GFP_ATOMIC|"
            "__GFP_COMP), nodemask=(null),cpuset=/,mems_allowed=0-1")
    (m,) = find_markers(line)
    assert m["order"] == 0 and m["mode"] == "0x40a20" and m["task"]["comm"] == "kworker/u4:4"
    assert m["flags"] == ["GFP_ATOMIC", "__GFP_COMP"] and m["nofail"] is False
    (n,) = find_markers("CPU: 0 PID: 1 Comm: a Not tainted 6.12.0 #1\nx: page allocation failure: order:1, "
                        "mode:0x8c40(GFP_NOFS|__GFP_NOFAIL), nodemask=(null)")
    assert n["nofail"] is True


def test_fs_errors_and_corruption_hints():
    ms = find_markers(_read("labelled", "reports", "082.txt"))
    errs = [m for m in ms if m["kind"] == "fs-error" and m["fs"]]
    assert errs and errs[0]["fs"].startswith("EXT4") and errs[0]["device"]
    assert any(m["corruption"] for m in errs)
    btrfs_stats = "BTRFS error (device dm-3): bdev /dev/mapper/cdisk20 errs: wr 2, rd 1, flush 0, corrupt 0, gen 0"
    (b,) = find_markers(btrfs_stats)
    assert b["kind"] == "fs-error" and b["corruption"] is False


def test_row_texts_filter_only_what_cannot_match():
    """A window without a row's texts (``markers._needed``) is not searched: each row has texts, a case-insensitive
    part reads the window lower-cased, and a non-ASCII window is searched as it is."""
    from triage.report.markers import _ALL, _MESSAGE_ROWS, matches

    assert all(texts for row, texts, _ in _MESSAGE_ROWS)
    folded = {row.kind: texts for row, texts, case in _MESSAGE_ROWS if case}
    assert set(folded) == {"hwpoison-dirty", "fs-error", "alloc-failure"}
    for line in ["EXT4-fs (sda): lost CHECKSUM MISMATCH in inode 12", "Foo: CAN'T ALLOCATE buffer, error -5",
                 "Memory failure: 0x1234: recovery action for DIRTY LRU page: Recovered",
                 "XFS (loop0): Corruption detected. Unmount and run xfs_repair",
                 "EXT4-fs error (sda): CHECKSUM MISMATCH \u212a", "Memory failure: \u0131 DIRTY PAGE"]:
        expect = [row.kind for row, _, _ in _MESSAGE_ROWS if _ALL.message.search(line) and row.pattern.search(line)]
        assert expect
        assert [row.kind for row, _ in matches(line, line)] == expect, line


def test_panic_on_warn_both_forms():
    ms = find_markers("Kernel command line: root=/dev/sda1 panic_on_warn=1 nmi_watchdog=panic\n"
                      "Kernel panic - not syncing: panic_on_warn set ...\n")
    assert [m["source"] for m in ms] == ["cmdline", "panic"]


@pytest.mark.parametrize("name", ["000_26da824d47702629.txt", "002_b3e4073c25075bfa.txt",
                                  "004_b3a297d6b871d30e.txt"])
def test_seeds_parse(name):
    path = SHARED / "seeds" / name
    if not path.exists():
        pytest.skip(f"seed not available: {path}")
    for m in find_markers(path.read_text(errors="replace")):
        assert m["lineno"] >= 1 and m["kind"] in KINDS


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.lists(st.sampled_from(
    ["FAULT_INJECTION: forcing a failure.", "name failslab, interval 1, probability 0, space 0, times 1",
     "Memory failure: 0x1: recovery action for dirty LRU page: Recovered", "Data will be lost", "with error",
     "Delayed block allocation failed for inode 1", "x: page allocation failure: order:", "mode:0x8c40(",
     "EXT4-fs error (device ", "corrupt", "INFO: task a:1 blocked for more than 5 seconds", "(fs_reclaim){+.+.}",
     "inconsistent {A} -> {B} usage", "WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:1 f", "[ 1.0][ T7] ", "\n"]),
    max_size=30).map("\n".join))
def test_never_raises(text):
    for m in find_markers(text):
        assert m["kind"] in KINDS


def test_linear_work():
    """Long marker lines, 5,000 of them; a 3 MB line before a marker: the work (regexp calls and the characters
    they read, tests/work.py) grows with the input."""
    def lines(k: int) -> str:
        return ("EXT4-fs error (device x) " + "corrupt" * 200 + "\n" + "Memory failure: 0x1: " + "a" * 1500
                + "\n") * 500 * k

    def one_line(k: int) -> str:
        return "x" * 300_000 * k + "Data will be lost"

    for make in (lines, one_line):
        small, big = (work.count(lambda t=make(k): find_markers(t), "triage.report") for k in (1, 10))
        assert work.linear(small, big, 10), (make.__name__, small, big)


def test_source_lines_and_quotations_are_not_markers():
    from triage.report.markers import looks_like_source

    for line in ('+\t\t"lost page write due to IO error on %s (%d)",', '\tpr_err("Data will be lost\\n");',
                 '-\tbuffer_io_error(bh, ", lost async page write");',
                 'It prints "Buffer I/O error on dev sda, logical block 1, lost async page write".'):
        assert find_markers(line) == [], line
    assert looks_like_source("+\tWARN_ON_ONCE(!folio_buffers(folio));")
    for line in ("Buffer I/O error on dev sdb1, logical block 256, lost async page write",
                 "-> #1 (fs_reclaim){+.+.}-{0:0}:", "------------[ cut here ]------------",
                 "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0",
                 "Memory failure: 0x3a5876: recovery action for dirty LRU page: Recovered"):
        assert not looks_like_source(line), line


def test_shutdown_and_end_of_device_markers():
    text = ("attempt to access beyond end of device\nloop0: rw=2049, sector=8192, nr_sectors = 8 limit=4096\n"
            "BTRFS: error (device dm-6) in write_all_supers:4255: errno=-5 IO failure\n"
            "XFS (loop1): Filesystem has been shut down due to log error (0x2).\n"
            "Aborting journal on device sda1-8.\n")
    ms = find_markers(text)
    assert [(m["kind"], m.get("device")) for m in ms] == [("beyond-eod", "loop0"), ("fs-shutdown", "dm-6"),
                                                          ("fs-shutdown", "loop1"), ("fs-shutdown", None)]
    assert ms[1]["fs"] == "BTRFS" and ms[1]["error"] == -5


def test_markers_belong_to_the_crash_of_their_task():
    """Markers say which crash (event) printed them: a header's own, the crash of the task named, or none."""
    ms = find_markers(_read("labelled", "reports", "052.txt"))
    (fi,) = [m for m in ms if m["kind"] == "fault-injection"]
    assert fi["event"] == 0                         # PID 16429 then crashed: event 0
    ms = [m for m in find_markers(_read("labelled", "reports", "067.txt")) if m["kind"] == "fault-injection"]
    assert ms and all(m["event"] is None for m in ms)     # other tasks, which crashed nowhere in this log
    ms = find_markers(_read("labelled", "reports", "040.txt"))
    assert [m["event"] for m in ms if m["kind"] == "hung-task"] == [0, 1, 2, 3, 4]
    assert all(m["event"] is None for m in ms if m["kind"] == "lost-write")   # bio completions: no task


def test_the_console_reading_given_parses_words_reads_what_its_own_pass_reads():
    """``parse`` hands the console reading the words its own pass found when the cleaned text is the input: over
    the labelled reports, that reading is the one the console's own word pass gives (the set holds them all), and
    the shortcut is taken for some of them (an input needing no cleaning)."""
    import importlib

    from triage.report.console import TEXT_WORDS, read_console

    parse_mod = importlib.import_module("triage.report.parse")
    assert set(TEXT_WORDS) <= set(parse_mod._TEXT_WORDS.words)
    taken = 0
    for _, text in _labelled():
        cleaned = parse_mod.drop_inline_headers(parse_mod.clean_text(text))
        if cleaned != text:
            continue
        taken += 1
        words = parse_mod._TEXT_WORDS.present(text)
        assert read_console(text, None, 1, words) == read_console(text), text[:200]
    assert taken >= 10


def test_the_console_reading_given_words_after_inline_headers_cut_reads_what_its_own_pass_reads():
    """When cleaning changed only the symbolizer's repeated inline headers, ``parse`` hands the console reading its
    own words and those of the lines the cuts changed (read in the input): a superset of the input's words (none
    spans a line break), and the reading it gives is the console's own; over the syzbot sample, where most reports
    repeat an inline header."""
    import importlib

    from triage.report.console import read_console
    from triage.report.textin import clean_text, mask_code, to_text, undecode

    parse_mod = importlib.import_module("triage.report.parse")
    taken = 0
    for path in sorted(shared_data("syzbot-sample").glob("*.txt")):
        masked = mask_code(to_text(path.read_bytes()))
        raw = undecode(masked)
        cleaned = clean_text(raw, mask=False, decoded=raw is masked)
        cuts = parse_mod._inline_header_cuts(cleaned)
        if not cuts or cleaned != raw:
            continue
        taken += 1
        text = parse_mod._dropped(cleaned, cuts)
        words = parse_mod._TEXT_WORDS.present(text) | parse_mod._TEXT_WORDS.present(parse_mod._cut_lines(raw, cuts))
        assert words >= parse_mod._TEXT_WORDS.present(raw), path.name
        assert read_console(raw, None, 1, words) == read_console(raw), path.name
    assert taken >= 300
    # a word that spans a cut head and the name after it is only in the cut line as the input has it
    from triage.report.wordset import WordSet

    raw = "foo bar backtrace_a x.c:1 [inline]\nfoo bar backtrace_b x.c:2\n"
    cuts = parse_mod._inline_header_cuts(raw)
    spanning = WordSet(("bar backtrace_a",))
    assert cuts and not spanning.present(parse_mod._dropped(raw, cuts))
    assert spanning.present(parse_mod._cut_lines(raw, cuts)) == {"bar backtrace_a"}
