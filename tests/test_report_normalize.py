"""Canonical function names and bug signatures, over real reports and real lore threads."""

from __future__ import annotations

import mailbox

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import shared_data
from triage.report.model import Frame
from triage.report.normalize import RENAMES, SKIP, canonical, signature
from triage.report.stacks import extract_frames


def _read(*parts: str) -> str:
    return shared_data(*parts).read_text(errors="replace")


@pytest.mark.parametrize("names", [
    ["__alloc_pages_nodemask", "__alloc_pages", "__alloc_pages_noprof", "__alloc_frozen_pages_noprof",
     "__alloc_pages_slowpath.constprop.0", "__alloc_pages_slowpath"],
    ["alloc_pages_noprof", "alloc_pages", "alloc_pages_current"],
    ["shrink_page_list", "shrink_folio_list"],
    ["__fs_reclaim_acquire", "fs_reclaim_acquire"],
    ["kmalloc_noprof", "kmalloc"],
    ["__kmalloc_noprof", "__kmalloc"],
    ["kmem_cache_alloc_noprof", "kmem_cache_alloc"],
    ["folio_alloc_noprof", "folio_alloc", "__folio_alloc"],
    ["filemap_alloc_folio_noprof", "filemap_alloc_folio", "__page_cache_alloc"],
    ["kvmalloc_node_noprof", "kvmalloc_node"],
    ["kmem_cache_alloc_trace", "kmalloc_trace", "__kmalloc_cache_noprof"],
    ["pagecache_get_page", "__filemap_get_folio"],
    ["wait_on_page_writeback", "folio_wait_writeback"],
    ["end_page_writeback", "folio_end_writeback"],
    ["generic_make_request", "submit_bio_noacct"],
    ["__x64_sys_setxattr", "__arm64_sys_setxattr", "__se_sys_setxattr", "__do_sys_setxattr", "SyS_setxattr",
     "SYSC_setxattr", "sys_setxattr"],
])
def test_renamed_functions_share_one_name(names):
    assert len({canonical(n) for n in names}) == 1


@pytest.mark.parametrize("raw,want", [
    ("ext4_mb_load_buddy_gfp.constprop.0", "ext4_mb_load_buddy_gfp"),
    ("lookup_open.isra.0", "lookup_open"),
    ("kasan_report.cold", "kasan_report"),
    ("iput.part.0", "iput"),
    ("nmi_cpu_backtrace.cold.4", "nmi_cpu_backtrace"),
    ("print_address_description.constprop.0.cold", "print_address_description"),
    ("do_softirq.part.19", "do_softirq"),
    ("foo.isra.0.part.1.cold", "foo"),
    ("__do_sys_unlink", "sys_unlink"),
    ("ext4_writepages", "ext4_writepages"),
])
def test_suffixes_stripped(raw, want):
    assert canonical(raw) == want


def test_rename_table_is_consistent():
    # every canonical target maps to itself, so canonical() is idempotent
    for target in set(RENAMES.values()):
        assert RENAMES[target] == target
        assert canonical(canonical(target)) == canonical(target)


def test_signature_skips_plumbing_real_reports():
    sig = signature(extract_frames(_read("labelled", "reports", "013.txt")))
    assert sig[:3] == ["start_this_handle", "jbd2__journal_start", "__ext4_journal_start_sb"]
    sig = signature(extract_frames(_read("syzbot-sample", "0c56d77d49ac8cccfe675fdf0f9e264bc73c1d4b.txt")))
    assert sig[0] == "ip_mc_sf_allow"
    sig = signature(extract_frames(_read("labelled", "reports", "070.txt")))
    assert sig[0] == "lo_ioctl"                       # schedule/mutex frames of the hung task skipped
    assert all(not SKIP.match(name) for name in sig)
    assert 1 <= len(sig) <= 6


def test_nofail_warning_same_signature_across_kernel_versions():
    # 6.18 (Debian user report) and 6.12.19 (reply on the list): the same kswapd -> ext4 NOFAIL path
    a = signature(extract_frames(_read("labelled", "reports", "003.txt")))
    b = signature(extract_frames(_read("labelled", "reports", "006.txt")))
    assert a == b
    assert "__getblk_slow" in a


def test_signature_title_anchor_and_fallback():
    frames = extract_frames(_read("labelled", "reports", "001.txt"))
    sig = signature(frames, "WARNING in ext4_mb_load_buddy_gfp")
    assert sig[0] == "ext4_mb_load_buddy_gfp"
    assert signature([], "WARNING in ext4_mb_load_buddy_gfp.cold") == ["ext4_mb_load_buddy_gfp"]
    assert signature([], "INFO: task hung in corrupted") == []
    assert signature([], None) == []


def test_signature_same_from_console_log_excerpt_and_quoted_mail():
    text = _read("syzbot-sample", "0c56d77d49ac8cccfe675fdf0f9e264bc73c1d4b.txt")
    lines = text.split("\n")
    console = "\n".join(f"[  {100 + i / 1e4:.6f}][ T908] {ln}" for i, ln in enumerate(lines))
    console = "[   99.000000][    T1] syz-executor: some earlier noise\n" + console
    mail = "On Mon, syzbot wrote:\r\n" + "\r\n".join("> " + ln for ln in lines) + "\r\n\r\nThanks.\r\n"
    want = signature(extract_frames(text))
    assert signature(extract_frames(console)) == want
    assert signature(extract_frames(mail)) == want


def _bodies(path):
    for msg in mailbox.mbox(str(path)):
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if payload:
                    yield msg.get("from", ""), payload.decode("utf-8", "replace")
                break


def test_lore_replies_quote_the_report_with_a_prefix_of_its_signature():
    # real threads: syzbot's report, then developers quoting (all or part of) its trace in replies/patches
    root = shared_data("lore", "lore.kernel.org")
    checked = 0
    for mbox in sorted(root.glob("*/*/t.mbox")):
        sigs = [(frm, signature(extract_frames(body))) for frm, body in _bodies(mbox) if "Call Trace" in body]
        originals = [s for frm, s in sigs if "syzbot" in frm and "syzbot ci" not in frm and s]
        if not originals:
            continue
        orig = originals[0]
        for frm, sig in sigs:
            if "syzbot" in frm or not sig or sig[0] != orig[0]:
                continue
            assert orig[:len(sig)] == sig, (mbox, frm)
            checked += 1
    assert checked >= 10


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.one_of(st.none(), st.text(max_size=80)))
def test_never_raises(name, title):
    canonical(name)
    signature([Frame(function=name or "x", norm_function=name)], title)
    assert canonical(None) == ""          # type: ignore[arg-type]
    assert signature(None, None) == []    # type: ignore[arg-type]


def _canonical_by_rules(func: str) -> str:
    """``canonical`` as it reads, every ``SUFFIX_RULES`` row tried (the function tries them only on names holding
    one of the rows' texts)."""
    from triage.report.frames import strip_suffix, strip_tokens
    from triage.report.normalize import _SUFFIX_EXTRA, SUFFIX_RULES
    name = strip_tokens(strip_suffix(func.strip()), _SUFFIX_EXTRA, True)
    if name in RENAMES:
        return RENAMES[name]
    for rx, repl in SUFFIX_RULES:
        new = rx.sub(repl, name)
        if new != name:
            return RENAMES.get(new, new)
    return name


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["__x64_", "__se_", "_", "sys", "SyS", "SYSC", "compat_", "noprof", "_noprof", "a",
                                 "kmalloc", ".isra.0", ".1", " ", "\n", "é", "$"]), max_size=8).map("".join))
def test_canonical_tries_the_rules_only_where_they_may_match(func):
    assert canonical(func) == _canonical_by_rules(func)
