"""The import's prefilter (``triage.prefilter``) skips no text the parser would make a report of: on every mail
of three real list archives, the labelled reports, the syzbot sample and syzkaller's test logs; and it passes
each of the parser's phrases however a mail client wrapped or quoted it."""

from __future__ import annotations

import pytest
from conftest import ARCHIVES_SMALL_FIRST, shared_data

from records.mail import parse_bytes
from triage.prefilter import may_hold_report, phrases
from triage.report import parse


def assert_skips_no_report(texts: list[str]) -> int:
    """Parse what the prefilter refuses: none of it may hold a report. Returns how many were refused."""
    refused = [t for t in texts if not may_hold_report(t)]
    for text in refused:
        rep = parse(text)
        assert rep.display_title is None, (rep.display_title, text[:500])
    return len(refused)


@pytest.mark.parametrize("name", ARCHIVES_SMALL_FIRST)
def test_no_archive_mail_with_a_report_is_skipped(archive_mails, name):
    bodies = [parse_bytes(raw).body for raw in archive_mails(name)]
    refused = assert_skips_no_report(bodies)
    assert refused > 0.75 * len(bodies)            # it does skip: most list mail is patches and discussion


def test_no_report_file_is_skipped():
    texts = [p.read_text(errors="replace") for p in sorted(shared_data("labelled", "reports").glob("*.txt"))]
    texts += [p.read_text(errors="replace") for p in sorted(shared_data("syzbot-sample").glob("*.txt"))]
    logs = sorted(shared_data("syzkaller-reports", "report").iterdir())
    texts += [p.read_text(errors="replace").split("\n\n", 1)[-1] for p in logs]
    assert_skips_no_report(texts)
    reports = [t for t in texts if parse(t).display_title]
    assert len(reports) > 1000 and all(may_hold_report(t) for t in reports)


@pytest.mark.parametrize("phrase", phrases())
def test_every_phrase_passes_as_written_wrapped_and_quoted(phrase):
    line = f"[  12.345678][ T100] {phrase} at the end of a long line of console output"
    assert may_hold_report(f"intro\n{line}\nmore\n")
    words = phrase.split()
    for i in range(1, len(words)):                 # a mail client broke the line between two words
        head, tail = " ".join(words[:i]), " ".join(words[i:])
        assert may_hold_report(f"> {head} \n> > {tail}\n")
        assert may_hold_report(f"{head}\r\n   {tail}\r\n")


def test_a_bare_trace_passes_when_it_has_frames_enough():
    from triage.report.events import MIN_BARE_TRACE

    frames = [f" func{i}+0x{i:x}/0x100" for i in range(MIN_BARE_TRACE)]
    assert may_hold_report("Hi,\n" + "\n".join(frames) + "\n")
    assert not may_hold_report("Hi,\n" + "\n".join(frames[1:]) + "\n")
    arm = [f"[<c0{i:06x}>] (f{i}) from [<c0{i:06x}>] (g{i})" for i in range(MIN_BARE_TRACE)]
    assert may_hold_report("see fs/ext4/inode.c:12\n" + "\n".join(arm))


def test_plain_discussion_is_skipped_and_a_nul_is_not():
    mail = "Hi,\n\nthe patch looks fine to me, but please write a better commit message.\n\nThanks\n"
    assert not may_hold_report(mail)
    assert not may_hold_report("the kernel has BUG_ON(); WRITE_ONCE(x, 1);\n")
    assert may_hold_report("kernel\nBUG at fs/ext4/inode.c")
    assert may_hold_report("BU\x00G: KASAN: use-after-free in f")
