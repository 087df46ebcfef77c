"""The subsystem table (MAINTAINERS format, data in the project) and a report's subsystems derived from it."""

from __future__ import annotations

import pytest
from conftest import shared_data

from triage.report import parse
from triage.subsystems import alternatives, derive, names, of_file, of_report, of_text, parse_table

TABLE = """Prose before the first entry is ignored, and so is this line.

ext4
L:	linux-ext4@vger.kernel.org
F:	fs/ext4/
F:	fs/jbd2/
K:	EXT4-fs\\b|^ext4_

fs
F:	fs/

net
F:	net/
F:	drivers/net/
X:	net/9p/
"""


def test_table_format():
    entries = parse_table(TABLE)
    assert [e.name for e in entries] == ["ext4", "fs", "net"]
    assert entries[0].lists == ["linux-ext4@vger.kernel.org"] and entries[0].files == ["fs/ext4/", "fs/jbd2/"]
    assert entries[0].filesystem and not entries[1].filesystem and entries[2].excluded == ["net/9p/"]
    assert alternatives(r"a|(?:b|c)|[|x]|\||d") == ["a", "(?:b|c)", "[|x]", r"\|", "d"]
    assert {"ext4", "xfs", "mm", "nilfs", "fs", "block", "net"} <= set(names())


def test_guilty_file_longest_pattern_and_exclusions():
    assert of_file("fs/ext4/inode.c") == "ext4" and of_file("fs/jbd2/transaction.c") == "ext4"
    assert of_file("fs/inode.c") == "fs" and of_file("fs/nilfs2/segment.c") == "nilfs"
    assert of_file("include/linux/gfp.h") == "mm" and of_file("mm/page_alloc.c") == "mm"
    assert of_file("drivers/block/nbd.c") == "nbd" and of_file("drivers/block/loop.c") == "block"
    assert of_file("net/9p/client.c") == "9p" and of_file("net/ipv4/tcp.c") == "net"      # X: excludes
    assert of_file("drivers/md/dm-bufio.c") == "dm" and of_file(None) is None and of_file("README") is None


def test_messages_and_crash_frames():
    assert of_text("EXT4-fs warning (device sda1): ext4_end_bio:340: I/O error 10 writing to inode 12\n"
                   "Data will be lost") == ["ext4"]
    assert of_text("XFS (loop0): Metadata corruption detected") == ["xfs"]
    # a frame line is not a message; an OOM slab table names caches, not subsystems
    assert of_text(" xfs_inode_alloc+0x12/0x40 fs/xfs/xfs_icache.c:77\nnfs_commit_data   3KB   7KB") == []
    # no guilty file, no message: the crash stack's functions name the filesystem
    assert derive(None, [(None, "__alloc_pages"), (None, "btrfs_commit_transaction")], "") == ["btrfs"]
    # the VFS and mm frames of a stack do not make it an "fs" or "mm" report
    assert derive("fs/ext4/inode.c", [("mm/vmscan.c", "shrink_slab"), ("fs/inode.c", "evict")], "") == ["ext4"]


@pytest.mark.parametrize("number, expected", [
    (30, ["ext4"]),                       # EXT4-fs (sdb1): Data will be lost -- had subsystem "-"
    (20, ["xfs"]), (13, ["ext4"]), (24, ["nilfs"]), (16, ["ntfs"]),
    (37, ["fs", "ext4"]),                 # kernel BUG in clear_inode, through ext4_evict_inode
    (36, []),                             # lost page write on dm-7: nothing in the text says which
])
def test_labelled_reports(number, expected):
    text = (shared_data("labelled", "reports") / f"{number:03d}.txt").read_text(errors="replace")
    assert of_report(parse(text)) == expected


def test_most_labelled_reports_get_a_subsystem():
    reports = sorted(shared_data("labelled", "reports").glob("*.txt"))
    attributed = sum(bool(of_report(parse(p.read_text(errors="replace")))) for p in reports)
    assert len(reports) == 89 and attributed >= 79
