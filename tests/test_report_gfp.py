"""GFP layouts and masks: every printed mask in the real data must decode, with its kernel's layout, to
exactly the names the kernel printed; the same mask without its names must decode to the same flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import work
from tests.conftest import shared_data
from triage.report.context import kernel_version
from triage.report.gfp import LAYOUTS, bits, decode, find_gfp, has_flag, layout_for


def _real_reports() -> list[Path]:
    roots = [shared_data("labelled", "reports"), shared_data("syzkaller-reports", "report"),
             shared_data("syzbot-sample"), shared_data("syzbot-pages")]
    out = []
    for root in roots:
        out += [p for p in root.rglob("*") if p.is_file() and p.suffix in ("", ".txt")]
    out += list(shared_data("lore").rglob("raw"))
    return sorted(out)


def _printed_masks() -> list[tuple[Path, str | None, dict]]:
    found = []
    for path in _real_reports():
        text = path.read_text(errors="replace")
        if "gfp" not in text and "mode:0x" not in text:
            continue
        kv = kernel_version(text)
        found += [(path, kv, e) for e in find_gfp(text, kv) if e["names_from"] == "printed"]
    return found


@pytest.fixture(scope="module")
def printed():
    masks = _printed_masks()
    assert len(masks) >= 50, "expected the real data to hold dozens of printed gfp masks"
    return masks


def test_every_printed_mask_decodes_to_its_printed_names(printed):
    layouts_seen = set()
    for path, kv, e in printed:
        lay = e["kernel_layout"].split()[0]
        layouts_seen.add(lay)
        assert not e["layout_mismatch"], (path, kv, e["line"])
        assert decode(e["value"], lay) == e["flags"], (path, kv, e["line"])     # same names, same order
    assert {"v4.15", "v4.18", "v5.0", "v6.3", "v6.10", "v6.18"} <= layouts_seen


def test_bare_form_of_each_real_mask_decodes_to_the_same_flags(printed):
    for path, kv, e in printed:
        bare_line = re.sub(r"\(([\w|]*)\)", "", e["line"], count=1)
        bare = [b for b in find_gfp(bare_line, kv) if b["raw"] == e["raw"]]
        assert bare, (path, bare_line)
        if e["layout_guessed"]:
            # no release in the report: decode with the layout the printed names identified
            lay = e["kernel_layout"].split()[0]
            assert decode(e["value"], lay) == e["flags"]
        else:
            assert bare[0]["names_from"] == "decoded"
            assert bare[0]["flags"] == e["flags"], (path, kv, e["line"])
            assert set(bare[0]["bits"]) == set(e["bits"])


def test_real_lines_contexts():
    line = ("[ 3239.898444][    C1] kworker/u4:4: page allocation failure: order:0, mode:0x40a20(GFP_ATOMIC|"
            "__GFP_COMP), nodemask=(null),cpuset=/,mems_allowed=0-1")
    (e,) = find_gfp(line, "5.3.0-rc6")
    assert e["context"] == "mode" and e["value"] == 0x40a20 and e["flags"] == ["GFP_ATOMIC", "__GFP_COMP"]
    assert set(e["bits"]) == {"__GFP_HIGH", "__GFP_ATOMIC", "__GFP_KSWAPD_RECLAIM", "__GFP_COMP"}
    line = "syz-executor0 invoked oom-killer: gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE), nodemask=(null), order=0"
    (e,) = find_gfp(line, "4.19.0-rc2+")
    assert e["context"] == "gfp_mask" and e["kernel_layout"].startswith("v4.18")
    line = ("Unexpected gfp: 0x1000000 (__GFP_NOLOCKDEP). Fixing up to gfp: 0x2dc0 "
            "(GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN). Fix your code!")
    a, b = find_gfp(line, None)
    assert (a["raw"], a["flags"], b["flags"]) == ("0x1000000", ["__GFP_NOLOCKDEP"],
                                                  ["GFP_KERNEL", "__GFP_ZERO", "__GFP_NOWARN"])
    assert a["layout_from"] == "inferred from printed names" and not a["layout_mismatch"]


def test_nofail_in_both_forms_and_composite_split():
    printed = find_gfp("ext4: page allocation failure: order:0, mode:0x8c40(GFP_NOFS|__GFP_NOFAIL)", "6.12.0")[0]
    bare = find_gfp("kworker: gfp_mask=0x8c40, order=0", "6.12.0")[0]
    assert printed["names_from"] == "printed" and bare["names_from"] == "decoded"
    assert printed["flags"] == bare["flags"] == ["GFP_NOFS", "__GFP_NOFAIL"]
    assert printed["bits"] == bare["bits"] == ["__GFP_IO", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
                                               "__GFP_NOFAIL"]
    assert has_flag(printed, "NOFAIL") and has_flag(bare, "__GFP_NOFAIL") and has_flag(bare, "GFP_NOFS")
    assert not has_flag(bare, "__GFP_FS") and not has_flag(bare, "GFP_KERNEL")


# The composite values of kernel-semantics.md §a.3 and the report examples it cites, per layout.
@pytest.mark.parametrize("kernel,value,names", [
    ("4.9.56", 0x2084020, ["GFP_ATOMIC", "__GFP_COMP"]),                       # RPT49
    ("4.9", 0x24000c0, ["GFP_KERNEL"]), ("4.9", 0x2400840, ["GFP_NOFS", "__GFP_NOFAIL"]),
    ("4.9", 0x24200ca, ["GFP_HIGHUSER_MOVABLE"]), ("4.9", 0x25000c0, ["GFP_KERNEL_ACCOUNT"]),
    ("4.14", 0x14000c0, ["GFP_KERNEL"]), ("4.14", 0x1400840, ["GFP_NOFS", "__GFP_NOFAIL"]),
    ("4.14", 0x1080020, ["GFP_ATOMIC"]), ("4.14", 0x1000000, ["GFP_NOWAIT"]),
    # 4.15-4.17: __GFP_COLD and __GFP_NOTRACK gone, nothing moved (4.15.0 / 4.16-rc reports in the data)
    ("4.15", 0x14080c0, ["GFP_KERNEL", "__GFP_ZERO"]), ("4.16", 0x1400840, ["GFP_NOFS", "__GFP_NOFAIL"]),
    ("4.17", 0x600840, ["__GFP_IO", "__GFP_NOFAIL", "__GFP_DIRECT_RECLAIM", "0x200000"]),   # not GFP_NOFS yet
    ("4.18", 0x600840, ["GFP_NOFS", "__GFP_NOFAIL"]),
    ("4.19", 0x6000c0, ["GFP_KERNEL"]), ("4.19", 0x480020, ["GFP_ATOMIC"]),  # RPTATOM
    ("4.19", 0x604840, ["GFP_NOFS", "__GFP_NOFAIL", "__GFP_COMP"]), ("4.19", 0x7000c0, ["GFP_KERNEL_ACCOUNT"]),
    ("5.10", 0xcc0, ["GFP_KERNEL"]), ("5.10", 0xa20, ["GFP_ATOMIC"]), ("5.10", 0xc00, ["GFP_NOIO"]),
    ("5.10", 0x8c40, ["GFP_NOFS", "__GFP_NOFAIL"]), ("5.10", 0x48c40, ["GFP_NOFS", "__GFP_NOFAIL", "__GFP_COMP"]),
    ("6.4", 0x820, ["GFP_ATOMIC"]), ("6.4", 0x8cc0, ["GFP_KERNEL", "__GFP_NOFAIL"]),
    ("6.4", 0x100cca, ["GFP_HIGHUSER_MOVABLE"]), ("6.4", 0x400cc0, ["GFP_KERNEL_ACCOUNT"]),
    ("6.12", 0x8c40, ["GFP_NOFS", "__GFP_NOFAIL"]), ("6.12", 0x800, ["GFP_NOWAIT"]),
    ("6.18", 0x2800, ["GFP_NOWAIT"]), ("6.18", 0x0, []),
    ("6.12", 0x80000000, ["0x80000000"]),                                       # unknown bits print as hex
])
def test_decode_layout_table(kernel, value, names):
    assert decode(value, kernel) == names


def test_layout_selection():
    assert layout_for("4.14.0")[0].name == "v4.10"
    assert layout_for("4.16.0+")[0].name == "v4.15" and layout_for("4.17.3")[0].name == "v4.15"
    assert layout_for("4.18.0-rc1")[0].name == "v4.18"
    assert layout_for("5.3.0-rc6")[0].name == "v5.0"
    assert layout_for("6.17.0-rc5-syzkaller-00123-gabc")[0].name == "v6.10"
    lay, guessed = layout_for(None)
    assert lay is LAYOUTS[-1] and guessed
    assert layout_for("3.10.0")[1] is True
    assert bits(["GFP_KERNEL", "0x4000000"], "5.10") == ["__GFP_IO", "__GFP_FS", "__GFP_DIRECT_RECLAIM",
                                                          "__GFP_KSWAPD_RECLAIM", "0x4000000"]


def test_page_flags_are_not_gfp_masks():
    text = "flags: 0xfff00000000200(slab|node=0|zone=1|lastcpupid=0x7ff)\nmode 0x1ff\n"
    assert find_gfp(text, "6.1") == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.lists(st.sampled_from([
    "gfp_mask=", "mode:", "0x", "8c40", "(", ")", "GFP_NOFS", "|", "__GFP_NOFAIL", "gfp: ", "fff", " ", "\n",
    "0xffffffffffffffffffff"]), max_size=30).map("".join),
    st.one_of(st.none(), st.sampled_from(["4.4", "4.14", "5.10", "6.3", "6.12", "6.18", "bogus", "3.1", "99.1"])))
def test_never_raises(text, kernel):
    for e in find_gfp(text, kernel):
        assert isinstance(e["value"], int) and e["flags"] is not None
    decode(len(text), kernel)
    bits(text.split("|"), kernel)


def test_linear_work():
    """Regexp-hostile lines (a mask, then 300 open parentheses; 3 MB of them on one line): the work grows with
    the input, counted (tests/work.py), not timed."""
    def text(k: int) -> str:
        return ("x gfp_mask 0x8c40(GFP_NOFS|__GFP_NOFAIL) " + "(" * 300 + "\n") * 2000 * k + "gfp" + "(" * 300_000 * k

    small, big = (work.count(lambda k=k: find_gfp(text(k), "6.1"), "triage.report") for k in (1, 10))
    assert len(small.result) == 2000 and len(big.result) == 20000
    assert work.linear(small, big, 10), (small, big)
