"""Whatever the input, ``parse`` returns a Report (title a string or None) without raising, in bounded time."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import work
from tests.conftest import shared_data
from triage.report import Report, parse
from triage.report.golden import read_golden


def _golden(name: str):
    return read_golden(shared_data("syzkaller-reports", "report", name))


def _ok(rep) -> None:
    assert isinstance(rep, Report)
    assert rep.title is None or (isinstance(rep.title, str) and rep.title)
    rep.to_dict()


@pytest.mark.parametrize("data", ["", b"", "\n\n\n", "\r\n", b"\x00" * 100, "   \t  "])
def test_empty_inputs(data):
    rep = parse(data)
    _ok(rep)
    assert rep.title is None


def test_binary_junk():
    rng = random.Random(1234)
    for _ in range(20):
        rep = parse(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20000))))
        _ok(rep)


def test_invalid_utf8_and_crlf_give_the_same_title():
    g = _golden("433")                      # INFO: task hung in synchronize_rcu
    want = parse(g.log).title
    assert want == g.title
    junk = g.log.replace(b"\n", b"\xff\xfe garbage \xc3\x28\n", 3)
    assert parse(junk).title == want
    assert parse(g.log.replace(b"\n", b"\r\n")).title == want


def test_report_cut_mid_trace():
    g = _golden("622")                      # WARNING: refcount bug in memfd_secret
    text = g.log.decode()
    cut = text[:text.index("do_syscall_64")]
    rep = parse(cut)
    _ok(rep)
    assert rep.title == g.title
    head_only = text[:text.index("Call Trace:")]
    rep = parse(head_only)
    _ok(rep)
    assert rep.title is not None and rep.title.startswith("WARNING: refcount bug")


def test_long_log_is_linear():
    """A report after 1 MB and 10 MB of console noise: found, with ten times the work (regexp calls and the
    characters they read, tests/work.py), not the square. bench/linear.py times 50 MB."""
    g = _golden("433")
    noise = "".join(f"[ {i / 1000:10.6f}][ T{i % 50}] noise line {i} audit: type=1400 avc: denied\n"
                    for i in range(2000))
    small, big = (work.count(lambda n=n: parse(noise * (n // len(noise)) + g.log.decode()), "triage.report")
                  for n in (1_000_000, 10_000_000))
    assert small.result.title == big.result.title == g.title
    assert work.linear(small, big, 10), (small, big)


@pytest.mark.parametrize("unit,n", [
    ("WARNING: uses foo ", 20_000),                                       # one huge line with a header
    ("(", 10_000),                                                        # regexp-hostile line after a header
    ("WARNING: /etc/ssh/moduli does not exist, using fixed modulus\n", 3_000),     # suppressed, many times
])
def test_hostile_lines_are_linear(unit, n):
    """Each input, and ten times it: the second costs about ten times the work (tests/work.py), never the
    square."""
    head = "BUG: KASAN: use-after-free in x+0x1/0x2 " if unit == "(" else ""
    small, big = (work.count(lambda k=k: parse(head + unit * n * k), "triage.report") for k in (1, 10))
    _ok(small.result)
    _ok(big.result)
    assert work.linear(small, big, 10), (small, big)


FRAGMENTS = [
    "BUG: KASAN: use-after-free in foo+0x1/0x2\n", "Read of size 8 at addr ffff88801234 by task x/1\n",
    "WARNING: CPU: 0 PID: 1 at fs/x.c:12 bar+0x3/0x4\n", "RIP: 0010:bar+0x3/0x4\n", "Call Trace:\n",
    " <TASK>\n", " baz+0x5/0x6 fs/y.c:7\n", " ? qux+0x1/0x2\n", " inlined fs/z.c:3 [inline]\n",
    "INFO: task syz:12 blocked for more than 143 seconds.\n", "Kernel panic - not syncing: panic_on_warn set\n",
    "general protection fault: 0000 [#1] SMP KASAN\n", "[  1.234567][ T123] ", "[  2.0][  C1] ", "> ",
    "rcu: INFO: rcu_preempt self-detected stall on CPU\n", "possible circular locking dependency detected\n",
    "-> #1 (&sb->s_type->i_mutex_key){+.+.}-{3:3}:\n", "FAULT_INJECTION: forcing a failure.\n",
    "page allocation failure: order:0, mode:0x8c40(GFP_NOFS|__GFP_NOFAIL)\n", "\r\n", "\x00", "\xff",
    "BUG: unable to handle page fault for address: 0000\n", "kernel BUG at mm/x.c:1!\n", "Exception stack(",
    "[<c0123456>] (foo) from [<c0123457>] (bar+0x1/0x2)\n", "backtrace:\n", "UBSAN: shift-out-of-bounds in\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=40), max_size=60))
def test_property_fragments_never_crash(parts):
    _ok(parse("".join(parts)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_property_bytes_never_crash(data):
    _ok(parse(data))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=3000))
def test_property_text_never_crash(text):
    _ok(parse(text))
