"""A ``format=flowed`` body (RFC 3676) is read as its sender wrote it: soft line breaks joined, space-stuffing
undone. syzbot's mails of 2019 and many Thunderbird mails are sent so: a report's long lines arrive cut."""

from __future__ import annotations

import pytest
from conftest import ARCHIVES

from records.mail import parse_bytes, unflow
from triage.report import parse


def test_soft_breaks_are_joined_within_a_quote_depth_and_nothing_else_moves():
    text = ("a soft \nbreak\n  dump_stack+0x1/0x2\n> quoted \n> rest\n>ffff888012345600: fb fb\n"
            "-- \nsig\nhard\nline\n")
    assert unflow(text) == ("a soft break\n dump_stack+0x1/0x2\n> quoted rest\n>ffff888012345600: fb fb\n"
                            "-- \nsig\nhard\nline\n")


def test_delsp_deletes_the_space_the_client_put_at_a_break():
    # (Google's mail: a break at a blank keeps the blank and adds one, deleted on reading)
    assert unflow("WARNING: at fs/x.c:55 f  \nfs/x.c:55 [inline]\nab \ncd\n", delsp=True) == \
        "WARNING: at fs/x.c:55 f fs/x.c:55 [inline]\nabcd\n"


def test_a_soft_break_before_another_quote_depth_ends_the_line():
    assert unflow("> a \nb\n> c \n>> d\n") == "> a \nb\n> c \n>> d\n"


def _mail(body: str, ctype: str = 'text/plain; charset="UTF-8"; format=flowed; delsp=yes') -> bytes:
    return (f"From: syzbot <syzbot+0123456789abcdef0123@syzkaller.appspotmail.com>\nSubject: WARNING in g\n"
            f"Message-ID: <f@x>\nContent-Type: {ctype}\n\n{body}").encode()


# syzbot's report of 2019 as its mail carried it: 80 columns, each break a blank kept and one added
FLOWED_REPORT = """------------[ cut here ]------------
WARNING: CPU: 1 PID: 8471 at fs/overlayfs/file.c:55 ovl_change_flags{SP}{SP}
fs/overlayfs/file.c:55 [inline]
WARNING: CPU: 1 PID: 8471 at fs/overlayfs/file.c:55{SP}{SP}
ovl_real_fdget_meta.cold+0x11/0x1e fs/overlayfs/file.c:106
Kernel panic - not syncing: panic_on_warn set ...
CPU: 1 PID: 8471 Comm: syz-executor111 Not tainted 5.2.0+ #71
Call Trace:
  __dump_stack lib/dump_stack.c:77 [inline]
  dump_stack+0x16f/0x1f0 lib/dump_stack.c:113
  panic+0x2dc/0x755 kernel/panic.c:219
  __warn.cold+0x20/0x4c kernel/panic.c:576
  report_bug+0x263/0x2b0 lib/bug.c:186
RIP: 0010:ovl_change_flags fs/overlayfs/file.c:55 [inline]
RIP: 0010:ovl_real_fdget_meta.cold+0x11/0x1e fs/overlayfs/file.c:106
Call Trace:
  ovl_real_fdget fs/overlayfs/file.c:113 [inline]
  ovl_splice_read+0x9e/0x160 fs/overlayfs/file.c:304
  do_splice_to+0x127/0x180 fs/splice.c:1082
""".replace("{SP}", " ")


@pytest.mark.parametrize("ctype", ['text/plain; charset="UTF-8"; format=flowed; delsp=yes',
                                   'text/plain; format="Flowed"; DelSp="yes"'])
def test_a_flowed_report_reads_as_the_kernel_printed_it(ctype):
    for raw in (_mail(FLOWED_REPORT, ctype),
                # the same part in a multipart mail (the standard parser's path)
                _mail(f"--b\nContent-Type: {ctype}\n\n{FLOWED_REPORT}--b--\n", 'multipart/mixed; boundary="b"')):
        mail = parse_bytes(raw)
        assert mail == parse_bytes(raw, fast=False)
        assert "WARNING: CPU: 1 PID: 8471 at fs/overlayfs/file.c:55 ovl_change_flags fs/overlayfs/file.c:55 " \
               "[inline]\n" in mail.body
        assert "\n __dump_stack lib/dump_stack.c:77 [inline]\n" in mail.body
        assert parse(mail.body).title == "WARNING in ovl_real_fdget_meta"
    # without format=flowed the lines are left as they came
    assert "ovl_change_flags  \nfs/" in parse_bytes(_mail(FLOWED_REPORT, "text/plain")).body


def test_syzbots_flowed_mail_in_the_archive_is_titled_as_syzbot_titled_it(archive_mails):
    assert "linux-unionfs" in ARCHIVES
    raw = next(m for m in archive_mails("linux-unionfs") if b"<0000000000004a3a63058e722b94@google.com>" in m)
    mail = parse_bytes(raw)
    assert mail.subject == "WARNING in ovl_real_fdget_meta"
    assert parse(mail.body).title == "WARNING in ovl_real_fdget_meta"
