"""Kernel release and crashing task, from real report lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import shared_data
from triage.report.context import crash_task, kernel_tuple, kernel_version


def _read(*parts: str) -> str:
    return shared_data(*parts).read_text(errors="replace")


@pytest.mark.parametrize("line,want", [
    ("CPU: 0 PID: 11953 Comm: syz-executor.2 Not tainted 6.2.0-rc4-syzkaller-00041-gc1649ec55708 #0",
     "6.2.0-rc4-syzkaller-00041-gc1649ec55708"),
    ("CPU: 1 UID: 0 PID: 458580 Comm: xfsaild/sda3 Tainted: G        W          6.12.0-rc6-djwa #rc6 6ee3e0e5",
     "6.12.0-rc6-djwa"),
    ("6.2.0-rc4-syzkaller-00041-gc1649ec55708 #0 Not tainted", "6.2.0-rc4-syzkaller-00041-gc1649ec55708"),
    ("      Not tainted 4.16.0+ #1", "4.16.0+"),
    ("[    0.000000] Linux version 4.15.0-rc1-next-20171128+ (syzkaller@ci) (gcc version 7.1.1) #54 SMP",
     "4.15.0-rc1-next-20171128+"),
    ("** 2499 printk messages dropped ** [   60.095515] CPU: 1 PID: 7148 Comm: syz-executor5 Tainted: G    B"
     "           4.4.104-ged884eb #2", "4.4.104-ged884eb"),
    ("> CPU: 0 UID: 0 PID: 5095 Comm: syz-executor264 Not tainted 6.11.0-syzkaller-03917-ga940d9a43e62 #0",
     "6.11.0-syzkaller-03917-ga940d9a43e62"),
    ("CPU: 0 UID: 0 PID: 5873 Comm: syz.0.17 Not tainted syzkaller #0 PREEMPT(full)", None),
    ("BUG fasync_cache (Tainted: G    B          ): kasan: bad access detected", None),
])
def test_kernel_version_lines(line, want):
    assert kernel_version(line) == want


def test_kernel_version_real_reports():
    assert kernel_version(_read("labelled", "reports", "013.txt")) == "6.2.0-rc4-syzkaller-00041-gc1649ec55708"
    assert kernel_version(_read("labelled", "reports", "003.txt")) == "6.18.3+deb14-amd64"
    assert kernel_version(_read("labelled", "reports", "070.txt")) == "4.16.0+"
    assert kernel_tuple(kernel_version(_read("labelled", "reports", "075.txt"))) == (4, 19)


def test_kernel_tuple():
    assert kernel_tuple("6.17.0-rc5-syzkaller-00123-gabc") == (6, 17)
    assert kernel_tuple("4.4.104-ged884eb") == (4, 4)
    assert kernel_tuple("syzkaller") is None
    assert kernel_tuple(None) is None


def test_crash_task_real_reports():
    # lockdep: the task trying to acquire
    assert crash_task(_read("labelled", "reports", "013.txt")) == {"comm": "syz-executor.2", "pid": 11953}
    # hung task: the blocked task, not khungtaskd whose CPU: line comes later
    assert crash_task(_read("labelled", "reports", "070.txt")) == {"comm": "syz-executor6", "pid": 4522}
    # inconsistent lock state: comm with a slash
    assert crash_task(_read("labelled", "reports", "063.txt")) == {"comm": "ksoftirqd/1", "pid": 20}
    # KASAN: "by task comm/pid"
    assert crash_task(_read("syzbot-sample", "0c56d77d49ac8cccfe675fdf0f9e264bc73c1d4b.txt")) == {
        "comm": "syz-executor.5", "pid": 908}
    # NOFAIL warning from kswapd on a distribution kernel
    assert crash_task(_read("labelled", "reports", "003.txt")) == {"comm": "kswapd0", "pid": 152}
    assert crash_task("no task here\n") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.lists(st.sampled_from([
    "CPU: 0 PID: 1 Comm: ", "Not tainted ", "Tainted: G ", "INFO: task x:", " blocked for more than",
    "Linux version 9.9", "/1 is trying to acquire lock:", "> ", "\r", "1.2.3", " #0"]), max_size=30).map("".join))
def test_never_raises(text):
    v = kernel_version(text)
    assert v is None or isinstance(v, str)
    t = crash_task(text)
    assert t is None or (isinstance(t["pid"], int) and isinstance(t["comm"], str))
    kernel_tuple(text)
