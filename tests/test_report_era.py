"""Era-aware titles: a report's kernel release dates it, and the title rules of that day give ``era_title``."""

from __future__ import annotations

import pytest

from tests.conftest import shared_data
from triage.report import formats as fm
from triage.report import parse
from triage.report.era import active, kernel_date


@pytest.mark.parametrize("release, day", [
    ("4.15.0-rc3+", "2017-12-10"),                          # 4.14 + merge window + two rc weeks
    ("5.7.0-rc2-next-20200420-syzkaller", "2020-04-20"),    # linux-next names its day
    ("5.10.0-syzkaller", "2020-12-20"),                     # built during the merge window after 5.10
    ("6.2.0-rc4-syzkaller-00009-gd532dd102151", "2023-01-15"),
    ("4.14.247-syzkaller", "2021-03-31"),                   # stable point releases
    ("6.17.0-rc5-syzkaller", "2025-09-07"),                 # rc of a release newer than the table
    ("3.10.0", None), ("garbage", None), ("", None), (None, None), ("5.4.0-next-20191399", None),
])
def test_kernel_date(release, day):
    assert kernel_date(release) == day


def test_active_windows():
    assert active(None, None, None) and active(None, "2019-01-01", None)
    assert not active(None, None, "2019-01-01")             # undated reports get today's rules
    assert active("2018-06-01", None, "2019-01-01") and not active("2019-01-01", None, "2019-01-01")
    assert not active("2018-06-01", "2019-01-01", None) and active("2019-01-01", "2019-01-01", None)


KERNEL_BUG = """------------[ cut here ]------------
kernel BUG at fs/ext4/extents.c:3162!
invalid opcode: 0000 [#1] SMP KASAN
CPU: 1 PID: 4495 Comm: syz-executor0 Not tainted {release} #1
Hardware name: Google Google Compute Engine/Google Compute Engine, BIOS Google 01/01/2011
RIP: 0010:ext4_split_extent_at+0xd0b/0xe30 fs/ext4/extents.c:3162
RSP: 0018:ffff8801b2d4f0d8 EFLAGS: 00010293
Call Trace:
 ext4_split_extent+0x1d9/0x4a0 fs/ext4/extents.c:3305
 ext4_ext_map_blocks+0x1b79/0x3ec0 fs/ext4/extents.c:4316
 ext4_map_blocks+0x4a9/0x1690 fs/ext4/inode.c:673
 do_syscall_64+0x1b1/0x800 arch/x86/entry/common.c:287
 entry_SYSCALL_64_after_hwframe+0x49/0xbe
"""


@pytest.mark.parametrize("release, era_title", [
    ("4.16.0-rc7+", "kernel BUG at fs/ext4/extents.c:LINE!"),       # syzbot's 2018 format
    ("5.12.0-syzkaller", "kernel BUG in ext4_split_extent_at"),     # changed around 2020/21
])
def test_era_title_follows_the_kernel_release(release, era_title):
    rep = parse(KERNEL_BUG.format(release=release))
    assert rep.title == "kernel BUG in ext4_split_extent_at"        # today's syzkaller, whatever the era
    assert rep.era == kernel_date(release)
    assert rep.era_title == era_title


def test_undated_report_gets_todays_title():
    rep = parse(KERNEL_BUG.replace("Not tainted {release} #1", ""))
    assert rep.era is None and rep.era_title == rep.title == "kernel BUG in ext4_split_extent_at"


KASAN = """==================================================================
BUG: KASAN: use-after-free in __list_add_valid+0xb6/0xc0 lib/list_debug.c:26
Read of size 8 at addr ffff8801c5a8a1d0 by task syz-executor3/7063

CPU: 0 PID: 7063 Comm: syz-executor3 Not tainted {release} #1
Call Trace:
 __dump_stack lib/dump_stack.c:16 [inline]
 dump_stack+0x194/0x257 lib/dump_stack.c:52
 print_address_description+0x73/0x250 mm/kasan/report.c:252
 kasan_report+0x25b/0x340 mm/kasan/report.c:409
 __asan_report_load8_noabort+0x14/0x20 mm/kasan/report.c:430
 __list_add_valid+0xb6/0xc0 lib/list_debug.c:26
 __list_add_rcu include/linux/rculist.h:51 [inline]
 list_add_rcu include/linux/rculist.h:78 [inline]
 dev_add_pack+0xc3/0x1c0 net/core/dev.c:403
 packet_create+0x7f3/0xab0 net/packet/af_packet.c:3249
"""


def test_skip_lists_and_header_titles_by_era():
    # 2017: the header's function; since: frames in the skip list (list plumbing) give way to the caller.
    assert parse(KASAN.format(release="4.13.0+")).era_title == "KASAN: use-after-free Read in __list_add_valid"
    new = parse(KASAN.format(release="5.4.0-rc1+"))
    assert new.era_title == new.title == "KASAN: use-after-free Read in dev_add_pack"


def test_inconsistent_lock_state_is_named_by_the_crash_stack():
    # Two of syzbot's own reports of autumn 2022, titled as syzbot titled them: by the stack (the lock's "at:" line
    # names kmem_cache_alloc_trace in the first, the stack fs_reclaim_acquire), and with the atomic_* frames not
    # yet skipped then (the second's today's title, as syzkaller's golden report 665 of the same bug: ntfs_fill_super)
    rep = parse(shared_data("labelled", "reports", "063.txt").read_bytes())
    assert rep.era_title == rep.title == "inconsistent lock state in fs_reclaim_acquire"     # syzbot: "... (3)"
    rep = parse(shared_data("syzbot-sample", "d902dcadd547a6f50b7f45c70331c15c6a759f42.txt").read_bytes())
    assert rep.era_title == "inconsistent lock state in _atomic_dec_and_lock"
    assert rep.title == "inconsistent lock state in ntfs_fill_super"


def test_number_replacement_by_era():
    text = KASAN.replace("__list_add_valid", "nl802154_dump_wpan_phy")
    assert parse(text.format(release="5.8.0-rc3-syzkaller")).era_title.endswith(" in nl8NUM_dump_wpan_phy")
    assert parse(text.format(release="5.12.0-syzkaller")).era_title.endswith(" in nl802154_dump_wpan_phy")


def test_every_era_day_is_an_iso_day():
    days = [d for o in fm.OOPSES for f in o.formats for d in (f.since, f.until) if d]
    days += [d for r in fm.TITLE_REPLACEMENTS for d in (r.since, r.until) if d] + list(fm.SKIP_SINCE.values())
    days += list(fm.ERA_READ_PAST_SECOND_REPORT) + [o.since for o in fm.OOPSES if o.since]
    assert days and all(len(d) == 10 and d[4] == d[7] == "-" for d in days)
    assert fm.LAST_RULE_CHANGE == max(days)
    own = {p for o in fm.OOPSES for f in o.formats if f.stack for p in f.stack.skip}
    assert set(fm.SKIP_SINCE) <= set(fm.SKIP_PATTERNS) | own      # dates for patterns that exist today
