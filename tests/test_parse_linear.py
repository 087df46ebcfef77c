"""Every pass over text is linear (issue 15): the rewritten matchers give exactly what the regexps they replace
gave, and do a bounded amount of work per input. Times are bench/linear.py's (no test here times anything)."""

from __future__ import annotations

import random
import re

from triage.report import formats as fm
from triage.report import parse
from triage.report.frames import COMPILER_SUFFIXES, strip_suffix, strip_tokens
from triage.report.guilty import FILENAME_RE
from triage.report.normalize import _SUFFIX_EXTRA, canonical
from triage.report.textin import _DMESG_LEVEL, unwrap

KASAN = "[  477.362261][T18348] BUG: KASAN: use-after-free in foo+0x255/0x4e0\n"

MULTILINE = [rx for o in fm.OOPSES for f in o.formats for rx in (f.title, f.report) if isinstance(rx, fm.LinesPattern)]
LINE_FRAGMENTS = [
    "BUG: KASAN: use-after-free in foo+0x1/0x2", "BUG: KASAN: slab-out-of-bounds on address",
    "Read of size 8 at addr ff",
    "Write at addr ffff", " at addr 1234", "BUG: syz still has locks held!", " [<ffffffff81>] foo+0x1", "takes",
    "BUG: lock held when returning to user space", "leaving the kernel with locks still held", "at: foo+0x1",
    "at: [<ff>] bar.", "WARNING: possible circular locking dependency detected", "is trying to acquire lock",
    "just changed the state of lock", "WARNING: suspicious RCU usage", "x fs/a.c:12", "last function: foo", "x", "",
    "WARNING: inconsistent lock state", "INFO: inconsistent lock state ]", "BUG: workqueue leaked lock or atomic",
]


def test_multiline_title_regexps_are_searched_linearly():
    assert len(MULTILINE) >= 20          # syzkaller's "HEAD(?:.*\n)+?.*PART" rows (KASAN, lockdep, RCU, ...)


def test_multiline_title_regexps_find_what_re_finds():
    rng = random.Random(7)
    found = 0
    for _ in range(3000):
        lines = [rng.choice(LINE_FRAGMENTS) + rng.choice(["", " ", " x"]) for _ in range(rng.randint(1, 12))]
        text = rng.choice(["\n", " "]).join(lines) + rng.choice(["", "\n"])
        for rx in MULTILINE:
            want, got = rx.full.search(text), rx.search(text)
            assert (want and (want.span(), want.groups())) == (got and (got.span(), got.groups())), (rx.pattern, text)
            found += want is not None
    assert found > 100


class _Counting:
    def __init__(self, rx: re.Pattern[str], calls: list[int]):
        self.rx, self.calls = rx, calls

    def search(self, *a):
        self.calls[0] += 1
        return self.rx.search(*a)

    def match(self, *a):
        self.calls[0] += 1
        return self.rx.match(*a)


def test_multiline_title_regexp_runs_once_per_part_whatever_the_headers():
    """re retried the whole regexp from each of N headers, reading every line after it (N x N lines); the
    LinesPattern runs its head once, each part once and the whole regexp at most once."""
    rx = next(r for r in MULTILINE if "(Read|Write)" in r.pattern)
    calls = [0]
    counted = fm.LinesPattern(rx.pattern)
    counted.head = _Counting(counted.head, calls)
    counted.parts = [_Counting(p, calls) for p in counted.parts]
    counted.full = _Counting(counted.full, calls)
    for n in (10, 1000):
        calls[0] = 0
        report = "BUG: KASAN: use-after-free in foo+0x255/0x4e0\n" * n
        assert counted.search(report) is None and rx.full.search(report) is None
        assert calls[0] <= 1 + len(counted.parts)
        calls[0] = 0
        assert counted.search(report + "Read of size 8 at addr ffff8880\n") is not None
        assert calls[0] == 2 + len(counted.parts)


def test_repeated_kasan_header_titled_as_one():
    one = parse(KASAN)
    many = parse(KASAN * 20_000)          # 1.4 MB: 37 s for 6,000 lines before
    assert many.title == one.title == "KASAN: use-after-free in foo"


def test_file_name_regexp_finds_what_syzkallers_finds():
    syzkaller = re.compile(r"([a-zA-Z0-9_\-\./]*[a-zA-Z0-9_\-]+\.(?:c|h|rs)):[0-9]+")
    rng = random.Random(1)
    for _ in range(50_000):
        s = "".join(rng.choice("ab_-./:1 chrs") for _ in range(rng.randint(0, 25)))
        want, got = syzkaller.search(s), FILENAME_RE.search(s)
        assert (want and (want.span(), want.group(1))) == (got and (got.span(), got.group(1))), s


def test_suffix_stripping_is_the_regexps():
    old_strip = re.compile(r"(\.(?:constprop|isra|part|cold|lto_priv|llvm|specialized)(?:\.\d+)*)+$")
    old_extra = re.compile(r"(?:\.(?:constprop|isra|part|cold|lto_priv|llvm|specialized|clone|prop)(?:\.\d+)*|\.\d+)+$")
    toks = ["constprop", "isra", "cold", "clone", "prop", "0", "12", "\u0661", "\u00b2", "", "x", "part", "llvm", "\n"]
    rng = random.Random(2)
    for _ in range(50_000):
        s = rng.choice(["foo", "", "a_b"]) + "".join(
            "." + rng.choice(toks) if rng.random() < 0.85 else rng.choice(toks) for _ in range(rng.randint(0, 7)))
        assert strip_tokens(s, COMPILER_SUFFIXES, False) == old_strip.sub("", s), s
        assert strip_tokens(s, _SUFFIX_EXTRA, True) == old_extra.sub("", s), s
    assert strip_suffix("ext4_write.constprop.0.isra.1") == "ext4_write"
    assert canonical("f.constprop" + ".1" * 2000 + "x") == "f.constprop" + ".1" * 2000 + "x"


def test_dmesg_level_prefix_after_deep_quoting():
    # the quote part once was "(?:[ \t]*>[ \t]?)*[ \t]*": two ways to read each "> ", 2^N tries when no level follows
    line = "> " * 200 + "x :y"
    assert _DMESG_LEVEL.search(line) is None
    assert _DMESG_LEVEL.sub(lambda m: m.group(1) + m.group(3), "> > kern  :warn  : [  1.0] x") == "> > [  1.0] x"


def test_unwrap_joins_a_wrapped_line_of_any_length():
    line = "[    1.000000] " + "y" * 50
    text = "[    1.000000] x\n" * 3 + line + "\n" + "word\n" * 6
    assert unwrap(text).split("\n")[3] == line + " word" * 6
    # the line grew by one copy of itself per piece: quadratic (a third of the lines timestamped: still a log)
    long = "[    1.000000] x\n" * 30_000 + line + "\n" + "word\n" * 50_000
    assert unwrap(long).split("\n")[30_000] == line + " word" * 50_000


def test_unwrap_joins_the_rest_of_a_cut_header_once():
    text = "a\n" * 10 + "BUG: KASAN: use-after-free in\nfoo+0x1/0x2\n"
    assert "BUG: KASAN: use-after-free in foo+0x1/0x2" in unwrap(text).split("\n")
    chain = "a\n" * 10 + "BUG: x in\n" + "in\n" * 3           # the rest is not itself a cut header
    assert unwrap(chain).split("\n")[10:] == ["BUG: x in in", "in", "in", ""]
    long = "a\n" * 60 + "BUG: " * 40_000 + "\nfoo\n"          # a header searched from each of 40,000 "BUG: "
    assert unwrap(long) == long


def test_unwrap_joins_cut_sanitizer_headers_only():
    # the four sanitizers' words are looked for as "SAN: " and the two letters before it
    for name in ("KASAN", "KMSAN", "KCSAN", "UBSAN"):
        text = "SAN: x in\nfoo\nMYSAN: y in\nfoo\n" + "a\n" * 10 + f"{name}: z in\nfoo+0x1/0x2\n"
        lines = unwrap(text).split("\n")
        assert lines[:4] == ["SAN: x in", "foo", "MYSAN: y in", "foo"]
        assert f"{name}: z in foo+0x1/0x2" in lines
    # not wrapped (a line past the wrap width in every ten): the cut header is left as it is
    text = ("a" * 120 + "\n" + "a\n" * 9) * 2 + "UBSAN: z in\nfoo+0x1/0x2\n"
    assert unwrap(text) == text


def test_report_lines_longer_than_max_line_are_cut_in_runs_of_plain_lines():
    from triage.report.parse import MAX_LINE, find_report

    head = "BUG: KASAN: use-after-free in foo+0x1/0x2\n" + " a+0x1/0x2\n" * 3
    tail = " b+0x1/0x2 fs/b.c:1\n" * 400
    # (a run of plain lines longer than MAX_LINE, without and with a line longer than that, at each place in a block)
    assert find_report(head + tail, 0, "").report == head + tail
    for cut in range(0, 2 * MAX_LINE, 509):
        text = head + tail[:cut - cut % 20] + "x" * (MAX_LINE + 7) + "\n" + tail
        report = find_report(text, 0, "").report
        assert "\n" + "x" * MAX_LINE + "\n" in report and "x" * (MAX_LINE + 1) not in report


def test_literal_search_is_the_regexps_search():
    """``literal_search`` finds a pattern by its literal (at a fixed distance from the match start) and matches there:
    the same match as ``re``'s search, which tried a pattern starting with a class at every character."""
    from triage.report.wordset import literal_search

    frags = ["stack backtrace:", " backtrace:", "k backtrace:", "\n backtrace (crc 12ab):", "x backtrace (crc zz):",
             "backtrace:", "a", "\n", " ", "12abc", "9abc", "cdxyz", "abxyz", "Call Trace"]
    rng = random.Random(3)
    patterns = fm.STACK_START + [re.compile(r"\d{2}abc"), re.compile(r"(?:ab|cd)xyz"), re.compile(r"^. backtrace")]
    for rx in patterns:
        search = literal_search(rx)
        for _ in range(3000):
            text = "".join(rng.choice(frags) for _ in range(rng.randint(0, 8)))
            want, got = rx.search(text), search(text)
            assert (want and (want.span(), want.groups())) == (got and (got.span(), got.groups())), (rx.pattern, text)
    bt = re.compile(r"[^k] backtrace:")
    assert getattr(literal_search(bt), "__self__", None) is not bt          # found by its literal, not re's search
    assert getattr(literal_search(re.compile(r"Call Trace")), "__self__", None) is not None   # (re's own)
