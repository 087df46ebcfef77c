"""The shared vocabularies: every part takes its words from vocab/, and the copies the store holds as data agree."""

import re

from triage.store import open_db
from vocab.labels import BY_NAME, INBOX_ORDER, LABELS


def test_store_label_ranks_match_the_label_table(tmp_path):
    db = open_db(tmp_path / "t.db")
    rows = {name: (rank, severity) for name, rank, severity in
            db.execute("SELECT label, rank, severity FROM label_ranks WHERE label != 'unclassified'")}
    assert set(rows) == set(LABELS)
    for name, (rank, severity) in rows.items():
        assert (rank, severity) == (BY_NAME[name].rank, BY_NAME[name].severity), name
    assert [n for n, _ in sorted(rows.items(), key=lambda kv: kv[1][0])] == list(INBOX_ORDER)


# -- gfp layouts: one table for the simulator's printing and the parser's decoding ---------------------------
def _sim_masks():
    from simulator import gfp as G

    singles = [G.NOWARN, G.NOFAIL, G.NORETRY, G.RETRY_MAYFAIL, G.ZERO, G.COMP, G.ACCOUNT, G.MEMALLOC,
               G.NOMEMALLOC, G.HARDWALL, G.THISNODE, G.WRITE, G.HIGH]
    bases = [G.GFP_KERNEL, G.GFP_NOFS, G.GFP_NOIO, G.GFP_NOWAIT, G.GFP_ATOMIC, G.GFP_USER, G.GFP_HIGHUSER_MOVABLE,
             G.GFP_KERNEL_ACCOUNT, 0]
    out = [b | s for b in bases for s in [0, *singles]]
    out += [b | G.NOFAIL | s for b in bases for s in singles]
    return out


def test_simulator_printed_masks_decode_back_to_the_same_flags():
    """For every kernel era of the layout table, what the simulator prints the parser decodes to the same bits."""
    from simulator import gfp as G
    from simulator.versions import KernelVersion
    from triage.report.gfp import find_gfp
    from vocab.gfp import LAYOUTS, OLD_NAMES

    checked = 0
    for lay in LAYOUTS:
        major, minor = lay.first
        version = KernelVersion(major, minor)
        kernel = f"{major}.{minor}.0"
        for mask in _sim_masks():
            printed = G.fmt(mask, version)
            (e,) = find_gfp(f"x: page allocation failure: order:0, mode:{printed}, nodemask=(null)", kernel)
            assert e["kernel_layout"].split()[0] == lay.name
            assert not e["layout_mismatch"], (kernel, printed)
            assert e["value"] == G.value(mask, version)
            want = {G.BIT_NAMES[b] for b in G.BIT_NAMES if G._with_atomic(mask, version) & b}
            want = {n if n in lay.values else OLD_NAMES.get(n, n) for n in want} & set(lay.values)
            assert set(e["bits"]) == want, (kernel, printed)
            (bare,) = find_gfp(f"x: gfp_mask={e['raw']}, order=0", kernel)
            assert bare["flags"] == e["flags"], (kernel, printed)        # same names, same order
            checked += 1
    assert checked > 1000


def test_kernel_4_15_to_4_17_masks_are_read_in_the_old_layout():
    """The 4.15-4.16 disagreement the two copies had: 0x600840 is GFP_NOFS|__GFP_NOFAIL only from 4.18."""
    from simulator import gfp as G
    from simulator.versions import KernelVersion
    from triage.report.gfp import decode

    for v in ("4.15", "4.16", "4.17"):
        assert G.fmt(G.GFP_NOFS | G.NOFAIL, KernelVersion.parse(v)) == "0x1400840(GFP_NOFS|__GFP_NOFAIL)"
        assert decode(0x1400840, f"{v}.0") == ["GFP_NOFS", "__GFP_NOFAIL"]
    assert G.fmt(G.GFP_NOFS | G.NOFAIL, KernelVersion.parse("4.18")) == "0x600840(GFP_NOFS|__GFP_NOFAIL)"
    assert decode(0x600840, "4.18.0") == ["GFP_NOFS", "__GFP_NOFAIL"]


# -- markers: one name per marker everywhere ----------------------------------------------------------------
def test_every_marker_name_comes_from_the_vocabulary():
    from classifiers.baselines import CRASH_TYPE_LABELS, TITLE_KEYWORDS
    from classifiers.rules import RuleSet
    from triage.report.events import EVENTS
    from triage.report.markers import MARKERS
    from vocab.markers import KINDS

    assert {row.kind for row in MARKERS} <= set(KINDS)
    assert {ev.kind for ev in EVENTS} <= set(KINDS)
    named = set()
    for rule in RuleSet.load().rules:                  # the loader rejects unknown kinds; this shows they are used
        for kinds in re.findall(r"'kind': (\[[^\]]*\]|'[^']*')", repr(rule.when)):
            named |= set(re.findall(r"'([^']+)'", kinds))
    assert named and named <= set(KINDS)
    assert set(CRASH_TYPE_LABELS.values()) | {lab for _, lab in TITLE_KEYWORDS} <= set(LABELS)


def test_lore_links_escape_message_ids_as_public_inbox_does():
    from vocab.lore import message_link

    # bugzilla's message-ids end in "/": unescaped, the link named another page
    assert message_link("<bug-219497-695@https.bugzilla.kernel.org/>") == \
        "https://lore.kernel.org/all/bug-219497-695@https.bugzilla.kernel.org%2F/"
    assert message_link("CAKFNMokpj+TkVwrYZ=mYmHKxx4eaKDEUyy_y+zqC+z0o2UmgBQ@mail.gmail.com") == \
        "https://lore.kernel.org/all/CAKFNMokpj+TkVwrYZ=mYmHKxx4eaKDEUyy_y+zqC+z0o2UmgBQ@mail.gmail.com/"
    assert message_link("a%b?c#d@x", inbox="linux-nilfs") == "https://lore.kernel.org/linux-nilfs/a%25b%3Fc%23d@x/"


def test_a_lore_link_names_its_message():
    from vocab.lore import linked_message, message_link

    for mid in ("202408062249.2194d51b-lkp@intel.com", "bug-219497-695@https.bugzilla.kernel.org/", "a%b?c#d@x"):
        assert linked_message(message_link(mid)) == mid
        assert linked_message(message_link(mid, inbox="oe-lkp")) == mid
    assert linked_message("https://lore.kernel.org/r/000000000000694ba505ba42aa9b@google.com") == \
        "000000000000694ba505ba42aa9b@google.com"
    assert linked_message("<https://lore.kernel.org/all/x@y/T/#u>") == "x@y"
    assert linked_message("https://lore.kernel.org/linux-nilfs/") is None
    assert linked_message("https://syzkaller.appspot.com/bug?extid=0123456789abcdef0123") is None
